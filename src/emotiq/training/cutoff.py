"""Choose an emotion head's relative cutoff on dev rows.

Per-label thresholds tuned for F1 let a text pick up a second or third emotion far weaker than
its first; the relative cutoff of :func:`~emotiq.decode.emotion_decisions` drops those. The
cutoff is chosen by cross-fitting: the dev rows are split in two random halves, thresholds are
fitted on one half and every cutoff on the grid is scored on the other (then the other way
round), so that the thresholds and the cutoff are never judged on the rows they were fitted on.
The score is the mean over sources of each source's macro-F1 over the emotions it annotates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from emotiq.decode import emotion_decisions
from emotiq.training.metrics import multi_label_report

logger = logging.getLogger(__name__)

CUTOFF_GRID = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
"""Relative cutoffs tried."""
CUTOFF_TOLERANCE = 0.002
"""The largest cutoff whose cross-fitted score is within this of the best one is chosen: fewer,
surer labels per text at no measurable cost in F1."""
MIN_SOURCE_ROWS = 20
"""Fewest rows of a source in a scored half for that source to count."""

ThresholdFit = Callable[[np.ndarray], np.ndarray]
"""Given a 0/1 mask of rows to fit on, the ``(rows, labels)`` thresholds of every row."""


def source_macro_f1(gold: np.ndarray, probs: np.ndarray, chosen: np.ndarray, labels: Sequence[str], sources: np.ndarray,
                    rows: np.ndarray) -> float:
    """Mean over the sources in ``rows`` of each source's macro-F1, as the evaluation reports it
    (:func:`~emotiq.training.metrics.multi_label_report`: NaN gold cells left out)."""
    scores = []
    for source in np.unique(sources[rows]):
        part = rows & (sources == source)
        if part.sum() >= MIN_SOURCE_ROWS:
            scores.append(multi_label_report(gold[part], probs[part], list(labels), decisions=chosen[part])["macro_f1"])
    scores = [score for score in scores if not np.isnan(score)]
    return float(np.mean(scores)) if scores else float("nan")


def choose_relative_cutoff(target: np.ndarray, probs: np.ndarray, known: np.ndarray, sources: np.ndarray,
                           labels: Sequence[str], fit: ThresholdFit, seed: int = 0,
                           grid: Sequence[float] = CUTOFF_GRID) -> tuple[float, dict[float, float]]:
    """The cutoff to use and the cross-fitted score of every cutoff on ``grid``.

    ``target``, ``probs`` and ``known`` are ``(rows, labels)`` (gold 0/1, probabilities, whether a
    row's source annotates the label); ``sources`` names each row's source.
    """
    gold = np.where(known, np.nan_to_num(np.asarray(target, dtype=float)), np.nan)
    half = np.random.default_rng(seed).random(len(target)) < 0.5
    scores: dict[float, list[float]] = {rho: [] for rho in grid}
    for fit_rows in (half, ~half):
        thresholds = fit(fit_rows)
        scored = ~fit_rows
        for rho in grid:
            chosen = emotion_decisions(probs, labels, thresholds, rho)
            scores[rho].append(source_macro_f1(gold, probs, chosen, labels, sources, scored))
    means = {rho: float(np.nanmean(values)) if not np.isnan(values).all() else float("nan") for rho, values in scores.items()}
    valid = {rho: score for rho, score in means.items() if not np.isnan(score)}
    if not valid:
        return 0.0, means
    best = max(valid.values())
    chosen_rho = max(rho for rho, score in valid.items() if score >= best - CUTOFF_TOLERANCE)
    logger.info("relative cutoff %.2f (cross-fitted dev macro-F1 by cutoff: %s)", chosen_rho,
                ", ".join(f"{rho:g}: {score:.4f}" for rho, score in means.items()))
    return chosen_rho, means
