"""The training loop shared by ``emotiq train`` and ``emotiq finetune``.

The top ``trainable_layers`` encoder layers and the heads are trained; the
layers below stay frozen, so backpropagation stops at the first trainable
layer. Each head's loss is masked to the rows that have its label. After every
epoch the dev macro-F1 decides whether this is the best state so far (early
stopping); at the end the best state is restored and each head's temperature
is fitted on dev data.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from emotiq.training.calibration import fit_temperature
from emotiq.training.examples import Batch, ExampleSet
from emotiq.training.metrics import best_threshold, multi_label_report, single_label_report

if TYPE_CHECKING:
    from emotiq.model import EmotiqModel

logger = logging.getLogger(__name__)


@dataclass
class LoopSettings:
    """Hyper-parameters of one training run (recorded in the model config)."""

    epochs: int = 3
    trainable_layers: int = 3
    lr_encoder: float = 5e-5
    lr_heads: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    token_budget: int = 4096
    max_batch_size: int = 64
    max_tokens: int = 128
    bf16: bool = True
    seed: int = 13
    patience: int = 2
    heads: list[str] = field(default_factory=list)
    """Heads to train (default: every head the training data labels)."""
    task_weights: dict[str, float] = field(default_factory=dict)
    class_weights: dict[str, list[float]] = field(default_factory=dict)
    frozen_dropout: bool = True
    """Dropout in the frozen encoder layers too (False: they run in eval mode, several times faster on CPU)."""


def trainable_parameter_names(model: EmotiqModel, n_layers: int) -> list[str]:
    """Unfreeze the top ``n_layers`` encoder layers; return their parameter names."""
    body = model.encoder.body
    body.requires_grad_(False)
    layers = body.encoder.layer
    names = []
    for index in range(len(layers) - n_layers, len(layers)):
        layers[index].requires_grad_(True)
        names += [f"encoder.layer.{index}.{n}" for n, _ in layers[index].named_parameters()]
    return names


def _autocast(settings: LoopSettings) -> Any:
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16)


def batch_losses(model: EmotiqModel, batch: Batch, heads: list[str], settings: LoopSettings) -> dict[str, torch.Tensor]:
    """Masked loss of each head on ``batch`` (heads without labels in it are left out)."""
    with _autocast(settings):
        pooled = model.encoder(batch.input_ids, batch.attention_mask)
        logits = model.heads(pooled.float(), heads)
    losses = {}
    for name in heads:
        mask = batch.masks[name]
        if not mask.any():
            continue
        out, target = logits[name][mask].float(), batch.targets[name][mask]
        weight = settings.class_weights.get(name)
        if model.heads[name].spec.kind == "softmax":
            losses[name] = F.cross_entropy(out, target, weight=torch.tensor(weight) if weight else None)
        else:
            losses[name] = F.binary_cross_entropy_with_logits(out, target)
    return losses


@torch.inference_mode()
def predict_logits(model: EmotiqModel, data: ExampleSet, heads: list[str], settings: LoopSettings) -> dict[str, torch.Tensor]:
    """Logits of ``heads`` for every row of ``data``, in row order."""
    model.encoder.eval()
    model.heads.eval()
    out = {name: torch.zeros((len(data), len(model.heads[name].spec.labels))) for name in heads}
    for rows in data.batches(token_budget=settings.token_budget * 2, max_batch_size=256, shuffle=False):
        batch = data.batch(rows)
        with _autocast(settings):
            logits = model.heads(model.encoder(batch.input_ids, batch.attention_mask).float(), heads)
        for name in heads:
            out[name][torch.tensor(rows)] = logits[name].float()
    return out


def head_report(model: EmotiqModel, name: str, logits: torch.Tensor, data: ExampleSet) -> dict[str, Any]:
    """Metrics of one head on the rows of ``data`` that carry its label."""
    head = model.heads[name]
    mask = data.masks[name]
    probs = head.probabilities(logits[mask]).numpy()
    target = data.targets[name][mask].numpy()
    if head.spec.kind == "softmax":
        return single_label_report(target, probs, head.spec.labels)
    return multi_label_report(target, probs, head.spec.labels, head.spec.thresholds())


def dev_scores(model: EmotiqModel, data: ExampleSet, heads: list[str], settings: LoopSettings) -> dict[str, float]:
    logits = predict_logits(model, data, heads, settings)
    return {name: head_report(model, name, logits[name], data)["macro_f1"] for name in heads if data.masks[name].any()}


def _optimizer(model: EmotiqModel, heads: list[str], settings: LoopSettings) -> torch.optim.Optimizer:
    encoder_params = [p for p in model.encoder.body.parameters() if p.requires_grad]
    head_params = [p for name in heads for p in model.heads[name].parameters()]
    groups = [{"params": head_params, "lr": settings.lr_heads}]
    if encoder_params:
        groups.append({"params": encoder_params, "lr": settings.lr_encoder})
    return torch.optim.AdamW(groups, weight_decay=settings.weight_decay)


def _schedule(optimizer: torch.optim.Optimizer, total: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(warmup, 1)
        return max(0.0, (total - step) / max(total - warmup, 1))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _trainable_state(model: EmotiqModel, names: list[str]) -> dict[str, Any]:
    body = model.encoder.body.state_dict()
    return {"encoder": {n: body[n].clone() for n in names}, "heads": copy.deepcopy(model.heads.state_dict())}


def _restore(model: EmotiqModel, state: dict[str, Any]) -> None:
    model.encoder.body.load_state_dict(state["encoder"], strict=False)
    model.heads.load_state_dict(state["heads"])


def _frozen_layers_eval(model: EmotiqModel, n_layers: int) -> None:
    """Put the embeddings and the layers below the top ``n_layers`` in eval mode (no dropout)."""
    body = model.encoder.body
    body.embeddings.eval()
    for layer in body.encoder.layer[: len(body.encoder.layer) - n_layers]:
        layer.eval()


def _train_epoch(model: EmotiqModel, train: ExampleSet, heads: list[str], settings: LoopSettings, epoch: int,
                 optimizer: torch.optim.Optimizer, scheduler: Any) -> float:
    model.encoder.train()
    if not settings.frozen_dropout:
        _frozen_layers_eval(model, settings.trainable_layers)
    model.heads.train()
    groups = train.batches(token_budget=settings.token_budget, max_batch_size=settings.max_batch_size, shuffle=True, seed=settings.seed + epoch)
    total = 0.0
    bar = tqdm(groups, desc=f"epoch {epoch + 1}/{settings.epochs}", unit="batch", disable=None, leave=False)
    for step, rows in enumerate(bar):
        losses = batch_losses(model, train.batch(rows), heads, settings)
        if not losses:
            continue
        loss = sum(settings.task_weights.get(n, 1.0) * v for n, v in losses.items())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[union-attr]
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item()  # type: ignore[union-attr]
        if step % 50 == 0:
            bar.set_postfix(loss=f"{total / (step + 1):.3f}")
        if bar.disable and step % 200 == 0:  # plain log lines when not on a terminal
            logger.info("epoch %d: batch %d/%d, loss %.4f", epoch + 1, step, len(groups), total / (step + 1))
    return total / max(len(groups), 1)


def fit(model: EmotiqModel, train: ExampleSet, dev: ExampleSet, settings: LoopSettings,
        on_epoch: Callable[[int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train ``model`` in place; returns the history and the encoder parameters trained."""
    torch.manual_seed(settings.seed)
    heads = settings.heads or [h for h in model.heads if h in train.masks and train.masks[h].any()]
    names = trainable_parameter_names(model, settings.trainable_layers)
    model.config.encoder_params = sorted(set(model.config.encoder_params) | set(names))
    optimizer = _optimizer(model, heads, settings)
    steps = settings.epochs * len(train.batches(token_budget=settings.token_budget, max_batch_size=settings.max_batch_size, shuffle=False))
    scheduler = _schedule(optimizer, steps, int(steps * settings.warmup_fraction))
    history: list[dict[str, Any]] = []
    best, best_score, stale = _trainable_state(model, names), -1.0, 0
    start = time.perf_counter()
    for epoch in range(settings.epochs):
        loss = _train_epoch(model, train, heads, settings, epoch, optimizer, scheduler)
        scores = dev_scores(model, dev, heads, settings)
        mean = float(np.mean(list(scores.values()))) if scores else -loss
        record = {"epoch": epoch + 1, "train_loss": round(loss, 4), "dev_macro_f1": {k: round(v, 4) for k, v in scores.items()},
                  "dev_mean_macro_f1": round(mean, 4), "seconds": round(time.perf_counter() - start, 1)}
        history.append(record)
        logger.info("epoch %d: loss %.4f, dev macro-F1 %s", epoch + 1, loss, record["dev_macro_f1"])
        if on_epoch:
            on_epoch(epoch, record)
        if mean > best_score:
            best, best_score, stale = _trainable_state(model, names), mean, 0
        else:
            stale += 1
            if stale >= settings.patience:
                logger.info("Dev macro-F1 stopped improving; stopping early after epoch %d", epoch + 1)
                break
    _restore(model, best)
    model.encoder.eval()
    model.heads.eval()
    model.to()  # inference must see the trained weights, not a copy made before
    return {"history": history, "encoder_params": names, "heads": heads, "best_dev_mean_macro_f1": round(best_score, 4),
            "train_seconds": round(time.perf_counter() - start, 1)}


def calibrate(model: EmotiqModel, dev: ExampleSet, heads: list[str], settings: LoopSettings) -> dict[str, float]:
    """Fit and set each head's temperature on ``dev``; returns them."""
    logits = predict_logits(model, dev, heads, settings)
    temperatures = {}
    for name in heads:
        mask = dev.masks[name]
        if mask.sum() < 20:
            continue
        spec = model.heads[name].spec
        spec.temperature = fit_temperature(logits[name][mask], dev.targets[name][mask], spec.kind)
        temperatures[name] = round(spec.temperature, 4)
    return temperatures


def tune_thresholds(model: EmotiqModel, dev: ExampleSet, heads: list[str], settings: LoopSettings) -> dict[str, list[float]]:
    """Per-label decision thresholds of sigmoid heads, chosen for F1 on ``dev``; sets and returns them.

    Labels with fewer than 10 positive dev rows keep 0.5.
    """
    tuned = {}
    for name in heads:
        spec = model.heads[name].spec
        mask = dev.masks[name]
        if spec.kind != "sigmoid" or mask.sum() < 20:
            continue
        probs = model.heads[name].probabilities(predict_logits(model, dev, [name], settings)[name][mask]).numpy()
        target = dev.targets[name][mask].numpy()
        spec.extra["thresholds"] = [
            best_threshold(target[:, j], probs[:, j]) if target[:, j].sum() >= 10 else 0.5 for j in range(len(spec.labels))
        ]
        tuned[name] = spec.extra["thresholds"]
    return tuned
