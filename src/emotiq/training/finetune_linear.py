"""Linear heads fitted by scikit-learn on cached encoder vectors, alone (``frozen``) or fused with a
word and character TF-IDF model (``hybrid``: the two logistic regressions' logits added with a
weight, stored as one linear head over both feature sets), and their cross-validated scores.

The encoder-vector part may also learn from the label names themselves: each label's name, embedded
like a text, joins the training rows as one example of its label (:func:`label_text`,
:data:`NAME_WEIGHT`). With a few rows per label, a name such as ``lost_card`` or ``FOOD`` says much of
what the label means; whether it helps is chosen by cross-validation with C, so names that say
nothing (codes such as ``R12``) are left out."""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from emotiq.heads import HeadSpec
from emotiq.lexical import LexicalHead, TfidfFeatures

logger = logging.getLogger(__name__)

LEXICAL_C = (10.0, 1.0, 100.0)
"""C of the word and character TF-IDF model that a hybrid head adds to the frozen-encoder head, tried
in this order while time allows."""
LEXICAL_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
"""Weights of the TF-IDF model's logits against the frozen-encoder head's (chosen with its C)."""
FROZEN_GRID = (1.0, 10.0, 100.0, 0.1)
"""C tried for the frozen-encoder head, in this order while time allows."""
FROZEN_C = FROZEN_GRID[0]
MAX_FOLDS = 3
NAME_WEIGHT = 1.0
"""Sample weight of each label-name row beside the labelled rows (weight 1 each). On repeated
subsamples of the fine-tuning benchmark's training splits (10 rows per class, 100 and 500 rows), scored
on the training rows left out of each subsample, a weight of 1 raised the macro-F1 of the head on the
base encoder's vectors on every set and size (by 0.006 to 0.08), and 3 did no better on the whole."""


def label_text(label: str) -> str:
    """A label as words to embed: ``card_arrival`` -> ``card arrival``, ``FOOD#QUALITY`` -> ``food quality``,
    ``lostCard`` -> ``lost card``."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(label))
    words = re.sub(r"[_\-#/.:|]+", " ", words)
    return " ".join(words.split()).lower() or str(label)


def macro_f1(gold: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, probs.argmax(1), average="macro", labels=np.unique(gold), zero_division=0))


def _logistic(c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=300, random_state=seed)


@dataclass
class LinearFit:
    """A fitted softmax head over ``[scale * vector, lexical features]`` (``lexical`` None: vector only;
    a zero-width vector: lexical only).

    ``scale`` brings the vectors to a mean norm of 1 (the TF-IDF blocks have norm 1 each).
    """

    weight: np.ndarray
    """``(n_labels, n_features)`` in the order vector dims, then lexical features."""
    bias: np.ndarray
    scale: float
    lexical: TfidfFeatures | None
    c: float
    space: str = "model"
    """The encoder vectors it reads (``HeadSpec.space``)."""

    @classmethod
    def fit(cls, vectors: np.ndarray, texts: list[str], gold: np.ndarray, n_labels: int, *, hybrid: bool, c: float,
            seed: int, space: str = "model", names: np.ndarray | None = None, name_weight: float = 0.0) -> LinearFit:
        """``names``: ``(n_labels, dim)`` vectors of the label names (same space), added as one row per
        label with sample weight ``name_weight`` (0: not added; a vector-only head only)."""
        scale = 1.0 / max(float(np.linalg.norm(vectors, axis=1).mean()), 1e-6)
        lexical = TfidfFeatures.fit(texts) if hybrid else None
        design, target, weights = _design(vectors, texts, scale, lexical), gold, None
        if names is not None and name_weight > 0:
            if hybrid:
                raise ValueError("label-name rows go with a vector-only head")
            design = np.vstack([design, names.astype(np.float32) * scale])
            target = np.concatenate([gold, np.arange(n_labels)])
            weights = np.concatenate([np.ones(len(gold)), np.full(n_labels, name_weight)])
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1), warnings.catch_warnings():  # small BLAS calls: extra threads only contend
            warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")  # few rows per label
            model = _logistic(c, seed).fit(design, target, sample_weight=weights)
        weight, bias = softmax_layer(model, n_labels)
        return cls(weight, bias, scale, lexical, c, space)

    @classmethod
    def fuse(cls, dense: LinearFit, lexical: LinearFit, weight: float) -> LinearFit:
        """One head whose logits are ``dense``'s plus ``weight`` times ``lexical``'s (a TF-IDF-only fit)."""
        return cls(np.hstack([dense.weight, weight * lexical.weight]).astype(np.float32), (dense.bias + weight * lexical.bias),
                   dense.scale, lexical.lexical, lexical.c, dense.space)

    def logits(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        x = _design(vectors, texts, self.scale, self.lexical)
        return np.asarray(x @ self.weight.T) + self.bias

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        return torch.from_numpy(self.logits(vectors, texts)).float().softmax(-1).numpy()

    def install(self, model: Any, spec: HeadSpec) -> None:
        """Write the fit into the model's head ``spec.name`` (and its lexical part, if any)."""
        self._write(model.heads[spec.name].net[-1], 1.0)
        if self.space == "model":
            spec.extra.pop("space", None)
        else:
            spec.extra["space"] = self.space
        model.heads[spec.name].remove_companion()
        self._install_lexical(model, spec, 1.0)

    def install_companion(self, model: Any, spec: HeadSpec, share: float, own_share: float | None = None) -> None:
        """Blend the fit into the model's head ``spec.name``, which reads other vectors: its logits become
        ``own_share`` (default ``1 - share``) times its own plus ``share`` times this fit's (a companion
        layer and lexical part)."""
        own_share = 1.0 - share if own_share is None else own_share
        head = model.heads[spec.name]
        if self.space == spec.space:
            raise ValueError(f"a companion must read other vectors than the head ({spec.space!r})")
        if self.lexical is not None and spec.name in model.lexical:
            raise ValueError("the head has a lexical part already")
        with torch.no_grad():
            head.net[-1].weight.mul_(own_share)
            head.net[-1].bias.mul_(own_share)
        self._write(head.add_companion(self.space), share)
        if self.lexical is not None:
            self._install_lexical(model, spec, share)

    def _write(self, linear: torch.nn.Linear, share: float) -> None:
        dim = linear.in_features
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(share * self.scale * self.weight[:, :dim]))
            linear.bias.copy_(torch.from_numpy(share * self.bias))

    def _install_lexical(self, model: Any, spec: HeadSpec, share: float) -> None:
        if self.lexical is None:
            model.lexical.pop(spec.name, None)
            spec.extra.pop("lexical", None)
            return
        dim = model.encoder.hidden_size
        weight = np.ascontiguousarray(share * self.weight[:, dim:], dtype=np.float32)
        model.lexical[spec.name] = LexicalHead(self.lexical, torch.from_numpy(weight))
        spec.extra["lexical"] = self.lexical.kind


def softmax_layer(model: Any, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """A fitted scikit-learn logistic regression as the weight and bias of a softmax layer over
    ``n_labels`` classes (a class absent from its rows gets a bias that never wins)."""
    weight = np.zeros((n_labels, model.coef_.shape[1]), dtype=np.float32)
    bias = np.full(n_labels, -30.0, dtype=np.float32)
    if len(model.classes_) == 2:  # binary: scikit-learn keeps one row; as softmax logits it is [0, w]
        weight[model.classes_[1]], bias[model.classes_[1]] = model.coef_[0], model.intercept_[0]
        bias[model.classes_[0]] = 0.0
    else:
        weight[model.classes_], bias[model.classes_] = model.coef_, model.intercept_
    return weight, bias


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
    """C of the frozen-encoder head, or of a hybrid head's TF-IDF model."""
    logits: np.ndarray
    """``(rows, labels)`` logits of each scored row from the fit that left it out (NaN: never scored)."""
    tried: int
    frozen_c: float | None = None
    """A hybrid head's frozen-encoder C."""
    lexical_weight: float = 0.0
    """A hybrid head's weight of the TF-IDF logits."""
    names: np.ndarray | None = None
    """Label-name vectors the frozen-encoder part learns from (None: not used)."""
    name_weight: float = 0.0

    def fit(self, vectors: np.ndarray, texts: list[str], gold: np.ndarray, n_labels: int, *, seed: int,
            space: str = "model") -> LinearFit:
        """This setting fitted on the given rows."""
        dense = LinearFit.fit(vectors, texts, gold, n_labels, hybrid=False, c=self.frozen_c or self.c, seed=seed, space=space,
                              names=self.names, name_weight=self.name_weight)
        if self.frozen_c is None:
            return dense
        lexical = LinearFit.fit(vectors[:, :0], texts, gold, n_labels, hybrid=True, c=self.c, seed=seed)
        return LinearFit.fuse(dense, lexical, self.lexical_weight)


def _mean_score(gold: np.ndarray, logits: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]) -> float:
    return float(np.mean([macro_f1(gold[rows], logits[rows]) for _, rows in splits]))


def select_and_fit(vectors: np.ndarray, texts: list[str], gold: np.ndarray, n_labels: int, *,
                   splits: list[tuple[np.ndarray, np.ndarray]], seed: int, deadline: float | None = None,
                   reshuffled: list[list[tuple[np.ndarray, np.ndarray]]] | None = None,
                   names: np.ndarray | None = None) -> Selection:
    """The frozen-encoder head's C (:data:`FROZEN_GRID`), with or without the label-name rows ``names``
    (:data:`NAME_WEIGHT`; the name rows are in every fit, never scored), with the best mean macro-F1
    over ``splits``.

    ``reshuffled``: further fold sets over the same rows (other shuffles); C is then chosen by the
    mean over all of them, which on a few hundred rows is much less of a coin toss, while the
    returned score and logits stay those of ``splits`` (comparable with the other candidates').
    Settings are tried in order until ``deadline`` (``time.perf_counter()`` seconds; the first always runs).
    """
    best: tuple[float, Selection] | None = None
    settings = [(c, w) for c in FROZEN_GRID for w in ((0.0, NAME_WEIGHT) if names is not None else (0.0,))]
    for tried, (c, w) in enumerate(settings, start=1):
        options = {"hybrid": False, "c": c, "seed": seed, "names": names, "name_weight": w}
        logits = _out_of_split(vectors, texts, gold, n_labels, splits, **options)
        score = _mean_score(gold, logits, splits)
        choice = [score] + [_mean_score(gold, _out_of_split(vectors, texts, gold, n_labels, other, **options), other)
                            for other in reshuffled or []]
        mean = float(np.mean(choice))
        logger.info("frozen head, C=%g%s: macro-F1 %.4f over %d split(s)%s", c, ", label names" if w else "", score, len(splits),
                    f", {mean:.4f} over {len(choice)} shuffles" if len(choice) > 1 else "")
        if best is None or mean > best[0]:
            best = (mean, Selection(score, c, logits, tried, names=names if w else None, name_weight=w))
        best[1].tried = tried
        if _past(deadline):
            break
    assert best is not None
    return best[1]


def select_fusion(dense: Selection, texts: list[str], gold: np.ndarray, n_labels: int, *,
                  splits: list[tuple[np.ndarray, np.ndarray]], seed: int, deadline: float | None = None) -> Selection:
    """The TF-IDF model's C (:data:`LEXICAL_C`) and logit weight (:data:`LEXICAL_WEIGHTS`) that, added to
    the frozen-encoder head ``dense`` (selected on the same ``splits``), give the best mean macro-F1."""
    best: Selection | None = None
    none = np.zeros((len(texts), 0), dtype=np.float32)
    for tried, c in enumerate(LEXICAL_C, start=1):
        lexical = _out_of_split(none, texts, gold, n_labels, splits, hybrid=True, c=c, seed=seed)
        for weight in LEXICAL_WEIGHTS:
            fused = dense.logits + weight * lexical
            score = _mean_score(gold, fused, splits)
            logger.info("hybrid head, TF-IDF C=%g, weight %g: macro-F1 %.4f", c, weight, score)
            if best is None or score > best.score:
                best = Selection(score, c, fused, tried, frozen_c=dense.c, lexical_weight=weight,
                                 names=dense.names, name_weight=dense.name_weight)
        assert best is not None
        best.tried = tried
        if _past(deadline):
            break
    assert best is not None
    return best


def _out_of_split(vectors: np.ndarray, texts: list[str], gold: np.ndarray, n_labels: int,
                  splits: list[tuple[np.ndarray, np.ndarray]], **options: Any) -> np.ndarray:
    logits = np.full((len(gold), n_labels), np.nan, dtype=np.float32)
    for fit_rows, score_rows in splits:
        fitted = LinearFit.fit(vectors[fit_rows], [texts[i] for i in fit_rows], gold[fit_rows], n_labels, **options)
        logits[score_rows] = fitted.logits(vectors[score_rows], [texts[i] for i in score_rows])
    return logits


def _past(deadline: float | None) -> bool:
    import time

    return deadline is not None and time.perf_counter() > deadline
