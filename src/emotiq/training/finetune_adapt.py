"""Adapting the encoder to a company's task with LoRA (``peft``), within a time budget.

Two objectives share one small loop:

- ``lora``: cross-entropy of the new head on the encoder's pooled vectors;
- ``contrastive``: SetFit-style sentence pairs (Tunstall et al., 2022): the cosine
  similarity of two texts' vectors is pulled to 1 for the same label and to 0 for
  different labels; the head is then refitted on the adapted vectors.

Either way the built-in heads are distilled towards their own outputs before
adaptation (mean squared error on their probabilities), and afterwards their
probabilities on a reference set may move by at most :data:`MAX_DRIFT`; a run
that moves them further is rejected and the encoder restored. The LoRA factors
are merged for inference and stored beside any adapter the base already had
(:func:`emotiq.training.adapters.concat_lora`).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from emotiq.heads import HeadSpec
from emotiq.model import EmotiqModel
from emotiq.training.adapters import add_lora, concat_lora, lora_factors, unload_lora

logger = logging.getLogger(__name__)

MAX_DRIFT = 0.02
"""Largest change of a built-in head's probability on the reference set that is accepted."""
RANK, ALPHA, LR, BATCH, MAX_TOKENS = 8, 16.0, 5e-4, 16, 64
DISTILL = 5.0
DRIFT_TEXTS = 500
"""Reference texts (from the eval rows) on which the built-in heads' change is measured."""
"""Weight of the built-in heads' distillation loss."""


@dataclass
class AdaptRun:
    """What the adaptation did: steps, seconds, and whether it was kept."""

    objective: str
    steps: int = 0
    seconds: float = 0.0
    kept: bool = False
    note: str = ""
    drift: dict[str, float] = field(default_factory=dict)


def _ids(model: EmotiqModel, texts: list[str]) -> list[list[int]]:
    ids = model.encoder.encode_ids(texts)
    return [row[: MAX_TOKENS - 1] + row[-1:] if len(row) > MAX_TOKENS else row for row in ids]


def _pool(model: EmotiqModel, ids: list[list[int]]) -> torch.Tensor:
    longest = max(len(r) for r in ids)
    input_ids = torch.full((len(ids), longest), model.encoder.pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), longest), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
    return model.encoder(input_ids, mask)


def _distill(model: EmotiqModel, pooled: torch.Tensor, teacher: dict[str, torch.Tensor], rows: list[int]) -> torch.Tensor:
    loss = pooled.new_zeros(())
    for name, probs in teacher.items():
        head = model.heads[name]
        loss = loss + F.mse_loss(head.probabilities(head(pooled)), probs[rows]) * probs.shape[1]
    return loss


def _pairs(labels: list[str], rng: random.Random) -> list[tuple[int, int, float]]:
    """One same-label and one other-label partner per row (SetFit's pair sampling, one round)."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    out = []
    for i, label in enumerate(labels):
        same = [j for j in by_label[label] if j != i]
        other = [j for j in range(len(labels)) if labels[j] != label]
        if same:
            out.append((i, rng.choice(same), 1.0))
        if other:
            out.append((i, rng.choice(other), 0.0))
    rng.shuffle(out)
    return out


def _step_loss(model: EmotiqModel, spec: HeadSpec, objective: str, batch: list[Any], ids: list[list[int]], gold: torch.Tensor,
               teacher: dict[str, torch.Tensor], weights: torch.Tensor | None) -> torch.Tensor:
    if objective == "contrastive":
        left, right = [b[0] for b in batch], [b[1] for b in batch]
        pooled = _pool(model, [ids[i] for i in left + right])
        u, v = pooled[: len(batch)], pooled[len(batch):]
        target = torch.tensor([b[2] for b in batch])
        return F.mse_loss(F.cosine_similarity(u, v), target) + DISTILL * _distill(model, pooled, teacher, left + right)
    pooled = _pool(model, [ids[i] for i in batch])
    logits = model.heads[spec.name](pooled)
    return F.cross_entropy(logits, gold[batch], weight=weights) + DISTILL * _distill(model, pooled, teacher, batch)


def adapt(model: EmotiqModel, spec: HeadSpec, objective: str, texts: list[str], labels: list[str], teacher: dict[str, np.ndarray],
          *, seconds: float, epochs: int, seed: int, weights: list[float] | None = None) -> AdaptRun:
    """Train LoRA factors (and, for ``lora``, the head) for at most ``seconds``; the LoRA layers stay in place."""
    start, run = time.perf_counter(), AdaptRun(objective)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    body = model.encoder.body
    add_lora(body, RANK, ALPHA)
    params = [p for p in body.parameters() if p.requires_grad]
    if objective == "lora":
        params += list(model.heads[spec.name].parameters())
    optimizer = torch.optim.AdamW(params, lr=LR)
    ids = _ids(model, texts)
    gold = torch.tensor([spec.labels.index(label) for label in labels])
    distil = {name: torch.from_numpy(p).float() for name, p in teacher.items()}
    class_weights = torch.tensor(weights) if weights else None
    model.encoder.train()
    model.heads.eval()
    step_seconds = 0.0
    for _ in range(epochs):
        units: list[Any] = _pairs(labels, rng) if objective == "contrastive" else rng.sample(range(len(texts)), len(texts))
        for first in range(0, len(units), BATCH):
            if time.perf_counter() - start + step_seconds > seconds:
                run.note = f"stopped by the time budget after {run.steps} steps"
                break
            step_start = time.perf_counter()
            loss = _step_loss(model, spec, objective, units[first : first + BATCH], ids, gold, distil, class_weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.steps += 1
            step_seconds = max(step_seconds, time.perf_counter() - step_start)
        else:
            continue
        break
    model.encoder.eval()
    run.seconds = round(time.perf_counter() - start, 1)
    return run


def snapshot(model: EmotiqModel) -> dict[str, torch.Tensor]:
    """Copies of the encoder-layer weights (the ones LoRA merging changes)."""
    return {k: v.detach().clone() for k, v in model.encoder.body.state_dict().items() if k.startswith("encoder.layer.")}


def restore(model: EmotiqModel, state: dict[str, torch.Tensor]) -> None:
    """Put back encoder-layer weights taken by :func:`snapshot`."""
    model.encoder.body.load_state_dict(state, strict=False)
    model.to()  # the runner must see the weights


def merge(model: EmotiqModel) -> dict[str, torch.Tensor]:
    """Merge the trained LoRA layers into the encoder weights; return their factors."""
    body = model.encoder.body
    factors = lora_factors(body)
    unload_lora(body)
    body.requires_grad_(False)
    model.to()
    return factors


def commit(model: EmotiqModel, factors: dict[str, torch.Tensor]) -> None:
    """Record merged ``factors`` as part of the model's adapter (stored beside any adapter the base had)."""
    model.adapter, model.config.adapter = concat_lora(model.adapter, model.config.adapter, factors,
                                                      {"type": "lora", "rank": RANK, "alpha": ALPHA})
