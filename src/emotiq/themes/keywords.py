"""Keywords per theme by class-based TF-IDF (Grootendorst 2022), with spaCy's Dutch and English stop words."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"
"""Words of two or more letters (no digits)."""
_NOISE = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+|&\w+;", re.IGNORECASE)
_EXTRA_STOP_WORDS = frozenset({"amp", "rt", "hey", "hi", "hallo", "hoi", "dm", "pm", "thanks", "thank", "dank", "bedankt", "alvast"})


@lru_cache(maxsize=1)
def stop_words() -> tuple[str, ...]:
    """spaCy's Dutch and English stop words (plus greetings and tweet artefacts), as single lower-case words."""
    from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH
    from spacy.lang.nl.stop_words import STOP_WORDS as DUTCH

    words = {w.lower() for w in ENGLISH | DUTCH | _EXTRA_STOP_WORDS}
    return tuple(sorted(w for w in words if re.fullmatch(TOKEN_PATTERN, w)))


def clean(text: str) -> str:
    """Lower-cased text without links, @handles, #tags and HTML escapes."""
    return _NOISE.sub(" ", text).lower()


def _pick(ranked: list[str], n: int) -> list[str]:
    """The first ``n`` terms, skipping a term whose words are all in terms already picked."""
    picked: list[str] = []
    for term in ranked:
        seen = {w for p in picked for w in p.split()}
        if not set(term.split()) <= seen:
            picked.append(term)
        if len(picked) == n:
            break
    return picked


def theme_keywords(texts: list[str], labels: np.ndarray, n_themes: int, top_n: int = 8) -> list[list[str]]:
    """``top_n`` keywords (words and word pairs) for each theme ``0..n_themes-1``.

    c-TF-IDF: a term's frequency in the theme, times ``log(1 + A / f)`` with
    ``A`` the mean number of words per theme and ``f`` the term's frequency over
    all themes. Terms must occur in two texts at least (when there are ten or more).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(preprocessor=clean, token_pattern=TOKEN_PATTERN, stop_words=list(stop_words()),
                                 ngram_range=(1, 2), min_df=2 if len(texts) >= 10 else 1)
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # no word left after stop words
        return [[] for _ in range(n_themes)]
    members = np.zeros((n_themes, len(texts)))
    members[labels, np.arange(len(texts))] = 1.0
    per_theme = np.asarray(members @ counts)  # (themes, terms)
    tf = per_theme / np.maximum(per_theme.sum(axis=1, keepdims=True), 1.0)
    idf = np.log1p(per_theme.sum(axis=1).mean() / np.maximum(per_theme.sum(axis=0), 1.0))
    scores = tf * idf
    terms = vectorizer.get_feature_names_out()
    out = []
    for row, total in zip(scores, per_theme):
        order = [i for i in np.argsort(-row, kind="stable") if total[i] > 0]
        out.append(_pick([str(terms[i]) for i in order[: top_n * 4]], top_n))
    return out
