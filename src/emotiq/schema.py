"""Label sets and typed results: the one place that names emotiq's labels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
"""Sentiment classes, in the order of the sentiment head's outputs."""

EMOTION_LABELS: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "joy",
    "sadness",
    "surprise",
    "trust",
    "anticipation",
    "disappointment",
    "neutral",
)
"""Emotions, scored independently (several can be present at once)."""

SEVERITY_LABELS: tuple[str, ...] = (
    "no_complaint",
    "no_explicit_reproach",
    "disapproval",
    "accusation",
    "blame",
)
"""Complaint severity on the X-CI scale: level ``i`` is ``SEVERITY_LABELS[i]``."""

Status = Literal["ok", "empty", "error"]


@dataclass(frozen=True)
class Sentiment:
    """Sentiment of one text: ``label`` is always the argmax of ``probabilities``."""

    label: str
    score: float
    """P(positive) - P(negative), in [-1, 1]."""
    probabilities: dict[str, float]


@dataclass(frozen=True)
class Complaint:
    """Whether a text is a complaint and how severe it is."""

    probability: float
    is_complaint: bool
    severity: int
    """X-CI level, 0 (no complaint) to 4 (blame): 0 exactly when ``is_complaint`` is False, else the
    most likely of levels 1-4."""
    severity_label: str
    expected_severity: float
    """Probability-weighted mean level, in [0, 4]."""
    severity_probabilities: dict[str, float]


@dataclass(frozen=True)
class LabelScores:
    """Output of a custom (fine-tuned) task head."""

    labels: tuple[str, ...]
    """Predicted labels: the argmax, or every label over threshold when multi-label."""
    probabilities: dict[str, float]
    multi_label: bool = False


@dataclass(frozen=True)
class SentenceScore:
    """Scores for one sentence-aligned chunk of a long text."""

    text: str
    sentiment: Sentiment | None
    emotions: dict[str, float]


@dataclass(frozen=True)
class Analysis:
    """Everything emotiq says about one input text.

    ``status`` is ``"ok"``, ``"empty"`` (nothing to score: empty, whitespace,
    digits or a bare URL; scores are low-confidence neutral) or ``"error"``
    (``error`` says why; scores are neutral placeholders). ``low_confidence`` flags
    results that should not be acted on.
    """

    text: str
    language: str
    sentiment: Sentiment | None
    emotions: dict[str, float]
    complaint: Complaint | None
    status: Status = "ok"
    error: str | None = None
    low_confidence: bool = False
    n_tokens: int = 0
    n_chunks: int = 0
    truncated: bool = False
    custom: dict[str, LabelScores] = field(default_factory=dict)
    sentences: tuple[SentenceScore, ...] | None = None
    emotion_labels: tuple[str, ...] = ()
    """Emotions over their decision threshold (tuned per emotion on dev data), most likely first."""

    @property
    def top_emotions(self) -> list[str]:
        """The predicted emotions (``emotion_labels``) as a list."""
        return list(self.emotion_labels)

    def to_dict(self) -> dict[str, Any]:
        """One flat row (column name -> value), ready for a DataFrame or CSV."""
        row: dict[str, Any] = {"language": self.language}
        if self.sentiment is not None:
            row["sentiment"] = self.sentiment.label
            row["sentiment_score"] = self.sentiment.score
            for name, p in self.sentiment.probabilities.items():
                row[f"sentiment_{name}"] = p
        if self.emotions:
            for name, p in self.emotions.items():
                row[f"emotion_{name}"] = p
            row["emotions"] = ",".join(self.top_emotions)
        if self.complaint is not None:
            row["complaint_prob"] = self.complaint.probability
            row["is_complaint"] = self.complaint.is_complaint
            row["severity"] = self.complaint.severity
            row["severity_label"] = self.complaint.severity_label
            row["expected_severity"] = self.complaint.expected_severity
        for task, scores in self.custom.items():
            row[task] = ",".join(scores.labels)
            for name, p in scores.probabilities.items():
                row[f"{task}_{name}"] = p
        row["n_tokens"] = self.n_tokens
        row["truncated"] = self.truncated
        row["low_confidence"] = self.low_confidence
        row["emotiq_status"] = self.status if self.error is None else f"error: {self.error}"
        return row

    def asdict(self) -> dict[str, Any]:
        """Nested dict of every field (``dataclasses.asdict``)."""
        return asdict(self)


def expected_level(probabilities: list[float]) -> float:
    """Probability-weighted mean index of ``probabilities``."""
    total = sum(probabilities) or 1.0
    return sum(i * p for i, p in enumerate(probabilities)) / total

