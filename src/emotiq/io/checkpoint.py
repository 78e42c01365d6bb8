"""The checkpoint that lets an interrupted ``score_file`` run continue where it stopped.

After each chunk is written and flushed to disk, a small JSON file records how
far the run got: rows and chunks done, bytes of output written, counts so far
and the report's running totals. It is replaced atomically (write a temporary
file, then ``os.replace``), so it always describes a complete chunk. Resuming
checks that the input file, options and output columns are the same as when
it was written.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emotiq.io.errors import ExportError

logger = logging.getLogger(__name__)

VERSION = 1
SUFFIX = ".emotiq-checkpoint.json"


def checkpoint_path(output: Path) -> Path:
    """Where the checkpoint of a run writing ``output`` lives."""
    return output.with_name(output.name + SUFFIX)


@dataclass
class Checkpoint:
    """Progress of one run; the first block of fields identifies the run, the rest is its progress."""

    input: str
    input_size: int
    input_mtime_ns: int
    output: str
    output_format: str
    text_column: str
    sheet: str | None
    chunk_rows: int
    columns: list[str]
    report_options: dict[str, Any] | None = None
    """``by`` and ``time_column`` of the report being built, None without a report."""
    rows_done: int = 0
    chunks_done: int = 0
    output_bytes: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    report_state: dict[str, Any] | None = None
    version: int = VERSION

    @classmethod
    def start(cls, input: Path, output: Path, **options: Any) -> Checkpoint:
        """A fresh checkpoint for reading ``input`` into ``output``."""
        stat = input.stat()
        return cls(input=str(input.resolve()), input_size=stat.st_size, input_mtime_ns=stat.st_mtime_ns,
                   output=str(output.resolve()), **options)

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a resume."""
        names = ("input", "input_size", "input_mtime_ns", "output", "output_format", "text_column", "sheet",
                 "chunk_rows", "columns", "report_options", "version")
        return {n: getattr(self, n) for n in names}

    def mismatch(self, other: Checkpoint) -> str | None:
        """Why ``other`` (a saved checkpoint) cannot be resumed by this run, or None."""
        mine, theirs = self.identity(), other.identity()
        diff = [n for n in mine if mine[n] != theirs[n]]
        if not diff:
            return None
        return ", ".join(f"{n}: was {theirs[n]!r}, now {mine[n]!r}" for n in diff[:3])


def save(checkpoint: Checkpoint, path: Path) -> None:
    """Write ``checkpoint`` to ``path`` atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(asdict(checkpoint), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load(path: Path) -> Checkpoint | None:
    """The checkpoint saved at ``path``, or None when there is none."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Checkpoint(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise ExportError(f"{path}: unreadable checkpoint ({exc}); delete it to start over") from None


def remove(path: Path) -> None:
    """Delete the checkpoint at ``path`` and any temporary file beside it."""
    for p in (path, path.with_name(path.name + ".tmp")):
        p.unlink(missing_ok=True)
