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

HYBRID_GRID = tuple((c, w) for w in (1.0, 0.5, 2.0) for c in (4.0, 16.0, 1.0))
"""(inverse L2 strength C, weight of the encoder vector against the TF-IDF block) tried for the hybrid
head, in this order while time allows. A larger vector weight regularises the vector's coefficients
less than the n-grams' (and a smaller one more), so the grid also chooses how much the words decide."""
FROZEN_GRID = tuple((c, 1.0) for c in (1.0, 10.0, 100.0, 0.1))
"""(C, vector weight) tried for the frozen-encoder head."""
FROZEN_C = FROZEN_GRID[0][0]
MAX_FOLDS = 3


def macro_f1(gold: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, probs.argmax(1), average="macro", labels=np.unique(gold), zero_division=0))


def _logistic(c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=300, random_state=seed)


@dataclass
class LinearFit:
    """A fitted softmax head over ``[scale * vector, lexical features]`` (``lexical`` None: vector only).

    ``scale`` brings the vectors to a mean norm of ``dense_weight`` (the TF-IDF blocks have norm 1 each).
    """

    weight: np.ndarray
    """``(n_labels, n_features)`` in the order vector dims, then lexical features."""
    bias: np.ndarray
    scale: float
    lexical: TfidfFeatures | None
    c: float
    dense_weight: float = 1.0

    @classmethod
    def fit(cls, vectors: np.ndarray, texts: list[str], gold: np.ndarray, n_labels: int, *, hybrid: bool, c: float,
            seed: int, dense_weight: float = 1.0) -> LinearFit:
        scale = dense_weight / max(float(np.linalg.norm(vectors, axis=1).mean()), 1e-6)
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
        return cls(weight, bias, scale, lexical, c, dense_weight)

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


@dataclass
class Selection:
    """The best setting of a linear head over some splits, with its out-of-split logits."""

    score: float
    c: float
    dense_weight: float
    logits: np.ndarray
    """``(rows, labels)`` logits of each scored row from the fit that left it out (NaN: never scored)."""
    tried: int


def select_and_fit(vectors: np.ndarray, texts: list[str], gold: np.ndarray, n_labels: int, *, hybrid: bool,
                   splits: list[tuple[np.ndarray, np.ndarray]], seed: int, deadline: float | None = None) -> Selection:
    """The setting with the best mean macro-F1 over ``splits`` (each one scored on the same splits).

    Settings are tried in grid order until ``deadline`` (``time.perf_counter()`` seconds; the first
    always runs).
    """
    import time

    grid = HYBRID_GRID if hybrid else FROZEN_GRID
    best: Selection | None = None
    for tried, (c, weight) in enumerate(grid, start=1):
        scores, logits = [], np.full((len(gold), n_labels), np.nan, dtype=np.float32)
        for fit_rows, score_rows in splits:
            fitted = LinearFit.fit(vectors[fit_rows], [texts[i] for i in fit_rows], gold[fit_rows], n_labels, hybrid=hybrid,
                                   c=c, seed=seed, dense_weight=weight)
            logits[score_rows] = fitted.logits(vectors[score_rows], [texts[i] for i in score_rows])
            scores.append(macro_f1(gold[score_rows], logits[score_rows]))
        score = float(np.mean(scores))
        logger.info("%s head, C=%g, vector weight %g: macro-F1 %.4f over %d split(s)", "hybrid" if hybrid else "frozen", c, weight,
                    score, len(splits))
        if best is None or score > best.score:
            best = Selection(score, c, weight, logits, tried)
        best.tried = tried
        if deadline is not None and time.perf_counter() > deadline:
            break
    assert best is not None
    return best
