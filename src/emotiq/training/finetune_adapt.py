"""Adapting an encoder to a company's task with LoRA (``peft``), within a time budget.

Two objectives share one small loop:

- ``lora``: cross-entropy of the new head on the encoder's pooled vectors;
- ``contrastive``: SetFit-style sentence pairs (Tunstall et al., 2022): the cosine
  similarity of two texts' vectors is pulled to 1 for the same label and to 0 for
  different labels; the head is then refitted on the adapted vectors.

The encoder trained is a copy of the base encoder (:func:`base_copy`), not the one
the built-in heads read, so sentiment, emotion and complaint scores stay exactly as
they were. Its LoRA factors become the model's task adapter
(:meth:`EmotiqModel.set_task_adapter`): merged at load into a second encoder that
only the new head reads, which costs a second encoder pass per text.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from emotiq.heads import HeadSpec
from emotiq.model import EmotiqModel
from emotiq.training.adapters import add_lora, lora_factors, unload_lora
from emotiq.training.examples import cut_ids, padded_ids

logger = logging.getLogger(__name__)

RANK, ALPHA, LR, BATCH, MAX_TOKENS = 8, 16.0, 5e-4, 16, 64


@dataclass
class AdaptRun:
    """What the adaptation did: steps, seconds, and why it stopped early."""

    objective: str
    steps: int = 0
    seconds: float = 0.0
    note: str = ""


def base_copy(model: EmotiqModel) -> EmotiqModel:
    """A model over a fresh copy of ``model``'s base encoder, with copies of its heads (what a task adapter trains)."""
    config = dataclasses.replace(copy.deepcopy(model.config), encoder_params=[], adapter={}, task_adapter={})
    return model.over_base(copy.deepcopy(model.heads), config)


def _ids(model: EmotiqModel, texts: list[str]) -> list[list[int]]:
    return cut_ids(model.encoder.encode_ids(texts), MAX_TOKENS)


def _pool(model: EmotiqModel, ids: list[list[int]]) -> torch.Tensor:
    return model.encoder(*padded_ids(ids, model.encoder.pad_id))


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
               weights: torch.Tensor | None) -> torch.Tensor:
    if objective == "contrastive":
        left, right = [b[0] for b in batch], [b[1] for b in batch]
        pooled = _pool(model, [ids[i] for i in left + right])
        u, v = pooled[: len(batch)], pooled[len(batch):]
        target = torch.tensor([b[2] for b in batch])
        return F.mse_loss(F.cosine_similarity(u, v), target)
    pooled = _pool(model, [ids[i] for i in batch])
    return F.cross_entropy(model.heads[spec.name](pooled), gold[batch], weight=weights)


def adapt(model: EmotiqModel, spec: HeadSpec, objective: str, texts: list[str], labels: list[str],
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
            loss = _step_loss(model, spec, objective, units[first : first + BATCH], ids, gold, class_weights)
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


def merge(model: EmotiqModel) -> dict[str, torch.Tensor]:
    """Merge the trained LoRA layers into the encoder weights; return their factors."""
    body = model.encoder.body
    factors = lora_factors(body)
    unload_lora(body)
    body.requires_grad_(False)
    model.to()
    return factors
