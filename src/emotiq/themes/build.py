"""Group texts into themes: embeddings in, typed :class:`ThemeSet` out."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from emotiq.errors import InputError
from emotiq.themes.cluster import Clustering, clusterer, prepare_vectors
from emotiq.themes.keywords import theme_keywords
from emotiq.themes.types import Theme, ThemeSet

logger = logging.getLogger(__name__)

MIN_THEME_SIZE = 5
"""Fewest texts per theme when the number of themes is chosen automatically."""
MAX_THEMES = 12
"""Most themes tried when the number is chosen automatically."""
MIN_AUTO_THEMES = 4
"""Fewest themes tried when the number is chosen automatically (when there are texts enough)."""
QUOTE_CHARS = 300


def candidate_counts(n_texts: int, n_distinct: int, max_themes: int) -> list[int]:
    """Numbers of themes worth trying, with ``MIN_THEME_SIZE`` texts per theme at least.

    The grid starts at ``MIN_AUTO_THEMES`` when there are texts enough (two or
    three themes rarely tell a reader anything new), and thins out to about 16
    values, spread geometrically, when ``max_themes`` is large.
    """
    top = min(max_themes, n_texts // MIN_THEME_SIZE, n_distinct)
    low = MIN_AUTO_THEMES if top >= MIN_AUTO_THEMES else 2
    if top < low:
        return []
    if top - low < 16:
        return list(range(low, top + 1))
    return sorted({int(k) for k in np.geomspace(low, top, 16).round()})


def _mean(values: Sequence[Any] | None, rows: np.ndarray) -> float | None:
    if values is None:
        return None
    picked = [float(values[i]) for i in rows if values[i] is not None]
    return round(float(np.mean(picked)), 6) if picked else None


def _quotes(texts: Sequence[str], vectors: np.ndarray, rows: np.ndarray, n: int) -> tuple[str, ...]:
    centre = vectors[rows].mean(axis=0)
    order = rows[np.argsort(-(vectors[rows] @ centre), kind="stable")]
    seen: dict[str, None] = {}
    for i in order:
        text = " ".join(texts[i].split())
        quote = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
        seen.setdefault(quote, None)
        if len(seen) == n:
            break
    return tuple(seen)


def _trend(days: list[str | None] | None, rows: np.ndarray, unit: str | None) -> dict[str, int]:
    if days is None or unit is None:
        return {}
    from emotiq.report.timeline import period_of

    counts = Counter(period_of(days[i], unit) for i in rows if days[i] is not None)  # type: ignore[arg-type]
    return dict(sorted(counts.items()))


def _language_note(languages: Counter[str]) -> list[str]:
    total = sum(languages.values()) or 1
    big = {k: v / total for k, v in languages.most_common() if v / total >= 0.1}
    if len(big) < 2:
        return []
    mix = ", ".join(f"{k} {v:.0%}" for k, v in big.items())
    return [f"the texts mix languages ({mix}); each theme's keywords come from its own texts, so they can mix too"]


class _Inputs:
    """The texts to group after checks: which can be grouped, their vectors, days and languages."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray, ids: Sequence[int] | None, languages: Sequence[str] | None,
                 times: Sequence[Any] | None) -> None:
        vectors = np.asarray(vectors, dtype=np.float64)
        for name, values in (("vectors", vectors), ("ids", ids), ("languages", languages), ("times", times)):
            if values is not None and len(values) != len(texts):
                raise InputError(f"{name} has {len(values)} rows for {len(texts)} texts; give one per text")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text at position {i} is {type(text).__name__}, not str")
        self.texts, self.ids = list(texts), list(ids) if ids is not None else list(range(len(texts)))
        self.usable = np.array([i for i, t in enumerate(texts) if t.strip() and np.any(vectors[i])], dtype=int)
        self.vectors = vectors
        self.language_of = list(languages) if languages is not None else ["und"] * len(texts)
        self.languages = Counter(self.language_of[i] for i in self.usable)
        self.days: list[str | None] | None = None
        self.unit: str | None = None
        if times is not None:
            from emotiq.report.aggregate import to_days
            from emotiq.report.timeline import period_unit

            self.days = to_days(list(times))
            self.unit = period_unit([d for d in self.days if d is not None])
        self.distinct = len({" ".join(self.texts[i].lower().split()) for i in self.usable})


def find_themes(texts: Sequence[str], vectors: np.ndarray, *, n_themes: int | None = None, method: str = "kmeans", seed: int = 0,
                max_themes: int = MAX_THEMES, sentiment: Sequence[float] | None = None, complaint: Sequence[bool] | None = None,
                severity: Sequence[float] | None = None, languages: Sequence[str] | None = None,
                times: Sequence[Any] | None = None, ids: Sequence[int] | None = None, n_quotes: int = 4,
                n_keywords: int = 8) -> ThemeSet:
    """Group ``texts`` (one embedding row each) into themes.

    Args:
        texts: The texts; empty ones are left out (``assignments`` -1).
        vectors: One embedding per text (e.g. :meth:`EmotiqModel.embed`).
        n_themes: Number of themes; by default chosen by mean silhouette among
            4..``max_themes`` (2.. for few texts; at least 5 texts per theme).
        method: ``kmeans`` (default), ``agglomerative`` or ``hdbscan``.
        seed: Seed of the clustering: the same texts and seed give the same themes.
        sentiment, complaint, severity: Per-text sentiment score, complaint flag and
            expected severity, averaged per theme when given.
        languages: Per-text language codes (the most common is each theme's language).
        times: Per-text dates; each theme then gets a trend per week or month.
        ids: Position of each text in the caller's data (``Theme.members``).
        n_quotes: Representative quotes per theme.
        n_keywords: Keywords per theme.
    """
    run = _Inputs(texts, vectors, ids, languages, times)
    found = clusterer(method)  # unknown names fail before any work
    common = {"method": method, "n_texts": len(run.texts), "n_grouped": len(run.usable), "seed": seed,
              "languages": dict(run.languages.most_common()), "period_unit": run.unit}
    if len(run.usable) == 0:
        message = f"no text to group: all {len(run.texts)} texts are empty" if run.texts else "no texts given"
        return ThemeSet(themes=(), status="empty", chosen_by="single", assignments=(-1,) * len(run.texts), message=message, **common)
    if n_themes is not None and not 1 <= n_themes <= len(run.usable):
        raise InputError(f"n_themes={n_themes}: choose between 1 and the {len(run.usable)} texts that can be grouped")
    notes = _language_note(run.languages)
    points = prepare_vectors(run.vectors[run.usable])
    candidates = candidate_counts(len(run.usable), run.distinct, max_themes)
    message = None
    if run.distinct == 1 or (n_themes is None and not candidates) or n_themes == 1:
        clustering = Clustering(np.zeros(len(run.usable), dtype=int), 1, "given" if n_themes == 1 else "single")
        if run.distinct == 1:
            message = f"all {len(run.usable)} texts are identical, so they form one theme"
        elif n_themes is None:
            message = (f"{len(run.usable)} texts are too few to split: themes need {2 * MIN_THEME_SIZE} texts or more "
                       f"({MIN_THEME_SIZE} per theme), so all are in one theme")
    else:
        clustering = found(points, n_themes, candidates, seed)
    status = "single" if clustering.n == 1 and clustering.chosen_by != "given" else "ok"
    return _assemble(run, points, clustering, common, status=status, message=message, notes=tuple(notes),
                     scores=(sentiment, complaint, severity), n_quotes=n_quotes, n_keywords=n_keywords)


def _assemble(run: _Inputs, points: np.ndarray, clustering: Clustering, common: dict[str, Any], *, status: str,
              message: str | None, notes: tuple[str, ...], scores: tuple[Any, Any, Any], n_quotes: int, n_keywords: int) -> ThemeSet:
    """Number themes largest first and describe each."""
    sizes = np.bincount(clustering.labels, minlength=clustering.n)
    order = sorted(range(clustering.n), key=lambda c: (-sizes[c], c))
    labels = np.array([order.index(c) for c in range(clustering.n)])[clustering.labels]
    usable_texts = [run.texts[i] for i in run.usable]
    keywords = theme_keywords(usable_texts, labels, clustering.n, top_n=n_keywords)
    sentiment, complaint, severity = scores
    themes = []
    for theme in range(clustering.n):
        local = np.flatnonzero(labels == theme)
        rows = run.usable[local]
        words = keywords[theme]
        themes.append(Theme(
            id=theme, label=", ".join(words[:3]) or "(no keywords)", keywords=tuple(words), size=len(rows),
            share=round(len(rows) / len(run.usable), 6), language=Counter(run.language_of[i] for i in rows).most_common(1)[0][0],
            quotes=_quotes(usable_texts, points, local, n_quotes), members=tuple(run.ids[i] for i in rows),
            mean_sentiment=_mean(sentiment, rows), complaint_rate=_mean(complaint, rows), mean_severity=_mean(severity, rows),
            trend=_trend(run.days, rows, run.unit)))
    assignments = np.full(len(run.texts), -1)
    assignments[run.usable] = labels
    logger.info("%d themes in %d texts (%s, %s)", clustering.n, len(run.usable), common["method"], clustering.chosen_by)
    return ThemeSet(themes=tuple(themes), status=status, chosen_by=clustering.chosen_by,  # type: ignore[arg-type]
                    assignments=tuple(int(a) for a in assignments), quality=clustering.quality, message=message, notes=notes, **common)

