"""The training loop shared by ``emotiq train`` and ``emotiq finetune``.

What trains: with ``lora_rank > 0``, LoRA factors on every projection of all 12
encoder layers (peft; the base stays frozen); otherwise the top
``trainable_layers`` layers in full. The heads always train. Each head's loss
is masked to the rows that have its label, and a multi-label head's loss to the
labels each row's source annotates. An epoch is every training row once, or
``samples_per_epoch`` rows drawn per source by sampling weights. After every
epoch the dev macro-F1 decides whether this is the best state so far (early
stopping); at the end the best state is restored. With ``checkpoint_dir`` the
run writes a checkpoint every ``checkpoint_minutes`` and at each epoch's end,
and ``resume=True`` continues from it with the same result as an unbroken run.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from emotiq.training.calibration import fit_temperature
from emotiq.training.examples import Batch, ExampleSet
from emotiq.training.metrics import best_threshold, multi_label_report, single_label_report
from emotiq.training.resume import LoopState, load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    from emotiq.heads import TaskHead
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
    """bf16 autocast on CPUs with native bf16 (AVX-512 BF16 / AMX); fp32 elsewhere."""
    threads: int = 0
    """torch CPU threads for training (0: torch's default)."""
    seed: int = 13
    patience: int = 2
    heads: list[str] = field(default_factory=list)
    """Heads to train (default: every head the training data labels)."""
    task_weights: dict[str, float] = field(default_factory=dict)
    class_weights: dict[str, list[float]] = field(default_factory=dict)
    frozen_dropout: bool = True
    """Dropout in the frozen encoder layers too (False: they run in eval mode, several times faster on CPU)."""
    lora_rank: int = 0
    """> 0: train LoRA factors of this rank on every projection of every encoder layer instead of whole layers."""
    lora_alpha: float = 32.0
    lora_dropout: float = 0.05
    train_layernorm: bool = False
    """With LoRA: train the encoder's LayerNorm weights too (stored whole, they are small)."""
    samples_per_epoch: int = 0
    """0: every training row once per epoch; else this many rows drawn per epoch by source weight."""
    sampling_power: float = 0.5
    """A source's share of an epoch is proportional to rows ** power (1: as in the data, 0.5: square root)."""
    source_weights: dict[str, float] = field(default_factory=dict)
    """Multiplies a source's sampling weight (e.g. {"xed_nl": 2.0})."""
    emotion_loss: str = "bce"
    """Loss of sigmoid heads: ``bce``, ``focal`` or ``balanced`` (BCE with per-label positive weights)."""
    focal_gamma: float = 2.0
    threshold_beta: float = 1.0
    """Multi-label thresholds maximise F-beta on dev: below 1 favours precision (fewer labels per text)."""
    temperature_by_language: bool = True
    """Fit each head's temperature again on the dev rows of each target language (see :func:`calibrate`)."""
    invariance_weight: float = 0.0
    """> 0: rows with a twin text (``ExampleSet.twins``, e.g. the ``names`` augmentation) add this weight
    times the squared difference of the two texts' probabilities, summed over labels and averaged over
    rows and heads, so that what the twins differ in (a person's name) does not move the scores."""
    invariance_anchor: bool = False
    """True: the row's probabilities are a fixed target and only the twin's move towards them (the
    labelled row anchors the pair, as in consistency training); False: both move."""
    checkpoint_minutes: float = 10.0
    """With a checkpoint folder: write a checkpoint at least this often (and after every epoch)."""
    relative_cutoff: float | None = None
    """The emotion head's relative cutoff (see :func:`~emotiq.decode.emotion_decisions`): None chooses it
    on dev by cross-fitting (:mod:`emotiq.training.cutoff`); a number sets it (0 keeps every emotion
    over its threshold)."""
    refit_heads: bool = False
    """After training, refit the linear softmax heads by logistic regression on the final pooled vectors
    of all training rows, keeping a refit only if it scores higher on dev (:mod:`emotiq.training.head_refit`)."""


def trainable_encoder(model: EmotiqModel, settings: LoopSettings) -> list[str]:
    """Make the encoder parameters that ``settings`` trains trainable; return the whole-tensor names.

    With LoRA the factors are injected (and trainable) too; they are saved apart, so only
    the LayerNorms (with ``train_layernorm``) are returned.
    """
    if settings.lora_rank <= 0:
        return trainable_parameter_names(model, settings.trainable_layers)
    from emotiq.training.adapters import add_lora, has_lora

    body = model.encoder.body
    if not has_lora(body):
        add_lora(body, settings.lora_rank, settings.lora_alpha, settings.lora_dropout)
    names = []
    if settings.train_layernorm:
        for name, param in body.named_parameters():
            if "LayerNorm" in name and name.startswith("encoder."):
                param.requires_grad_(True)
                names.append(name)
    return names


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


def bf16_autocast(enabled: bool = True) -> Any:
    """bf16 autocast when ``enabled`` and the CPU computes bf16 natively (else it is emulated, several
    times slower than fp32, and the context does nothing)."""
    from emotiq.engine.precision import cpu_has_fast_bf16

    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled and cpu_has_fast_bf16())


def positive_weights(data: ExampleSet, name: str) -> torch.Tensor:
    """Per-label positive weights sqrt(negatives / positives), within [1, 10], over annotated rows."""
    known = data.label_masks[name].float()
    positives = (data.targets[name] * known).sum(0)
    negatives = known.sum(0) - positives
    return torch.sqrt(negatives / positives.clamp(min=1.0)).clamp(1.0, 10.0)


def sigmoid_loss(logits: torch.Tensor, target: torch.Tensor, known: torch.Tensor, settings: LoopSettings,
                 pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean loss over the (row, label) cells in ``known``: BCE, focal, or BCE with positive weights."""
    weight = pos_weight if settings.emotion_loss == "balanced" else None
    cell = F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight, reduction="none")
    if settings.emotion_loss == "focal":
        p = torch.sigmoid(logits)
        p_true = p * target + (1 - p) * (1 - target)
        cell = cell * (1 - p_true).pow(settings.focal_gamma)
    known = known.float()
    return (cell * known).sum() / known.sum().clamp(min=1.0)


def batch_losses(model: EmotiqModel, batch: Batch, heads: list[str], settings: LoopSettings,
                 pos_weights: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Masked loss of each head on ``batch`` (heads without labels in it are left out)."""
    with bf16_autocast(settings.bf16):
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
            known = batch.label_masks[name][mask] if name in batch.label_masks else torch.ones_like(target, dtype=torch.bool)
            losses[name] = sigmoid_loss(out, target, known, settings, (pos_weights or {}).get(name))
    if settings.invariance_weight > 0 and batch.twin_positions:
        losses["invariance"] = settings.invariance_weight * invariance_loss(model, batch, logits, heads, settings)
    return losses


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.softmax(-1)


def invariance_loss(model: EmotiqModel, batch: Batch, logits: dict[str, torch.Tensor], heads: list[str],
                    settings: LoopSettings) -> torch.Tensor:
    """Mean over heads of the squared difference between the probabilities of the batch's rows that
    have a twin and their twins' (summed over labels, averaged over rows)."""
    with bf16_autocast(settings.bf16):
        twin_logits = model.heads(model.encoder(batch.twin_ids, batch.twin_mask).float(), heads)
    rows = torch.tensor(batch.twin_positions)
    terms = []
    for name in heads:
        squash = _softmax if model.heads[name].spec.kind == "softmax" else torch.sigmoid
        own, twin = squash(logits[name][rows].float()), squash(twin_logits[name].float())
        own = own.detach() if settings.invariance_anchor else own
        terms.append((own - twin).pow(2).sum(-1).mean())
    return torch.stack(terms).mean()


@torch.inference_mode()
def pooled_vectors(model: EmotiqModel, data: ExampleSet, settings: LoopSettings) -> torch.Tensor:
    """The encoder's pooled vector of every row of ``data`` ([rows, hidden], fp32, in row order)."""
    model.encoder.eval()
    out: torch.Tensor | None = None
    for rows in data.batches(token_budget=settings.token_budget * 2, max_batch_size=256, shuffle=False):
        batch = data.batch(rows)
        with bf16_autocast(settings.bf16):
            pooled = model.encoder(batch.input_ids, batch.attention_mask).float()
        out = torch.zeros((len(data), pooled.shape[-1])) if out is None else out
        out[torch.tensor(rows)] = pooled
    return out if out is not None else torch.zeros((0, getattr(model.encoder, "hidden_size", 0)))


@torch.inference_mode()
def head_logits(model: EmotiqModel, vectors: torch.Tensor, heads: list[str], settings: LoopSettings) -> dict[str, torch.Tensor]:
    """Logits of ``heads`` from pooled ``vectors`` (as :func:`pooled_vectors` gives them)."""
    model.heads.eval()
    with bf16_autocast(settings.bf16):
        logits = model.heads(vectors, heads)
    return {name: logits[name].float() for name in heads}


def predict_logits(model: EmotiqModel, data: ExampleSet, heads: list[str], settings: LoopSettings) -> dict[str, torch.Tensor]:
    """Logits of ``heads`` for every row of ``data``, in row order."""
    return head_logits(model, pooled_vectors(model, data, settings), heads, settings)


def known_labels(data: ExampleSet, name: str) -> torch.Tensor:
    """[rows, labels] mask of the labels each row of ``data`` annotates for a multi-label head."""
    if name in data.label_masks:
        return data.label_masks[name]
    return data.masks[name][:, None].expand_as(data.targets[name])


def head_report(model: EmotiqModel, name: str, logits: torch.Tensor, data: ExampleSet,
                rows: torch.Tensor | None = None) -> dict[str, Any]:
    """Metrics of one head on the rows of ``data`` that carry its label (its annotated labels only),
    or on those among ``rows`` (a boolean row mask)."""
    head = model.heads[name]
    mask = data.masks[name] if rows is None else data.masks[name] & rows
    probs = head.probabilities(logits[mask], _languages(head, data, mask)).numpy()
    target = data.targets[name][mask].numpy()
    if head.spec.kind == "softmax":
        return single_label_report(target, probs, head.spec.labels)
    known = known_labels(data, name)[mask].numpy()
    return multi_label_report(np.where(known, target, np.nan), probs, head.spec.labels, head.spec.thresholds())


def _languages(head: TaskHead, data: ExampleSet, mask: torch.Tensor) -> np.ndarray | None:
    """The detected languages of ``data``'s rows in ``mask``, when ``head`` has temperatures by language."""
    return data.languages[mask.numpy()] if head.spec.extra.get("temperatures_by_language") else None


def dev_scores(model: EmotiqModel, data: ExampleSet, heads: list[str], settings: LoopSettings) -> dict[str, float]:
    logits = predict_logits(model, data, heads, settings)
    return {name: head_report(model, name, logits[name], data)["macro_f1"] for name in heads if data.masks[name].any()}


def source_scores(model: EmotiqModel, data: ExampleSet, logits: dict[str, torch.Tensor], min_rows: int = 10) -> dict[str, float]:
    """Macro-F1 of each head in ``logits`` on each source's rows that carry its label, keyed
    ``"source/head"``; a source with fewer than ``min_rows`` such rows is left out."""
    scores = {}
    for source in sorted(set(data.sources)):
        rows = torch.from_numpy(data.sources == source)
        for name, values in logits.items():
            if int((data.masks[name] & rows).sum()) >= min_rows:
                scores[f"{source}/{name}"] = head_report(model, name, values, data, rows)["macro_f1"]
    return scores


def _named_trainable(model: EmotiqModel, heads: list[str]) -> dict[str, torch.nn.Parameter]:
    """Every parameter the run trains, by a stable name (``encoder.`` / ``heads.`` prefix)."""
    named = {f"encoder.{n}": p for n, p in model.encoder.body.named_parameters() if p.requires_grad}
    named.update({f"heads.{name}.{n}": p for name in heads for n, p in model.heads[name].named_parameters()})
    return named


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


def _snapshot(named: dict[str, torch.nn.Parameter]) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in named.items()}


def _load_snapshot(named: dict[str, torch.nn.Parameter], values: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(named) - set(values))
    if missing:
        raise ValueError(f"checkpoint does not match this run: it lacks {missing[:3]}")
    with torch.no_grad():
        for n, p in named.items():
            p.copy_(values[n])


def _frozen_layers_eval(model: EmotiqModel, n_layers: int) -> None:
    """Put the embeddings and the layers below the top ``n_layers`` in eval mode (no dropout)."""
    body = model.encoder.body
    body.embeddings.eval()
    for layer in body.encoder.layer[: len(body.encoder.layer) - n_layers]:
        layer.eval()


def source_shares(sources: np.ndarray, settings: LoopSettings) -> dict[str, float]:
    """Each source's share of the training draw: ``rows ** sampling_power * source_weights[source]``,
    normalised to sum to 1 (sources in sorted order)."""
    names, counts = np.unique(sources, return_counts=True)
    weights = np.array([c ** settings.sampling_power * settings.source_weights.get(str(n), 1.0) for n, c in zip(names, counts)])
    return {str(n): float(w) for n, w in zip(names, weights / weights.sum())}


def epoch_rows(train: ExampleSet, settings: LoopSettings, epoch: int) -> list[int] | None:
    """The rows of one epoch: None (all) or ``samples_per_epoch`` rows drawn per source.

    A source gets ``rows ** sampling_power * source_weights[source]`` of the draw; within a
    source rows are drawn without replacement until all have been seen. Seeded by epoch.
    """
    if settings.samples_per_epoch <= 0:
        return None
    rng = np.random.default_rng([settings.seed, epoch])
    shares = source_shares(train.sources, settings)
    names = list(shares)
    quotas = np.floor(settings.samples_per_epoch * np.array([shares[n] for n in names])).astype(int)
    rows: list[int] = []
    for name, quota in zip(names, quotas):
        members = np.flatnonzero(train.sources == name)
        draws = [rng.permutation(members) for _ in range(-(-quota // len(members)))]
        rows.extend(np.concatenate(draws)[:quota].tolist() if draws else [])
    return rows


def _epoch_batches(train: ExampleSet, settings: LoopSettings, epoch: int) -> list[list[int]]:
    rows = epoch_rows(train, settings, epoch)
    options: dict[str, Any] = {"rows": rows} if rows is not None else {}
    return train.batches(token_budget=settings.token_budget, max_batch_size=settings.max_batch_size, shuffle=True,
                         seed=settings.seed + epoch, **options)


def _set_train_mode(model: EmotiqModel, settings: LoopSettings) -> None:
    model.encoder.train()
    if not settings.frozen_dropout and settings.lora_rank <= 0:
        _frozen_layers_eval(model, settings.trainable_layers)
    model.heads.train()


@dataclass
class _Run:
    """What one sitting of :func:`fit` works with."""

    model: Any
    train: Any
    heads: list[str]
    settings: LoopSettings
    optimizer: torch.optim.Optimizer
    scheduler: Any
    named: dict[str, torch.nn.Parameter]
    pos_weights: dict[str, torch.Tensor]
    state: LoopState
    best: dict[str, torch.Tensor]
    checkpoint_dir: Path | None
    extra: dict[str, Any]
    last_save: float = 0.0
    clock: tuple[float, float] = (0.0, 0.0)

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self.clock[0], time.process_time() - self.clock[1]

    def save(self) -> None:
        if self.checkpoint_dir is None:
            return
        wall, cpu = self.elapsed()
        self.state.train_seconds, self.state.cpu_seconds = round(self.state.train_seconds + wall, 1), round(self.state.cpu_seconds + cpu, 1)
        self.clock = (time.perf_counter(), time.process_time())
        save_checkpoint(self.checkpoint_dir, trainable=_snapshot(self.named), best=self.best, optimizer=self.optimizer,
                        scheduler=self.scheduler, state=self.state, extra=self.extra)
        self.last_save = time.perf_counter()
        logger.info("Checkpoint: epoch %d, batch %d (%s)", self.state.epoch + 1, self.state.step, self.checkpoint_dir)


def _train_epoch(run: _Run, groups: list[list[int]]) -> float:
    settings, state = run.settings, run.state
    _set_train_mode(run.model, settings)
    bar = tqdm(groups, desc=f"epoch {state.epoch + 1}/{settings.epochs}", unit="batch", disable=None, leave=False,
               initial=state.step, total=len(groups))
    params = [p for g in run.optimizer.param_groups for p in g["params"]]
    for rows in groups[state.step:]:
        losses = batch_losses(run.model, run.train.batch(rows), run.heads, settings, run.pos_weights)
        if losses:
            loss = sum(settings.task_weights.get(n, 1.0) * v for n, v in losses.items())
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[union-attr]
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            run.optimizer.step()
            run.scheduler.step()
            state.epoch_loss += loss.item()  # type: ignore[union-attr]
            state.epoch_losses += 1
        state.step += 1
        state.global_step += 1
        bar.update(1)
        if state.step % 50 == 0:
            bar.set_postfix(loss=f"{state.epoch_loss / max(state.epoch_losses, 1):.3f}")
        if bar.disable and state.step % 200 == 0:  # plain log lines when not on a terminal
            logger.info("epoch %d: batch %d/%d, loss %.4f", state.epoch + 1, state.step, len(groups),
                        state.epoch_loss / max(state.epoch_losses, 1))
        if run.checkpoint_dir is not None and time.perf_counter() - run.last_save >= settings.checkpoint_minutes * 60:
            run.save()
    bar.close()
    return state.epoch_loss / max(state.epoch_losses, 1)


def fit(model: EmotiqModel, train: ExampleSet, dev: ExampleSet, settings: LoopSettings,
        on_epoch: Callable[[int, dict[str, Any]], None] | None = None, *,
        checkpoint_dir: str | Path | None = None, resume: bool = False, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``model`` in place; returns the history and the encoder parameters trained.

    With ``checkpoint_dir`` a checkpoint is written there at least every
    ``settings.checkpoint_minutes`` and after every epoch, with ``record`` beside it;
    ``resume=True`` continues from it.
    """
    torch.manual_seed(settings.seed)
    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    heads = settings.heads or [h for h in model.heads if h in train.masks and train.masks[h].any()]
    names = trainable_encoder(model, settings)
    model.config.encoder_params = sorted(set(model.config.encoder_params) | set(names))
    optimizer = _optimizer(model, heads, settings)
    steps = settings.epochs * len(_epoch_batches(train, settings, 0))
    scheduler = _schedule(optimizer, steps, int(steps * settings.warmup_fraction))
    named = _named_trainable(model, heads)
    pos_weights = {h: positive_weights(train, h) for h in heads if h in train.label_masks and train.masks[h].any()}
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    state, best = LoopState(), _snapshot(named)
    if resume:
        if folder is None:
            raise ValueError("resume needs the checkpoint folder of the run")
        checkpoint = load_checkpoint(folder)
        _load_snapshot(named, checkpoint.trainable)
        checkpoint.restore(optimizer, scheduler)
        state, best = checkpoint.state, checkpoint.best
        state.sittings += 1
        logger.info("Resuming from %s: epoch %d, batch %d", folder, state.epoch + 1, state.step)
    run = _Run(model, train, heads, settings, optimizer, scheduler, named, pos_weights, state, best, folder,
               {"settings": asdict(settings), "heads": heads, **(record or {})}, last_save=time.perf_counter(),
               clock=(time.perf_counter(), time.process_time()))
    while state.epoch < settings.epochs and state.stale < settings.patience:
        loss = _train_epoch(run, _epoch_batches(train, settings, state.epoch))
        scores = dev_scores(model, dev, heads, settings)
        mean = float(np.mean(list(scores.values()))) if scores else -loss
        wall, _ = run.elapsed()
        record = {"epoch": state.epoch + 1, "train_loss": round(loss, 4), "dev_macro_f1": {k: round(v, 4) for k, v in scores.items()},
                  "dev_mean_macro_f1": round(mean, 4), "seconds": round(state.train_seconds + wall, 1)}
        state.history.append(record)
        logger.info("epoch %d: loss %.4f, dev macro-F1 %s", state.epoch + 1, loss, record["dev_macro_f1"])
        if on_epoch:
            on_epoch(state.epoch, record)
        if mean > state.best_score:
            run.best, state.best_score, state.stale = _snapshot(named), mean, 0
        else:
            state.stale += 1
            if state.stale >= settings.patience:
                logger.info("Dev macro-F1 stopped improving; stopping early after epoch %d", state.epoch + 1)
        state.epoch, state.step, state.epoch_loss, state.epoch_losses = state.epoch + 1, 0, 0.0, 0
        run.save()
    if run.checkpoint_dir is None:
        wall, cpu = run.elapsed()
        state.train_seconds, state.cpu_seconds = round(state.train_seconds + wall, 1), round(state.cpu_seconds + cpu, 1)
    _load_snapshot(named, run.best)
    model.encoder.eval()
    model.heads.eval()
    model.to()  # inference must see the trained weights, not a copy made before
    return {"history": state.history, "encoder_params": names, "heads": heads, "best_dev_mean_macro_f1": round(state.best_score, 4),
            "train_seconds": state.train_seconds, "cpu_seconds": state.cpu_seconds, "sittings": state.sittings}


def calibrate(model: EmotiqModel, dev: ExampleSet, heads: list[str], settings: LoopSettings,
              logits: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """Fit and set each head's temperature on ``dev`` (annotated labels only); returns them.

    With ``settings.temperature_by_language``, each head's temperature is fitted again on the
    rows of each of :data:`~emotiq.text.language.TARGET_LANGUAGES` (as detected, the way
    ``analyze`` tells them apart) that has at least :data:`MIN_TEMPERATURE_ROWS` of them, and
    stored in ``extra["temperatures_by_language"]``: a model is not equally sure of itself in
    Dutch and English (the bundled model's one temperature left it over-confident on Dutch dev
    rows and under-confident on English ones). Other languages keep the temperature of all rows.
    ``logits`` (from :func:`predict_logits` on ``dev``) saves running the encoder again.
    """
    from emotiq.text.language import TARGET_LANGUAGES

    logits = logits if logits is not None else predict_logits(model, dev, heads, settings)
    temperatures = {}
    for name in heads:
        mask = dev.masks[name]
        if mask.sum() < 20:
            continue
        spec = model.heads[name].spec
        spec.temperature = _temperature(logits[name], dev, name, spec.kind, mask)
        temperatures[name] = round(spec.temperature, 4)
        spec.extra.pop("temperatures_by_language", None)
        if settings.temperature_by_language:
            in_language = {lang: mask & torch.from_numpy(dev.languages == lang) for lang in TARGET_LANGUAGES}
            by_language = {lang: round(_temperature(logits[name], dev, name, spec.kind, rows), 4)
                           for lang, rows in in_language.items() if rows.sum() >= MIN_TEMPERATURE_ROWS}
            if by_language:
                spec.extra["temperatures_by_language"] = by_language
                logger.info("%s temperature %.3f; by language: %s", name, spec.temperature, by_language)
    return temperatures


def _temperature(logits: torch.Tensor, dev: ExampleSet, name: str, kind: str, rows: torch.Tensor) -> float:
    """Head ``name``'s temperature fitted on the ``rows`` of ``dev`` (a boolean row mask)."""
    known = known_labels(dev, name)[rows] if kind == "sigmoid" else None
    return fit_temperature(logits[rows], dev.targets[name][rows], kind, known)


def fit_decisions(model: EmotiqModel, dev: ExampleSet, heads: list[str], settings: LoopSettings,
                  vectors: torch.Tensor | None = None
                  ) -> tuple[dict[str, float], dict[str, list[float]], dict[str, torch.Tensor]]:
    """Temperatures, then sigmoid heads' thresholds, fitted on ``dev`` from one encoder pass over it
    (none when ``vectors``, the dev rows' pooled vectors from :func:`pooled_vectors`, are given).

    Returns both (as :func:`calibrate` and :func:`tune_thresholds` do) and the raw dev logits.
    """
    logits = head_logits(model, vectors, heads, settings) if vectors is not None else predict_logits(model, dev, heads, settings)
    return calibrate(model, dev, heads, settings, logits), tune_thresholds(model, dev, heads, settings, logits), logits


def cutoff_record(model: EmotiqModel) -> dict[str, float]:
    """``{"relative_cutoff": value}`` for a training record, when the model's emotion head has one fitted."""
    emotion = next((head.spec for head in model.heads.values() if head.spec.role == "emotion"), None)
    return {"relative_cutoff": emotion.extra["relative_cutoff"]} if emotion and "relative_cutoff" in emotion.extra else {}


def tune_thresholds(model: EmotiqModel, dev: ExampleSet, heads: list[str], settings: LoopSettings,
                    logits: dict[str, torch.Tensor] | None = None) -> dict[str, list[float]]:
    """Per-label decision thresholds of sigmoid heads, chosen for F-beta (``threshold_beta``) on
    the dev rows that annotate each label; sets and returns them.

    Thresholds are fitted on all dev rows, then again on the rows of each of
    :data:`~emotiq.text.language.TARGET_LANGUAGES` (as detected, the way ``analyze`` picks them;
    stored in ``extra["thresholds_by_language"]``), since the same probability need not mean the
    same in Dutch and English. A label with fewer than :data:`MIN_THRESHOLD_POSITIVES` positive
    rows keeps 0.5 over all rows, and the all-rows threshold in one language.
    The emotion head's relative cutoff is then set (``extra["relative_cutoff"]``), as
    ``settings.relative_cutoff`` says.
    ``logits`` (raw, from :func:`predict_logits` on ``dev``) saves running the encoder again.
    """
    tuned = {}
    for name in heads:
        spec = model.heads[name].spec
        mask = dev.masks[name]
        if spec.kind != "sigmoid" or mask.sum() < 20:
            continue
        raw = logits[name] if logits is not None else predict_logits(model, dev, [name], settings)[name]
        probs = model.heads[name].probabilities(raw[mask], _languages(model.heads[name], dev, mask)).numpy()
        target = dev.targets[name][mask].numpy()
        known = known_labels(dev, name)[mask].numpy()
        in_language = dev.languages[mask.numpy()]
        pooled, by_language = _language_thresholds(target, probs, known, in_language, settings.threshold_beta)
        spec.extra["thresholds"] = pooled
        spec.extra["thresholds_by_language"] = by_language
        tuned[name] = pooled
        for lang, values in by_language.items():
            logger.info("%s thresholds for %s texts: %s", name, lang, values)
        if spec.role == "emotion":
            spec.extra["relative_cutoff"] = settings.relative_cutoff if settings.relative_cutoff is not None else \
                _cross_fitted_cutoff(target, probs, known, dev.sources[mask.numpy()], in_language, spec.labels, settings)
    return tuned


def _language_thresholds(target: np.ndarray, probs: np.ndarray, known: np.ndarray, in_language: np.ndarray,
                         beta: float) -> tuple[list[float], dict[str, list[float]]]:
    """Thresholds over all rows, and by each target language present (falling back to all rows')."""
    from emotiq.text.language import TARGET_LANGUAGES

    pooled = _fit_thresholds(target, probs, known, beta, [0.5] * target.shape[1])
    by_language = {lang: _fit_thresholds(target, probs, known & (in_language == lang)[:, None], beta, pooled)
                   for lang in TARGET_LANGUAGES if (in_language == lang).any()}
    return pooled, by_language


def _cross_fitted_cutoff(target: np.ndarray, probs: np.ndarray, known: np.ndarray, sources: np.ndarray,
                         in_language: np.ndarray, labels: list[str], settings: LoopSettings) -> float:
    """The relative cutoff chosen on dev by :func:`~emotiq.training.cutoff.choose_relative_cutoff`,
    with thresholds fitted on each half as :func:`tune_thresholds` fits them."""
    from emotiq.training.cutoff import choose_relative_cutoff

    def fit(rows: np.ndarray) -> np.ndarray:
        pooled, by_language = _language_thresholds(target, probs, known & rows[:, None], in_language, settings.threshold_beta)
        return np.array([by_language.get(lang, pooled) for lang in in_language], dtype=float).reshape(-1, len(labels))

    rho, _ = choose_relative_cutoff(target, probs, known, sources, labels, fit, seed=settings.seed)
    return rho


MIN_TEMPERATURE_ROWS = 200
"""Fewest dev rows of a language on which a head's temperature is fitted for that language."""
MIN_THRESHOLD_POSITIVES = 10


def _fit_thresholds(target: np.ndarray, probs: np.ndarray, known: np.ndarray, beta: float, fallback: list[float]) -> list[float]:
    """Per label, the F-beta-best threshold over the ``known`` rows, or ``fallback``'s with too few positives."""
    thresholds = []
    for j in range(target.shape[1]):
        rows = known[:, j]
        enough = target[rows, j].sum() >= MIN_THRESHOLD_POSITIVES
        thresholds.append(best_threshold(target[rows, j], probs[rows, j], beta) if enough else fallback[j])
    return thresholds
