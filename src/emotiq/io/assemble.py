"""Join the Parquet parts of a run into one Parquet file or one ``.xlsx`` workbook."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

XLSX_MAX_ROWS = 1_048_575
"""Data rows an ``.xlsx`` sheet holds under its header."""

XLSX_MAX_CHARS = 32_767
"""Characters an ``.xlsx`` cell holds."""


def _common_schema(schemas: list[Any]) -> Any:
    """One schema for all parts: types widened where they differ, text where they conflict."""
    import pyarrow as pa

    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        fields = []
        for name in schemas[0].names:
            types = {s.field(name).type for s in schemas} - {pa.null()}
            fields.append(pa.field(name, types.pop() if len(types) == 1 else pa.string()))
        return pa.schema(fields)


def parquet(parts: list[Path], target: Path) -> None:
    """Write ``parts`` (in order) as one Parquet file at ``target``."""
    import pyarrow.parquet as pq

    schema = _common_schema([pq.read_schema(p) for p in parts])
    with pq.ParquetWriter(target, schema) as writer:
        for part in parts:
            writer.write_table(pq.read_table(part).select(schema.names).cast(schema))


def _rows(parts: list[Path]) -> Iterator[tuple[Any, ...]]:
    import pyarrow.parquet as pq

    for part in parts:
        for batch in pq.ParquetFile(part).iter_batches():
            yield from zip(*(column.to_pylist() for column in batch.columns))


class _ExcelCells:
    """Turns values into cells a workbook accepts; text never becomes a formula."""

    def __init__(self, sheet: Any) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.sheet, self.cell_class, self.illegal = sheet, WriteOnlyCell, ILLEGAL_CHARACTERS_RE
        self.cut = 0

    def text(self, value: str) -> Any:
        value = self.illegal.sub("", value)
        if len(value) > XLSX_MAX_CHARS:
            self.cut += 1
            value = value[:XLSX_MAX_CHARS]
        if not value.startswith("="):
            return value
        cell = self.cell_class(self.sheet, value=value)
        cell.data_type = "s"  # stored as text, as it was in the input
        return cell

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict | list):
            return self.text(json.dumps(value, ensure_ascii=False, default=str))
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        if isinstance(value, dt.timedelta | bytes):
            return self.text(str(value))
        return value


def xlsx(parts: list[Path], target: Path, columns: list[str]) -> None:
    """Write ``parts`` (in order) as one sheet of an ``.xlsx`` workbook at ``target``."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("scores")
    cells = _ExcelCells(sheet)
    sheet.append([cells.text(c) for c in columns])
    for row in _rows(parts):
        sheet.append([cells.value(v) for v in row])
    workbook.save(target)
    if cells.cut:
        logger.warning("%d cells were longer than Excel's %d characters and were cut", cells.cut, XLSX_MAX_CHARS)
