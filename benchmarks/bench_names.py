"""How much a model's scores move when one person's name takes the place of another.

GoEmotions masks every name as ``[NAME]``. The first ``--texts`` dev texts with a
placeholder are scored three ways: as published, and twice with each ``[NAME]``
filled by a first name drawn from ``emotiq.training.augment.NAMES`` (two seeded
draws). For each head, the change of a text is the largest absolute change of a
label's probability; the table gives its mean and the share of texts where it
exceeds 0.1, between the two fillings (name against name: what a user sees) and
between the placeholder and the first filling. No gold labels are used.

Usage::

    python benchmarks/bench_names.py --models models/emotiq-small other/model

Writes ``benchmarks/results/names.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import Column, machine_info, markdown_table, write_results

import emotiq
from emotiq.training.augment import NAMES

PLACEHOLDER = "[NAME]"


def dev_texts(data_root: Path, limit: int) -> list[str]:
    frame = pd.read_csv(data_root / "goemotions" / "original" / "dev.tsv", sep="\t", header=None, names=["text", "ids", "id"])
    return frame[frame["text"].str.contains(PLACEHOLDER, regex=False)]["text"].head(limit).tolist()


def filled(texts: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [re.sub(re.escape(PLACEHOLDER), lambda _: rng.choice(NAMES), text) for text in texts]


def sensitivity(folder: str, texts: list[str]) -> list[dict[str, Any]]:
    """Per head of the model in ``folder``: mean and share over 0.1 of each text's largest probability change."""
    model = emotiq.load(folder)
    masked, first, second = (model.predict_proba(t) for t in (texts, filled(texts, 1), filled(texts, 2)))
    rows = []
    for head in masked:
        swap = np.abs(first[head] - second[head]).max(axis=1)
        mask = np.abs(masked[head] - first[head]).max(axis=1)
        rows.append({"model": folder, "head": head, "swap_mean": float(swap.mean()), "swap_over": float((swap > 0.1).mean()),
                     "mask_mean": float(mask.mean()), "mask_over": float((mask > 0.1).mean())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["models/emotiq-small"])
    parser.add_argument("--labels", nargs="+", help="How the table names each model (default: its folder).")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--texts", type=int, default=400)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/names"))
    args = parser.parse_args()
    start = time.perf_counter()
    texts = dev_texts(args.data_root, args.texts)
    labels = args.labels or args.models
    if len(labels) != len(args.models):
        parser.error("give one label per model")
    rows = [{**row, "model": label} for folder, label in zip(args.models, labels) for row in sensitivity(folder, texts)]
    columns = [Column("model", "model"), Column("head", "head"),
               Column("swap_mean", "name → other name: mean change", "{:.3f}"), Column("swap_over", "> 0.1", "{:.1%}"),
               Column("mask_mean", "[NAME] → name: mean change", "{:.3f}"), Column("mask_over", "> 0.1 ", "{:.1%}")]
    markdown = "\n".join([
        "# Sensitivity to names", "",
        (f"{len(texts)} GoEmotions dev texts that mention a person; change = the largest absolute change of a label's "
         f"probability when the names are swapped. Models: {', '.join(f'{label} = `{folder}`' for folder, label in zip(args.models, labels))}."), "",
        markdown_table(rows, columns)])
    write_results(args.output, markdown, {"machine": machine_info(), "texts": len(texts), "rows": rows,
                                          "seconds": round(time.perf_counter() - start, 1)})
    print(markdown)


if __name__ == "__main__":
    main()
