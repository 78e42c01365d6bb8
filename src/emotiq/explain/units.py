"""The spans of a text that occlusion leaves out: words (and emoji), grouped into phrases when there are many."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

Span = tuple[int, int]

_UNIT = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s.,;:!?\"'()\[\]{}…\-–—/]+")
"""A word (with inner apostrophes or hyphens) or a run of symbols such as emoji; plain punctuation is not a unit."""


def word_spans(text: str) -> list[Span]:
    """``(start, end)`` of every word and emoji run in ``text``."""
    return [m.span() for m in _UNIT.finditer(text)]


def occlusion_spans(text: str, budget: int) -> list[Span]:
    """The spans to leave out one at a time: every word, or ``budget`` runs of neighbouring words.

    Texts with more words than ``budget`` are split into ``budget`` contiguous
    phrases of (nearly) equal word counts, which bounds the cost of explaining
    a long text at ``budget`` extra encoder passes.
    """
    words = word_spans(text)
    if len(words) <= budget:
        return words
    return [(words[part[0]][0], words[part[-1]][1]) for part in np.array_split(np.arange(len(words)), budget)]


def without(text: str, spans: Sequence[Span]) -> str:
    """``text`` with ``spans`` left out (a single space stands where a span was)."""
    pieces, at = [], 0
    for start, end in sorted(spans):
        pieces.append(text[at:start])
        at = max(at, end)
    pieces.append(text[at:])
    return re.sub(r"\s{2,}", " ", " ".join(p.strip(" ") for p in pieces if p.strip(" "))).strip()


def keep_only(text: str, spans: Sequence[Span]) -> str:
    """Only ``spans`` of ``text``, in text order, joined by spaces."""
    return " ".join(text[start:end] for start, end in sorted(spans))


def prefix(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters, at a space when there is one."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars + 1)
    return text[: cut if cut > max_chars // 2 else max_chars]
