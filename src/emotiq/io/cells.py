"""Single cell values: missing or not, as text, and made safe for spreadsheets.

Formula injection: a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return) may run as a formula when a CSV or workbook is opened
in a spreadsheet. emotiq never writes such a cell itself: its own text cells
(labels, emotion lists, status and warnings) get a leading ``'`` when they
would start with one of those characters, and its numbers are written as
numbers. Cells of the input are written back unchanged, exactly as read, so
the output holds the same data as the export it came from; in ``.xlsx``
output they are stored as text cells, never as formulas.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula."""


def is_missing(value: Any) -> bool:
    """True for None, NaN, pandas NA/NaT: an empty cell."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in {"NAType", "NaTType"}


def cell_text(value: Any) -> str:
    """A cell as text, the way a CSV holds it ('' for a missing cell)."""
    if isinstance(value, str):
        return value
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return cell_text(value.tolist())
    return str(value)


def safe_text(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def json_value(value: Any) -> Any:
    """A cell as a JSON-serialisable value (None for missing, ISO text for dates)."""
    if is_missing(value):
        return None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
