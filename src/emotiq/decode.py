"""Turn head probabilities into the typed fields of an Analysis, one role at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from emotiq.heads import HeadSpec, register_role, role_decoder
from emotiq.schema import SENTIMENT_LABELS, Complaint, LabelScores, Sentiment, expected_level


def _named(spec: HeadSpec, probs: np.ndarray) -> dict[str, float]:
    return {label: round(p, 6) for label, p in zip(spec.labels, probs.tolist())}


@register_role("sentiment")
def sentiment_fields(spec: HeadSpec, probs: np.ndarray) -> dict[str, Any]:
    named = _named(spec, probs)
    score = named.get("positive", 0.0) - named.get("negative", 0.0)
    label = spec.labels[int(np.argmax(probs))]
    return {"sentiment": Sentiment(label=label, score=round(score, 6), probabilities=named)}


def _over_threshold(spec: HeadSpec, probs: np.ndarray) -> tuple[str, ...]:
    ranked = sorted(zip(spec.labels, probs.tolist(), spec.thresholds()), key=lambda item: -item[1])
    return tuple(label for label, p, t in ranked if p >= t)


@register_role("emotion")
def emotion_fields(spec: HeadSpec, probs: np.ndarray) -> dict[str, Any]:
    return {"emotions": _named(spec, probs), "emotion_labels": _over_threshold(spec, probs)}


@register_role("complaint")
def complaint_fields(spec: HeadSpec, probs: np.ndarray) -> dict[str, Any]:
    named = _named(spec, probs)
    level = int(np.argmax(probs))
    p_complaint = float(1.0 - probs[0])
    complaint = Complaint(
        probability=round(p_complaint, 6),
        is_complaint=p_complaint >= spec.threshold,
        severity=level,
        severity_label=spec.labels[level],
        expected_severity=round(expected_level(probs.tolist()), 6),
        severity_probabilities=named,
    )
    return {"complaint": complaint}


@register_role("custom")
def custom_fields(spec: HeadSpec, probs: np.ndarray) -> dict[str, Any]:
    named = _named(spec, probs)
    if spec.kind == "sigmoid":
        labels = _over_threshold(spec, probs)
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


def result_fields(specs: Iterable[HeadSpec], probabilities: Mapping[str, np.ndarray] | None) -> dict[str, Any]:
    """The :class:`~emotiq.schema.Analysis` fields for one text from each head's probability row.

    With ``probabilities=None`` every head gives its low-confidence placeholder
    (what texts with nothing to score get).
    """
    fields: dict[str, Any] = {"sentiment": None, "emotions": {}, "emotion_labels": (), "complaint": None, "custom": {}}
    for spec in specs:
        values = neutral_probabilities(spec) if probabilities is None else probabilities[spec.name]
        for key, value in role_decoder(spec.role)(spec, values).items():
            fields[key] = {**fields[key], **value} if key == "custom" else value
    return fields
