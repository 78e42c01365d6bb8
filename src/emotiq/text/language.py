"""Language identification per text: Dutch, English or other (py3langid)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

TARGET_LANGUAGES = ("nl", "en")
UNDETERMINED = "und"
OTHER = "other"
# Restricting the candidates to languages feedback is likely to be written in
# keeps short Dutch texts from being taken for Afrikaans, Frisian or Luxembourgish.
_CANDIDATES = ["nl", "en", "de", "fr", "es", "it", "pt", "da", "sv", "no", "pl", "tr", "id", "ar"]
_MIN_TARGET_CONFIDENCE = 0.15
_MIN_OTHER_CONFIDENCE = 0.5


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(_CANDIDATES)
    return identifier


def detect_language(text: str) -> str:
    """Return ``"nl"``, ``"en"``, ``"other"``, or ``"und"`` when there are no words.

    Short texts that lean towards neither Dutch nor English nor clearly towards
    another language come back as ``"und"`` (undetermined).
    """
    if not any(ch.isalpha() for ch in text):
        return UNDETERMINED
    language, confidence = _identifier().classify(text)
    if language in TARGET_LANGUAGES and confidence >= _MIN_TARGET_CONFIDENCE:
        return language
    if language not in TARGET_LANGUAGES and confidence >= _MIN_OTHER_CONFIDENCE:
        return OTHER
    return UNDETERMINED
