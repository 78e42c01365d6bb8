"""Linear heads fitted by scikit-learn on cached encoder vectors, alone (``frozen``) or beside word and
character TF-IDF features (``hybrid``), and their cross-validated scores."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from emotiq.heads import HeadSpec
from emotiq.lexical import LexicalHead, TfidfFeatures

logger = logging.getLogger(__name__)

HYBRID_C = (4.0, 16.0)
"""Inverse L2 strengths tried for the hybrid head (chosen on the selection rows)."""
FROZEN_C = (1.0, 10.0, 100.0)
"""Inverse L2 strengths tried for the frozen-encoder head."""
MAX_FOLDS = 3


def macro_f1(gold: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, probs.argmax(1), average="macro", labels=np.unique(gold), zero_division=0))


def _logistic(c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=300, random_state=seed)


@dataclass
class LinearFit:
    """A fitted softmax head over ``[scale * vector, lexical features]`` (``lexical`` None: vector only)."""

    weight: np.ndarray
    """``(n_labels, n_features)`` in the order vector dims, then lexical features."""
    bias: np.ndarray
    scale: float
    lexical: TfidfFeatures | None
    c: float

    @classmethod
    def fit(cls, vectors: np.ndarray, texts: list[str], gold: np.ndarray, n_labels: int, *, hybrid: bool, c: float,
            seed: int) -> LinearFit:
        scale = 1.0 / max(float(np.linalg.norm(vectors, axis=1).mean()), 1e-6)
        lexical = TfidfFeatures.fit(texts) if hybrid else None
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # small BLAS calls: extra threads only contend
            model = _logistic(c, seed).fit(_design(vectors, texts, scale, lexical), gold)
        weight = np.zeros((n_labels, model.coef_.shape[1]), dtype=np.float32)
        bias = np.full(n_labels, -30.0, dtype=np.float32)  # a class absent from these rows is never predicted
        if len(model.classes_) == 2:  # binary: scikit-learn keeps one row; as softmax logits it is [0, w]
            weight[model.classes_[1]], bias[model.classes_[1]] = model.coef_[0], model.intercept_[0]
            bias[model.classes_[0]] = 0.0
        else:
            weight[model.classes_], bias[model.classes_] = model.coef_, model.intercept_
        return cls(weight, bias, scale, lexical, c)

    def logits(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        x = _design(vectors, texts, self.scale, self.lexical)
        return np.asarray(x @ self.weight.T) + self.bias

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        return torch.from_numpy(self.logits(vectors, texts)).float().softmax(-1).numpy()

    def install(self, model: Any, spec: HeadSpec) -> None:
        """Write the fit into the model's head ``spec.name`` (and its lexical part, if any)."""
        dim = model.encoder.hidden_size
        linear = model.heads[spec.name].net[-1]
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(self.weight[:, :dim] * self.scale))
            linear.bias.copy_(torch.from_numpy(self.bias))
        if self.lexical is None:
            model.lexical.pop(spec.name, None)
            spec.extra.pop("lexical", None)
        else:
            model.lexical[spec.name] = LexicalHead(self.lexical, torch.from_numpy(np.ascontiguousarray(self.weight[:, dim:])))
            spec.extra["lexical"] = self.lexical.kind


def _design(vectors: np.ndarray, texts: list[str], scale: float, lexical: TfidfFeatures | None) -> Any:
    dense = vectors.astype(np.float32) * scale
    if lexical is None:
        return dense
    from scipy.sparse import csr_matrix, hstack

    return hstack([csr_matrix(dense), lexical.transform(texts)], format="csr")


def folds(gold: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds (at most :data:`MAX_FOLDS`, at least 2; fewer when the rarest class is small)."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(gold)
    k = int(max(2, min(MAX_FOLDS, counts[counts > 0].min())))
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(gold)), gold))


def select_and_fit(vectors: np.ndarray, texts: list[str], gold: np.ndarray, n_labels: int, *, hybrid: bool,
                   splits: list[tuple[np.ndarray, np.ndarray]], seed: int) -> tuple[float, float]:
    """(best macro-F1 over ``splits``, its C): each C in the grid is scored on the same splits."""
    grid = HYBRID_C if hybrid else FROZEN_C
    best = (-1.0, grid[0])
    for c in grid:
        scores = []
        for fit_rows, score_rows in splits:
            fitted = LinearFit.fit(vectors[fit_rows], [texts[i] for i in fit_rows], gold[fit_rows], n_labels, hybrid=hybrid,
                                   c=c, seed=seed)
            scores.append(macro_f1(gold[score_rows], fitted.probabilities(vectors[score_rows], [texts[i] for i in score_rows])))
        score = float(np.mean(scores))
        logger.info("%s head, C=%g: macro-F1 %.4f over %d split(s)", "hybrid" if hybrid else "frozen", c, score, len(splits))
        best = max(best, (score, c))
    return best
