"""Write scored chunks as they come, so an interrupted run can continue.

CSV, TSV and JSONL output is appended to ``<output>.part``, flushed to disk
after every chunk; its size is the resume point. Parquet and ``.xlsx`` output
cannot be appended safely, so each chunk becomes a Parquet part file in
``<output>.parts/`` and :meth:`PartsWriter.finish` assembles the final file.
Either way the output appears under its own name only when the run is done.

CSV/TSV output is UTF-8 with a byte-order mark (so Excel reads accents and
``€`` right), uses the input's delimiter when the input was delimited text and
``.csv`` is asked for, and writes numbers and booleans unquoted.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path
from typing import Protocol

import pandas as pd

from emotiq.io.cells import cell_text, is_missing, json_value


class Writer(Protocol):
    """Where scored chunks go."""

    def write(self, frame: pd.DataFrame) -> int:
        """Write one chunk; return the resume point (bytes written, or parts written)."""
        ...

    def finish(self) -> Path:
        """Complete the output file under its final name and return it."""
        ...

    def close(self) -> None:
        """Release open files without completing the output."""
        ...


PARTS_FORMATS = frozenset({"parquet", "xlsx"})
"""Output formats written as Parquet parts and assembled at the end."""


def part_path(output: Path) -> Path:
    """The file CSV, TSV and JSONL output grows in until the run is done."""
    return output.with_name(output.name + ".part")


def parts_folder(output: Path) -> Path:
    """The folder holding the Parquet parts of Parquet and ``.xlsx`` output."""
    return output.with_name(output.name + ".parts")


def can_resume(output: Path, fmt: str, position: int) -> bool:
    """Whether the partial output of ``output`` reaches ``position`` (bytes, or parts for Parquet/xlsx)."""
    if fmt in PARTS_FORMATS:
        folder = parts_folder(output)
        return folder.is_dir() and len(list(folder.glob("part-*.parquet"))) >= position
    part = part_path(output)
    return part.exists() and part.stat().st_size >= position


def _sync(fh: io.BufferedIOBase) -> None:
    fh.flush()
    os.fsync(fh.fileno())


class StreamWriter:
    """CSV, TSV or JSONL, appended chunk by chunk to ``<output>.part``."""

    def __init__(self, output: Path, fmt: str, columns: list[str], *, delimiter: str = ",", resume_at: int | None = None) -> None:
        self.output, self.fmt, self.columns = output, fmt, columns
        self.delimiter = "\t" if fmt == "tsv" else delimiter
        self.part = part_path(output)
        if resume_at is None:
            self._fh = self.part.open("wb")
            if fmt != "jsonl":
                self._fh.write(self._encode([columns], bom=True))
                _sync(self._fh)
        else:
            self._fh = self.part.open("r+b")
            self._fh.truncate(resume_at)
            self._fh.seek(resume_at)

    def _encode(self, rows: list[list[object]], *, bom: bool = False) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")

    def _jsonl(self, frame: pd.DataFrame) -> bytes:
        lines = (json.dumps(dict(zip(self.columns, map(json_value, row))), ensure_ascii=False, default=str)
                 for row in frame.itertuples(index=False, name=None))
        return "".join(line + "\n" for line in lines).encode("utf-8")

    def write(self, frame: pd.DataFrame) -> int:
        if self.fmt == "jsonl":
            data = self._jsonl(frame)
        else:
            data = self._encode([[cell_text(v) for v in row] for row in frame.itertuples(index=False, name=None)])
        self._fh.write(data)
        _sync(self._fh)
        return self._fh.tell()

    def finish(self) -> Path:
        self._fh.close()
        os.replace(self.part, self.output)
        return self.output

    def close(self) -> None:
        self._fh.close()


def _arrow_column(values: pd.Series) -> object:
    import pyarrow as pa

    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if is_missing(v) else cell_text(v) for v in values], type=pa.string())


def to_arrow(frame: pd.DataFrame) -> object:
    """``frame`` as an Arrow table; a column of mixed types becomes text."""
    import pyarrow as pa

    return pa.table([_arrow_column(frame.iloc[:, i]) for i in range(frame.shape[1])], names=[str(c) for c in frame.columns])


class PartsWriter:
    """Parquet or ``.xlsx``: one Parquet part per chunk, assembled by :meth:`finish`."""

    def __init__(self, output: Path, fmt: str, columns: list[str], *, resume_at: int | None = None) -> None:
        self.output, self.fmt, self.columns = output, fmt, columns
        self.folder = parts_folder(output)
        if resume_at is None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = resume_at or 0
        for stale in [*self.parts()[self.count:], *self.folder.glob("*.tmp")]:
            stale.unlink()

    def parts(self) -> list[Path]:
        """Part files written so far, in order."""
        return sorted(self.folder.glob("part-*.parquet"))

    def write(self, frame: pd.DataFrame) -> int:
        import pyarrow.parquet as pq

        target = self.folder / f"part-{self.count:06d}.parquet"
        tmp = target.with_suffix(".tmp")
        pq.write_table(to_arrow(frame), tmp)
        os.replace(tmp, target)
        self.count += 1
        return self.count

    def finish(self) -> Path:
        from emotiq.io import assemble

        tmp = self.output.with_name(self.output.name + ".tmp")
        if self.fmt == "parquet":
            assemble.parquet(self.parts(), tmp)
        else:
            assemble.xlsx(self.parts(), tmp, self.columns)
        os.replace(tmp, self.output)
        shutil.rmtree(self.folder, ignore_errors=True)
        return self.output

    def close(self) -> None:
        """Nothing stays open between chunks."""


def open_writer(output: Path, fmt: str, columns: list[str], *, delimiter: str = ",", resume_at: int | None = None) -> Writer:
    """A writer for ``fmt`` ('csv', 'tsv', 'jsonl', 'parquet' or 'xlsx'), fresh or resuming at ``resume_at``."""
    if fmt in PARTS_FORMATS:
        return PartsWriter(output, fmt, columns, resume_at=resume_at)
    return StreamWriter(output, fmt, columns, delimiter=delimiter, resume_at=resume_at)
