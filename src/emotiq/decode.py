"""Turn head probabilities into the typed fields of an Analysis, one role at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from emotiq.heads import HeadSpec, register_role, role_decoder
from emotiq.schema import SENTIMENT_LABELS, Complaint, LabelScores, Sentiment, expected_level


def _named(spec: HeadSpec, probs: np.ndarray) -> dict[str, float]:
    return {label: round(p, 6) for label, p in zip(spec.labels, probs.tolist())}


@register_role("sentiment")
def sentiment_fields(spec: HeadSpec, probs: np.ndarray, language: str | None = None) -> dict[str, Any]:
    named = _named(spec, probs)
    score = named.get("positive", 0.0) - named.get("negative", 0.0)
    label = spec.labels[int(np.argmax(probs))]
    return {"sentiment": Sentiment(label=label, score=round(score, 6), probabilities=named)}


def _over_threshold(spec: HeadSpec, probs: np.ndarray, language: str | None) -> tuple[str, ...]:
    ranked = sorted(zip(spec.labels, probs.tolist(), spec.thresholds(language)), key=lambda item: -item[1])
    return tuple(label for label, p, t in ranked if p >= t)


def emotion_decisions(probs: np.ndarray, labels: list[str] | tuple[str, ...], thresholds: list[float] | np.ndarray,
                      relative_cutoff: float = 0.0) -> np.ndarray:
    """Which emotions a text shows, for rows of emotion probabilities (0/1, same shape).

    ``thresholds`` holds one value per label, or one row of them per text (``(rows, labels)``).

    Each emotion at or over its threshold counts; ``neutral`` excludes the others: it is
    kept alone when it is the most probable of those over threshold, and dropped otherwise.
    A row with nothing over threshold gets its most probable label, so every text has at
    least one label, as every annotated text does. Last, a chosen emotion whose probability
    is under ``relative_cutoff`` times that of the text's most probable chosen emotion is
    dropped (0 keeps them all): a text rarely shows a second emotion far weaker than its first.
    """
    probs = np.atleast_2d(np.asarray(probs, dtype=float))
    chosen = probs >= np.asarray(thresholds, dtype=float)
    top = probs.argmax(axis=1)
    empty = ~chosen.any(axis=1)
    chosen[empty, top[empty]] = True
    if "neutral" in labels:
        n = list(labels).index("neutral")
        masked = np.where(chosen, probs, -1.0)
        neutral_first = chosen[:, n] & (masked.argmax(axis=1) == n)
        chosen[neutral_first] = False
        chosen[neutral_first, n] = True
        others = chosen.sum(axis=1) > 1
        chosen[others & ~neutral_first, n] = False
    if relative_cutoff > 0:
        strongest = np.where(chosen, probs, -1.0).max(axis=1, keepdims=True)
        chosen &= probs >= relative_cutoff * strongest
    return chosen


def relative_cutoff(spec: HeadSpec) -> float:
    """The relative cutoff of an emotion head (``extra["relative_cutoff"]``; 0 when not fitted)."""
    return float(spec.extra.get("relative_cutoff") or 0.0)


@dataclass(frozen=True)
class EmotionRule:
    """How emotion probabilities become label sets: per-label thresholds (one row for all texts,
    or one row per text) and the relative cutoff of :func:`emotion_decisions`."""

    thresholds: np.ndarray
    relative_cutoff: float = 0.0

    @classmethod
    def of(cls, spec: HeadSpec, languages: Iterable[str | None]) -> EmotionRule:
        """The rule a head applies to texts in ``languages``, as ``analyze`` applies it."""
        return cls(language_thresholds(spec, languages), relative_cutoff(spec))

    def rows(self, rows: np.ndarray) -> EmotionRule:
        """The rule for a subset of the texts (the same rule when it has one row of thresholds)."""
        return self if self.thresholds.ndim == 1 else replace(self, thresholds=self.thresholds[rows])

    def decide(self, probs: np.ndarray, labels: list[str] | tuple[str, ...]) -> np.ndarray:
        """0/1 label sets for rows of probabilities."""
        return emotion_decisions(probs, labels, self.thresholds, self.relative_cutoff)


def complaint_decision(probs: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(is_complaint, severity level) for rows of severity probabilities, never contradicting.

    The complaint probability is 1 - P(no_complaint); a text is a complaint when that
    reaches ``threshold``, and its severity is then the most probable of levels 1..4
    (else level 0). So ``is_complaint`` is True exactly when the severity is above 0.
    """
    probs = np.atleast_2d(np.asarray(probs, dtype=float))
    is_complaint = 1.0 - probs[:, 0] >= threshold
    level = np.where(is_complaint, probs[:, 1:].argmax(axis=1) + 1, 0)
    return is_complaint, level


def language_thresholds(spec: HeadSpec, languages: Iterable[str | None]) -> np.ndarray:
    """``(rows, labels)`` decision thresholds of a sigmoid head, each row those of its text's language."""
    cache: dict[str | None, list[float]] = {}
    return np.array([cache.setdefault(lang, spec.thresholds(lang)) for lang in languages], dtype=float).reshape(-1, len(spec.labels))


@register_role("emotion")
def emotion_fields(spec: HeadSpec, probs: np.ndarray, language: str | None = None) -> dict[str, Any]:
    chosen = emotion_decisions(probs, spec.labels, spec.thresholds(language), relative_cutoff(spec))[0]
    ranked = sorted((label for label, keep in zip(spec.labels, chosen) if keep), key=lambda label: -probs[spec.labels.index(label)])
    return {"emotions": _named(spec, probs), "emotion_labels": tuple(ranked)}


@register_role("complaint")
def complaint_fields(spec: HeadSpec, probs: np.ndarray, language: str | None = None) -> dict[str, Any]:
    named = _named(spec, probs)
    is_complaint, levels = complaint_decision(probs, spec.threshold)
    level = int(levels[0])
    p_complaint = float(1.0 - probs[0])
    complaint = Complaint(
        probability=round(p_complaint, 6),
        is_complaint=bool(is_complaint[0]),
        severity=level,
        severity_label=spec.labels[level],
        expected_severity=round(expected_level(probs.tolist()), 6),
        severity_probabilities=named,
    )
    return {"complaint": complaint}


@register_role("custom")
def custom_fields(spec: HeadSpec, probs: np.ndarray, language: str | None = None) -> dict[str, Any]:
    named = _named(spec, probs)
    if spec.kind == "sigmoid":
        labels = _over_threshold(spec, probs, language)
    else:
        labels = (spec.labels[int(np.argmax(probs))],)
    scores = LabelScores(labels=labels, probabilities=named, multi_label=spec.kind == "sigmoid")
    return {"custom": {spec.name: scores}}


def neutral_probabilities(spec: HeadSpec) -> np.ndarray:
    """Low-confidence placeholder output for texts that can't be judged."""
    n = len(spec.labels)
    if spec.role == "sentiment" and "neutral" in spec.labels:
        probs = np.full(n, 0.25 / max(n - 1, 1))
        probs[spec.labels.index("neutral")] = 0.75
        return probs
    if spec.role == "emotion":
        return np.array([0.5 if label == "neutral" else 0.0 for label in spec.labels])
    if spec.role == "complaint":
        return np.array([1.0] + [0.0] * (n - 1))
    return np.full(n, 1.0 / n) if spec.kind == "softmax" else np.zeros(n)


def placeholder_sentiment() -> Sentiment:
    probs = {label: (0.75 if label == "neutral" else 0.125) for label in SENTIMENT_LABELS}
    return Sentiment(label="neutral", score=0.0, probabilities=probs)


def result_fields(specs: Iterable[HeadSpec], probabilities: Mapping[str, np.ndarray] | None,
                  language: str | None = None) -> dict[str, Any]:
    """The :class:`~emotiq.schema.Analysis` fields for one text from each head's probability row.

    With ``probabilities=None`` every head gives its low-confidence placeholder
    (what texts with nothing to score get). ``language`` (the text's, as detected) picks
    decision thresholds fitted for it where the model has them.
    """
    fields: dict[str, Any] = {"sentiment": None, "emotions": {}, "emotion_labels": (), "complaint": None, "custom": {}}
    for spec in specs:
        values = neutral_probabilities(spec) if probabilities is None else probabilities[spec.name]
        for key, value in role_decoder(spec.role)(spec, values, language).items():
            fields[key] = {**fields[key], **value} if key == "custom" else value
    return fields
