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
from emotiq.schema import EMOTION_LABELS, SENTIMENT_LABELS, SEVERITY_LABELS, Analysis, Complaint, LabelScores, Sentiment

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "EMOTION_LABELS",
    "SENTIMENT_LABELS",
    "SEVERITY_LABELS",
    "Analysis",
    "Complaint",
    "EmotiqModel",
    "LabelScores",
    "Sentiment",
    "__version__",
    "available_models",
    "load",
]
