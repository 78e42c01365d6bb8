"""emotiq: emotion, sentiment and complaint scores for Dutch and English feedback.

>>> import emotiq
>>> model = emotiq.load()                      # the bundled default model
>>> result = model.analyze("De bezorging was weer te laat!")
>>> result.sentiment.label, result.complaint.severity_label
"""

from __future__ import annotations

import logging

from emotiq._version import __version__
from emotiq.api import available_models, load
from emotiq.model import EmotiqModel
from emotiq.schema import (
    EMOTION_LABELS,
    SENTIMENT_LABELS,
    SEVERITY_LABELS,
    Analysis,
    Complaint,
    Evidence,
    EvidenceSpan,
    LabelScores,
    Sentiment,
    TaskEvidence,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

_LAZY = {
    "score_file": "emotiq.io",
    "ScoreSummary": "emotiq.io",
    "finetune": "emotiq.training.finetune",
    "FinetuneResult": "emotiq.training.finetune",
    "Theme": "emotiq.themes",
    "ThemeSet": "emotiq.themes",
}


def __getattr__(name: str) -> object:
    """Import file scoring and fine-tuning on first use (they pull in heavier modules)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emotiq' has no attribute {name!r}")

__all__ = [
    "EMOTION_LABELS",
    "SENTIMENT_LABELS",
    "SEVERITY_LABELS",
    "Analysis",
    "Complaint",
    "EmotiqModel",
    "Evidence",
    "EvidenceSpan",
    "FinetuneResult",
    "LabelScores",
    "ScoreSummary",
    "Sentiment",
    "TaskEvidence",
    "Theme",
    "ThemeSet",
    "__version__",
    "available_models",
    "finetune",
    "load",
    "score_file",
]
