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
EvidenceStatus = Literal["ok", "truncated", "empty", "error"]


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
class EvidenceSpan:
    """A word or short phrase of the text and how much it moved one score."""

    text: str
    start: int
    """Character offset in ``Analysis.text`` (``text == analysis.text[start:end]``)."""
    end: int
    weight: float
    """Drop in the explained probability when the span is left out: > 0 pushed it up, < 0 held it down."""


@dataclass(frozen=True)
class TaskEvidence:
    """Evidence for one prediction: the class explained and the spans that moved its probability most."""

    task: str
    """``sentiment``, ``complaint``, ``emotion`` or a custom head's name."""
    label: str
    """The predicted class that is explained (e.g. ``negative``, ``complaint``, ``anger``)."""
    probability: float
    """Its probability for the explained text."""
    spans: tuple[EvidenceSpan, ...]
    """Strongest first (by absolute weight)."""

    def top(self, k: int = 3, *, sign: int = 1) -> tuple[EvidenceSpan, ...]:
        """The ``k`` spans that pushed the probability up (``sign=1``) or down (``sign=-1``) most."""
        return tuple(s for s in self.spans if s.weight * sign > 0)[:k]


@dataclass(frozen=True)
class Evidence:
    """Why a text got its scores (``analyze(..., explain=True)``).

    ``status`` is ``"ok"``, ``"truncated"`` (only the first ``explained_chars``
    characters were explained), ``"empty"`` (nothing to explain) or ``"error"``.
    """

    status: EvidenceStatus
    method: str
    tasks: dict[str, TaskEvidence] = field(default_factory=dict)
    explained_chars: int = 0
    message: str | None = None

    def summary(self, task: str, k: int = 3) -> str:
        """The ``k`` strongest spans of ``task`` as ``'te laat' (+0.31); 'nooit' (+0.12)``; '' when none."""
        found = self.tasks.get(task)
        if found is None:
            return ""
        return "; ".join(f"{s.text!r} ({s.weight:+.2f})" for s in found.spans[:k])


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
    evidence: Evidence | None = None
    """Words and phrases behind the scores; only with ``analyze(..., explain=True)``."""

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
        if self.evidence is not None:
            for task in self.evidence.tasks:
                row[f"evidence_{task}"] = self.evidence.summary(task)
            row["evidence_status"] = self.evidence.status
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

