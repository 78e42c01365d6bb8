"""Which probability each head's evidence explains: a registry keyed by head role.

A target function gets a head's spec, its probabilities for the full text
(row 0) and each occluded variant, and the text's language (which picks decision
thresholds, as in ``analyze``), and returns the predicted class of the full text
with that class's probability in every row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emotiq.heads import HeadSpec
from emotiq.registry import registrar

Target = Callable[[HeadSpec, np.ndarray, str | None], tuple[str, np.ndarray]]
TARGETS: dict[str, Target] = {}

register_target = registrar(TARGETS)
"""Decorator registering the target of a head role: ``@register_target("sentiment")``."""


def _column(spec: HeadSpec, probs: np.ndarray, index: int) -> tuple[str, np.ndarray]:
    return spec.labels[index], probs[:, index]


@register_target("sentiment")
@register_target("custom")
def predicted_class(spec: HeadSpec, probs: np.ndarray, language: str | None = None) -> tuple[str, np.ndarray]:
    """The most likely label."""
    return _column(spec, probs, int(np.argmax(probs[0])))


@register_target("emotion")
def top_emotion(spec: HeadSpec, probs: np.ndarray, language: str | None = None) -> tuple[str, np.ndarray]:
    """The most likely emotion over its threshold (the most likely one when none is)."""
    first = probs[0]
    over = [i for i, (p, t) in enumerate(zip(first, spec.thresholds(language))) if p >= t] or list(range(len(first)))
    return _column(spec, probs, max(over, key=lambda i: first[i]))


@register_target("complaint")
def complaint_decision(spec: HeadSpec, probs: np.ndarray, language: str | None = None) -> tuple[str, np.ndarray]:
    """``complaint`` with P(complaint), or ``no_complaint`` with P(no complaint), whichever was decided."""
    p_complaint = 1.0 - probs[:, 0]
    if p_complaint[0] >= spec.threshold:
        return "complaint", p_complaint
    return "no_complaint", probs[:, 0]
