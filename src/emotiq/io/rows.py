"""Score a list of texts into flat result rows (:meth:`Analysis.to_dict`) without failing on one text.

This is the one place that turns a batch of cells into score rows; ``score_file``
and the Spark and Ray adapters all go through :func:`score_rows`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from emotiq.text.normalize import DEFAULT_MAX_CHARS

logger = logging.getLogger(__name__)


def score_rows(model: Any, texts: Sequence[str], *, batch_size: int = 64, tasks: Iterable[str] | None = None,
               max_chars: int = DEFAULT_MAX_CHARS, first_row: int = 0) -> list[dict[str, Any]]:
    """One score row per text, in order.

    If the model fails on the batch, the texts are scored one by one and a text
    that still fails gets an ``error: ...`` status with placeholder scores, so
    one bad row never stops a long run.

    Args:
        model: An :class:`~emotiq.EmotiqModel`.
        texts: The texts ('' for a missing cell).
        batch_size: Texts the encoder runs at once.
        tasks: Heads to run (default all).
        max_chars: Characters kept per text.
        first_row: Row number of ``texts[0]`` in its source, for log messages.
    """
    tasks = list(tasks) if tasks is not None else None
    options: dict[str, Any] = {"tasks": tasks, "max_chars": max_chars}
    try:
        rows = [a.to_dict() for a in model.analyze_iter(texts, batch_size=batch_size, **options)]
        if len(rows) != len(texts):
            raise RuntimeError(f"the model returned {len(rows)} results for {len(texts)} texts")
        return rows
    except Exception as exc:  # noqa: BLE001 - one bad row must not stop a long run
        logger.warning("scoring rows %d-%d failed (%s); scoring them one by one", first_row + 1, first_row + len(texts), exc)
    return [_score_one(model, text, options) for text in texts]


def _score_one(model: Any, text: str, options: dict[str, Any]) -> dict[str, Any]:
    try:
        return model.analyze([text], **options)[0].to_dict()
    except Exception as exc:  # noqa: BLE001
        row: dict[str, Any] = model.analyze([""], **options)[0].to_dict()
        row["emotiq_status"] = f"error: {type(exc).__name__}: {exc}"
        return row
