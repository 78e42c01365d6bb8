"""Inside a worker: the model, loaded once per process, and a pandas batch scored into columns."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pandas as pd

from emotiq.distributed.columns import ScoreColumns
from emotiq.distributed.source import ModelSource
from emotiq.io.cells import cell_text
from emotiq.io.rows import score_rows
from emotiq.text.normalize import DEFAULT_MAX_CHARS

logger = logging.getLogger(__name__)

_DTYPES: dict[type, str] = {str: "object", float: "float64", int: "int64", bool: "bool"}
"""pandas dtype of each kind of score column."""

_MODELS: dict[tuple[str | None, str, str], Any] = {}
_LOCK = threading.Lock()


def set_threads(threads: int) -> None:
    """Let torch use ``threads`` CPU threads (the cores this task or actor was given)."""
    import torch

    threads = max(1, int(threads))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def worker_model(source: ModelSource, *, threads: int, files_root: str | None = None) -> Any:
    """The model of ``source``, loaded on first use in this process and reused after that."""
    import emotiq

    set_threads(threads)
    location = source.worker_location(files_root)
    key = (location, source.precision, source.device)
    with _LOCK:
        if key not in _MODELS:
            logger.info("loading model %s (%s, %d threads)", location or "(bundled default)", source.precision, threads)
            _MODELS[key] = emotiq.load(location, precision=source.precision, device=source.device)
        return _MODELS[key]


def score_frame(model: Any, values: pd.Series, columns: ScoreColumns, *, batch_size: int = 64,
                max_chars: int = DEFAULT_MAX_CHARS) -> pd.DataFrame:
    """Score columns for a Series of texts, on the Series' index.

    Cells are read as ``emotiq score`` reads them: a missing cell is an empty
    text, so it gets the ``empty`` status; a text the model fails on gets an
    ``error: ...`` status and never stops the batch.
    """
    texts = [cell_text(v) for v in values.tolist()]
    rows = score_rows(model, texts, batch_size=batch_size, tasks=columns.tasks, max_chars=max_chars)
    data = {name: pd.Series([row.get(key) for row in rows], dtype=_DTYPES[kind], index=values.index)
            for key, name, kind in zip(columns.keys, columns.names, columns.types)}
    return pd.DataFrame(data, index=values.index)


def add_scores(model: Any, batch: pd.DataFrame, text_column: str, columns: ScoreColumns, **options: Any) -> pd.DataFrame:
    """``batch`` with its columns unchanged and the score columns after them (options: see :func:`score_frame`)."""
    return pd.concat([batch, score_frame(model, batch[text_column], columns, **options)], axis=1)
