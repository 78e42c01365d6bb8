"""Interpolate the weights of two trained models of one base: ``(1 - w) * start + w * end``.

Two models on one base, one continued from the other, tend to lie in one basin of the loss, and
the points between them often score better than either end and hold up better on data that
neither was tuned on (weight-space ensembles, WiSE-FT: Wortsman et al., CVPR 2022). Each weight
in ``weights`` is tried: the heads and whole encoder tensors are averaged, the LoRA factors are
concatenated so that their merged update is exactly the average of the two updates (rank
``r1 + r2``; inference speed is unchanged because the factors are merged at load), and the
temperatures and emotion thresholds are fitted again on the dev rows. The weight with the highest
mean per-source dev macro-F1 is kept. Weights 0 and 1 give the two models themselves with their
decisions fitted on the same dev rows, a fair line to compare against. No test row is read.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emotiq import model_io
from emotiq.errors import ModelFolderError
from emotiq.model import EmotiqModel
from emotiq.training.examples import ExampleSet
from emotiq.training.loop import cutoff_record, fit_decisions, head_logits, pooled_vectors, source_scores
from emotiq.training.train import BUILTIN_TARGETS, TrainConfig, training_frames

logger = logging.getLogger(__name__)

DEFAULT_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class InterpolationTrial:
    """One weight's dev scores after its decisions were fitted on the dev rows."""

    weight: float
    dev_mean: float
    """Mean over ``scores``: every (source, head) with at least 10 dev rows counts once."""
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"weight": self.weight, "dev_mean": round(self.dev_mean, 4), "scores": {k: round(v, 4) for k, v in self.scores.items()}}


def _check_compatible(start: model_io.ModelConfig, end: model_io.ModelConfig) -> None:
    if start.base != end.base:
        raise ModelFolderError(f"{start.name} is built on {start.base!r} and {end.name} on {end.base!r}: only models of one base interpolate")
    heads = {h["name"]: (h["kind"], h["labels"]) for h in start.heads}
    other = {h["name"]: (h["kind"], h["labels"]) for h in end.heads}
    if heads != other:
        differ = sorted(n for n in set(heads) | set(other) if heads.get(n) != other.get(n))
        raise ModelFolderError(f"{start.name} and {end.name} differ in their heads {differ}: only models with the same heads interpolate")


def _lora_scale(config: model_io.ModelConfig) -> float:
    return float(config.adapter["alpha"]) / float(config.adapter["rank"]) if config.adapter else 0.0


def truncate_factors(factors: dict[str, torch.Tensor], rank: int) -> tuple[dict[str, torch.Tensor], float]:
    """LoRA factors (scaling 1) of at most ``rank``: each update ``B @ A`` cut to its top ``rank``
    singular directions. Returns the factors and the share of the updates' squared Frobenius norm kept."""
    kept, total, out = 0.0, 0.0, {}
    for module in sorted({k.split(".lora_")[0] for k in factors}):
        a, b = factors[f"{module}.lora_A.weight"].double(), factors[f"{module}.lora_B.weight"].double()
        u, sigma, vh = torch.linalg.svd(b @ a, full_matrices=False)
        r = min(rank, int(sigma.numel()))
        out[f"{module}.lora_A.weight"] = vh[:r].float().contiguous()
        out[f"{module}.lora_B.weight"] = (u[:, :r] * sigma[:r]).float().contiguous()
        kept, total = kept + float((sigma[:r] ** 2).sum()), total + float((sigma ** 2).sum())
    return out, kept / total if total else 1.0


Folder = tuple[model_io.ModelConfig, dict[str, torch.Tensor], dict[str, torch.Tensor]]
"""A model folder as read: (config, head weights, encoder tensors with any LoRA factors)."""


def _read_pair(start: str | Path, end: str | Path) -> tuple[Folder, Folder]:
    """Both folders, checked to interpolate, with the same whole encoder tensors on each side
    (one that only one model stores takes the base encoder's value on the other side)."""
    first, second = model_io.read_folder(start), model_io.read_folder(end)
    _check_compatible(first[0], second[0])
    whole = [set(model_io.split_adapter(encoder)[1]) for _, _, encoder in (first, second)]
    if whole[0] != whole[1]:
        from emotiq.encoder.text_encoder import load_text_encoder

        base = load_text_encoder(second[0].base).body.state_dict()
        for (_, _, encoder), own in zip((first, second), whole):
            encoder.update({k: base[k].float() for k in (whole[0] | whole[1]) - own})
    return first, second


def interpolated_state(start: str | Path, end: str | Path, weight: float, max_rank: int | None = None
                       ) -> tuple[model_io.ModelConfig, dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(config, head weights, whole encoder tensors, LoRA factors) of ``(1 - weight) * start + weight * end``.

    The config is ``end``'s, with the adapter that stores the concatenated factors (scaling 1),
    cut to ``max_rank`` by a truncated SVD of each update where their rank would exceed it.
    A whole tensor that only one model stores takes the base encoder's value on the other side.
    """
    return _mixed_state(*_read_pair(start, end), weight, max_rank)


def _mixed_state(first: Folder, second: Folder, weight: float, max_rank: int | None
                 ) -> tuple[model_io.ModelConfig, dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    (first_config, first_heads, first_encoder), (second_config, second_heads, second_encoder) = first, second
    heads = {k: (1.0 - weight) * first_heads[k] + weight * second_heads[k] for k in second_heads}
    (first_factors, first_whole), (second_factors, second_whole) = (model_io.split_adapter(first_encoder),
                                                                    model_io.split_adapter(second_encoder))
    whole = {k: (1.0 - weight) * first_whole[k] + weight * second_whole[k] for k in second_whole}
    kept = [(config, factors, share) for config, factors, share in ((first_config, first_factors, 1.0 - weight),
                                                                     (second_config, second_factors, weight))
            if factors and share != 0.0]
    factors: dict[str, torch.Tensor] = {}
    for name in sorted({k for _, f, _ in kept for k in f}):
        parts = [(f[name], share * _lora_scale(config)) for config, f, share in kept if name in f]
        if ".lora_A." in name:
            factors[name] = torch.cat([a for a, _ in parts], dim=0)
        else:
            factors[name] = torch.cat([scale * b for b, scale in parts], dim=1)
    ranks = {f.shape[0] for k, f in factors.items() if ".lora_A." in k}
    if len(ranks) > 1:
        raise ModelFolderError(f"{first_config.name} and {second_config.name} adapt different sets of projections; "
                               "interpolation needs the same ones")
    rank = ranks.pop() if ranks else 0
    if max_rank is not None and rank > max_rank:
        factors, share = truncate_factors(factors, max_rank)
        logger.info("LoRA updates cut from rank %d to %d: %.2f%% of their squared norm kept", rank, max_rank, 100 * share)
        rank = max_rank
    config = model_io.ModelConfig.from_dict(asdict(second_config))
    config.encoder_params = sorted(whole)
    config.adapter = {"type": "lora", "rank": rank, "alpha": float(rank), "library": "peft"} if factors else {}
    return config, heads, whole, factors


def _write(folder: Path, config: model_io.ModelConfig, heads: dict[str, torch.Tensor], whole: dict[str, torch.Tensor],
           factors: dict[str, torch.Tensor]) -> EmotiqModel:
    """Write the interpolated state as a model folder and load it back (fp32, for fitting)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    for name, tensors in ((model_io.HEADS_FILE, heads), (model_io.ENCODER_FILE, whole), (model_io.ADAPTER_FILE, factors)):
        if tensors:
            save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / name))
    (folder / model_io.CONFIG_FILE).write_text(json.dumps(asdict(config), indent=2, ensure_ascii=False), encoding="utf-8")
    return EmotiqModel.load(folder, precision="fp32")


def interpolate(start: str | Path, end: str | Path, output: str | Path, config: TrainConfig,
                weights: tuple[float, ...] = DEFAULT_WEIGHTS, name: str | None = None,
                max_rank: int | None = None) -> tuple[EmotiqModel, list[InterpolationTrial]]:
    """Try each weight between ``start`` (0) and ``end`` (1), fit its decisions on the dev rows of
    ``config``, and save the one with the highest mean per-source dev macro-F1 to ``output``.
    ``max_rank`` caps the stored LoRA rank (see :func:`interpolated_state`); each trial is scored
    as it would be stored.

    Returns the saved model and every trial (in the order of ``weights``).
    """
    if not weights or any(not 0.0 <= w <= 1.0 for w in weights):
        raise ValueError(f"weights must lie between 0 (the start model) and 1 (the end model), got {list(weights)}")
    output = Path(output).expanduser()
    pair = _read_pair(start, end)
    _, dev_df = training_frames(config)
    trials: list[InterpolationTrial] = []
    best: tuple[float, Any] | None = None
    dev: ExampleSet | None = None
    with tempfile.TemporaryDirectory(prefix=".interpolate-", dir=output.parent if output.parent.exists() else None) as scratch:
        for weight in weights:
            model = _write(Path(scratch) / f"w{weight:g}", *_mixed_state(*pair, weight, max_rank))
            if dev is None:  # one base, one tokenizer: the dev rows are tokenized once
                dev = ExampleSet(dev_df, model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
            vectors = pooled_vectors(model, dev, config.loop)
            temperatures, thresholds, _ = fit_decisions(model, dev, list(model.heads), config.loop, vectors)
            scores = source_scores(model, dev, head_logits(model, vectors, list(model.heads), config.loop))
            trial = InterpolationTrial(weight, float(np.mean(list(scores.values()))) if scores else 0.0, scores)
            trials.append(trial)
            logger.info("weight %g: mean dev macro-F1 %.4f over %d source/head rows", weight, trial.dev_mean, len(scores))
            if best is None or trial.dev_mean > best[0]:
                best = (trial.dev_mean, (weight, model, temperatures, thresholds))
        assert best is not None
        weight, model, temperatures, thresholds = best[1]
        model.config.name = name or output.name
        model.config.training = {
            **model.config.training,
            "interpolation": {"start": {"folder": str(start), "name": pair[0][0].name},
                              "end": {"folder": str(end), "name": pair[1][0].name},
                              "weight": weight, "trials": [t.to_dict() for t in trials],
                              **({"max_rank": max_rank} if max_rank is not None else {})},
            "temperatures": temperatures, "thresholds": thresholds, **cutoff_record(model),
        }
        with model_io.staged_folder(output) as partial:
            model.save(partial)
    logger.info("kept weight %g (mean dev macro-F1 %.4f); saved %s", weight, best[0], output)
    return model, trials
