"""Score a text column of a Spark DataFrame (``pip install "emotiq[spark]"``).

>>> from emotiq.spark import score_spark
>>> scored = score_spark(spark.read.parquet("feedback/"), "message")
>>> scored.write.parquet("scored/")

The job runs through ``mapInPandas`` (Arrow batches). Each Python worker loads
the model once and reuses it for every batch and task it runs, with torch set
to the cores each task is given (``spark.task.cpus``), so executors are not
oversubscribed. The model comes from a path every executor can read (shared
storage, or the bundled default inside the installed package) or, with
``ship=True``, travels with the job through ``SparkContext.addFile``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from emotiq.distributed.columns import ScoreColumns, score_columns
from emotiq.distributed.source import ModelSource, check_on_worker
from emotiq.distributed.worker import add_scores, worker_model
from emotiq.errors import ClusterError, InputError, ModelFolderError
from emotiq.text.normalize import DEFAULT_MAX_CHARS

try:
    from pyspark.sql import types as T
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('emotiq.spark needs pyspark: pip install "emotiq[spark]"') from exc

logger = logging.getLogger(__name__)

SPARK_TYPES: dict[type, T.DataType] = {str: T.StringType(), float: T.DoubleType(), int: T.LongType(), bool: T.BooleanType()}
"""Spark type of each kind of score column."""

_TEXT_TYPES = (T.StringType, T.VarcharType, T.CharType, T.NullType)


def score_schema(input_schema: T.StructType, columns: ScoreColumns) -> T.StructType:
    """``input_schema`` followed by the (nullable) score columns."""
    fields = [T.StructField(name, SPARK_TYPES[kind], True) for name, kind in zip(columns.names, columns.types)]
    return T.StructType([*input_schema.fields, *fields])


def _check_text_column(schema: T.StructType, text_column: str) -> None:
    if text_column not in schema.names:
        raise InputError(f"no column {text_column!r} to score; columns: {schema.names}")
    data_type = schema[text_column].dataType
    if not isinstance(data_type, _TEXT_TYPES):
        raise InputError(f"column {text_column!r} is {data_type.simpleString()}, not string; "
                         f"cast it first, e.g. df.withColumn({text_column!r}, df[{text_column!r}].cast('string'))")


def _task_cpus() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return int(context.cpus()) if context is not None else 1


def _files_root(source: ModelSource) -> str | None:
    if source.shipped is None:
        return None
    from pyspark import SparkFiles

    return SparkFiles.getRootDirectory()


class _Probe:
    """Checks on an executor that it can read the model (one row per partition)."""

    def __init__(self, source: ModelSource) -> None:
        self.source = source

    def __call__(self, batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for _ in batches:
            pass
        problem = check_on_worker(self.source, _files_root(self.source))
        yield pd.DataFrame({"problem": [problem or ""]})


class _Scorer:
    """The function ``mapInPandas`` runs: the worker's cached model over each Arrow batch."""

    def __init__(self, source: ModelSource, text_column: str, columns: ScoreColumns, *, batch_size: int, max_chars: int,
                 threads: int | None) -> None:
        self.source, self.text_column, self.columns = source, text_column, columns
        self.options = {"batch_size": batch_size, "max_chars": max_chars}
        self.threads = threads

    def __call__(self, batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = worker_model(self.source, threads=self.threads or _task_cpus(), files_root=_files_root(self.source))
        for batch in batches:
            yield add_scores(model, batch, self.text_column, self.columns, **self.options)


def ship_model(spark: Any, source: ModelSource) -> ModelSource:
    """Send ``source``'s folder to every executor with ``SparkContext.addFile``; the source that reads it there."""
    folder = source.driver_folder()
    spark.sparkContext.addFile(str(folder), recursive=True)
    logger.info("shipping model folder %s to the executors", folder)
    return source.shipped_as(folder.name)


def check_executors(spark: Any, source: ModelSource) -> None:
    """Run a small job that checks the executors can import emotiq and read the model.

    Raises:
        ModelFolderError: an executor cannot read the model folder (the message names it).
        ClusterError: the check could not run there, e.g. emotiq is not installed on the executors.
    """
    try:
        slots = max(1, int(spark.sparkContext.defaultParallelism))
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        slots = 1
    probe = spark.range(0, slots, 1, slots).mapInPandas(_Probe(source), "problem string")
    try:
        problems = sorted({row["problem"] for row in probe.collect()} - {""})
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(f"could not check the model on the executors ({first}); "
                           'is emotiq installed there (pip install "emotiq[spark]")?') from exc
    if problems:
        hint = "use a path on storage every executor mounts, or ship the folder with score_spark(..., ship=True)"
        raise ModelFolderError(f"the executors cannot read model {source.location or '(bundled default)'}: "
                               f"{'; '.join(problems)}; {hint}")


def score_spark(df: Any, text_column: str, model: str | Path | None = None, tasks: Iterable[str] | str | None = None, *,
                ship: bool = False, batch_size: int = 64, precision: str = "auto", threads: int | None = None,
                max_chars: int = DEFAULT_MAX_CHARS, check: bool = True) -> Any:
    """Add emotiq's score columns to a Spark DataFrame.

    Every row comes back with its columns unchanged, followed by the columns of
    ``emotiq score`` (:meth:`Analysis.to_dict`: ``language``, ``sentiment``, ...,
    a fine-tuned model's own columns, and ``emotiq_status``). Null, empty and
    unscorable texts get a status (``empty`` or ``error: ...``) and never fail the
    job. When an input column already has one of those names, all of emotiq's
    columns are prefixed ``emotiq_``. The job is lazy, like any Spark transformation.

    Args:
        df: A Spark DataFrame.
        text_column: Its string column to score (nulls allowed).
        model: A bundled model name or a model folder every executor can read
            (default: the bundled default model).
        tasks: Heads to run (default all); the others' columns are left out.
        ship: Send the model folder (as the driver sees it) to the executors with
            ``SparkContext.addFile``, for folders not on shared storage.
        batch_size: Texts the encoder runs at once.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"int8"`` (see :func:`emotiq.load`).
        threads: torch threads per task (default: the task's cores, ``spark.task.cpus``).
        max_chars: Characters kept per text; longer ones are cut and flagged ``truncated``.
        check: Before returning, run a small job checking that the executors can
            import emotiq and read the model.

    Returns:
        A DataFrame with the input columns and the score columns.

    Raises:
        InputError: ``text_column`` is missing (the message lists the columns) or not a string column.
        ModelFolderError: the driver or an executor cannot read the model.
        ClusterError: the executors cannot run emotiq.
        UnknownNameError: a task is not one of the model's heads.
    """
    _check_text_column(df.schema, text_column)
    source = ModelSource.from_argument(model, precision=precision)
    columns = score_columns(source.head_specs(), df.columns, tasks)
    spark = df.sparkSession
    if ship:
        source = ship_model(spark, source)
    if check:
        check_executors(spark, source)
    scorer = _Scorer(source, text_column, columns, batch_size=batch_size, max_chars=max_chars, threads=threads)
    return df.mapInPandas(scorer, score_schema(df.schema, columns))


__all__ = ["SPARK_TYPES", "check_executors", "score_schema", "score_spark", "ship_model"]
