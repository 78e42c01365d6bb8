"""Stream a feedback export as chunks of rows, whatever its format.

:func:`open_table` checks the file and reads its header; :func:`iter_chunks`
yields :class:`Chunk` objects of ``chunk_rows`` rows each, in file order, so
memory does not grow with the file. Each row carries a note ('' when none)
about what had to be repaired to read it: padded or merged fields, replaced
bytes, a line that is not JSON.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from emotiq.io.cells import cell_text, is_missing
from emotiq.io.dialect import sniff_delimiter
from emotiq.io.encoding import Encoding, detect_encoding, open_text, read_sample, replaced_count
from emotiq.io.errors import ExportError
from emotiq.io.formats import check_input

logger = logging.getLogger(__name__)

REPLACED_NOTE = "replaced undecodable bytes"
"""Row note for a row whose cells hold U+FFFD put in place of bytes that did not decode."""

_BLOCK = 1 << 20


@dataclass
class Chunk:
    """Consecutive rows of the input: original cells, 0-based first row, one note per row."""

    frame: pd.DataFrame
    start: int
    notes: list[str]

    def __len__(self) -> int:
        return len(self.frame)


class Table(Protocol):
    """An opened input: its column names and a way to read its rows in frames."""

    path: Path
    columns: list[str]
    estimated_rows: int | None
    delimiter: str | None

    def frames(self, size: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
        """Yield (frame of at most ``size`` rows, one note per row), in file order."""
        ...


def unique_names(names: Sequence[Any]) -> list[str]:
    """Header cells as usable column names: blanks get ``column_N``, repeats get ``.1``, ``.2``."""
    seen: dict[str, int] = {}
    result = []
    for i, name in enumerate(names):
        text = cell_text(name).strip() or f"column_{i + 1}"
        if text in seen:
            seen[text] += 1
            logger.warning("column name %r appears more than once; calling copy %d %r", text, seen[text], f"{text}.{seen[text]}")
            text = f"{text}.{seen[text]}"
        seen.setdefault(text, 0)
        result.append(text)
    return result


def fit_record(record: list[Any], width: int, joiner: str) -> tuple[list[Any], str]:
    """Pad a short record or fold a long one into ``width`` fields; return it and a note."""
    n = len(record)
    if n < width:
        return record + [""] * (width - n), f"{n} of {width} fields, missing cells left empty"
    extras = record[width:]
    if all(is_missing(v) or cell_text(v) == "" for v in extras):
        return record[:width], ""
    merged = joiner.join(cell_text(v) for v in record[width - 1:])
    return record[: width - 1] + [merged], f"{n} fields for {width} columns, extra fields joined into the last column"


NOTE_SEPARATOR = "; "
"""Between several notes about one row."""


def join_notes(*notes: str) -> str:
    """Several row notes as one cell."""
    return NOTE_SEPARATOR.join(n for n in notes if n)


def batch_frames(rows: Iterable[tuple[list[Any], str]], columns: list[str], size: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    """Group (record, note) pairs into frames of ``size`` rows with object columns."""
    records: list[list[Any]] = []
    notes: list[str] = []
    for record, note in rows:
        records.append(record)
        notes.append(note)
        if len(records) == size:
            yield pd.DataFrame(records, columns=columns, dtype=object), notes
            records, notes = [], []
    if records:
        yield pd.DataFrame(records, columns=columns, dtype=object), notes


def count_lines(path: Path) -> int:
    """Newline bytes in ``path``: a fast upper estimate of its record count."""
    total = 0
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            total += block.count(b"\n")
    return total


_SEP_LINE = re.compile(r"sep=(.)\r?\n")
"""Excel's optional first line naming the delimiter, e.g. ``sep=;``."""


class DelimitedTable:
    """A CSV, TSV or TXT export: encoding and delimiter are sniffed, every cell is a str.

    An Excel ``sep=;`` first line sets the delimiter and is not part of the data.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.encoding: Encoding = detect_encoding(path)
        sample, complete = read_sample(path, self.encoding)
        hint = _SEP_LINE.match(sample)
        self.skip_line = hint is not None
        default = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
        self.delimiter: str | None = hint.group(1) if hint else sniff_delimiter(sample, complete=complete, default=default)
        records = self._records()
        header = next((r for r in records if r), None)
        records.close()
        if header is None:
            raise ExportError(f"{path}: the file is empty")
        self.columns = unique_names(header)
        self.estimated_rows: int | None = max(count_lines(path) - 1, 1)

    def _records(self) -> Iterator[list[str]]:
        csv.field_size_limit(2**31 - 1)
        with open_text(self.path, self.encoding) as fh:
            if self.skip_line:
                fh.readline()
            yield from csv.reader(fh, delimiter=self.delimiter or ",", quotechar='"', strict=False)

    def _rows(self) -> Iterator[tuple[list[str], str]]:
        width, before = len(self.columns), replaced_count()
        records = (r for r in self._records() if r)  # blank lines are not rows
        next(records, None)
        for record in records:
            note = ""
            if len(record) != width:
                record, note = fit_record(record, width, self.delimiter or ",")
            if replaced_count() > before and any("\ufffd" in cell for cell in record):
                note = join_notes(note, REPLACED_NOTE)
            yield record, note

    def frames(self, size: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
        return batch_frames(self._rows(), self.columns, size)


def open_table(path: str | Path, *, sheet: str | int | None = None) -> Table:
    """Check ``path`` and open it for reading; raises :class:`ExportError` when it cannot be used."""
    path = Path(path).expanduser()
    fmt = check_input(path)
    if fmt == "delimited":
        return DelimitedTable(path)
    from emotiq.io import read_columnar, read_excel

    if fmt == "xlsx":
        return read_excel.ExcelTable(path, sheet)
    if fmt == "parquet":
        return read_columnar.ParquetTable(path)
    return read_columnar.JsonlTable(path)


def _take(frames: list[pd.DataFrame], notes: list[str], n: int) -> tuple[pd.DataFrame, list[str], list[pd.DataFrame], list[str]]:
    whole = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    rest = [whole.iloc[n:].reset_index(drop=True)] if len(whole) > n else []
    return whole.iloc[:n].reset_index(drop=True), notes[:n], rest, notes[n:]


def iter_chunks(table: Table, chunk_rows: int) -> Iterator[Chunk]:
    """Yield the rows of ``table`` as chunks of exactly ``chunk_rows`` rows (the last may be shorter)."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    pending: list[pd.DataFrame] = []
    notes: list[str] = []
    start = 0
    for frame, frame_notes in table.frames(chunk_rows):
        pending.append(frame)
        notes.extend(frame_notes)
        while len(notes) >= chunk_rows:
            head, head_notes, pending, notes = _take(pending, notes, chunk_rows)
            yield Chunk(head, start, head_notes)
            start += chunk_rows
    if notes:
        head, head_notes, _, _ = _take(pending, notes, len(notes))
        yield Chunk(head, start, head_notes)


def read_texts(path: str | Path, *, text_column: str | None = None, time_column: str | None = None,
               sheet: str | int | None = None) -> tuple[str, list[str], list[Any] | None]:
    """The text column (given or detected), its texts and the time column's cells of a whole export, in row order."""
    from emotiq.io.columns import pick_text_column, require_column

    table = open_table(path, sheet=sheet)
    frames = [chunk.frame for chunk in iter_chunks(table, 5000)]
    if not frames:
        raise ExportError(f"{path}: the file has a header but no data rows")
    frame = pd.concat(frames, ignore_index=True)
    column = require_column(text_column, table.columns, "text_column", str(path)) or pick_text_column(frame.head(5000), str(path))
    times = frame[require_column(time_column, table.columns, "time_column", str(path))].tolist() if time_column else None
    return column, [cell_text(v) for v in frame[column].tolist()], times
