"""Refit a trained model's temperatures and emotion thresholds on its dev splits (and, if asked,
its linear heads on its training rows).

Training ends with the same two steps (see ``run_training``); running them again on a
saved model lets the decision settings change (for example ``threshold_beta``) without
training again, and the recipe in the folder stays the one that rebuilds the model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emotiq.decode import EmotionRule
from emotiq.model import EmotiqModel
from emotiq.training.examples import ExampleSet
from emotiq.training.head_refit import refit_heads
from emotiq.training.loop import cutoff_record, fit_decisions, known_labels, pooled_vectors, predict_logits
from emotiq.training.train import BUILTIN_TARGETS, TrainConfig, training_frames

logger = logging.getLogger(__name__)


@dataclass
class LabelCount:
    """Mean emotions per dev text of one source: the gold labels and what the model predicts."""

    source: str
    rows: int
    gold: float
    predicted: float

    @property
    def ratio(self) -> float:
        return self.predicted / self.gold if self.gold else float("nan")


def emotion_label_counts(model: EmotiqModel, dev: ExampleSet, config: TrainConfig,
                         logits: dict[str, torch.Tensor] | None = None) -> list[LabelCount]:
    """Per source, the gold and the decoded (``analyze``-style, thresholds by detected language)
    emotions per text, counted over the emotions each source annotates.

    ``logits`` (raw, from :func:`predict_logits` on ``dev``) saves running the encoder again.
    """
    if "emotion" not in model.heads:
        return []
    head = model.heads["emotion"]
    mask = dev.masks["emotion"].numpy()
    raw = logits["emotion"] if logits is not None else predict_logits(model, dev, ["emotion"], config.loop)["emotion"]
    probs = head.probabilities(raw, dev.languages).numpy()
    known = known_labels(dev, "emotion").numpy()
    gold = np.nan_to_num(dev.targets["emotion"].numpy())
    chosen = EmotionRule.of(head.spec, dev.languages).decide(probs, head.spec.labels)
    counts = []
    for source in sorted(set(dev.sources[mask])):
        rows = mask & (dev.sources == source)
        counts.append(LabelCount(source, int(rows.sum()), float((gold[rows] * known[rows]).sum(axis=1).mean()),
                                 float((chosen[rows] * known[rows]).sum(axis=1).mean())))
    return counts


def recalibrate(model_dir: str | Path, config: TrainConfig) -> tuple[EmotiqModel, list[LabelCount]]:
    """Refit the temperatures and the emotion thresholds (``config.loop.threshold_beta``) of the
    model in ``model_dir`` on the dev rows of ``config``; save the model and the recipe.

    With ``config.loop.refit_heads`` the linear softmax heads are first refitted on the training
    rows' pooled vectors (:func:`~emotiq.training.head_refit.refit_heads`; one encoder pass over
    every training row). Returns the model and the dev label counts after refitting.
    """
    model = EmotiqModel.load(model_dir, precision="fp32")
    train_df, dev_df = training_frames(config)
    dev = ExampleSet(dev_df, model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
    heads = list(model.heads)
    record: dict[str, Any] = model.config.training
    dev_vectors = pooled_vectors(model, dev, config.loop)  # one encoder pass over dev serves the refit and calibration
    if config.loop.refit_heads:
        train = ExampleSet(train_df, model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
        record["head_refit"] = [r.to_dict() for r in refit_heads(model, train, dev, heads, config.loop, dev_vectors)]
    temperatures, thresholds, logits = fit_decisions(model, dev, heads, config.loop, dev_vectors)
    record.update({"temperatures": temperatures, "thresholds": thresholds, **cutoff_record(model)})
    changed = {"threshold_beta": config.loop.threshold_beta, "relative_cutoff": config.loop.relative_cutoff,
               **({"refit_heads": True} if config.loop.refit_heads else {})}
    record.setdefault("config", {}).setdefault("loop", {}).update(changed)
    model.save(model_dir)
    recipe = Path(model_dir) / "train_config.json"
    if recipe.exists():
        data = json.loads(recipe.read_text(encoding="utf-8"))
        data.setdefault("loop", {}).update(changed)
        recipe.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    counts = emotion_label_counts(model, dev, config, logits)
    for c in counts:
        logger.info("dev %s: %.2f emotions per text predicted, %.2f gold (%d rows)", c.source, c.predicted, c.gold, c.rows)
    return model, counts
