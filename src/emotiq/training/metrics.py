"""Classification metrics: macro-F1, per-class F1 and expected calibration error."""

from __future__ import annotations

from typing import Any

import numpy as np


def f1_per_class(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 of each class for single-label predictions (0 where a class never occurs)."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    hits = np.bincount(y_true[y_true == y_pred], minlength=n_classes)[:n_classes]
    # 2tp + fp + fn = (rows of the class) + (rows predicted as it)
    denom = (np.bincount(y_true, minlength=n_classes) + np.bincount(y_pred, minlength=n_classes))[:n_classes]
    return np.divide(2.0 * hits, denom, out=np.zeros(n_classes), where=denom > 0)


def multilabel_f1(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 of each label column for 0/1 matrices; NaN cells of ``y_true`` (not annotated) are left out."""
    known = ~np.isnan(y_true)
    y_true, y_pred = np.nan_to_num(y_true), y_pred * known
    tp = (y_pred * y_true).sum(0)
    fp = (y_pred * (1 - y_true)).sum(0)
    fn = ((1 - y_pred) * y_true).sum(0)
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    """ECE: mean |accuracy - confidence| over equal-width confidence bins, weighted by size."""
    confidence = np.asarray(confidence, dtype=float).ravel()
    correct = np.asarray(correct, dtype=float).ravel()
    if confidence.size == 0:
        return float("nan")
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def sampling_ece(confidence: np.ndarray, n_bins: int = 15, draws: int = 200, seed: int = 0) -> float:
    """The mean ECE of a perfectly calibrated model with these confidences: each prediction right with
    probability equal to its confidence, over ``draws`` seeded draws. On a small test set this is the
    ECE that sampling alone produces, the floor against which a measured ECE should be read."""
    confidence = np.asarray(confidence, dtype=float).ravel()
    if confidence.size == 0:
        return float("nan")
    rng = np.random.default_rng(seed)
    return float(np.mean([expected_calibration_error(confidence, rng.random(confidence.size) < confidence, n_bins)
                          for _ in range(draws)]))


def single_label_report(y_true: np.ndarray, probs: np.ndarray, labels: list[str],
                        decisions: np.ndarray | None = None) -> dict[str, Any]:
    """Macro-F1, accuracy, macro-recall, per-class F1 and top-label ECE.

    ``decisions`` (class indices) overrides the argmax of ``probs`` as the prediction.
    """
    y_true = np.asarray(y_true)
    pred = probs.argmax(1) if decisions is None else np.asarray(decisions)
    per_class = f1_per_class(y_true, pred, len(labels))
    present = [c for c in range(len(labels)) if np.any(y_true == c)]
    recalls = [np.mean(pred[y_true == c] == c) for c in present]
    return {
        "n": len(y_true),
        "macro_f1": float(per_class[present].mean()) if present else float("nan"),
        "accuracy": float(np.mean(pred == y_true)),
        "macro_recall": float(np.mean(recalls)) if recalls else float("nan"),
        "per_class_f1": {labels[c]: round(float(per_class[c]), 4) for c in present},
        "ece": expected_calibration_error(probs.max(1), pred == y_true),
        "ece_sampling": sampling_ece(probs.max(1)),
    }


def multi_label_report(y_true: np.ndarray, probs: np.ndarray, labels: list[str], threshold: float | list[float] = 0.5,
                       decisions: np.ndarray | None = None) -> dict[str, Any]:
    """Macro-F1 over labels that occur, per-label F1, ECE of the probabilities, and the mean
    number of labels per text, gold and predicted (over the annotated labels).

    ``threshold`` may be one value or one per label; ``decisions`` (0/1) overrides both.
    NaN cells of ``y_true`` mark labels a row's source does not annotate: they are left out.
    """
    pred = (probs >= np.asarray(threshold)).astype(float) if decisions is None else decisions.astype(float)
    per_label = multilabel_f1(y_true, pred)
    known = ~np.isnan(y_true)
    present = np.flatnonzero(np.nansum(y_true, axis=0) > 0)
    at_half = probs >= 0.5
    confidence = np.where(at_half, probs, 1 - probs)
    return {
        "n": len(y_true),
        "macro_f1": float(per_label[present].mean()) if present.size else float("nan"),
        "per_class_f1": {labels[c]: round(float(per_label[c]), 4) for c in present},
        "ece": expected_calibration_error(confidence[known], at_half[known] == (y_true[known] > 0.5)),
        "gold_labels_per_text": float(np.nansum(y_true, axis=1).mean()) if len(y_true) else float("nan"),
        "predicted_labels_per_text": float((pred * known).sum(axis=1).mean()) if len(y_true) else float("nan"),
    }


def best_threshold(y_true: np.ndarray, probs: np.ndarray, beta: float = 1.0) -> float:
    """The threshold in 0.05..0.95 that maximises F-beta of one label column (beta < 1 favours precision)."""
    grid = np.arange(0.05, 0.96, 0.05)
    scores = [f_beta(y_true, probs >= t, beta) for t in grid]
    return round(float(grid[int(np.argmax(scores))]), 2)


def f_beta(y_true: np.ndarray, y_pred: np.ndarray, beta: float = 1.0) -> float:
    """F-beta of one 0/1 column."""
    y_true, y_pred = np.asarray(y_true) > 0.5, np.asarray(y_pred).astype(bool)
    tp = float(np.sum(y_true & y_pred))
    fp, fn = float(np.sum(~y_true & y_pred)), float(np.sum(y_true & ~y_pred))
    b2 = beta * beta
    denom = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denom if denom else 0.0
