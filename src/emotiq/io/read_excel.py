"""Read one sheet of an ``.xlsx`` workbook in read-only (streaming) mode."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from emotiq.io.errors import ExportError
from emotiq.io.readers import batch_frames, fit_record, unique_names


def _is_empty(row: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ExportError(f"{path}: not a readable .xlsx workbook ({exc})") from None


def _select(workbook: Any, path: Path, sheet: str | int | None) -> Any:
    names = workbook.sheetnames
    if sheet is None:
        return workbook.worksheets[0]
    if isinstance(sheet, str) and sheet in names:
        return workbook[sheet]
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.strip().isdigit()):
        index = int(sheet)
        if 0 <= index < len(names):
            return workbook.worksheets[index]
    raise ExportError(f"{path}: no sheet {sheet!r}; sheets (by name or 0-based index): {names}")


class ExcelTable:
    """One worksheet: the first non-empty row is the header; cells keep their types.

    Fully empty rows between data rows are kept; empty rows after the last data
    row (often left by formatting) are not rows.
    """

    delimiter: str | None = None

    def __init__(self, path: Path, sheet: str | int | None = None) -> None:
        self.path = path
        workbook = _open_workbook(path)
        try:
            ws = _select(workbook, path, sheet)
            self.sheet: str = ws.title
            rows = ws.iter_rows(values_only=True)
            header = next((r for r in rows if not _is_empty(r)), None)
            if header is None:
                raise ExportError(f"{path}: sheet {self.sheet!r} is empty")
            header = list(header)
            while header and header[-1] is None:
                header.pop()
            self.columns = unique_names(header)
            self.estimated_rows: int | None = max((ws.max_row or 2) - 1, 1)
        finally:
            workbook.close()

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        workbook = _open_workbook(self.path)
        try:
            rows = workbook[self.sheet].iter_rows(values_only=True)
            next((r for r in rows if not _is_empty(r)), None)
            yield from rows
        finally:
            workbook.close()

    def _records(self) -> Iterator[tuple[list[Any], str]]:
        width = len(self.columns)
        blank = 0
        for values in self._rows():
            if _is_empty(values):
                blank += 1
                continue
            for _ in range(blank):  # empty rows followed by data are rows
                yield [None] * width, ""
            blank = 0
            record, note = list(values), ""
            if len(record) != width:
                record, note = fit_record(record, width, " ")
            yield [None if isinstance(v, str) and v == "" else v for v in record], note

    def frames(self, size: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
        return batch_frames(self._records(), self.columns, size)
