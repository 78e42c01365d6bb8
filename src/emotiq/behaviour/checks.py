"""What each task reads from an :class:`~emotiq.schema.Analysis`, and whether a case passes.

A registry maps each task name to its label (a class name, or a set of emotions),
its score (what DIR cases move) and its distance (what INV cases bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emotiq.behaviour.casefile import DEFAULT_DIR_TOLERANCE, DEFAULT_INV_TOLERANCE, Case
from emotiq.errors import InputError
from emotiq.schema import EMOTION_LABELS, SENTIMENT_LABELS, SEVERITY_LABELS, Analysis, Complaint, Sentiment

Label = str | frozenset[str]


def _sentiment(a: Analysis) -> Sentiment:
    if a.sentiment is None:
        raise InputError("the model has no sentiment head, which the suite's sentiment cases need")
    return a.sentiment


def _complaint(a: Analysis) -> Complaint:
    if a.complaint is None:
        raise InputError("the model has no complaint head, which the suite's complaint and severity cases need")
    return a.complaint


def _emotions(a: Analysis) -> dict[str, float]:
    if not a.emotions:
        raise InputError("the model has no emotion head, which the suite's emotion cases need")
    return a.emotions


def _agreement(a: Analysis) -> str:
    """``agree`` when ``is_complaint`` (the probability over the head's threshold) and the severity level tell one story."""
    c = _complaint(a)
    return "agree" if c.is_complaint == (c.severity > 0) else "contradict"


@dataclass(frozen=True)
class TaskCheck:
    """How one task is read from a result."""

    labels: tuple[str, ...]
    label: Callable[[Analysis], Label]
    score: Callable[[Analysis, Case], float] | None = None
    """The number a DIR case moves (None: the task has no DIR/INV cases)."""
    distance: Callable[[Analysis, Analysis], float] | None = None
    """How far two results are apart, for INV cases (default: the score difference)."""

    @property
    def multi_label(self) -> bool:
        return self.labels == EMOTION_LABELS

    def problems(self, case: Case) -> list[str]:
        """What is wrong with ``case`` for this task (empty when it is fine)."""
        named = set(case.labels) | set(case.any) | set(case.avoid) | ({case.emotion} if case.emotion else set())
        problems = [f"unknown labels {sorted(named - set(self.labels))}; valid: {self.labels}"] if named - set(self.labels) else []
        if case.any and not self.multi_label:
            problems.append("'any' is for the emotion task only; use 'labels'")
        if case.type != "MFT" and self.score is None:
            problems.append(f"the {case.task} task has MFT cases only")
        return problems

    def gap(self, first: Analysis, second: Analysis, case: Case) -> float:
        if self.distance is not None:
            return self.distance(first, second)
        assert self.score is not None
        return abs(self.score(second, case) - self.score(first, case))


def _emotion_score(a: Analysis, case: Case) -> float:
    return _emotions(a)[case.emotion or "neutral"]


def _emotion_distance(first: Analysis, second: Analysis) -> float:
    one, two = _emotions(first), _emotions(second)
    return max(abs(one[k] - two[k]) for k in one)


TASKS: dict[str, TaskCheck] = {
    "sentiment": TaskCheck(SENTIMENT_LABELS, lambda a: _sentiment(a).label, lambda a, c: _sentiment(a).score),
    "emotion": TaskCheck(EMOTION_LABELS, lambda a: frozenset(a.emotion_labels), _emotion_score, _emotion_distance),
    "complaint": TaskCheck(("no_complaint", "complaint"), lambda a: "complaint" if _complaint(a).is_complaint else "no_complaint",
                           lambda a, c: _complaint(a).probability),
    "severity": TaskCheck(SEVERITY_LABELS, lambda a: _complaint(a).severity_label, lambda a, c: _complaint(a).expected_severity),
    "agreement": TaskCheck(("agree", "contradict"), _agreement),
}
"""Task name -> how it is read; the suite's ``task`` field names one of these."""


def show(label: Label) -> str:
    """A label as text: a class name, or emotions joined by '+' ('-' for none)."""
    return label if isinstance(label, str) else "+".join(sorted(label)) or "-"


def _mft(case: Case, check: TaskCheck, label: Label) -> bool:
    if isinstance(label, str):
        return (not case.labels or label in case.labels) and label not in case.avoid
    subset = not case.labels or (bool(label) and label <= set(case.labels))
    return subset and (not case.any or bool(label & set(case.any))) and not label & set(case.avoid)


def judge(case: Case, first: Analysis, second: Analysis | None = None) -> tuple[bool, str]:
    """Whether ``case`` passes given the model's result(s), and what was observed."""
    check = TASKS[case.task]
    label = check.label(first)
    if case.type == "MFT":
        return _mft(case, check, label), show(label)
    assert second is not None and check.score is not None
    if case.type == "DIR":
        delta = check.score(second, case) - check.score(first, case)
        signed = delta if case.direction == "up" else -delta
        needed = case.min_delta if case.min_delta is not None else -(case.tolerance if case.tolerance is not None else DEFAULT_DIR_TOLERANCE)
        return signed >= needed, f"{check.score(first, case):+.3f} -> {check.score(second, case):+.3f}"
    other = check.label(second)
    gap = check.gap(first, second, case)
    tolerance = case.tolerance if case.tolerance is not None else DEFAULT_INV_TOLERANCE
    return label == other and gap <= tolerance, f"{show(label)} -> {show(other)}, moved {gap:.3f}"
