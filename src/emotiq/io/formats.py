"""File formats by extension, and the checks an input file must pass before reading."""

from __future__ import annotations

from pathlib import Path

from emotiq.io.errors import ExportError

INPUT_FORMATS: dict[str, str] = {
    ".csv": "delimited",
    ".tsv": "delimited",
    ".tab": "delimited",
    ".txt": "delimited",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
"""Input extension -> reader."""

OUTPUT_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
}
"""Output extension -> writer."""

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an old binary Excel (.xls) or Office file; save it as .xlsx or CSV"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive; unpack it first"),
    (b"SQLite format 3", "an SQLite database"),
)


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def input_format(path: Path) -> str:
    """The reader for ``path`` ('delimited', 'xlsx', 'parquet' or 'jsonl'), from its extension."""
    fmt = INPUT_FORMATS.get(_suffix(path))
    if fmt is None:
        known = ", ".join(sorted(INPUT_FORMATS))
        hint = "; save it as .xlsx or CSV" if _suffix(path) == ".xls" else ""
        raise ExportError(f"{path}: unsupported input type {_suffix(path) or '(no extension)'!r}{hint}; use one of {known}")
    return fmt


def output_format(path: Path) -> str:
    """The writer for ``path`` ('csv', 'tsv', 'xlsx', 'parquet' or 'jsonl'), from its extension."""
    fmt = OUTPUT_FORMATS.get(_suffix(path))
    if fmt is None:
        known = ", ".join(sorted(OUTPUT_FORMATS))
        raise ExportError(f"{path}: unsupported output type {_suffix(path) or '(no extension)'!r}; use one of {known}")
    return fmt


def describe_binary(head: bytes) -> str | None:
    """What a file starting with ``head`` is, when it is a known binary format."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    return None


def check_input(path: Path) -> str:
    """Check that ``path`` is a readable, non-empty file of a supported type; return its format."""
    if not path.exists():
        raise ExportError(f"{path}: no such file")
    if not path.is_file():
        raise ExportError(f"{path}: not a file")
    fmt = input_format(path)
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ExportError(f"{path}: the file is empty")
    binary = describe_binary(head)
    expected = {"xlsx": b"PK\x03\x04", "parquet": b"PAR1"}.get(fmt)
    if expected is not None and not head.startswith(expected):
        raise ExportError(f"{path}: not a valid {fmt} file" + (f" (it looks like {binary})" if binary else ""))
    if fmt in {"delimited", "jsonl"} and binary:
        raise ExportError(f"{path}: this is {binary}, not a text export")
    return fmt
