"""Text handling: Unicode clean-up, language identification, sentence chunks."""

from emotiq.text.language import detect_language
from emotiq.text.normalize import CleanText, clean_text

__all__ = ["CleanText", "clean_text", "detect_language"]
