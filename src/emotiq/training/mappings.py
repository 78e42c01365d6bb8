"""Label mappings from the labelled sources onto emotiq's label sets.

Each mapping sends a source label to a tuple of emotiq labels; an empty tuple means the
source label carries no emotiq label (the row gets no target for that task). The data
card (``data/DATA_CARD.md``) documents every table here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from emotiq.schema import EMOTION_LABELS, SENTIMENT_LABELS

LabelMap = Mapping[str, tuple[str, ...]]

GOEMOTIONS_TO_EMOTIQ: LabelMap = {
    "anger": ("anger",),
    "annoyance": ("anger",),
    "disapproval": ("anger",),
    "disgust": ("disgust",),
    "fear": ("fear",),
    "nervousness": ("fear",),
    "joy": ("joy",),
    "amusement": ("joy",),
    "excitement": ("joy",),
    "love": ("joy",),
    "pride": ("joy",),
    "relief": ("joy",),
    "sadness": ("sadness",),
    "grief": ("sadness",),
    "remorse": ("sadness",),
    "embarrassment": ("sadness",),
    "surprise": ("surprise",),
    "realization": ("surprise",),
    "confusion": ("surprise",),
    "curiosity": ("surprise",),
    "gratitude": ("trust",),
    "admiration": ("trust",),
    "approval": ("trust",),
    "caring": ("trust",),
    "desire": ("anticipation",),
    "optimism": ("anticipation",),
    "disappointment": ("disappointment",),
    "neutral": ("neutral",),
}
"""GoEmotions' 27 emotions + neutral. ``curiosity`` goes to surprise, as in GoEmotions' own
Ekman grouping, so that :func:`ekman_group` reproduces the official Ekman labels exactly."""

XED_NAMES: Mapping[str, str] = {
    "1": "anger",
    "2": "anticipation",
    "3": "disgust",
    "4": "fear",
    "5": "joy",
    "6": "sadness",
    "7": "surprise",
    "8": "trust",
    "0": "neutral",
    "9": "neutral",
}
"""XED label ids: Plutchik's 8 in alphabetical order from 1; neutral is 0 in the README and
9 in ``neu_en.txt``."""

XED_TO_EMOTIQ: LabelMap = {label_id: (name,) for label_id, name in XED_NAMES.items()}
"""XED's names are emotiq's names, so the mapping is one to one."""

TWEETEVAL_EMOTION_LABELS: tuple[str, ...] = ("anger", "joy", "optimism", "sadness")
"""TweetEval emotion classes, in the order of its label ids (single-label, 4-way)."""

TWEETEVAL_EMOTION_TO_EMOTIQ: LabelMap = {
    "anger": ("anger",),
    "joy": ("joy",),
    "optimism": ("anticipation",),
    "sadness": ("sadness",),
}

XCI_EMOTION_TO_EMOTIQ: LabelMap = {
    "anger": ("anger",),
    "disgust": ("disgust",),
    "fear": ("fear",),
    "joy": ("joy",),
    "sadness": ("sadness",),
    "surprise": ("surprise",),
    "other": (),
}
"""``other`` covers anything outside Ekman's six (trust, anticipation, disappointment
included), so it gives no emotion target rather than ``neutral``."""

CESAMARD_EMOTION_TO_EMOTIQ: LabelMap = {
    "anger": ("anger",),
    "disgust": ("disgust",),
    "fear": ("fear",),
    "happiness": ("joy",),
    "sadness": ("sadness",),
    "surprise": ("surprise",),
}

SEVERITY_TO_LEVEL: Mapping[str, int] = {
    "non-complaint": 0,
    "no explicit reproach": 1,
    "disapproval": 2,
    "accusation": 3,
    "blame": 4,
}
"""CESAMARD severity names (lower-cased) -> X-CI level, i.e. index into SEVERITY_LABELS."""

DUTCH_POLITICAL_EMOTION_TO_EMOTIQ: LabelMap = {
    "no emotion": ("neutral",),
    "admiration": ("trust",),
    "disappointment": ("disappointment",),
    "optimism": ("anticipation",),
    "scepticism": (),
    "other": (),
}
"""``scepticism`` has no emotiq counterpart (it is doubt, not a basic emotion) and
``other`` is unspecified: both give no emotion target."""

SEMEVAL2018_EMOTION_TO_EMOTIQ: LabelMap = {
    "anger": ("anger",),
    "anticipation": ("anticipation",),
    "disgust": ("disgust",),
    "fear": ("fear",),
    "joy": ("joy",),
    "love": ("joy",),
    "optimism": ("anticipation",),
    "pessimism": (),
    "sadness": ("sadness",),
    "surprise": ("surprise",),
    "trust": ("trust",),
}
"""SemEval-2018 E-c's 11 emotions. ``love`` counts as joy and ``optimism`` as anticipation (as
TweetEval's optimism does); ``pessimism`` has no emotiq counterpart. A tweet with none of the
11 is neutral."""

DUTCH_TV_EMOTION_TO_EMOTIQ: LabelMap = {
    "neutral": ("neutral",),
    "happiness": ("joy",),
    "anger": ("anger",),
    "sadness": ("sadness",),
    "surprise": ("surprise",),
    "fear": ("fear",),
    "disgust": ("disgust",),
}

_EKMAN_SIX = ("anger", "disgust", "fear", "joy", "sadness", "surprise")

ANNOTATED_EMOTIONS: Mapping[str, tuple[str, ...]] = {
    "goemotions": EMOTION_LABELS,
    "goemotions_nl": EMOTION_LABELS,
    "xed_en": tuple(e for e in EMOTION_LABELS if e != "disappointment"),
    "xed_nl": tuple(e for e in EMOTION_LABELS if e not in ("disappointment", "neutral")),
    "tweeteval_emotion": ("anger", "joy", "sadness", "anticipation"),
    "semeval2018_ec": tuple(e for e in EMOTION_LABELS if e != "disappointment"),
    "xci": _EKMAN_SIX,
    "xci_nl": _EKMAN_SIX,
    "cesamard": _EKMAN_SIX,
    "cesamard_nl": _EKMAN_SIX,
    "dutch_political_tweets": ("trust", "anticipation", "disappointment", "neutral"),
    "dutch_tv_emotion": ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"),
}
"""The emotiq emotions each source's annotation scheme can say yes or no to. A source
teaches only these: the others are unknown (NaN) for its rows, so TweetEval's four classes
never teach "not fear". Single-label sources (TweetEval, X-CI, CESAMARD, the Dutch sets)
count the classes an annotator did not choose as absent: the schemes ask for the dominant
emotion, so this is a slightly noisy negative, but dropping it would leave those rows with
positives only."""


POLARITY_TO_SENTIMENT: Mapping[str, int] = {name: i for i, name in enumerate(SENTIMENT_LABELS)}
"""``negative``/``neutral``/``positive`` (lower-cased) -> sentiment index."""

EKMAN_LABELS: tuple[str, ...] = (
    "anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral",
)  # fmt: skip
"""GoEmotions' Ekman taxonomy (6 basic emotions + neutral)."""

EMOTIQ_TO_EKMAN: Mapping[str, str] = {
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "joy": "joy",
    "trust": "joy",
    "anticipation": "joy",
    "sadness": "sadness",
    "disappointment": "sadness",
    "surprise": "surprise",
    "neutral": "neutral",
}

_EKMAN_MATRIX = np.array(
    [[float(EMOTIQ_TO_EKMAN[e] == k) for k in EKMAN_LABELS] for e in EMOTION_LABELS]
)


def emotion_vector(labels: Iterable[str]) -> list[float]:
    """0/1 vector over EMOTION_LABELS with a 1 for each emotiq label in ``labels``."""
    chosen = set(labels)
    unknown = chosen - set(EMOTION_LABELS)
    if unknown:
        raise ValueError(f"not emotiq emotions: {sorted(unknown)}; valid: {EMOTION_LABELS}")
    return [float(name in chosen) for name in EMOTION_LABELS]


def map_emotions(native: Iterable[str], mapping: LabelMap) -> list[float] | None:
    """Map native emotion labels to an emotiq vector; None if none of them maps to anything.

    Raises:
        KeyError: A native label is missing from ``mapping``.
    """
    targets = [t for label in native for t in mapping[label]]
    return emotion_vector(targets) if targets else None


def annotated_vector(native: Iterable[str], mapping: LabelMap, annotated: Iterable[str],
                     neutral_if_none: bool = False) -> list[float] | None:
    """Emotion vector of one row with NaN for the emotions its source does not annotate.

    A row whose labels map to no emotiq emotion is all-negative over ``annotated`` (for
    example X-CI's "other": none of Ekman's six), or neutral when ``neutral_if_none`` and it
    has no label at all. Returns None for a row without any native label.
    """
    native = list(native)
    known = set(annotated)
    targets = {t for label in native for t in mapping[label]}
    if not native:
        if not neutral_if_none:
            return None
        targets = {"neutral"}
    stray = targets - known
    if stray:
        raise ValueError(f"labels {sorted(stray)} are not among the annotated emotions {sorted(known)}")
    return [float(name in targets) if name in known else float("nan") for name in EMOTION_LABELS]


def ekman_group(emotions: Any) -> Any:
    """Group emotiq emotions into GoEmotions' Ekman taxonomy (EKMAN_LABELS).

    joy <- joy, trust, anticipation; sadness <- sadness, disappointment; every other
    emotion maps to itself. A group's score is the maximum of its members' scores.

    Args:
        emotions: One of: a mapping emotiq label -> probability; an iterable of emotiq
            label names; a vector of 10 scores in EMOTION_LABELS order; or an
            ``(n, 10)`` array of such vectors.

    Returns:
        A dict Ekman label -> score for a mapping; a sorted list of Ekman labels for
        label names; a list of 7 scores for one vector; an ``(n, 7)`` array for a matrix.
    """
    if isinstance(emotions, Mapping):
        vector = [float(emotions.get(name, 0.0)) for name in EMOTION_LABELS]
        return dict(zip(EKMAN_LABELS, ekman_group(vector), strict=True))
    if isinstance(emotions, str):
        emotions = [emotions]
    if not isinstance(emotions, np.ndarray):
        emotions = list(emotions)
        if all(isinstance(x, str) for x in emotions):
            return sorted({EMOTIQ_TO_EKMAN[x] for x in emotions}, key=EKMAN_LABELS.index)
    scores = np.asarray(emotions, dtype=float)
    if scores.shape[-1] != len(EMOTION_LABELS):
        raise ValueError(f"expected {len(EMOTION_LABELS)} emotion scores, got {scores.shape}")
    grouped = (scores[..., :, None] * _EKMAN_MATRIX).max(axis=-2)
    return grouped.tolist() if grouped.ndim == 1 else grouped


def tweeteval_emotion_scores(emotions: Any) -> np.ndarray:
    """emotiq's scores of TweetEval's four classes, renormalised to sum to one.

    The columns are emotiq's anger, joy, anticipation (TweetEval's optimism) and
    sadness, in TWEETEVAL_EMOTION_LABELS order.

    Args:
        emotions: Scores in EMOTION_LABELS order, shape ``(10,)`` or ``(n, 10)``.
    """
    columns = [EMOTION_LABELS.index(TWEETEVAL_EMOTION_TO_EMOTIQ[name][0]) for name in TWEETEVAL_EMOTION_LABELS]
    scores = np.asarray(emotions, dtype=float)[..., columns] + 1e-9
    return scores / scores.sum(axis=-1, keepdims=True)


def tweeteval_emotion_class(emotions: Any) -> np.ndarray:
    """Native TweetEval emotion class ids (argmax of :func:`tweeteval_emotion_scores`)."""
    return np.argmax(tweeteval_emotion_scores(emotions), axis=-1)
