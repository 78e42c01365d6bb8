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
from emotiq.training.loop import bf16_autocast

logger = logging.getLogger(__name__)

RANK, ALPHA, LR, BATCH, MAX_TOKENS = 8, 16.0, 5e-4, 16, 64
WARMUP = 0.1
"""Share of the planned steps over which the learning rate rises to :data:`LR`; it then falls linearly
to 0 at the last planned step."""
MEASURED_STEPS = 5
"""Steps (after the first) timed to plan how many whole epochs fit in the time budget; the plan is
checked again at the end of each epoch, on the time of all steps so far, and shortened if needed."""
PLAN_SHARE = 0.9
"""Share of the time left that a plan may fill: steps vary in length with their texts."""


@dataclass
class AdaptRun:
    """What the adaptation did: steps, epochs, seconds, and why it ran fewer epochs than asked."""

    objective: str
    steps: int = 0
    epochs: float = 0.0
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


def _planned_steps(epochs: int, per_epoch: int, done: int, per_step: float, left: float) -> tuple[int, str]:
    """Steps to run in all, ``done`` included: as many whole epochs as fit in the ``left`` seconds at
    ``per_step`` seconds a step (at most ``epochs``), else the steps that fit; and a note when the time
    budget shortened the plan."""
    fit = done + int(PLAN_SHARE * left / per_step)
    whole = min(epochs, fit // per_epoch)
    if whole == epochs:
        return epochs * per_epoch, ""
    if whole >= 1:
        return whole * per_epoch, f"{whole} of {epochs} epochs fitted the time budget"
    return max(done, fit), f"{max(done, fit)} steps (under one epoch) fitted the time budget"


def adapt(model: EmotiqModel, spec: HeadSpec, objective: str, texts: list[str], labels: list[str],
          *, seconds: float, epochs: int, seed: int, weights: list[float] | None = None) -> AdaptRun:
    """Train LoRA factors (and, for ``lora``, the head) for at most ``seconds``; the LoRA layers stay in place.

    The steps are planned in whole epochs (the most that fit after timing the first :data:`MEASURED_STEPS`,
    checked again after each epoch), so the run's length does not follow the host's speed from one moment
    to the next; the learning rate
    warms up over :data:`WARMUP` of the plan and falls linearly to 0 at its end. bf16 autocast where the
    CPU computes bf16 natively. The clock only stops a run that the plan misjudged.
    """
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
    per_epoch = -(-(2 * len(texts) if objective == "contrastive" else len(texts)) // BATCH)
    plan = {"total": max(1, epochs * per_epoch)}  # fixed after the measured steps

    def factor(step: int) -> float:
        total = plan["total"]
        warmup = max(1, round(WARMUP * total))
        return (step + 1) / warmup if step < warmup else max(0.0, (total - step) / max(total - warmup, 1))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    deadline = start + seconds
    model.encoder.train()
    model.heads.eval()
    timed_from = 0.0
    for _ in range(epochs):
        units: list[Any] = _pairs(labels, rng) if objective == "contrastive" else rng.sample(range(len(texts)), len(texts))
        for first in range(0, len(units), BATCH):
            if run.steps >= plan["total"]:
                break
            if time.perf_counter() > deadline:
                run.note = f"stopped by the time budget after {run.steps} of {plan['total']} planned steps"
                break
            with bf16_autocast():
                loss = _step_loss(model, spec, objective, units[first : first + BATCH], ids, gold, class_weights)
            optimizer.zero_grad()
            loss.float().backward()
            optimizer.step()
            run.steps += 1
            if run.steps == 1:  # the first step pays one-off costs: timing starts after it
                timed_from = time.perf_counter()
            elif run.steps == 1 + MEASURED_STEPS or (run.steps > 1 + MEASURED_STEPS and run.steps % per_epoch == 0):
                now = time.perf_counter()
                total, note = _planned_steps(epochs, per_epoch, run.steps, (now - timed_from) / (run.steps - 1), deadline - now)
                if total < plan["total"]:
                    plan["total"], run.note = total, note
            scheduler.step()
        else:
            continue
        break
    model.encoder.eval()
    run.epochs = round(run.steps / per_epoch, 2)
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
