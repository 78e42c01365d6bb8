"""Progress of a scoring run: a tqdm bar on a terminal, log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

logger = logging.getLogger(__name__)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    """Counts scored rows; shows rows, rows/s and ETA (against an estimated total)."""

    def __init__(self, total: int | None, *, done: int = 0, label: str = "scoring", bar: bool | None = None) -> None:
        self.total, self.done, self.label = total, done, label
        self.started = time.perf_counter()
        self.new_rows = 0
        self._bar: Any = None
        if bar if bar is not None else sys.stderr.isatty():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, unit="rows", desc=label, dynamic_ncols=True, smoothing=0.1)

    @property
    def rate(self) -> float:
        """Rows per second scored by this run (rows skipped by a resume not counted)."""
        return self.new_rows / max(time.perf_counter() - self.started, 1e-9)

    def update(self, rows: int) -> None:
        """Record ``rows`` more rows scored."""
        self.done += rows
        self.new_rows += rows
        if self._bar is not None:
            if self.total is not None and self.done > self.total:
                self._bar.total = self.done
            self._bar.update(rows)
            return
        rate = self.rate
        if self.total and self.done < self.total and rate > 0:
            eta = f", about {_duration((self.total - self.done) / rate)} left"
            of = f" of ~{self.total:,}"
        else:
            eta, of = "", ""
        logger.info("%s: %s%s rows (%.1f rows/s%s)", self.label, f"{self.done:,}", of, rate, eta)

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()
