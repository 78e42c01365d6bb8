"""Word occlusion: a span's weight is how much the explained probability drops when the span is left out.

For each text, the full text and one variant per occlusion span (a word, or a
short phrase in long texts; see :func:`~emotiq.explain.units.occlusion_spans`)
are scored together in one batched encoder call, so explaining a text costs at
most ``budget + 1`` extra encoder passes. This is leave-one-out occlusion as in
Zeiler & Fergus (2014) and the "erasure" of Li, Monroe & Jurafsky (2016), applied
to whole words so that the evidence reads as text.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emotiq.explain.targets import TARGETS
from emotiq.explain.units import Span, occlusion_spans, prefix, without
from emotiq.schema import Analysis, Evidence, EvidenceSpan, TaskEvidence
from emotiq.text import clean_text, detect_language

if TYPE_CHECKING:
    from emotiq.model import EmotiqModel

logger = logging.getLogger(__name__)

METHOD = "word-occlusion"
DEFAULT_BUDGET = 16
"""Most occluded variants per text (words, or phrases of neighbouring words beyond that)."""
EXPLAIN_MAX_CHARS = 2000
"""Characters explained per text (about one encoder window); longer texts get evidence for this prefix."""
MAX_SPANS = 8
"""Spans kept per task, strongest first."""


@dataclass(frozen=True)
class _Plan:
    """One text to explain: the part explained, its spans, and where its variants sit in the batch."""

    text: str
    spans: list[Span]
    first_row: int
    truncated: bool
    full_length: int


def _plan(text: str, budget: int, max_chars: int, first_row: int) -> _Plan:
    explained = prefix(text, max_chars)
    return _Plan(explained, occlusion_spans(explained, budget), first_row, len(explained) < len(text), len(text))


def _evidence(plan: _Plan, probs: dict[str, np.ndarray], model: EmotiqModel, max_spans: int) -> Evidence:
    if not plan.spans:
        return Evidence(status="empty", method=METHOD, message="no words to weigh")
    rows = slice(plan.first_row, plan.first_row + len(plan.spans) + 1)
    language = detect_language(clean_text(plan.text).text)
    tasks = {}
    for name, matrix in probs.items():
        spec = model.heads[name].spec
        label, target = TARGETS[spec.role](spec, matrix[rows], language)
        weights = target[0] - target[1:]
        order = np.argsort(-np.abs(weights), kind="stable")[:max_spans]
        spans = tuple(EvidenceSpan(plan.text[plan.spans[i][0]:plan.spans[i][1]], plan.spans[i][0], plan.spans[i][1],
                                   round(float(weights[i]), 6)) for i in order)
        tasks[name] = TaskEvidence(task=name, label=label, probability=round(float(target[0]), 6), spans=spans)
    if plan.truncated:
        note = f"evidence covers the first {len(plan.text):,} of {plan.full_length:,} characters"
        return Evidence(status="truncated", method=METHOD, tasks=tasks, explained_chars=len(plan.text), message=note)
    return Evidence(status="ok", method=METHOD, tasks=tasks, explained_chars=len(plan.text))


def explain_texts(model: EmotiqModel, texts: Sequence[str], *, tasks: Iterable[str] | None = None, budget: int = DEFAULT_BUDGET,
                  max_chars: int = EXPLAIN_MAX_CHARS, max_spans: int = MAX_SPANS, batch_size: int = 64) -> list[Evidence]:
    """Evidence for each text: all occluded variants of all texts go through the encoder in one batched call.

    Args:
        model: The model whose scores are explained.
        texts: Texts to explain.
        tasks: Heads to explain (default: every head with a registered target).
        budget: Most occluded variants per text.
        max_chars: Characters explained per text; longer texts are explained on
            their first ``max_chars`` characters and flagged ``truncated``.
        max_spans: Spans kept per task, strongest first.
        batch_size: Most sequences per encoder batch.
    """
    if budget < 1:
        raise ValueError(f"budget={budget}: explaining needs at least one occluded variant per text")
    heads = [h for h in model._select_heads(tasks) if model.heads[h].spec.role in TARGETS]
    plans, variants = [], []
    for text in texts:
        plan = _plan(text, budget, max_chars, len(variants))
        plans.append(plan)
        if plan.spans:
            variants += [plan.text, *(without(plan.text, [span]) for span in plan.spans)]
    probs = model.predict_proba(variants, batch_size=batch_size, tasks=heads) if variants else {}
    logger.debug("explained %d texts with %d occluded variants", len(texts), len(variants) - len(texts))
    return [_evidence(plan, probs, model, max_spans) for plan in plans]


def with_evidence(model: EmotiqModel, results: list[Analysis], *, tasks: Iterable[str] | None = None,
                  batch_size: int = 64) -> list[Analysis]:
    """``results`` with ``evidence`` filled in (``empty``/``error`` evidence for texts that were not scored)."""
    scored = [i for i, r in enumerate(results) if r.status == "ok"]
    found = dict(zip(scored, explain_texts(model, [results[i].text for i in scored], tasks=tasks, batch_size=batch_size)))
    out = []
    for i, result in enumerate(results):
        evidence = found.get(i) or Evidence(status="error" if result.status == "error" else "empty", method=METHOD,
                                            message=result.error or "nothing to score, so nothing to explain")
        out.append(dataclasses.replace(result, evidence=evidence))
    return out
