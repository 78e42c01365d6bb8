"""What the report adds from the model at the end of a run: themes in the complaints, evidence for the worst ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emotiq.report.aggregate import ReportAggregator

if TYPE_CHECKING:
    from emotiq.schema import Evidence
    from emotiq.themes import ThemeSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Insights:
    """Themes of the sampled complaints and the evidence of each most-severe complaint (by row number)."""

    themes: ThemeSet | None = None
    evidence: dict[int, Evidence] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _themes(model: Any, agg: ReportAggregator, seed: int) -> ThemeSet | None:
    sample = agg.complaint_sample()
    if not sample:
        return None
    from emotiq.themes import find_themes

    texts = [item["text"] for item in sample]
    return find_themes(
        texts, model.embed(texts, space="topic"), seed=seed, ids=[item["row"] for item in sample],
        sentiment=[item["sentiment_score"] for item in sample], complaint=[True] * len(sample),
        severity=[item["expected_severity"] for item in sample], languages=[item["language"] for item in sample],
        times=[item["day"] for item in sample] if agg.time_column else None)


def report_insights(model: Any, agg: ReportAggregator, *, seed: int = 0) -> Insights:
    """Themes (needs scikit-learn: ``emotiq[themes]``) and evidence for the report of ``agg``."""
    notes = []
    try:
        themes = _themes(model, agg, seed)
    except ImportError:
        themes = None
        notes.append("Themes need scikit-learn: pip install \"emotiq[themes]\".")
        logger.warning("the report has no themes: scikit-learn is not installed (pip install \"emotiq[themes]\")")
    severe = agg.most_severe()
    evidence = {}
    if severe:
        results = model.analyze([item["text"] for item in severe], explain=True)
        evidence = {item["row"]: result.evidence for item, result in zip(severe, results)}
    return Insights(themes=themes, evidence=evidence, notes=tuple(notes))
