"""Score feedback exports (CSV/TSV/TXT, .xlsx, Parquet, JSON Lines) in a streaming, resumable way.

>>> from emotiq.io import score_file
>>> summary = score_file("feedback_export.csv", "scored.csv", report="report.html", by="channel")

Every input row is written back, in order and unchanged, followed by emotiq's
score columns; see :mod:`emotiq.io.score` for details and :mod:`emotiq.io.cells`
for how spreadsheet formula injection is avoided.
"""

from __future__ import annotations

from emotiq.io.command import score_cli_main
from emotiq.io.errors import ExportError
from emotiq.io.readers import open_table
from emotiq.io.score import ScoreSummary, score_file

__all__ = ["ExportError", "ScoreSummary", "open_table", "score_cli_main", "score_file"]
