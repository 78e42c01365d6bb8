"""Compare models on the dev rows with their decisions cross-fitted, so no row scores a fit it shaped.

A model's temperatures and emotion thresholds are fitted on dev rows, so scoring it on those same
rows flatters it, and two models whose decisions were fitted on different rows do not compare
fairly. Here every model gets the same treatment: the dev rows (capped per source as the recipe
caps them) are split at random into halves A and B; each model's decisions are fitted on half A
(``emotiq.training.loop.fit_decisions``), and its macro-F1 per source and head and its emotions
per text against the gold mean (``emotiq.training.recalibrate.emotion_label_counts``) are scored on
half B; then the halves swap and the two results are averaged. Test splits are never read.

The dev pool is the recipe's training sources (``--config``) plus any ``--add-sources`` (for
example sources a model was not trained on). Decisions are fitted on the recipe's training
sources' rows of a half, as training fits them, or on all of them with ``--fit-on-all``.

Usage::

    python benchmarks/bench_dev_crossfit.py --models models/emotiq-small other/model \\
        --add-sources goemotions_nl cesamard_nl xci_nl

Writes ``benchmarks/results/dev_crossfit.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import copy
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from common import Column, machine_info, markdown_table, write_results

from emotiq.model import EmotiqModel
from emotiq.training.examples import ExampleSet
from emotiq.training.loop import fit_decisions, head_logits, pooled_vectors, source_scores
from emotiq.training.recalibrate import emotion_label_counts
from emotiq.training.train import BUILTIN_TARGETS, TrainConfig, training_frames, training_sources


def dev_pool(config: TrainConfig, extra: list[str]) -> pd.DataFrame:
    """The capped dev rows of the recipe's training sources and of ``extra``."""
    pooled = copy.deepcopy(config)
    own = training_sources(config)  # None: every registered source, ``extra`` among them
    pooled.sources = None if own is None else list(dict.fromkeys([*own, *extra]))
    pooled.eval_only = []
    return training_frames(pooled)[1]


def crossfit(model_dir: str, dev: pd.DataFrame, halves: np.ndarray, fit_sources: set[str] | None,
             config: TrainConfig) -> dict[str, dict[str, float]]:
    """Macro-F1 per ``source/head`` and emotions per text / gold per source, averaged over both folds."""
    model = EmotiqModel.load(model_dir, precision="fp32")
    heads = list(model.heads)
    pristine = {h: (model.heads[h].spec.temperature, copy.deepcopy(model.heads[h].spec.extra)) for h in heads}
    parts = []
    for in_half in (halves, ~halves):
        df = dev[in_half].reset_index(drop=True)
        data = ExampleSet(df, model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
        parts.append((df, data, pooled_vectors(model, data, config.loop)))
    folds = []
    for fit, score in ((0, 1), (1, 0)):
        for h, (temperature, extra) in pristine.items():  # each fold starts from the decisions the model shipped with
            spec = model.heads[h].spec
            spec.temperature = temperature
            spec.extra.clear()
            spec.extra.update(copy.deepcopy(extra))
        df, _, vectors = parts[fit]
        keep = np.ones(len(df), bool) if fit_sources is None else df["source"].isin(fit_sources).to_numpy().copy()
        fitting = ExampleSet(df[keep].reset_index(drop=True), model.encoder, max_tokens=config.loop.max_tokens, **BUILTIN_TARGETS)
        fit_decisions(model, fitting, heads, config.loop, vectors[torch.from_numpy(keep)])
        _, data, vectors = parts[score]
        logits = head_logits(model, vectors, heads, config.loop)
        folds.append((source_scores(model, data, logits),
                      {c.source: c.ratio for c in emotion_label_counts(model, data, config, logits)}))
    return {kind: {key: float(np.mean([f[i][key] for f in folds])) for key in folds[0][i]}
            for i, kind in enumerate(("scores", "ratios"))}


def render(labels: list[str], results: list[dict[str, dict[str, float]]], note: str) -> str:
    keys = sorted(results[0]["scores"])
    rows = [{"row": key, **{label: r["scores"].get(key) for label, r in zip(labels, results)}} for key in keys]
    rows.append({"row": "**mean**", **{label: float(np.mean(list(r["scores"].values()))) for label, r in zip(labels, results)}})
    score_cols = [Column("row", "source/head"), *(Column(label, label, "{:.3f}") for label in labels)]
    ratio_keys = sorted(results[0]["ratios"])
    ratio_rows = [{"row": key, **{label: r["ratios"].get(key) for label, r in zip(labels, results)}} for key in ratio_keys]
    ratio_cols = [Column("row", "source"), *(Column(label, label, "{:.2f}x") for label in labels)]
    return "\n\n".join([
        "# Models compared on dev rows with cross-fitted decisions",
        note,
        "## Macro-F1 per source and head (mean of the two folds)",
        markdown_table(rows, score_cols),
        "## Emotions per text, predicted / gold (1.00x: as many as the annotators gave)",
        markdown_table(ratio_rows, ratio_cols),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["models/emotiq-small"])
    parser.add_argument("--labels", nargs="+", help="How the tables name each model (default: its folder).")
    parser.add_argument("--config", default="models/emotiq-small/train_config.json", help="Training recipe whose dev rows are used.")
    parser.add_argument("--add-sources", nargs="*", default=[], help="Further sources whose dev rows are scored.")
    parser.add_argument("--fit-on-all", action="store_true", help="Fit decisions on every pooled source, not only the recipe's training sources.")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0, help="Seed of the random halves.")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/dev_crossfit"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    labels = args.labels or [Path(m).name for m in args.models]
    if len(labels) != len(args.models):
        parser.error("give one --labels entry per model")
    start = time.perf_counter()
    config = TrainConfig.from_file(args.config)
    config.data_root = str(args.data_root)
    dev = dev_pool(config, args.add_sources)
    halves = np.random.default_rng(args.seed).random(len(dev)) < 0.5
    fit_sources = None if args.fit_on_all else set(training_sources(config) or dev["source"].unique())
    results = []
    for model_dir, label in zip(args.models, labels):
        results.append(crossfit(model_dir, dev, halves, fit_sources, config))
        print(f"{label}: mean macro-F1 {np.mean(list(results[-1]['scores'].values())):.4f}", flush=True)
    counts = dev["source"].value_counts().sort_index()
    fitted_on = "every pooled source" if fit_sources is None else "the recipe's training sources"
    note = (f"Dev rows of {len(counts)} sources ({len(dev):,} rows, at most {config.max_dev_per_source} per source; recipe "
            f"`{args.config}`{', plus ' + ', '.join(args.add_sources) if args.add_sources else ''}), split into random halves "
            f"(seed {args.seed}). Each model's temperatures and emotion thresholds are fitted on one half ({fitted_on}) and "
            "scored on the other, then the reverse; figures are the mean of the two. No test row is read. Command: "
            f"`python benchmarks/bench_dev_crossfit.py --models {' '.join(args.models)}"
            f"{' --add-sources ' + ' '.join(args.add_sources) if args.add_sources else ''}{' --fit-on-all' if args.fit_on_all else ''}`.")
    markdown = render(labels, results, note)
    record: dict[str, Any] = {"models": dict(zip(labels, args.models)), "dev_rows": counts.to_dict(), "seed": args.seed,
                              "fitted_on": fitted_on, "results": dict(zip(labels, results))}
    md, _ = write_results(args.output, markdown, {"machine": machine_info(), **record, "seconds": round(time.perf_counter() - start, 1)})
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
