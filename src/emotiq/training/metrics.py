"""Classification metrics: macro-F1, per-class F1 and expected calibration error."""

from __future__ import annotations

from typing import Any

import numpy as np


def f1_per_class(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 of each class for single-label predictions (0 where a class never occurs)."""
    scores = np.zeros(n_classes)
    for c in range(n_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        scores[c] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return scores


def multilabel_f1(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 of each label column for 0/1 matrices."""
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


def single_label_report(y_true: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Macro-F1, accuracy, macro-recall, per-class F1 and top-label ECE."""
    y_true = np.asarray(y_true)
    pred = probs.argmax(1)
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
    }


def multi_label_report(y_true: np.ndarray, probs: np.ndarray, labels: list[str], threshold: float | list[float] = 0.5,
                       decisions: np.ndarray | None = None) -> dict[str, Any]:
    """Macro-F1 over labels that occur, per-label F1, and ECE of the probabilities.

    ``threshold`` may be one value or one per label; ``decisions`` (0/1) overrides both.
    """
    pred = (probs >= np.asarray(threshold)).astype(float) if decisions is None else decisions.astype(float)
    per_label = multilabel_f1(y_true, pred)
    present = np.flatnonzero(y_true.sum(0) > 0)
    at_half = probs >= 0.5
    confidence = np.where(at_half, probs, 1 - probs)
    return {
        "n": len(y_true),
        "macro_f1": float(per_label[present].mean()) if present.size else float("nan"),
        "per_class_f1": {labels[c]: round(float(per_label[c]), 4) for c in present},
        "ece": expected_calibration_error(confidence, at_half == y_true),
    }


def best_threshold(y_true: np.ndarray, probs: np.ndarray) -> float:
    """The threshold in 0.05..0.95 that maximises F1 of one label column."""
    grid = np.arange(0.05, 0.96, 0.05)
    scores = [multilabel_f1(y_true[:, None], (probs >= t).astype(float)[:, None])[0] for t in grid]
    return round(float(grid[int(np.argmax(scores))]), 2)
