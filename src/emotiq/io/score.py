"""``score_file``: score every row of a feedback export and write it back with the scores.

The input is read and the output written in chunks of ``chunk_rows`` rows, so
memory stays flat however large the file is. Every input row comes back, in
order, with its original cells unchanged, followed by the score columns of
:meth:`emotiq.schema.Analysis.to_dict` and ``emotiq_warning`` (what had to be
repaired to read the row: '' when nothing). Problems with single rows never
stop the run; problems with the file, its columns or a checkpoint raise
:class:`~emotiq.io.errors.ExportError` before anything is scored.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import pandas as pd

from emotiq.io import checkpoint as ckpt
from emotiq.io.assemble import XLSX_MAX_ROWS
from emotiq.io.cells import cell_text, safe_text
from emotiq.io.columns import output_names, pick_text_column, require_column
from emotiq.io.errors import ExportError
from emotiq.io.formats import output_format
from emotiq.io.progress import Progress
from emotiq.io.readers import NOTE_SEPARATOR, Chunk, Table, iter_chunks, open_table
from emotiq.io.rows import score_rows
from emotiq.io.writers import PARTS_FORMATS, Writer, can_resume, open_writer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreSummary:
    """What a :func:`score_file` run did."""

    rows: int
    ok: int
    empty: int
    error: int
    truncated: int
    text_column: str
    seconds: float
    """Wall time of the whole call, model loading included."""
    output: Path
    flagged: int = 0
    """Rows with an ``emotiq_warning`` (repaired while reading)."""
    resumed_rows: int = 0
    """Rows taken over from an interrupted run instead of scored again."""
    report: Path | None = None
    scoring_seconds: float = 0.0
    """Time spent reading, scoring and writing rows (model loading and the report left out)."""

    @property
    def rows_per_second(self) -> float:
        """Rows scored per second of scoring time by this run."""
        return (self.rows - self.resumed_rows) / self.scoring_seconds if self.scoring_seconds > 0 else 0.0

    def __str__(self) -> str:
        resumed = f", {self.resumed_rows:,} resumed" if self.resumed_rows else ""
        return (f"scored {self.rows:,} rows of column {self.text_column!r} ({self.ok:,} ok, {self.empty:,} empty, "
                f"{self.error:,} error, {self.truncated:,} truncated, {self.flagged:,} flagged{resumed}) "
                f"in {self.seconds:.1f}s ({self.rows_per_second:.1f} rows/s) -> {self.output}")


def _log_notes(chunk: Chunk, rows: list[dict[str, Any]]) -> None:
    """One warning per kind of row problem in ``chunk``, naming its (1-based) rows."""
    problems: defaultdict[str, list[int]] = defaultdict(list)
    for i, (note, row) in enumerate(zip(chunk.notes, rows)):
        for text in [*note.split(NOTE_SEPARATOR), str(row.get("emotiq_status"))]:
            if text and text not in {"ok", "empty"}:
                problems[text].append(chunk.start + i + 1)
    for text, numbers in problems.items():
        shown = ", ".join(map(str, numbers[:10])) + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
        logger.warning("row %s: %s", shown, text)


class _Run:
    """One scoring run: planned from the input, then driven chunk by chunk."""

    def __init__(self, input: str | Path, output: str | Path, *, text_column: str | None, sheet: str | int | None,
                 by: str | None, time_column: str | None, chunk_rows: int, report: bool) -> None:
        self.input, self.output = Path(input).expanduser(), Path(output).expanduser()
        self.out_format = output_format(self.output)
        if self.input.exists() and self.output.exists() and self.input.resolve() == self.output.resolve():
            raise ExportError(f"{self.output}: the output would overwrite the input; choose another output path")
        self.table: Table = open_table(self.input, sheet=sheet)
        self.chunk_rows = chunk_rows
        self.chunks = iter_chunks(self.table, chunk_rows)
        self.first = next(self.chunks, None)
        if self.first is None:
            raise ExportError(f"{self.input}: the file has a header but no data rows")
        cols, where = self.table.columns, str(self.input)
        self.text_column = require_column(text_column, cols, "text_column", where) or pick_text_column(self.first.frame, where)
        self.by = require_column(by, cols, "by", where)
        self.time_column = require_column(time_column, cols, "time_column", where)
        self.report_options = {"by": self.by, "time_column": self.time_column} if report else None
        self.counts: dict[str, int] = {k: 0 for k in ("rows", "ok", "empty", "error", "truncated", "flagged")}

    # -- setup ------------------------------------------------------------------------
    def name_columns(self, model: Any) -> None:
        """Name emotiq's columns from the keys the model's results have."""
        self.keys = list(model.analyze([""])[0].to_dict())
        self.names = output_names(self.keys, self.table.columns)

    def checkpoint(self, resume: bool) -> ckpt.Checkpoint | None:
        """The checkpoint to continue from (None: start over); set ``self.state`` for this run."""
        self.state_path = ckpt.checkpoint_path(self.output)
        self.state = ckpt.Checkpoint.start(
            self.input, self.output, output_format=self.out_format, text_column=self.text_column,
            sheet=getattr(self.table, "sheet", None), chunk_rows=self.chunk_rows, columns=[*self.table.columns, *self.names],
            report_options=self.report_options)
        saved = ckpt.load(self.state_path)
        if saved is not None and not resume:
            logger.info("starting over: discarding the checkpoint of an earlier run at %s", self.state_path)
            ckpt.remove(self.state_path)
            return None
        if saved is None:
            if resume:
                logger.info("no checkpoint at %s; scoring from the first row", self.state_path)
            return None
        reason = self.state.mismatch(saved)
        if reason:
            raise ExportError(f"{self.state_path}: cannot resume, the checkpoint is for another run ({reason}); "
                              "run without resume to start over")
        self._check_partial(saved)
        self.state = saved
        self.counts.update(saved.counts)
        logger.info("resuming after row %s (%d chunks done)", f"{saved.rows_done:,}", saved.chunks_done)
        return saved

    def resume_position(self, saved: ckpt.Checkpoint) -> int:
        """Where the writer continues: bytes written, or parts for Parquet and ``.xlsx`` output."""
        return saved.chunks_done if self.out_format in PARTS_FORMATS else saved.output_bytes

    def _check_partial(self, saved: ckpt.Checkpoint) -> None:
        if not can_resume(self.output, self.out_format, self.resume_position(saved)):
            raise ExportError(f"{self.state_path}: cannot resume, the partial output it describes is missing or "
                              "shorter than recorded; run without resume to start over")

    def writer(self, saved: ckpt.Checkpoint | None) -> Writer:
        """A writer starting fresh, or continuing the partial output of ``saved``."""
        resume_at = self.resume_position(saved) if saved is not None else None
        same_dialect = self.out_format == "csv" and self.table.delimiter is not None
        delimiter = self.table.delimiter if same_dialect else ","
        return open_writer(self.output, self.out_format, self.state.columns, delimiter=delimiter or ",", resume_at=resume_at)

    # -- per chunk --------------------------------------------------------------------
    def score(self, model: Any, chunk: Chunk, batch_size: int) -> tuple[list[str], list[dict[str, Any]]]:
        """Texts of ``chunk`` and their score rows; a model failure marks rows as errors instead of stopping."""
        texts = [cell_text(v) for v in chunk.frame[self.text_column].tolist()]
        return texts, score_rows(model, texts, batch_size=batch_size, first_row=chunk.start)

    def frame(self, chunk: Chunk, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """The chunk's original cells followed by emotiq's columns."""
        data: dict[str, list[Any]] = {}
        for key, name in zip(self.keys, self.names):
            data[name] = [safe_text(v) if isinstance(v, str) else v for v in (r.get(key) for r in rows)]
        data[self.names[-1]] = [safe_text(n) for n in chunk.notes]
        scores = pd.DataFrame(data)
        return pd.concat([chunk.frame.reset_index(drop=True), scores], axis=1)

    def count(self, chunk: Chunk, rows: list[dict[str, Any]]) -> None:
        """Add the chunk's rows to the status counts."""
        self.counts["rows"] += len(rows)
        for row in rows:
            status = str(row.get("emotiq_status"))
            self.counts["error" if status.startswith("error") else ("empty" if status == "empty" else "ok")] += 1
            self.counts["truncated"] += bool(row.get("truncated"))
        self.counts["flagged"] += sum(1 for n in chunk.notes if n)

    def summary(self, **fields: Any) -> ScoreSummary:
        """What this run did: its counts plus ``fields`` (output, seconds, ...)."""
        c = self.counts
        return ScoreSummary(rows=c["rows"], ok=c["ok"], empty=c["empty"], error=c["error"], truncated=c["truncated"],
                            flagged=c["flagged"], text_column=self.text_column, **fields)

    def pending(self) -> Any:
        """Chunks still to score (those a resumed run already wrote are skipped)."""
        first, self.first = self.first, None  # held only until it is scored
        for index, chunk in enumerate(chain([first], self.chunks)):
            if index >= self.state.chunks_done:
                if self.out_format == "xlsx" and chunk.start + len(chunk) > XLSX_MAX_ROWS:
                    raise ExportError(f"{self.output}: more than {XLSX_MAX_ROWS:,} rows do not fit in an .xlsx sheet; "
                                      "write .csv or .parquet instead")
                yield chunk


def _load_model(device: str, compile: bool) -> Any:
    import emotiq

    return emotiq.load(device=device, compile=compile)


def _aggregator(report: str | Path | None, run: _Run, saved: ckpt.Checkpoint | None) -> Any:
    if report is None:
        if run.by or run.time_column:
            logger.info("by and time_column only shape the report; pass report=... to get one")
        return None
    from emotiq.report.aggregate import ReportAggregator

    if saved is not None and saved.report_state is not None:
        return ReportAggregator.from_state(saved.report_state)
    return ReportAggregator(by=run.by, time_column=run.time_column)


def _process(run: _Run, model: Any, chunk: Chunk, batch_size: int, writer: Writer, aggregator: Any) -> None:
    """Score, write and count one chunk, then move the checkpoint past it."""
    texts, rows = run.score(model, chunk, batch_size)
    _log_notes(chunk, rows)
    position = writer.write(run.frame(chunk, rows))
    run.count(chunk, rows)
    if aggregator is not None:
        column = chunk.frame.get
        groups = column(run.by).tolist() if run.by else None
        times = column(run.time_column).tolist() if run.time_column else None
        aggregator.add(rows, texts, first_row=chunk.start, groups=groups, times=times)
    state = run.state
    state.rows_done = chunk.start + len(chunk)
    state.chunks_done += 1
    state.output_bytes = 0 if run.out_format in PARTS_FORMATS else position
    state.counts = dict(run.counts)
    state.report_state = aggregator.state() if aggregator is not None else None
    ckpt.save(state, run.state_path)


def _write_report(report: str | Path, aggregator: Any, run: _Run, model: Any) -> Path:
    from emotiq.report import write_report
    from emotiq.report.insights import report_insights

    config = getattr(model, "config", None)
    meta = {"input": run.input.name, "text_column": run.text_column, "by": run.by, "time_column": run.time_column,
            "model": getattr(config, "name", None), "rows": run.counts["rows"]}
    return write_report(aggregator, report, meta=meta, insights=report_insights(model, aggregator))


def score_file(input: str | Path, output: str | Path, *, model: Any = None, text_column: str | None = None,
               batch_size: int = 64, device: str = "cpu", resume: bool = False, report: str | Path | None = None,
               by: str | None = None, time_column: str | None = None, sheet: str | int | None = None,
               chunk_rows: int = 5000, compile: bool = False) -> ScoreSummary:
    """Score the text column of a feedback export and write every row back with its scores.

    Args:
        input: A ``.csv``/``.tsv``/``.txt`` (encoding and delimiter are detected),
            ``.xlsx``, ``.parquet`` or ``.jsonl`` file.
        output: Where to write; the format follows the extension (``.csv``,
            ``.tsv``, ``.xlsx``, ``.parquet``, ``.jsonl``).
        model: An :class:`~emotiq.EmotiqModel`; by default ``emotiq.load(device=device)``.
        text_column: Column to score; by default the column that looks most like
            free text (logged).
        batch_size: Texts the encoder runs at once.
        device: Device for the default model.
        resume: Continue an interrupted run with the same input and output from
            its last completed chunk.
        report: Also write a self-contained HTML report to this path.
        by: Column to split the report by (e.g. channel).
        time_column: Column of dates to show the report over time.
        sheet: Worksheet of an ``.xlsx`` input, by name or 0-based index (default first).
        chunk_rows: Rows read, scored and written at a time.
        compile: Compile the default model's encoder (see :func:`emotiq.load`).

    Raises:
        ExportError: The input, output, a column, a sheet or the checkpoint cannot be used.
    """
    started = time.perf_counter()
    run = _Run(input, output, text_column=text_column, sheet=sheet, by=by, time_column=time_column, chunk_rows=chunk_rows,
               report=report is not None)
    model = model if model is not None else _load_model(device, compile)
    run.name_columns(model)
    saved = run.checkpoint(resume)
    aggregator = _aggregator(report, run, saved)
    writer = run.writer(saved)
    resumed = run.state.rows_done
    progress = Progress(run.table.estimated_rows, done=resumed)
    scoring_started = time.perf_counter()
    try:
        for chunk in run.pending():
            _process(run, model, chunk, batch_size, writer, aggregator)
            progress.update(len(chunk))
    except BaseException:
        writer.close()
        progress.close()
        if run.state.rows_done:
            logger.warning("stopped after row %s; run again with resume=True to continue", f"{run.state.rows_done:,}")
        raise
    progress.close()
    path = writer.finish()
    scoring = time.perf_counter() - scoring_started
    report_path = _write_report(report, aggregator, run, model) if report is not None else None
    ckpt.remove(run.state_path)
    summary = run.summary(output=path, seconds=time.perf_counter() - started, scoring_seconds=scoring,
                          resumed_rows=resumed, report=report_path)
    logger.debug("%s", summary)
    return summary
