"""Unicode clean-up that keeps what carries emotion (emoji, emoticons, ``!!!``).

The model's own tokenizer normalises further (NFKC-like); this step only makes
any input safe and bounded: lone surrogates become U+FFFD, control characters
go, HTML character references that exports leave in (``&amp;``, ``&lt;3``) become the
characters they stand for, as in the training texts, whitespace runs collapse, and very long
texts are cut at ``max_chars``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

DEFAULT_MAX_CHARS = 20_000
"""Characters kept per text before tokenizing (about 5,000 tokens, 10 chunks)."""

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_CHAR_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"[@#]\w+")
_WORDLIKE = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class CleanText:
    """A cleaned text and what cleaning did to it."""

    text: str
    truncated: bool
    scorable: bool
    """False when nothing is left to judge: empty, digits, punctuation, a bare URL."""


def _has_symbol_content(text: str) -> bool:
    """True for emoji and emoticons, which carry sentiment on their own."""
    if any(unicodedata.category(ch) == "So" for ch in text):
        return True
    return bool(re.search(r"[:;=8xX][-'^]?[)(DPpOo/\\|*\]\[]|<3|[)(][-']?[:;=]", text))


def is_scorable(text: str) -> bool:
    """Whether ``text`` holds words, emoji or emoticons once URLs and handles are gone."""
    rest = _MENTION.sub(" ", _URL.sub(" ", text))
    return bool(_WORDLIKE.search(rest)) or _has_symbol_content(rest)


def _unescape(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def clean_text(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> CleanText:
    """Make ``text`` safe to tokenize without dropping emoji or emoticons.

    Only complete character references (with their ``;``) are decoded, so "AT&T" or "R&D"
    stay as they are.

    Args:
        text: Any Python string, including lone surrogates and control characters.
        max_chars: Keep at most this many characters (cut at a word boundary).

    Returns:
        The cleaned text, whether it was cut, and whether anything is left to score.
    """
    text = _SURROGATES.sub("\ufffd", text)
    text = unicodedata.normalize("NFC", _CHAR_REFERENCE.sub(_unescape, text))
    text = _CONTROL.sub(" ", text).replace("\r", "\n")
    text = _NEWLINES.sub("\n", _SPACES.sub(" ", text)).strip()
    truncated = len(text) > max_chars
    if truncated:
        cut = text.rfind(" ", 0, max_chars)
        text = text[: cut if cut > max_chars // 2 else max_chars]
    return CleanText(text=text, truncated=truncated, scorable=is_scorable(text))
