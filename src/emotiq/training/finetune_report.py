"""What a fine-tuning run reports: eval metrics, the majority baseline, drift of the
other heads, and the files written beside the model (metrics.json, confusion
matrix, model-card sections)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from emotiq.heads import HeadSpec, encoder_passes
from emotiq.training.metrics import multi_label_report, single_label_report

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
CONFUSION_FILE = "confusion_matrix.png"


def gold_matrix(spec: HeadSpec, labels: list[Any]) -> np.ndarray:
    """Class indices (softmax head) or a 0/1 matrix (sigmoid head) for ``labels``."""
    if spec.kind == "softmax":
        return np.array([spec.labels.index(v) for v in labels])
    return np.array([[1.0 if label in v else 0.0 for label in spec.labels] for v in labels])


def _per_class(confusion: np.ndarray, labels: list[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class from a (gold x predicted) count matrix."""
    out = {}
    for i, label in enumerate(labels):
        tp, support, predicted = confusion[i, i], confusion[i].sum(), confusion[:, i].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4), "f1": round(float(f1), 4),
                      "support": int(support)}
    return out


def _single(spec: HeadSpec, gold: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    report = single_label_report(gold, probs, spec.labels)
    confusion = np.zeros((len(spec.labels), len(spec.labels)), dtype=int)
    np.add.at(confusion, (gold, probs.argmax(1)), 1)
    return {"macro_f1": report["macro_f1"], "accuracy": report["accuracy"], "ece": report["ece"],
            "per_class": _per_class(confusion, spec.labels), "confusion_matrix": confusion.tolist()}


def _multi(spec: HeadSpec, gold: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    thresholds = spec.thresholds()
    report = multi_label_report(gold, probs, spec.labels, thresholds)
    pred = probs >= np.asarray(thresholds)
    per_class, confusion = {}, []
    for j, label in enumerate(spec.labels):
        g, p = gold[:, j] > 0, pred[:, j]
        cells = [[int((~g & ~p).sum()), int((~g & p).sum())], [int((g & ~p).sum()), int((g & p).sum())]]
        per_class[label] = _per_class(np.array(cells), ["no", "yes"])["yes"]
        confusion.append(cells)
    exact = float(np.mean((pred == (gold > 0)).all(1)))
    return {"macro_f1": report["macro_f1"], "exact_match": exact, "ece": report["ece"], "per_class": per_class,
            "confusion_matrix": confusion}


def evaluate(spec: HeadSpec, probs: np.ndarray, labels: list[Any]) -> dict[str, Any]:
    """Macro-F1, per-class precision/recall/F1, confusion matrix (multi-label: one 2x2 per label)."""
    gold = gold_matrix(spec, labels)
    scores = _single(spec, gold, probs) if spec.kind == "softmax" else _multi(spec, gold, probs)
    return {"n": len(labels), **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}}


def majority_baseline(spec: HeadSpec, train_labels: list[Any], eval_labels: list[Any]) -> dict[str, Any]:
    """Scores of always predicting the most frequent training label (multi-label: label set)."""
    common = Counter(train_labels).most_common(1)[0][0]
    probs = gold_matrix(spec, [common] * len(eval_labels)).astype(float)
    if spec.kind == "softmax":
        probs = np.eye(len(spec.labels))[probs.astype(int)]
    scores = evaluate(spec, probs, eval_labels)
    shown = common if isinstance(common, str) else "|".join(common)
    return {"predicts": shown, "macro_f1": scores["macro_f1"], **{k: scores[k] for k in ("accuracy", "exact_match") if k in scores}}


def drift(specs: dict[str, HeadSpec], before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """How far each kept head's outputs moved: mean/max absolute probability change and decision agreement."""
    out = {}
    for name, spec in specs.items():
        change = np.abs(after[name] - before[name])
        if spec.kind == "softmax":
            same = after[name].argmax(1) == before[name].argmax(1)
        else:
            t = np.asarray(spec.thresholds())
            same = ((after[name] >= t) == (before[name] >= t)).all(1)
        out[name] = {"texts": len(change), "mean_abs_change": round(float(change.mean()), 5) if change.size else 0.0,
                     "max_abs_change": round(float(change.max()), 5) if change.size else 0.0,
                     "agreement": round(float(same.mean()), 4) if same.size else 1.0}
    return out


def plot_confusion(path: Path, spec: HeadSpec, metrics: dict[str, Any]) -> Path:
    """Confusion matrix heat map (multi-label: true/false positives and negatives per label)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if spec.kind == "softmax":
        matrix, rows, cols = np.array(metrics["confusion_matrix"]), spec.labels, spec.labels
        xlabel, ylabel = "predicted", "true"
    else:
        matrix = np.array([[c[1][1], c[0][1], c[1][0], c[0][0]] for c in metrics["confusion_matrix"]])
        rows, cols, xlabel, ylabel = spec.labels, ["TP", "FP", "FN", "TN"], "", "label"
    size = max(4.0, 0.6 * max(len(rows), len(cols)) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > matrix.max() / 2 else "black")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{spec.name}: eval macro-F1 {metrics['macro_f1']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _counts_table(summary: dict[str, Any]) -> str:
    rows = ["| label | train | eval |", "|---|---:|---:|"]
    train, held = summary["label_counts"]["train"], summary["label_counts"]["eval"]
    rows += [f"| {label} | {train.get(label, 0)} | {held.get(label, 0)} |" for label in sorted(set(train) | set(held))]
    return "\n".join(rows)


def data_section(summary: dict[str, Any]) -> str:
    """Model-card section: how to use the folder, where the rows came from, label counts, dropped rows, warnings."""
    head = (f"Fine-tuned head `{summary['task']}` ({summary['mode'].replace('_', ' ')}) on {summary['train_rows']} training rows "
            f"(of {summary['train_input_rows']} in the input); evaluated on {summary['eval_rows']} rows ({summary['eval_source']}).")
    task = summary["task"]
    shown = (f"the retrained `{task}` scores" if summary["mode"] == "adapt"
             else f"`Analysis.custom[\"{task}\"]` and the columns `{task}`, `{task}_<label>`")
    usage = ("Load this folder with `emotiq.load(\"path/to/this/folder\")`, or score a file with "
             f"`emotiq score feedback.csv --model path/to/this/folder`; results carry {shown}.")
    lines = [head, "", usage, "", _counts_table(summary), ""]
    if summary.get("label_map"):
        lines += ["Label map: " + ", ".join(f"`{k}` -> `{v}`" for k, v in summary["label_map"].items()), ""]
    dropped = [f"- {why}: {n}" for why, n in summary["dropped"].items()] or ["- none"]
    lines += ["Rows left out:", "", *dropped, ""]
    if summary["warnings"]:
        lines += ["Warnings:", "", *(f"- {w}" for w in summary["warnings"]), ""]
    return "\n".join(lines)


SPACE_TEXT = {
    "model": "the model's own encoder vectors",
    "topic": "the base encoder's vectors (before emotiq's fine-tuning), which keep what a text is about",
    "adapted": "a copy of the base encoder adapted to these labels with LoRA (`task_adapter.safetensors`), so the"
               " built-in heads keep their own encoder and their scores",
}
"""How a model card names each vector space a custom head may read."""


def times(passes: int) -> str:
    """``2`` -> ``"twice"``: how often scoring runs the encoder."""
    return {1: "once", 2: "twice", 3: "three times"}.get(passes, f"{passes} times")


def learned_from_label_names(metrics: dict[str, Any]) -> bool:
    """Whether the chosen head's linear part (a ``frozen`` or ``hybrid`` head, or the linear head on a
    ``lora`` candidate's adapted vectors, alone or in a blend) kept the label-name rows."""
    candidates = {c["strategy"]: c for c in metrics.get("candidates", [])}
    chosen = next((c for c in candidates.values() if c.get("status") == "chosen"), None)
    if chosen is None:
        return False
    parts = [chosen] if chosen["strategy"] != "blend" else [candidates.get(name, {}) for name in chosen["settings"].get("of", [])]
    return any(part.get("settings", {}).get("label_names_weight") for part in parts)


def metrics_section(metrics: dict[str, Any]) -> str:
    """Model-card section: eval scores beside the majority baseline, per-class scores, drift."""
    base = metrics["majority_baseline"]
    lines = [f"Eval macro-F1 **{metrics['macro_f1']:.3f}** (majority baseline {base['macro_f1']:.3f}, always `{base['predicts']}`)"]
    if "accuracy" in metrics:
        lines[0] += f"; accuracy {metrics['accuracy']:.3f} (baseline {base['accuracy']:.3f})"
    if metrics.get("refit_on_all_rows"):
        lines[0] += (". The saved head was then fitted again, with the same settings, on the training and eval rows together;"
                     " these eval scores and its calibration come from fits that left the eval rows out")
    spaces = str(metrics.get("vectors", "model")).split(" + ")
    passes = encoder_passes(spaces)
    fraction = {2: "half the speed", 3: "a third of the speed"}.get(passes, f"1/{passes} of the speed")
    speed = f"; scoring runs the encoder {times(passes)}, at about {fraction}"
    if len(spaces) > 1:
        lines[0] += (f". The head blends two views of each text, their logits scaled to the same spread and averaged: {SPACE_TEXT[spaces[0]]},"
                     f" and {SPACE_TEXT[spaces[1]]}{speed}")
    elif spaces[0] != "model":
        lines[0] += (f". The head reads {SPACE_TEXT[spaces[0]]}{speed}"
                     + (" (fine-tune with `topic_vectors=False` / `--no-topic-vectors` for one pass)" if spaces[0] == "topic" else ""))
    if learned_from_label_names(metrics):
        lines[0] += (". Its vector part also learned from the label names themselves (each name embedded like a text, one"
                     " more example of its label), which cross-validation preferred to the labelled rows alone")
    lines += ["", "| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |" for k, v in metrics["per_class"].items()]
    if metrics.get("candidates"):
        lines += ["", f"Strategies tried (chosen: `{metrics['strategy']}`):", "",
                  "| strategy | outcome | macro-F1 | scored on | held-out macro-F1 | seconds | settings / note |", "|---|---|---:|---|---:|---:|---|"]
        for c in metrics["candidates"]:
            settings = {k: v for k, v in c["settings"].items() if k != "held_out_score"}
            detail = "; ".join(x for x in (", ".join(f"{k}={v}" for k, v in settings.items()), c["note"]) if x)
            score = f"{c['score']:.3f}" if c["score"] is not None else "-"
            held = c["settings"].get("held_out_score", c["score"] if c["scored_on"].endswith("held-out rows") else None)
            lines.append(f"| {c['strategy']} | {c['status']} | {score} | {c['scored_on'] or '-'} | "
                         f"{f'{held:.3f}' if held is not None else '-'} | {c['seconds']:.0f} | {detail or '-'} |")
    if metrics.get("other_heads_drift"):
        lines += ["", "Change in the other heads' outputs on the eval texts:", "", "| head | mean abs change | max abs change | same decision |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {k} | {v['mean_abs_change']:.4f} | {v['max_abs_change']:.4f} | {v['agreement']:.1%} |"
                  for k, v in metrics["other_heads_drift"].items()]
    return "\n".join(lines) + "\n"


def write_reports(folder: Path, spec: HeadSpec, metrics: dict[str, Any], summary: dict[str, Any]) -> None:
    """metrics.json, confusion_matrix.png and the card sections (read by the model card writer)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {**metrics, "data": summary}
    (folder / METRICS_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot_confusion(folder / CONFUSION_FILE, spec, metrics)
    (folder / "card_sections.md").write_text(data_section(summary), encoding="utf-8")
    (folder / "metrics.md").write_text(metrics_section(metrics), encoding="utf-8")
