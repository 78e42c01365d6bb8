"""Give freed heap memory back to the operating system now and then.

Each batch allocates activations of a different shape. glibc's allocator keeps
freed blocks of that size in its heap instead of unmapping them, so the
resident size of a long run over texts of every length creeps up with every new
shape. ``malloc_trim`` releases them, but the next batches fault the pages back
in. In one-off measurements (not among ``benchmarks/results``, except the
1,000,000-tweet stream of ``throughput.md``), trimming after every batch made
short texts about 8% slower, and once a second still cost 3-4% on tweets
(42,000 page faults per 1,024 tweets) and 13% (in one run) on a stream of mixed
tweets, reviews and letters, whose peak RSS it kept only 60 MiB lower (1,650
against 1,712 MiB over 6,000 texts). Trimming at most every 10 seconds kept
1,692 MiB there at the untrimmed speed, and a stream of 1,000,000 tweets peaked
at 1,449 MiB (1,397 MiB with trimming every second, in an earlier run).
Elsewhere (macOS, musl, Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import sys
import time

logger = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        logger.debug("malloc_trim is not available; freed memory stays with the allocator")
        return None


_last_trim = 0.0


def release_freed_memory(min_interval: float = 10.0) -> None:
    """Return the allocator's free heap pages to the OS, at most once per ``min_interval`` s.

    glibc only; a no-op elsewhere. ``min_interval=0`` trims now.
    """
    global _last_trim
    trim = _malloc_trim()
    now = time.monotonic()
    if trim is not None and now - _last_trim >= min_interval:
        trim(0)
        _last_trim = now
