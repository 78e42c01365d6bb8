"""Guess the text encoding of an export and open it with undecodable bytes replaced.

Byte-order marks decide first (UTF-8, UTF-16 LE/BE as written by Excel's
"Unicode text", UTF-32). Without one, a file that decodes as UTF-8, or as UTF-8
with a few stray bytes, is UTF-8; otherwise charset-normalizer lists the
plausible single-byte code pages that Dutch and English exports use, and the
most common of those wins (cp1252 first). Bytes that still do not decode
become U+FFFD; :func:`replaced_count` tells whether that happened so rows can
be flagged.
"""

from __future__ import annotations

import codecs
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from emotiq.io.errors import ExportError
from emotiq.io.formats import describe_binary

logger = logging.getLogger(__name__)

SAMPLE_BYTES = 256 * 1024
"""Bytes read to guess the encoding."""

SINGLE_BYTE_CANDIDATES: list[str] = ["cp1252", "iso8859_15", "latin_1", "cp1250", "cp850", "mac_roman"]
"""Code pages considered for a file that is not UTF-8, most likely first."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

ERROR_HANDLER = "emotiq.replace"
_replaced = [0]


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _replaced[0] += exc.end - exc.start
    return "\ufffd", exc.end


codecs.register_error(ERROR_HANDLER, _count_and_replace)


def replaced_count() -> int:
    """Undecodable bytes replaced so far by files opened with :func:`open_text` (a running total)."""
    return _replaced[0]


@dataclass(frozen=True)
class Encoding:
    """A detected encoding: ``name`` is what to pass to ``open``."""

    name: str
    bom: bool = False
    guessed: bool = False
    """True when chosen by charset-normalizer rather than a BOM or a clean UTF-8 decode."""


def _utf16_without_bom(sample: bytes) -> str | None:
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2 or 1
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _mostly_utf8(sample: bytes, complete: bool) -> bool:
    """UTF-8 apart from a few stray bytes: at least one valid multi-byte character, and no more bad bytes than those.

    Text in a single-byte code page almost never forms valid multi-byte UTF-8
    sequences, so this tells a UTF-8 file with a few corrupt bytes from a cp1252 one.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(sample, final=complete)
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    return bad == 0 or good >= max(1, bad)


def _single_byte(sample: bytes) -> str:
    """The code page charset-normalizer finds plausible, preferring the first of :data:`SINGLE_BYTE_CANDIDATES`."""
    from charset_normalizer import from_bytes

    matches = from_bytes(sample, cp_isolation=SINGLE_BYTE_CANDIDATES)
    plausible = {m.encoding for m in matches}
    for name in SINGLE_BYTE_CANDIDATES:
        if name in plausible:
            return name
    return SINGLE_BYTE_CANDIDATES[0]


def detect_encoding(path: Path) -> Encoding:
    """Guess how ``path`` is encoded (see the module docstring)."""
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        complete = not fh.read(1)
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return Encoding(name, bom=True)
    if b"\x00" in sample:
        utf16 = _utf16_without_bom(sample)
        if utf16 is None:
            what = describe_binary(sample) or "binary data (NUL bytes)"
            raise ExportError(f"{path}: this is {what}, not a text export")
        return Encoding(utf16, guessed=True)
    if _mostly_utf8(sample, complete):
        return Encoding("utf-8")
    name = _single_byte(sample)
    logger.info("%s is not UTF-8; reading it as %s", path.name, name)
    return Encoding(name, guessed=True)


def open_text(path: Path, encoding: Encoding) -> TextIO:
    """Open ``path`` for the csv module (``newline=''``), replacing undecodable bytes."""
    raw = path.open("rb")
    return io.TextIOWrapper(raw, encoding=encoding.name, errors=ERROR_HANDLER, newline="")


def read_sample(path: Path, encoding: Encoding, chars: int = 64 * 1024) -> tuple[str, bool]:
    """The first ``chars`` characters of the file, and whether that is all of it."""
    with open_text(path, encoding) as fh:
        text = fh.read(chars)
        return text, not fh.read(1)
