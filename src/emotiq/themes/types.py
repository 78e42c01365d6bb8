"""Typed results of theme finding."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ThemeStatus = Literal["ok", "single", "empty"]


@dataclass(frozen=True)
class Theme:
    """One group of texts about the same thing."""

    id: int
    """0 for the largest theme, 1 for the next, ..."""
    label: str
    """The top keywords, comma-separated."""
    keywords: tuple[str, ...]
    """Words and word pairs typical of this theme (class-based TF-IDF), in the texts' own language."""
    size: int
    share: float
    """Share of the grouped texts."""
    language: str
    """Most common language of its texts."""
    quotes: tuple[str, ...]
    """Texts closest to the theme's centre (the most typical ones)."""
    members: tuple[int, ...]
    """Positions of its texts in the input."""
    mean_sentiment: float | None = None
    """Mean P(positive) - P(negative), in [-1, 1]."""
    complaint_rate: float | None = None
    mean_severity: float | None = None
    """Mean expected X-CI severity, 0-4."""
    trend: dict[str, int] = field(default_factory=dict)
    """Texts per week or month (``ThemeSet.period_unit``), when times were given."""


@dataclass(frozen=True)
class ThemeSet:
    """The themes found in a set of texts, and how they were found.

    ``status`` is ``"ok"``, ``"single"`` (too few, or all identical, texts to
    split: one theme holds them all) or ``"empty"`` (no text to group);
    ``message`` says what happened whenever it is not a plain ``"ok"``, and
    ``notes`` add what a reader should know (e.g. mixed languages).
    """

    themes: tuple[Theme, ...]
    status: ThemeStatus
    method: str
    chosen_by: str
    """``silhouette`` (number of themes chosen automatically), ``given``, ``density`` or ``single``."""
    n_texts: int
    """Texts given."""
    n_grouped: int
    """Texts with something to group (empty ones are left out)."""
    seed: int
    assignments: tuple[int, ...] = ()
    """Theme id of each text given, -1 where the text was left out."""
    quality: dict[int, float] = field(default_factory=dict)
    """Mean silhouette (cosine) per number of themes tried."""
    languages: dict[str, int] = field(default_factory=dict)
    period_unit: str | None = None
    message: str | None = None
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.themes)

    def __iter__(self) -> Any:
        return iter(self.themes)

    def to_frame(self) -> Any:
        """One row per theme (pandas DataFrame) without members and trend."""
        import pandas as pd

        rows = [{k: v for k, v in asdict(t).items() if k not in {"members", "trend"}} for t in self.themes]
        return pd.DataFrame(rows)

    def asdict(self) -> dict[str, Any]:
        """Nested dict of every field."""
        return asdict(self)
