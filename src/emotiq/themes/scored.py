"""Themes of scored texts: pick a subset of :class:`~emotiq.schema.Analysis` results and group it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emotiq.errors import InputError
from emotiq.schema import Analysis
from emotiq.themes.build import MAX_THEMES, find_themes
from emotiq.themes.select import DESCRIPTIONS, selected
from emotiq.themes.types import ThemeSet

if TYPE_CHECKING:
    from emotiq.model import EmotiqModel


def _empty_message(results: list[Analysis], subset: str) -> str:
    scored = sum(r.status == "ok" for r in results)
    if not scored:
        return f"no text to group: all {len(results)} texts are empty or could not be scored"
    hint = "; pass subset='all' to group every text" if subset != "all" else ""
    return f"none of the {len(results)} texts {DESCRIPTIONS[subset]}{hint}"


def themes_of_results(model: EmotiqModel, results: list[Analysis], *, subset: str = "complaints", n_themes: int | None = None,
                      method: str = "kmeans", seed: int = 0, max_themes: int | None = None, times: Sequence[Any] | None = None,
                      batch_size: int = 64) -> ThemeSet:
    """Group the results in ``subset`` by their topic vectors; ``assignments`` cover every result (-1: left out)."""
    if times is not None and len(times) != len(results):
        raise InputError(f"times has {len(times)} values for {len(results)} texts; give one per text")
    rows = selected(results, subset)
    picked = [results[i] for i in rows]
    found = find_themes(
        [r.text for r in picked], model.embed([r.text for r in picked], batch_size=batch_size, space="topic"),
        n_themes=n_themes, method=method, seed=seed, max_themes=max_themes or MAX_THEMES, ids=rows,
        languages=[r.language for r in picked],
        sentiment=[r.sentiment.score if r.sentiment else None for r in picked],
        complaint=[r.complaint.is_complaint if r.complaint else None for r in picked],
        severity=[r.complaint.expected_severity if r.complaint else None for r in picked],
        times=[times[i] for i in rows] if times is not None else None)
    full = [-1] * len(results)
    for i, theme in zip(rows, found.assignments):
        full[i] = theme
    message = found.message if rows else _empty_message(results, subset)
    return dataclasses.replace(found, n_texts=len(results), assignments=tuple(full), message=message)
