"""How much a model's scores move when a text changes in ways that should not matter.

Two perturbations, no gold labels used:

* ``names``: GoEmotions masks every name as ``[NAME]``. The first ``--texts`` dev
  texts with a placeholder are scored as published and twice with each ``[NAME]``
  filled by a first name drawn from ``emotiq.training.augment.NAMES`` (two seeded
  draws): name against other name (what a user sees), and placeholder against name.
* ``typos``: up to ``--per-source`` dev texts of every labelled source in the model's
  training recipe (Dutch and English), against the same text with typing slips
  (``emotiq.training.augment.misspell``: accents left off, lower case, letters
  swapped, dropped or doubled; seeded).

For each head, the change of a text is the largest absolute change of a label's
probability; the tables give its mean (also per language for ``typos``) and the
share of texts where it exceeds 0.1.

Usage::

    python benchmarks/bench_invariance.py --models models/emotiq-small other/model

Writes ``benchmarks/results/invariance.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import Column, machine_info, markdown_table, write_results

import emotiq
from emotiq.training.augment import NAMES, misspell

PLACEHOLDER = "[NAME]"


@dataclass
class Pairs:
    """Texts to compare: per comparison, the two versions of each text; and each text's language."""

    description: str
    comparisons: dict[str, tuple[list[str], list[str]]]
    languages: list[str]


def _filled(texts: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [re.sub(re.escape(PLACEHOLDER), lambda _: rng.choice(NAMES), text) for text in texts]


def names(args: argparse.Namespace) -> Pairs:
    frame = pd.read_csv(args.data_root / "goemotions" / "original" / "dev.tsv", sep="\t", header=None, names=["text", "ids", "id"])
    texts = frame[frame["text"].str.contains(PLACEHOLDER, regex=False)]["text"].head(args.texts).tolist()
    first, second = _filled(texts, 1), _filled(texts, 2)
    return Pairs(f"{len(texts)} GoEmotions dev texts that mention a person, names swapped",
                 {"name → other name": (first, second), "[NAME] → name": (texts, first)}, ["en"] * len(texts))


def typos(args: argparse.Namespace) -> Pairs:
    from emotiq.training.train import TrainConfig, training_frames

    config = TrainConfig.from_file(Path(args.models[0]) / "train_config.json")
    config.data_root = str(args.data_root)
    _, dev = training_frames(config)
    dev = pd.concat(part.sample(min(len(part), args.per_source), random_state=0) for _, part in dev.groupby("source"))
    rng = random.Random(5)
    texts = dev["text"].tolist()
    return Pairs(f"{len(texts)} dev texts (up to {args.per_source} per source of {args.models[0]}'s recipe), "
                 "each against a misspelled copy", {"text → misspelled": (texts, [misspell(t, rng) for t in texts])},
                 dev["lang"].tolist())


PERTURBATIONS: dict[str, Callable[[argparse.Namespace], Pairs]] = {"names": names, "typos": typos}


def sensitivity(folder: str, pairs: Pairs) -> list[dict[str, Any]]:
    """Per head and comparison: mean and share over 0.1 of each text's largest probability change."""
    model = emotiq.load(folder)
    languages = np.array(pairs.languages)
    rows = []
    for comparison, (before, after) in pairs.comparisons.items():
        a, b = model.predict_proba(before), model.predict_proba(after)
        for head in a:
            change = np.abs(a[head] - b[head]).max(axis=1)
            row = {"head": head, "comparison": comparison, "mean": float(change.mean()), "over": float((change > 0.1).mean())}
            row.update({f"mean_{lang}": float(change[languages == lang].mean()) for lang in ("nl", "en") if (languages == lang).any()})
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["models/emotiq-small"])
    parser.add_argument("--labels", nargs="+", help="How the tables name each model (default: its folder).")
    parser.add_argument("--perturbations", nargs="+", default=list(PERTURBATIONS), choices=list(PERTURBATIONS))
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--texts", type=int, default=400, help="names: texts with a [NAME] placeholder")
    parser.add_argument("--per-source", type=int, default=100, help="typos: dev texts per source")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/invariance"))
    args = parser.parse_args()
    labels = args.labels or args.models
    if len(labels) != len(args.models):
        parser.error("give one label per model")
    start = time.perf_counter()
    models = ", ".join(f"{label} = `{folder}`" for folder, label in zip(args.models, labels))
    intro = f"Change = the largest absolute change of a label's probability between the two versions of a text. Models: {models}."
    sections, record = ["# Sensitivity to what should not matter", "", intro], {}
    for name in args.perturbations:
        pairs = PERTURBATIONS[name](args)
        rows = [{**row, "model": label} for folder, label in zip(args.models, labels) for row in sensitivity(folder, pairs)]
        languages = [lang for lang in ("nl", "en") if f"mean_{lang}" in rows[0]] if len(set(pairs.languages)) > 1 else []
        columns = [Column("model", "model"), Column("head", "head"), Column("comparison", "change"),
                   Column("mean", "mean change", "{:.3f}"), Column("over", "> 0.1", "{:.1%}"),
                   *(Column(f"mean_{lang}", f"mean, {lang} texts", "{:.3f}") for lang in languages)]
        sections += ["", f"## {name}", "", pairs.description + ".", "", markdown_table(rows, columns)]
        record[name] = {"texts": len(pairs.languages), "rows": rows}
    markdown = "\n".join(sections)
    write_results(args.output, markdown, {"machine": machine_info(), **record, "seconds": round(time.perf_counter() - start, 1)})
    print(markdown)


if __name__ == "__main__":
    main()
