"""Refit a trained model's linear heads by logistic regression on its own pooled vectors.

Training moves the encoder and the heads together, with a learning rate that ends at zero
and samples each source by weight; the heads it ends with are good, not the best linear
map on the final vectors. Once the encoder is fixed, that map is a convex problem:
scikit-learn's logistic regression over every training row, each row weighted so that
every source keeps the share of the training draw it had (``sampling_power`` and
``source_weights``), with the classes balanced. The regularisation strength is chosen on
the dev rows, and a refitted head replaces the trained one only if it scores higher there
(mean of the per-source macro-F1) by at least ``margin``.

Only linear softmax heads (no hidden layer, no companion) are refitted: a multi-label head's
scores depend on thresholds fitted afterwards, and its labels are partly annotated per source.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from emotiq.training.examples import ExampleSet
from emotiq.training.finetune_linear import softmax_layer
from emotiq.training.loop import LoopSettings, head_logits, pooled_vectors, source_shares
from emotiq.training.metrics import f1_per_class

if TYPE_CHECKING:
    from emotiq.model import EmotiqModel

logger = logging.getLogger(__name__)

REFIT_C = (0.3, 1.0, 3.0, 10.0, 30.0)
"""Inverse regularisation strengths tried (on vectors scaled to a mean norm of 1)."""
REFIT_MARGIN = 0.005
"""A refitted head must beat the trained one by this much (mean per-source dev macro-F1)."""


@dataclass
class HeadRefit:
    """What refitting one head gave on the dev rows."""

    head: str
    trained_dev: float
    """Mean per-source dev macro-F1 of the trained head."""
    refit_dev: float
    """The same of the best refitted head."""
    c: float
    kept: bool
    """Whether the refitted head replaced the trained one."""

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def summary(self) -> str:
        """One line: both dev scores, the C chosen and which head was kept."""
        return (f"{self.head}: dev macro-F1 {self.trained_dev:.4f} trained, {self.refit_dev:.4f} refitted (C={self.c:g}): "
                f"{'refitted head kept' if self.kept else 'trained head kept'}")


def refittable(model: EmotiqModel, name: str) -> bool:
    """Whether head ``name`` is a linear softmax head over the model's own vectors."""
    head = model.heads[name]
    spec = head.spec
    return spec.kind == "softmax" and not spec.hidden and head.companion is None and spec.space == "model" \
        and name not in model.lexical


def source_row_weights(sources: np.ndarray, settings: LoopSettings) -> np.ndarray:
    """Per-row weights (mean 1) that give each source its share of the training draw
    (:func:`~emotiq.training.loop.source_shares`)."""
    shares = source_shares(sources, settings)
    names, counts = np.unique(sources, return_counts=True)
    per_row = {str(n): shares[str(n)] / c for n, c in zip(names, counts)}
    weights = np.array([per_row[str(s)] for s in sources])
    return weights * len(weights) / weights.sum()


def mean_source_macro_f1(gold: np.ndarray, pred: np.ndarray, sources: np.ndarray, n_labels: int) -> float:
    """Mean over sources of the macro-F1 over the classes present in each source's rows."""
    scores = []
    for source in np.unique(sources):
        rows = sources == source
        present = np.unique(gold[rows])
        scores.append(float(f1_per_class(gold[rows], pred[rows], n_labels)[present].mean()))
    return float(np.mean(scores))


def fit_softmax(vectors: np.ndarray, gold: np.ndarray, weights: np.ndarray, n_labels: int, c: float,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class-balanced, row-weighted multinomial logistic regression; the weight and bias of a linear
    layer over the unscaled ``vectors``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils.class_weight import compute_sample_weight

    scale = 1.0 / max(float(np.linalg.norm(vectors, axis=1).mean()), 1e-6)
    balanced = compute_sample_weight("balanced", gold)
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        model.fit(vectors * scale, gold, sample_weight=weights * balanced)
    weight, bias = softmax_layer(model, n_labels)
    return weight * scale, bias


def refit_softmax_head(train_vectors: np.ndarray, train_gold: np.ndarray, train_sources: np.ndarray,
                       dev_vectors: np.ndarray, dev_gold: np.ndarray, dev_sources: np.ndarray,
                       trained_logits: np.ndarray, settings: LoopSettings, *, name: str = "head",
                       grid: tuple[float, ...] = REFIT_C, margin: float = REFIT_MARGIN
                       ) -> tuple[HeadRefit, tuple[np.ndarray, np.ndarray] | None]:
    """Refit one softmax head on its labelled train rows and compare it with the trained head's dev
    logits ``trained_logits``; returns the comparison and the new (weight, bias) if it is kept."""
    n_labels = trained_logits.shape[1]
    trained = mean_source_macro_f1(dev_gold, trained_logits.argmax(1), dev_sources, n_labels)
    weights = source_row_weights(train_sources, settings)
    best: tuple[float, float, tuple[np.ndarray, np.ndarray]] | None = None
    for c in grid:
        weight, bias = fit_softmax(train_vectors, train_gold, weights, n_labels, c, settings.seed)
        score = mean_source_macro_f1(dev_gold, (dev_vectors @ weight.T + bias).argmax(1), dev_sources, n_labels)
        logger.info("%s refit, C=%g: dev macro-F1 %.4f (trained head %.4f)", name, c, score, trained)
        if best is None or score > best[0]:
            best = (score, c, (weight, bias))
    assert best is not None
    kept = best[0] >= trained + margin
    return HeadRefit(name, trained, best[0], best[1], kept), best[2] if kept else None


def refit_heads(model: EmotiqModel, train: ExampleSet, dev: ExampleSet, heads: list[str],
                settings: LoopSettings, dev_vectors: torch.Tensor | None = None) -> list[HeadRefit]:
    """Refit every refittable head in ``heads`` (see the module) and install those that score higher
    on ``dev``; returns what each refit gave. ``dev_vectors``: the dev rows' pooled vectors, if
    already computed (the encoder is left as it is, so they stay valid for calibrating after)."""
    names = [h for h in heads if refittable(model, h) and train.masks[h].any() and dev.masks[h].any()]
    if not names:
        return []
    logger.info("Refitting head(s) %s on the pooled vectors of %d training rows", names, len(train))
    train_vectors = pooled_vectors(model, train, settings)
    dev_vectors = pooled_vectors(model, dev, settings) if dev_vectors is None else dev_vectors
    dev_logits = head_logits(model, dev_vectors, names, settings)
    results = []
    for name in names:
        fit_rows, dev_rows = train.masks[name].numpy(), dev.masks[name].numpy()
        result, layer = refit_softmax_head(
            train_vectors.numpy()[fit_rows], train.targets[name].numpy()[fit_rows], train.sources[fit_rows],
            dev_vectors.numpy()[dev_rows], dev.targets[name].numpy()[dev_rows], dev.sources[dev_rows],
            dev_logits[name].numpy()[dev_rows], settings, name=name)
        if layer is not None:
            linear = model.heads[name].net[-1]
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer[0]))
                linear.bias.copy_(torch.from_numpy(layer[1]))
        logger.info("%s", result.summary())
        results.append(result)
    return results
