"""Training one head on a company's labels, through the shared loop (:func:`emotiq.training.loop.fit`).

Training runs in up to two stages:

1. **Head on frozen vectors.** Every text is embedded once, exactly as
   ``analyze`` embeds it, and the (linear) head is fitted on the cached vectors
   as an L2-regularised logistic regression: no learning rate, no early
   stopping, robust with a hundred examples. The encoder and every other head
   are untouched, so their outputs stay bit-identical.
2. **Top encoder layers** (only when ``trainable_layers > 0``). Starting from
   stage 1, the head and the top layers train on token ids. The model's other
   heads train on their own stage-1 outputs (self-distillation) so they stay
   close to what they said before; how far they still moved is measured on the
   eval texts. If this stage does not beat stage 1 on eval macro-F1, stage 1 is
   kept and the encoder is left as it was.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from emotiq.heads import HeadSpec
from emotiq.model import EmotiqModel
from emotiq.training.examples import Batch, ExampleSet
from emotiq.training.finetune_data import LabelledRows
from emotiq.training.loop import (
    LoopSettings,
    _restore,
    _trainable_state,
    dev_scores,
    fit,
    trainable_parameter_names,
)

logger = logging.getLogger(__name__)

HEAD_BATCH = 32
"""Rows per batch when training encoder layers (and a head with a hidden layer)."""
LINEAR_C = 1.0
"""Inverse L2 strength of the stage-1 logistic regression (scikit-learn's default)."""
DISTILL_WEIGHT = 1.0
"""Loss weight of each kept head's self-distillation term in stage 2."""


class PassThrough(nn.Module):
    """Stands in for the text encoder when the inputs are already pooled vectors."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, vectors: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return vectors


@dataclass
class HeadOnly:
    """The parts of a model the loop touches, with pooled vectors as the input."""

    encoder: PassThrough
    heads: nn.ModuleDict
    config: Any

    @classmethod
    def of(cls, model: EmotiqModel) -> HeadOnly:
        return cls(PassThrough(model.encoder.body), model.heads, model.config)


class VectorSet:
    """Cached pooled vectors with the targets of an :class:`ExampleSet`, in plain row batches."""

    def __init__(self, vectors: torch.Tensor, examples: ExampleSet) -> None:
        self.vectors = vectors
        self.examples = examples
        self.targets = examples.targets
        self.masks = examples.masks
        self.label_masks = examples.label_masks

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def languages(self) -> np.ndarray:
        return self.examples.languages

    def batch(self, rows: list[int]) -> Batch:
        index = torch.tensor(rows)
        return Batch(self.vectors[index], torch.ones(len(rows), 1, dtype=torch.long),
                     {h: t[index] for h, t in self.targets.items()}, {h: m[index] for h, m in self.masks.items()}, rows,
                     {h: m[index] for h, m in self.label_masks.items()})

    def batches(self, *, token_budget: int, max_batch_size: int, shuffle: bool, seed: int = 0) -> list[list[int]]:
        rows = list(range(len(self)))
        if shuffle:
            random.Random(seed).shuffle(rows)
        return [rows[i : i + max_batch_size] for i in range(0, len(rows), max_batch_size)]


def head_probabilities(model: EmotiqModel | HeadOnly, vectors: torch.Tensor, heads: list[str]) -> dict[str, np.ndarray]:
    """Probabilities of ``heads`` for pooled ``vectors`` (what ``predict_proba`` returns for scorable texts)."""
    model.heads.eval()
    with torch.inference_mode():
        return {name: model.heads[name].probabilities(model.heads[name](vectors)).numpy() for name in heads}


def balanced_weights(data: LabelledRows, spec: HeadSpec) -> list[float]:
    """Class weights inversely proportional to class frequency, mean 1 over the classes present."""
    counts = Counter(data.labels)
    present = [label for label in spec.labels if counts[label]]
    raw = {label: len(data.labels) / (len(present) * counts[label]) for label in present}
    return [round(raw.get(label, 1.0), 4) for label in spec.labels]


def _target(value: Any, spec: HeadSpec) -> Any:
    if spec.kind == "softmax":
        return spec.labels.index(value)
    return [1.0 if label in value else 0.0 for label in spec.labels]


def examples(model: EmotiqModel, data: LabelledRows, spec: HeadSpec, keep: dict[str, HeadSpec],
             teacher: dict[str, np.ndarray] | None, max_tokens: int) -> ExampleSet:
    """Token ids with the head's targets and, when ``teacher`` is given, the kept heads' own outputs."""
    frame = pd.DataFrame({"text": data.texts, "target": [_target(v, spec) for v in data.labels]})
    single, multi = ({spec.name: "target"}, {}) if spec.kind == "softmax" else ({}, {spec.name: "target"})
    for name, kept in keep.items():
        column = f"keep:{name}"
        probs = teacher[name] if teacher is not None else None
        if kept.kind == "softmax":
            frame[column] = probs.argmax(1) if probs is not None else -1
            single[name] = column
        else:
            frame[column] = pd.Series([row.tolist() for row in probs] if probs is not None else [None] * len(frame), dtype=object)
            multi[name] = column
    return ExampleSet(frame, model.encoder, max_tokens=max_tokens, single_label=single, multi_label=multi)


def head_settings(spec: HeadSpec, epochs: int, seed: int, weights: list[float] | None) -> LoopSettings:
    """Stage 1 settings (the loop is used for heads with a hidden layer only)."""
    return LoopSettings(epochs=max(epochs, 30), trainable_layers=0, lr_heads=2e-3, max_batch_size=HEAD_BATCH, bf16=False,
                        seed=seed, patience=5, heads=[spec.name], class_weights={spec.name: weights} if weights else {})


def fit_linear(head: nn.Module, vectors: torch.Tensor, targets: torch.Tensor, kind: str, weights: list[float] | None,
               c: float = LINEAR_C) -> None:
    """Set a linear head to the L2-regularised logistic regression optimum on ``vectors`` (L-BFGS, convex).

    Minimises ``sum(loss) + |W|^2 / (2c)``: softmax cross-entropy (class-weighted) or
    per-label binary cross-entropy, as scikit-learn's ``LogisticRegression(C=c)``.
    """
    linear = head.net[-1]
    weight = torch.zeros_like(linear.weight, requires_grad=True)
    bias = torch.zeros_like(linear.bias, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=500, history_size=20, line_search_fn="strong_wolfe")
    class_weight = torch.tensor(weights, dtype=torch.float32) if weights else None

    def loss_fn() -> torch.Tensor:
        optimizer.zero_grad()
        logits = vectors @ weight.T + bias
        if kind == "softmax":
            loss = F.cross_entropy(logits, targets, weight=class_weight, reduction="sum")
        else:
            loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
        loss = loss + (weight**2).sum() / (2 * c)
        loss.backward()
        return loss

    optimizer.step(loss_fn)
    with torch.no_grad():
        linear.weight.copy_(weight.detach())
        linear.bias.copy_(bias.detach())


def train_head(model: EmotiqModel, spec: HeadSpec, train: VectorSet, dev: VectorSet, settings: LoopSettings) -> float:
    """Stage 1: the head alone on cached vectors (the encoder is frozen); returns its eval macro-F1.

    A linear head gets the exact regularised optimum; a head with a hidden layer
    trains with the shared loop (early stopping on eval macro-F1).
    """
    start = time.perf_counter()
    head_only = HeadOnly.of(model)
    if spec.hidden:
        fit(head_only, train, dev, settings)  # type: ignore[arg-type]
    else:
        mask = train.masks[spec.name]
        fit_linear(model.heads[spec.name], train.vectors[mask], train.targets[spec.name][mask], spec.kind,
                   settings.class_weights.get(spec.name))
    score = dev_scores(head_only, dev, [spec.name], settings)[spec.name]  # type: ignore[arg-type]
    logger.info("Head trained on frozen vectors: eval macro-F1 %.4f (%.1f s)", score, time.perf_counter() - start)
    return score


def train_encoder(model: EmotiqModel, train: ExampleSet, dev: ExampleSet, settings: LoopSettings,
                  baseline: float) -> dict[str, Any] | None:
    """Stage 2: the head, the kept heads and the top encoder layers; None when stage 1 stays better."""
    names = trainable_parameter_names(model, settings.trainable_layers)
    before, params = _trainable_state(model, names), list(model.config.encoder_params)
    result = fit(model, train, dev, settings)
    model.to()  # the runner must see the new weights
    if result["best_dev_mean_macro_f1"] <= baseline:
        logger.warning("Training the top %d encoder layers reached eval macro-F1 %.4f, not above %.4f with the encoder frozen; "
                       "keeping the frozen-encoder head", settings.trainable_layers, result["best_dev_mean_macro_f1"], baseline)
        _restore(model, before)
        model.config.encoder_params = params
        return None
    return result
