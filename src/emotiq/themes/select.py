"""Which scored texts a theme analysis groups: a registry of subsets."""

from __future__ import annotations

from collections.abc import Callable

from emotiq.errors import UnknownNameError
from emotiq.schema import Analysis

SUBSETS: dict[str, Callable[[Analysis], bool]] = {
    "complaints": lambda r: r.complaint is not None and r.complaint.is_complaint,
    "negative": lambda r: r.sentiment is not None and r.sentiment.label == "negative",
    "all": lambda r: True,
}
"""Subset name -> test on a scored text (only texts with status ``ok`` are ever grouped)."""

DESCRIPTIONS = {"complaints": "is a complaint", "negative": "is negative", "all": "has text"}


def selected(results: list[Analysis], subset: str) -> list[int]:
    """Positions of the results in ``subset``."""
    if subset not in SUBSETS:
        raise UnknownNameError(f"unknown subset {subset!r}; known subsets: {', '.join(SUBSETS)}")
    keep = SUBSETS[subset]
    return [i for i, r in enumerate(results) if r.status == "ok" and keep(r)]
