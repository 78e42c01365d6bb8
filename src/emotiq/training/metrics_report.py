"""Write evaluation results as ``metrics.json`` and a Markdown table (``metrics.md``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from emotiq.model import EmotiqModel

SYSTEM_NAMES = {
    "emotiq": "emotiq",
    "previous": "previous emotiq-small",
    "tfidf_lr": "TF-IDF + LR",
    "frozen_e5_lr": "frozen e5 + LR",
    "frozen_e5_lr_en_only": "frozen e5 + LR, English rows only",
}


def _cell(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.3f}"


def main_table(records: list[dict[str, Any]], published: dict[str, Any]) -> str:
    """Macro-F1 per test set and task, one column per system, plus ECE and the published figure."""
    df = pd.DataFrame(records)
    wide = df.pivot_table(index=["test_set", "lang", "task"], columns="system", values="macro_f1", aggfunc="first")
    ece = df[df["system"] == "emotiq"].set_index(["test_set", "lang", "task"])["ece"]
    n = df[df["system"] == "emotiq"].set_index(["test_set", "lang", "task"])["n"]
    systems = [s for s in SYSTEM_NAMES if s in wide.columns]
    header = "| test set | lang | task | n | " + " | ".join(SYSTEM_NAMES[s] for s in systems) + " | emotiq ECE | published |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for (test_set, lang, task), row in wide.iterrows():
        ref = published.get(f"{test_set}/{task}")
        ref_text = f"{ref[0]} {ref[1]:.3f} ({ref[2]})" if ref else ""
        cells = " | ".join(_cell(row.get(s)) for s in systems)
        lines.append(f"| {test_set} | {lang} | {task} | {int(n.get((test_set, lang, task), 0))} | {cells} | {_cell(ece.get((test_set, lang, task)))} | {ref_text} |")
    return "\n".join(lines)


def recall_table(records: list[dict[str, Any]]) -> str:
    """Macro-recall, accuracy, ECE and the ECE sampling alone gives, of single-label tasks."""
    df = pd.DataFrame([r for r in records if "macro_recall" in r and r["system"] == "emotiq"])
    if df.empty:
        return ""
    lines = ["| test set | task | n | macro-recall | accuracy | ECE | ECE of a calibrated model (sampling alone) |",
             "|---|---|---:|---|---|---|---|"]
    for _, r in df.iterrows():
        lines.append(f"| {r['test_set']} | {r['task']} | {int(r['n'])} | {r['macro_recall']:.3f} | {r['accuracy']:.3f} | "
                     f"{_cell(r.get('ece'))} | {_cell(r.get('ece_sampling'))} |")
    return "\n".join(lines)


def label_count_table(records: list[dict[str, Any]]) -> str:
    """Mean number of emotions per text, gold against emotiq's decisions (over each set's annotated labels)."""
    rows = [r for r in records if r["system"] == "emotiq" and "predicted_labels_per_text" in r]
    if not rows:
        return ""
    lines = ["| test set | task | gold labels per text | emotiq labels per text | ratio |", "|---|---|---|---|---|"]
    for r in rows:
        gold, predicted = r["gold_labels_per_text"], r["predicted_labels_per_text"]
        ratio = predicted / gold if gold else float("nan")
        lines.append(f"| {r['test_set']} | {r['task']} | {gold:.2f} | {predicted:.2f} | {_cell(ratio)} |")
    return "\n".join(lines)


def per_class_table(records: list[dict[str, Any]]) -> str:
    lines = ["| test set | task | per-class F1 (emotiq) |", "|---|---|---|"]
    for r in records:
        if r["system"] == "emotiq":
            classes = ", ".join(f"{k} {v:.2f}" for k, v in r["per_class_f1"].items())
            lines.append(f"| {r['test_set']} | {r['task']} | {classes} |")
    return "\n".join(lines)


def render_metrics(result: dict[str, Any]) -> str:
    """metrics.md's body: the test-set tables (when evaluated) and the behavioural suite (when run)."""
    parts = _test_set_parts(result) if "records" in result else []
    if "behaviour" in result:
        from emotiq.behaviour.report import behaviour_section

        parts.append(behaviour_section(result["behaviour"]))
    return "\n\n".join(parts)


def _load(result: dict[str, Any]) -> str:
    """The 1-minute load average at the end of the run, with what it means for the time (when recorded)."""
    load = result.get("load_avg_1m")
    if load is None:
        return ""
    return (f" on {result.get('usable_cpus', '?')} usable CPUs, 1-minute load average {load:.1f} at the end "
            "(above the CPU count, other work shared them and the time is no speed figure)")


def _test_set_parts(result: dict[str, Any]) -> list[str]:
    published = result["published"]
    return [
        (f"Measured by `emotiq evaluate` on {result['test_rows']} test rows in {result['seconds']:.0f} s{_load(result)} "
         f"(baselines fitted on the same {result['train_rows']} training rows as the model). "
         "Scores are macro-F1 over the classes present in each test set; ECE is the expected "
         "calibration error of emotiq's probabilities (15 bins)."),
        main_table(result["records"], published),
        ("Macro-recall, accuracy and ECE of emotiq on single-label tasks. The last column is the mean ECE "
         "that a perfectly calibrated model with emotiq's confidences would show on a set of this size, "
         "each prediction right with probability equal to its confidence (200 draws): on small sets, "
         "ECE is only meaningful above it."),
        recall_table(result["records"]),
        ("Emotions per text: the gold mean against the mean number emotiq predicts, both counted over "
         "the emotions each test set annotates:"),
        label_count_table(result["records"]),
        per_class_table(result["records"]),
        *([(f"Complaint outputs checked on all {result['consistency']['texts']} test texts: "
           f"{result['consistency']['contradictions']} where `is_complaint`, the complaint probability "
           "and the severity disagree.")] if "consistency" in result else []),
    ]


def write_metrics(folder: Path, model: EmotiqModel, result: dict[str, Any]) -> None:
    """Write ``metrics.json`` and ``metrics.md`` into ``folder`` and refresh its model card."""
    from emotiq.model_card import write_model_card

    (folder / "metrics.json").write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
    (folder / "metrics.md").write_text("# Evaluation\n\n" + render_metrics(result) + "\n", encoding="utf-8")
    write_model_card(folder, model.config)
