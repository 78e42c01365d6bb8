"""Score a text column of a Ray Dataset (``pip install "emotiq[ray]"``).

>>> import ray
>>> from emotiq.ray import score_ray
>>> scored = score_ray(ray.data.read_parquet("feedback/"), "message", concurrency=4)
>>> scored.write_parquet("scored/")

The job runs through ``map_batches`` with a class on an actor pool: each actor
loads the model once, with torch set to the CPUs the actor is given
(``num_cpus``), and scores every batch sent to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from emotiq.distributed.columns import ScoreColumns, score_columns
from emotiq.distributed.source import ModelSource, check_on_worker
from emotiq.distributed.worker import add_scores, worker_model
from emotiq.errors import InputError, ModelFolderError
from emotiq.text.normalize import DEFAULT_MAX_CHARS

try:
    import pyarrow as pa
    import ray
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('emotiq.ray needs Ray Data: pip install "emotiq[ray]"') from exc

logger = logging.getLogger(__name__)

_TEXT_TYPE_CHECKS = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view, pa.types.is_null)


class RayScorer:
    """The class ``map_batches`` runs on each actor: loads the model once, then scores pandas batches."""

    def __init__(self, source: ModelSource, text_column: str, columns: ScoreColumns, *, threads: int, batch_size: int,
                 max_chars: int) -> None:
        self.model = worker_model(source, threads=threads)
        self.text_column, self.columns = text_column, columns
        self.options = {"batch_size": batch_size, "max_chars": max_chars}

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return add_scores(self.model, batch, self.text_column, self.columns, **self.options)


def _check_text_column(names: list[str], types: list[Any], text_column: str) -> None:
    if text_column not in names:
        raise InputError(f"no column {text_column!r} to score; columns: {names}")
    kind = types[names.index(text_column)]
    if isinstance(kind, pa.DataType) and not any(check(kind) for check in _TEXT_TYPE_CHECKS):
        raise InputError(f"column {text_column!r} is {kind}, not string; cast it to string first")


def check_workers(source: ModelSource) -> None:
    """Check on a Ray worker that it can read the model.

    Raises:
        ModelFolderError: the worker cannot read the model folder (the message names the machine).
    """
    problem = ray.get(ray.remote(num_cpus=0)(check_on_worker).remote(source))
    if problem:
        raise ModelFolderError(f"the Ray workers cannot read model {source.location or '(bundled default)'}: {problem}; "
                               "use a path on storage every node mounts")


def _pool(concurrency: int | tuple[int, int] | None, num_cpus: float) -> Any:
    if isinstance(concurrency, tuple):
        return ray.data.ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
    if concurrency is not None:
        return ray.data.ActorPoolStrategy(size=concurrency)
    most = max(1, int(ray.cluster_resources().get("CPU", 1) // num_cpus))
    return ray.data.ActorPoolStrategy(min_size=1, max_size=most)


def score_ray(dataset: Any, text_column: str, model: str | Path | None = None, tasks: Iterable[str] | str | None = None, *,
              concurrency: int | tuple[int, int] | None = None, num_cpus: float = 1, rows_per_batch: int = 4096,
              batch_size: int = 64, precision: str = "auto", threads: int | None = None,
              max_chars: int = DEFAULT_MAX_CHARS, check: bool = True) -> Any:
    """Add emotiq's score columns to a Ray Dataset.

    Every row comes back with its columns unchanged, followed by the columns of
    ``emotiq score`` (see :func:`emotiq.spark.score_spark`), with the same
    statuses for null, empty and unscorable texts. The Dataset is lazy, as usual.
    Ray hands each actor whole blocks: a dataset of fewer blocks than actors (a
    few small Parquet files can be read as one block) leaves actors idle, so
    ``dataset.repartition(n)`` it first.

    Args:
        dataset: A ``ray.data.Dataset``.
        text_column: Its string column to score (nulls allowed).
        model: A bundled model name or a model folder every node can read
            (default: the bundled default model).
        tasks: Heads to run (default all).
        concurrency: Actors in the pool: a number, or ``(min, max)`` to autoscale
            (default: from 1 up to the cluster's CPUs / ``num_cpus``).
        num_cpus: CPUs each actor reserves; torch uses that many threads.
        rows_per_batch: Rows Ray hands an actor at a time.
        batch_size: Texts the encoder runs at once.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"int8"`` (see :func:`emotiq.load`).
        threads: torch threads per actor (default ``num_cpus``, at least 1).
        max_chars: Characters kept per text; longer ones are cut and flagged ``truncated``.
        check: Check on a worker, before returning, that it can read the model.

    Raises:
        InputError: ``text_column`` is missing (the message lists the columns) or not a string column.
        ModelFolderError: the driver or a worker cannot read the model.
        UnknownNameError: a task is not one of the model's heads.
    """
    schema = dataset.schema()
    if schema is None:
        raise InputError("the dataset has no columns (is it empty?); nothing to score")
    names, types = list(schema.names), list(schema.types)
    _check_text_column(names, types, text_column)
    source = ModelSource.from_argument(model, precision=precision)
    columns = score_columns(source.head_specs(), names, tasks)
    if check:
        check_workers(source)
    constructor = {"source": source, "text_column": text_column, "columns": columns, "batch_size": batch_size,
                   "max_chars": max_chars, "threads": threads or max(1, round(num_cpus))}
    return dataset.map_batches(RayScorer, fn_constructor_kwargs=constructor, batch_format="pandas", batch_size=rows_per_batch,
                               compute=_pool(concurrency, num_cpus), num_cpus=num_cpus)


__all__ = ["RayScorer", "check_workers", "score_ray"]
