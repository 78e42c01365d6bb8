"""Run the behavioural suite through one batched ``analyze`` call and summarise it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from emotiq.behaviour.casefile import LANGUAGES, Case, cases_digest, load_cases
from emotiq.behaviour.checks import judge
from emotiq.schema import Analysis

logger = logging.getLogger(__name__)


class Analyzer(Protocol):
    """Anything with emotiq's ``analyze`` for a list of texts (an :class:`~emotiq.model.EmotiqModel`)."""

    def analyze(self, texts: Any) -> Any: ...


@dataclass(frozen=True)
class CaseResult:
    """One case's outcome: ``observed`` is the label (MFT), the score move (DIR) or the change (INV)."""

    case: Case
    passed: bool
    observed: str


@dataclass(frozen=True)
class PassRate:
    """Passed cases out of all cases in a group."""

    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "total": self.total, "rate": round(self.rate, 4)}


def _rates(results: Iterable[CaseResult], key: Any) -> dict[Any, PassRate]:
    groups: dict[Any, list[bool]] = {}
    for r in results:
        groups.setdefault(key(r.case), []).append(r.passed)
    return {k: PassRate(sum(v), len(v)) for k, v in sorted(groups.items())}


@dataclass(frozen=True)
class SuiteReport:
    """Pass rates of one model on the suite, overall and per capability, language and test type."""

    results: tuple[CaseResult, ...]
    seconds: float = 0.0
    suite: str = ""
    """Digest of the case files the report came from."""
    settings: dict[str, Any] = field(default_factory=dict)
    """How the model was run (e.g. its precision), recorded beside the rates."""

    @property
    def overall(self) -> PassRate:
        return PassRate(sum(r.passed for r in self.results), len(self.results))

    @property
    def by_capability(self) -> dict[str, PassRate]:
        return _rates(self.results, lambda c: c.capability)

    @property
    def by_language(self) -> dict[str, PassRate]:
        return _rates(self.results, lambda c: c.lang)

    @property
    def by_type(self) -> dict[str, PassRate]:
        return _rates(self.results, lambda c: c.type)

    @property
    def by_capability_language(self) -> dict[tuple[str, str], PassRate]:
        return _rates(self.results, lambda c: (c.capability, c.lang))

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        """Rates (overall, per capability, per capability and language, per type) and failed case ids, for metrics.json."""
        per_cell = self.by_capability_language
        return {
            "suite": self.suite,
            "settings": self.settings,
            "seconds": round(self.seconds, 1),
            "overall": self.overall.to_dict(),
            "languages": {k: v.to_dict() for k, v in self.by_language.items()},
            "types": {k: v.to_dict() for k, v in self.by_type.items()},
            "capabilities": {cap: {**rate.to_dict(), **{lang: per_cell[(cap, lang)].to_dict() for lang in LANGUAGES if (cap, lang) in per_cell}}
                             for cap, rate in self.by_capability.items()},
            "failed": [r.case.id for r in self.failures],
        }


def run_suite(model: Analyzer, cases: Sequence[Case] | None = None, *, settings: dict[str, Any] | None = None) -> SuiteReport:
    """Score every case's texts in one ``model.analyze`` call and judge each case.

    Args:
        model: A loaded model (``emotiq.load(...)``) or anything with the same ``analyze``.
        cases: The cases to run (default: the shipped suite, :func:`load_cases`).
        settings: Notes on how the model runs, stored in the report (e.g. ``{"precision": "fp32"}``).

    Returns:
        A :class:`SuiteReport` with every case's outcome and the pass rates.
    """
    suite = cases_digest() if cases is None else ""
    cases = load_cases() if cases is None else list(cases)
    texts = list(dict.fromkeys(text for case in cases for text in case.texts))
    start = time.perf_counter()
    analyses: list[Analysis] = model.analyze(texts)
    by_text = dict(zip(texts, analyses))
    results = tuple(CaseResult(case, *judge(case, *(by_text[t] for t in case.texts))) for case in cases)
    seconds = time.perf_counter() - start
    logger.info("Behavioural suite: %d cases (%d texts) in %.1f s", len(cases), len(texts), seconds)
    return SuiteReport(results, seconds=seconds, suite=suite, settings=dict(settings or {}))
