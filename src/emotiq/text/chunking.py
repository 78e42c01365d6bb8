"""Cut texts longer than the encoder window into sentence-aligned chunks.

Sentences come from spaCy's rule-based sentencizer on a blank pipeline (no
model download). Consecutive sentences are packed into chunks of at most
``max_tokens`` tokens; a single sentence longer than that is cut at token
boundaries.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

_SPACY_LANGS = {"nl": "nl", "en": "en"}
_SLACK = 4
"""Tokens kept free per chunk: joined sentences can tokenize slightly longer."""


@lru_cache(maxsize=4)
def _sentencizer(lang: str) -> Language:
    import spacy

    nlp = spacy.blank(_SPACY_LANGS.get(lang, "xx"))
    nlp.add_pipe("sentencizer")
    return nlp


def split_sentences(text: str, lang: str = "xx") -> list[str]:
    """Split ``text`` into sentences with spaCy's sentencizer."""
    nlp = _sentencizer(lang)
    nlp.max_length = max(nlp.max_length, len(text) + 1)
    return [s.text.strip() for s in nlp(text).sents if s.text.strip()]


def _cut_by_offsets(sentence: str, offsets: list[tuple[int, int]], max_tokens: int) -> list[str]:
    """Slice ``sentence`` at token boundaries into pieces of ``max_tokens`` tokens."""
    pieces = []
    for i in range(0, len(offsets), max_tokens):
        window = offsets[i : i + max_tokens]
        pieces.append(sentence[window[0][0] : window[-1][1]].strip())
    return [p for p in pieces if p]


def chunk_text(
    text: str,
    *,
    max_tokens: int,
    token_offsets: Callable[[list[str]], list[list[tuple[int, int]]]],
    lang: str = "xx",
) -> list[str]:
    """Pack the sentences of ``text`` into chunks of at most ``max_tokens`` tokens.

    Args:
        text: The text to cut.
        max_tokens: Token budget per chunk (content tokens, without specials).
        token_offsets: Maps sentences to the character span of each of their tokens.
        lang: Language code used to pick spaCy's punctuation rules.
    """
    budget = max(1, max_tokens - _SLACK)
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    sentences = split_sentences(text, lang)
    for sentence, offsets in zip(sentences, token_offsets(sentences)):
        if used + len(offsets) > budget and current:
            chunks.append(" ".join(current))
            current, used = [], 0
        if len(offsets) > budget:
            chunks.extend(_cut_by_offsets(sentence, offsets, budget))
            continue
        current.append(sentence)
        used += len(offsets)
    if current:
        chunks.append(" ".join(current))
    return chunks
