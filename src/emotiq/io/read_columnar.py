"""Read Parquet files in record batches and JSON Lines files line by line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from emotiq.io.encoding import detect_encoding, open_text, replaced_count
from emotiq.io.errors import ExportError
from emotiq.io.readers import REPLACED_NOTE, batch_frames, join_notes, unique_names


class ParquetTable:
    """A Parquet file; columns keep their Arrow types (pandas ``ArrowDtype``)."""

    delimiter: str | None = None

    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = path
        try:
            meta = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ExportError(f"{path}: not a readable Parquet file ({exc})") from None
        self.columns = unique_names(meta.schema_arrow.names)
        self.estimated_rows: int | None = meta.metadata.num_rows

    def frames(self, size: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=size):
            frame = batch.to_pandas(types_mapper=pd.ArrowDtype)
            frame.columns = self.columns
            yield frame, [""] * len(frame)


def _parse(line: str, number: int) -> tuple[dict[str, Any], str]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return {}, f"line {number} is not valid JSON ({exc.msg})"
    if not isinstance(value, dict):
        return {}, f"line {number} is a JSON {type(value).__name__}, not an object"
    return value, ""


class JsonlTable:
    """A JSON Lines file: one object per line; the columns are all keys, in first-seen order.

    Keys are collected in a first pass so that a key first seen late in the file
    still gets its column. Blank lines are not rows; a line that is not a JSON
    object becomes a row of empty cells with a note.
    """

    delimiter: str | None = None

    def __init__(self, path: Path) -> None:
        self.path = path
        self.encoding = detect_encoding(path)
        keys: dict[str, None] = {}
        rows = 0
        for _, value, _ in self._objects():
            keys.update(dict.fromkeys(value))
            rows += 1
        if not keys:
            raise ExportError(f"{path}: no JSON objects found (expected one object per line)")
        self.columns = unique_names(list(keys))
        self._keys = list(keys)
        self.estimated_rows: int | None = rows

    def _objects(self) -> Iterator[tuple[int, dict[str, Any], str]]:
        with open_text(self.path, self.encoding) as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    value, note = _parse(line, number)
                    yield number, value, note

    def _rows(self) -> Iterator[tuple[list[Any], str]]:
        before = replaced_count()
        for _, value, note in self._objects():
            record = [value.get(k) for k in self._keys]
            if replaced_count() > before and any(isinstance(v, str) and "\ufffd" in v for v in record):
                note = join_notes(note, REPLACED_NOTE)
            yield record, note

    def frames(self, size: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
        return batch_frames(self._rows(), self.columns, size)
