"""``emotiq evaluate``: score a model on every public test split, beside two baselines.

For each test set and each task it labels, the model, TF-IDF + logistic
regression, and logistic regression on frozen base-encoder embeddings are
scored in the same run (the baselines are fitted on the same training rows the
model was trained on). Dutch test sets also get a cross-lingual row: the frozen
baseline fitted on English rows only. Results go to ``metrics.json`` and
``metrics.md`` in the model folder, and into its model card.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emotiq.decode import EmotionRule, complaint_decision
from emotiq.heads import role_decoder
from emotiq.model import EmotiqModel
from emotiq.schema import EMOTION_LABELS, SENTIMENT_LABELS, SEVERITY_LABELS
from emotiq.text import clean_text, detect_language
from emotiq.training.baselines import cached_embeddings, head_data, linear_baseline, tfidf_features
from emotiq.training.mappings import EKMAN_LABELS, TWEETEVAL_EMOTION_LABELS, ekman_group, tweeteval_emotion_scores
from emotiq.training.metrics import multi_label_report, single_label_report
from emotiq.training.sources import goemotions_ekman, load_sources
from emotiq.training.train import TrainConfig, training_frames

logger = logging.getLogger(__name__)

Probs = dict[str, np.ndarray]

PUBLISHED: dict[tuple[str, str], tuple[str, float, str]] = {
    ("goemotions", "emotion_ekman"): ("macro_f1", 0.615, "reference, BERT-base size"),
    ("tweeteval_emotion", "emotion_native"): ("macro_f1", 0.802, "reference, larger models"),
    ("semeval2017_sentiment", "sentiment"): ("macro_recall", 0.737, "reference, larger models"),
    ("xci", "complaint"): ("macro_f1", 0.87, "reference, complaint identification"),
    ("xci", "severity"): ("macro_f1", 0.557, "reference, complaint severity"),
}


@dataclass(frozen=True)
class Task:
    """One evaluated quantity: how to read its gold labels and its predictions."""

    name: str
    labels: tuple[str, ...]
    multi_label: bool
    gold: Callable[[pd.DataFrame], np.ndarray | None]
    predicted: Callable[[Probs], np.ndarray]
    decide: Callable[[Probs, EmotionRule], np.ndarray] | None = None
    """Decisions given the emotion rule: 0/1 for a multi-label task, class ids for a single-label one."""


def _complaint_probs(p: Probs) -> np.ndarray:
    yes = 1.0 - p["complaint"][:, 0]
    return np.stack([1.0 - yes, yes], axis=1)


def _rows_with(column: str) -> Callable[[pd.DataFrame], np.ndarray | None]:
    def gold(df: pd.DataFrame) -> np.ndarray | None:
        values = df[column].to_numpy()
        return values if (values >= 0).any() else None

    return gold


def _emotion_gold(df: pd.DataFrame) -> np.ndarray | None:
    if df["emotions"].isna().all():
        return None
    return np.array([v if v is not None else [np.nan] * len(EMOTION_LABELS) for v in df["emotions"]], dtype=float)


def _tweeteval_gold(df: pd.DataFrame) -> np.ndarray | None:
    if df["source"].iloc[0] != "tweeteval_emotion":
        return None
    return df["native_label"].map(TWEETEVAL_EMOTION_LABELS.index).to_numpy()


def _emotion_sets(p: Probs, rule: EmotionRule) -> np.ndarray:
    return rule.decide(p["emotion"], EMOTION_LABELS).astype(float)


TASKS = [
    Task("sentiment", SENTIMENT_LABELS, False, _rows_with("sentiment"), lambda p: p["sentiment"]),
    Task("emotion", EMOTION_LABELS, True, _emotion_gold, lambda p: p["emotion"], _emotion_sets),
    Task("emotion_native", tuple(TWEETEVAL_EMOTION_LABELS), False, _tweeteval_gold, lambda p: tweeteval_emotion_scores(p["emotion"])),
    Task("complaint", ("no_complaint", "complaint"), False, _rows_with("complaint"), _complaint_probs),
    Task("severity", SEVERITY_LABELS, False, _rows_with("severity"), lambda p: p["complaint"],
         lambda p, t: complaint_decision(p["complaint"], 0.5)[1]),
]
EKMAN_TASK = Task("emotion_ekman", tuple(EKMAN_LABELS), True, lambda df: None, lambda p: np.asarray(ekman_group(p["emotion"])),
                  lambda p, t: np.asarray(ekman_group(_emotion_sets(p, t))))


def _ekman_gold(part: pd.DataFrame, ekman: pd.DataFrame) -> np.ndarray:
    """GoEmotions' official Ekman labels for the rows of ``part`` (NaN where absent)."""
    by_text = dict(zip(ekman["text"], ekman["ekman"]))
    missing = [np.nan] * len(EKMAN_LABELS)
    return np.array([by_text.get(text, missing) for text in part["text"]], dtype=float)


def _report(task: Task, gold: np.ndarray, probs: Probs, rule: EmotionRule) -> dict[str, Any]:
    """Metrics of one system on one task; NaN gold cells (labels a source does not annotate) are left out."""
    predicted = task.predicted(probs)
    decisions = task.decide(probs, rule) if task.decide else None
    if task.multi_label:
        keep = ~np.isnan(gold).all(axis=1)
        return multi_label_report(gold[keep], predicted[keep], list(task.labels), decisions=None if decisions is None else decisions[keep])
    keep = gold >= 0
    return single_label_report(gold[keep].astype(int), predicted[keep], list(task.labels),
                               decisions=None if decisions is None else decisions[keep])


def _systems_probs(model: EmotiqModel, frozen: EmotiqModel, train: pd.DataFrame, texts: list[str], seed: int,
                   previous: EmotiqModel | None = None, cache_dir: str | Path | None = None) -> dict[str, Probs]:
    """Probabilities of the model, of the ``previous`` model and of each baseline for ``texts``."""
    heads = head_data(train)
    train_texts = train["text"].tolist()
    start = time.perf_counter()
    systems = {"emotiq": model.predict_proba(texts)}
    logger.info("Model scored %d test texts in %.1f s", len(texts), time.perf_counter() - start)
    if previous is not None:
        systems["previous"] = previous.predict_proba(texts)
    tf_train, tf_test = tfidf_features(train_texts, texts)
    systems["tfidf_lr"] = linear_baseline(tf_train, heads, tf_test, seed)  # type: ignore[arg-type]
    emb_train, emb_test = cached_embeddings(frozen, train_texts, cache_dir), cached_embeddings(frozen, texts, cache_dir)
    systems["frozen_e5_lr"] = linear_baseline(emb_train, heads, emb_test, seed)
    english = (train["lang"] == "en").to_numpy()
    systems["frozen_e5_lr_en_only"] = linear_baseline(emb_train[english], head_data(train[english].reset_index(drop=True)), emb_test, seed)
    return systems


def _has_heads(task: Task, probs: Probs) -> bool:
    head = "sentiment" if task.name == "sentiment" else ("emotion" if task.name.startswith("emotion") else "complaint")
    return head in probs


def _slice(probs: Probs, rows: np.ndarray) -> Probs:
    return {name: values[rows] for name, values in probs.items()}


def evaluate_sets(systems: dict[str, Probs], test: pd.DataFrame, ekman: pd.DataFrame | None,
                  rules: dict[str, EmotionRule]) -> list[dict[str, Any]]:
    """One record per (test set, task, system) with the metrics of that system.

    ``rules`` gives each emotiq model's emotion rule, its thresholds in one row or one row per
    test row (picked by each text's language); other systems decide at 0.5 per emotion.
    """
    records = []
    for source, part in test.groupby("source", sort=True):
        rows = part.index.to_numpy()
        tasks = [(t, t.gold(part)) for t in TASKS]
        if source == "goemotions" and ekman is not None:
            tasks.append((EKMAN_TASK, _ekman_gold(part, ekman)))
        for task, gold in tasks:
            if gold is None or not all(_has_heads(task, probs) for probs in systems.values()):
                continue
            for system, probs in systems.items():
                if system.endswith("en_only") and part["lang"].iloc[0] != "nl":
                    continue
                rule = rules.get(system, EmotionRule(np.full(len(EMOTION_LABELS), 0.5))).rows(rows)
                # emotiq's own decoding for emotiq models; a baseline's severity is its most probable level
                used = task if system in rules or task.name != "severity" else replace(task, decide=None)
                report = _report(used, gold, _slice(probs, rows), rule)
                records.append({"test_set": source, "lang": part["lang"].iloc[0], "task": task.name, "system": system, **report})
    return records


def complaint_consistency(model: EmotiqModel, probs: Probs) -> dict[str, int]:
    """Count texts whose complaint fields contradict each other, decoded as ``analyze`` decodes them.

    A contradiction is ``is_complaint`` disagreeing with the probability and its threshold, or
    with a severity above 0.
    """
    if "complaint" not in model.heads:
        return {"texts": 0, "contradictions": 0}
    decoder = role_decoder("complaint")
    spec = model.heads["complaint"].spec
    bad = 0
    for row in probs["complaint"]:
        c = decoder(spec, row)["complaint"]
        bad += c.is_complaint != (c.probability >= spec.threshold) or c.is_complaint != (c.severity > 0)
    return {"texts": len(probs["complaint"]), "contradictions": int(bad)}


def _machine_load() -> dict[str, Any]:
    """Usable CPUs and the 1-minute load average at the end of a run (where the platform tells them):
    a load above the CPU count means other work shared them and the run's time is no speed figure."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"usable_cpus": cpus, **({"load_avg_1m": round(os.getloadavg()[0], 1)} if hasattr(os, "getloadavg") else {})}


def run_evaluation(model_dir: str | Path, config: TrainConfig, *, limit: int | None = None,
                   previous: str | Path | None = None, cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Evaluate the model in ``model_dir`` (and a ``previous`` model folder beside it);
    write ``metrics.json``, ``metrics.md`` and the card.

    ``cache_dir`` keeps the frozen base encoder's embeddings of the training and test
    texts, which do not depend on the model evaluated, for later runs.
    """
    start = time.perf_counter()
    model = EmotiqModel.load(model_dir)
    before = EmotiqModel.load(previous) if previous else None
    frozen = EmotiqModel.from_base(model.config.base)
    train, _ = training_frames(config)
    test = load_sources(config.sources, data_root=config.data_root, permissive_only=config.permissive_only, splits=["test"])
    if limit:  # quick check: a few rows per set, baselines fitted on fewer rows too
        test = test.groupby("source", group_keys=False).head(limit).reset_index(drop=True)
        train = train.groupby("source", group_keys=False).head(limit * 5).reset_index(drop=True)
    ekman = goemotions_ekman("test", data_root=config.data_root) if "goemotions" in set(test["source"]) else None
    systems = _systems_probs(model, frozen, train, test["text"].tolist(), config.loop.seed, before, cache_dir)
    languages = [detect_language(clean_text(text).text) for text in test["text"]]  # as analyze picks thresholds
    rules = {name: EmotionRule.of(m.heads["emotion"].spec, languages)
             for name, m in (("emotiq", model), ("previous", before)) if m is not None and "emotion" in m.heads}
    records = evaluate_sets(systems, test, ekman, rules)
    result = {"model": model.config.name, "previous": str(previous) if previous else None, "records": records,
              "test_rows": len(test), "train_rows": len(train), "consistency": complaint_consistency(model, systems["emotiq"]),
              "seconds": round(time.perf_counter() - start, 1), **_machine_load(), "published": {f"{k[0]}/{k[1]}": v for k, v in PUBLISHED.items()}}
    from emotiq.behaviour import run_suite
    from emotiq.behaviour.record import RECORD_PRECISION

    model.to(precision=RECORD_PRECISION)  # the suite's rates are recorded in fp32, reproducible on any CPU
    result["behaviour"] = run_suite(model, settings={"precision": RECORD_PRECISION}).to_dict()
    from emotiq.training.metrics_report import write_metrics

    write_metrics(Path(model_dir), model, result)
    return result
