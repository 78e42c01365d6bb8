"""Fine-tuning on "your own labels": emotiq finetune (auto and each strategy) against tuned baselines.

Three labelled sets that the bundled model was not trained on stand in for a
company's own categories:

* ``banking77``: 77 intents of English banking-app queries (official train/test);
* ``absa_en``: SemEval-2016 ABSA English restaurant reviews, sentences whose
  aspect categories all share one entity (FOOD, SERVICE, RESTAURANT, AMBIENCE,
  DRINKS, LOCATION), labelled with that entity (official train/test);
* ``absa_nl``: the same for the Dutch SemEval-2016 restaurant reviews; only the
  training file is available, so a seeded stratified 25% of it is the test split.

For each training size (10 rows per class, then seeded stratified subsamples of
100, 500, 2,000 rows and all rows) every system is trained on the same rows and
scored on the full test split, in the same run:

* ``auto`` and each strategy of ``emotiq finetune`` (``frozen``, ``hybrid``,
  ``lora``, ``contrastive``) on the bundled model, with the default time budget
  (the run holds out 10% of the given rows to score the candidates and calibrate the
  winner; a winning linear head is then fitted again on all the given rows);
* ``TF-IDF + LR``: word 1-2 and char 2-5 TF-IDF, logistic regression with C
  chosen by 3-fold cross-validation on the training rows;
* ``frozen e5 + LR``: logistic regression (C by 3-fold cross-validation) on the
  mean-pooled vectors of multilingual-e5-small itself (the base encoder before
  emotiq's fine-tuning, as a user would take it).

Only ``auto``'s training time is measured from a cold start; the other emotiq
strategies reuse the encoder vectors of texts already embedded in this run (a
time is marked when all its training texts were embedded before it). A head whose
encoder is unchanged is scored from the cached test vectors through the same path
as ``predict_proba`` (lexical part and language included), checked against
``predict_proba`` on the first rows. Usage::

    python benchmarks/bench_finetune.py                                  # whole grid
    python benchmarks/bench_finetune.py --sets banking77 --sizes 10pc,500 --strategies auto,hybrid

Writes ``benchmarks/results/finetune.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import machine_info, write_results

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "finetune"
STRATEGIES = ("auto", "frozen", "hybrid", "lora", "contrastive")
CANDIDATES = (*STRATEGIES[1:], "blend")
"""Columns of the candidates table (``blend`` is tried by ``auto`` only)."""
BASELINES = ("tfidf_lr", "frozen_lr")
SIZES = "10pc,100,500,2000,all"
PUBLISHED = {
    "banking77": "accuracy 0.93 with BERT-base fine-tuned on all rows (Casanueva et al., 2020)",
    "absa_en": "none for this single-entity sentence task (SemEval-2016 slot 1 scores entity#attribute pairs, multi-label)",
    "absa_nl": "none for this single-entity sentence task (and this test split is our own)",
}


def _absa(path: Path) -> pd.DataFrame:
    rows = []
    for sentence in ET.parse(path).getroot().iter("sentence"):
        entities = {o.get("category", "").split("#")[0] for o in sentence.iter("Opinion")}
        if len(entities) == 1:
            rows.append({"text": sentence.findtext("text", "").strip(), "label": entities.pop()})
    return pd.DataFrame(rows).drop_duplicates("text").reset_index(drop=True)


def load_banking77(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = (pd.read_csv(root / "banking77" / name).rename(columns={"category": "label"}) for name in ("train.csv", "test.csv"))
    return train, test


def load_absa_en(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = root / "semeval2016_absa_en_restaurants"
    return _absa(folder / "ABSA16_Restaurants_Train_SB1_v2.xml"), _absa(folder / "EN_REST_SB1_TEST.xml.gold")


def load_absa_nl(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    rows = _absa(root / "semeval2016_absa_nl_restaurants" / "restaurants_dutch_training.xml")
    train, test = train_test_split(rows, test_size=0.25, stratify=rows["label"], random_state=13)
    return train.reset_index(drop=True), test.reset_index(drop=True)


SETS: dict[str, Callable[[Path], tuple[pd.DataFrame, pd.DataFrame]]] = {
    "banking77": load_banking77, "absa_en": load_absa_en, "absa_nl": load_absa_nl}


def subsample(train: pd.DataFrame, size: str, seed: int) -> pd.DataFrame:
    """``10pc``: 10 rows per class (all of a smaller class); a number: stratified rows; ``all``."""
    if size == "all" or (size != "10pc" and int(size) >= len(train)):
        return train
    if size == "10pc":
        parts = [group.sample(n=min(10, len(group)), random_state=seed) for _, group in train.groupby("label")]
        return pd.concat(parts).reset_index(drop=True)
    from sklearn.model_selection import train_test_split

    part, _ = train_test_split(train, train_size=int(size), stratify=train["label"], random_state=seed)
    counts = part["label"].value_counts()
    return part[part["label"].isin(counts[counts >= 2].index)].reset_index(drop=True)  # a class needs 2 rows


def scores(gold: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {"macro_f1": float(f1_score(gold, pred, average="macro")), "accuracy": float(accuracy_score(gold, pred))}


class Vectors:
    """The bundled model's encoder vectors (or its base encoder's: ``space="topic"``), memoised per text
    while the encoder weights are unchanged."""

    def __init__(self, model: Any) -> None:
        self.model, self.memo, self.original = model, {}, None

    def fingerprint(self, model: Any) -> float:
        return float(model.encoder.body.encoder.layer[-1].output.dense.weight.detach().double().sum())

    def install(self) -> None:
        """Route ``EmotiqModel.embed`` through the memo (keyed by encoder fingerprint and text)."""
        from emotiq.model import EmotiqModel

        self.original = original = EmotiqModel.embed
        memo = self.memo

        def embed(model: Any, texts: list[str], **options: Any) -> np.ndarray:
            if options.get("space", "model") != "model":  # another encoder: memoised under its own fingerprint
                return original(model, texts, **options)
            key = self.fingerprint(model)
            missing = list(dict.fromkeys(t for t in texts if (key, t) not in memo))
            if missing:
                for text, vector in zip(missing, original(model, missing, **options)):
                    memo[(key, text)] = vector
            return np.stack([memo[(key, t)] for t in texts]) if texts else np.zeros((0, model.encoder.hidden_size))

        EmotiqModel.embed = embed  # type: ignore[method-assign]

    def __call__(self, texts: list[str], space: str = "model") -> np.ndarray:
        return self.model.embed(texts, space=space)


PARITY_ROWS = 32


def cached_probabilities(model: Any, task: str, texts: list[str], vectors: Vectors) -> np.ndarray:
    """``model.predict_proba(texts)[task]`` for a model whose encoder is unchanged, from the vectors already
    computed in this run (each text's language and lexical features as ``predict_proba`` finds them);
    checked against ``predict_proba`` itself on the first rows."""
    import torch

    from emotiq.engine.documents import prepare
    from emotiq.inputs import validated
    from emotiq.text.normalize import DEFAULT_MAX_CHARS

    docs, _ = prepare(list(validated(enumerate(texts), False, "raise")), model.encoder, max_chars=DEFAULT_MAX_CHARS, sentences=False)
    cached = {space: torch.from_numpy(vectors(texts, space)) for space in model.heads[task].spec.spaces}
    probs = model._head_probabilities(cached, [task], [d.language for d in docs], [d.text for d in docs])[task]
    if unscored := [i for i, d in enumerate(docs) if d.status != "ok"]:  # predict_proba's placeholders for them
        probs[unscored] = model.predict_proba([texts[i] for i in unscored], tasks=[task])[task]
    direct = model.predict_proba(texts[:PARITY_ROWS], tasks=[task])[task]
    if not np.allclose(probs[:PARITY_ROWS], direct, atol=1e-4):
        raise RuntimeError(f"cached scoring differs from predict_proba by {np.abs(probs[:PARITY_ROWS] - direct).max():.2e}")
    return probs


def run_emotiq(strategy: str, sub: pd.DataFrame, test: pd.DataFrame, labels: list[str], vectors: Vectors, seed: int) -> dict[str, Any]:
    from emotiq.training import finetune
    from emotiq.training.finetune_report import learned_from_label_names

    key = vectors.fingerprint(vectors.model)
    ready = sum((key, t) in vectors.memo for t in sub["text"]) / max(len(sub), 1)  # share embedded earlier in this run
    start = time.perf_counter()
    result = finetune(sub[["text", "label"]], task="custom_label", seed=seed, strategy=strategy)
    train_s = time.perf_counter() - start
    model, record = result.model, result.model.config.training["finetune"]
    texts = test["text"].tolist()
    if record.get("encoder_trained"):
        probs = model.predict_proba(texts, tasks=["custom_label"])["custom_label"]
    else:  # encoder unchanged: the cached test vectors through the same head path as analyze()
        probs = cached_probabilities(model, "custom_label", texts, vectors)
    pred = np.array([labels.index(result.metrics["labels"][i]) for i in probs.argmax(1)])
    chosen = record.get("strategy")
    if chosen == "blend":  # which adapted and which linear head
        chosen += " of " + " + ".join(next(c for c in record["candidates"] if c["strategy"] == "blend")["settings"]["of"])
    chosen += {"topic": " on base vectors", "adapted + topic": " with base vectors",
               "adapted + model": " with model vectors"}.get(record.get("vectors", ""), "")
    if learned_from_label_names(record):
        chosen += ", label names"
    tried = {c["strategy"]: (c["status"], c["score"], c["note"]) for c in record.get("candidates", [])}
    return {"train_s": train_s, "pred": pred, "chosen": chosen, "candidates": tried, "vectors_ready": round(ready, 3)}


def run_tfidf(sub: pd.DataFrame, test: pd.DataFrame, labels: list[str], seed: int) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    start = time.perf_counter()
    features = FeatureUnion([("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                             ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))])
    pipe = make_pipeline(features, LogisticRegression(max_iter=1000, class_weight="balanced", random_state=seed))
    search = _grid(pipe, "logisticregression__C", sub["label"])
    search.fit(sub["text"].tolist(), sub["label"].map(labels.index).to_numpy())
    return {"train_s": time.perf_counter() - start, "pred": search.predict(test["text"].tolist()), "C": search.best_params_}


def run_frozen_lr(sub: pd.DataFrame, test: pd.DataFrame, labels: list[str], vectors: Vectors, seed: int) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    search = _grid(LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed), "C", sub["label"])
    search.fit(vectors(sub["text"].tolist(), "topic"), sub["label"].map(labels.index).to_numpy())
    return {"train_s": time.perf_counter() - start, "pred": search.predict(vectors(test["text"].tolist(), "topic")), "C": search.best_params_}


def _grid(estimator: Any, name: str, labels: pd.Series) -> Any:
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    folds = int(max(2, min(3, labels.value_counts().min())))
    return GridSearchCV(estimator, {name: [0.1, 1.0, 10.0, 100.0]}, scoring="f1_macro",
                        cv=StratifiedKFold(folds, shuffle=True, random_state=0), n_jobs=1)


def measure(name: str, size: str, data: tuple[pd.DataFrame, pd.DataFrame], systems: list[str], vectors: Vectors,
            seed: int) -> list[dict[str, Any]]:
    train, test = data
    sub = subsample(train, size, seed)
    test = test[test["label"].isin(set(sub["label"]))].reset_index(drop=True)
    labels = sorted(sub["label"].unique())
    gold = test["label"].map(labels.index).to_numpy()
    rows = []
    for system in systems:
        print(f"[{name} {size}: {len(sub)} rows] {system} ...", flush=True)
        if system == "auto":
            vectors.memo.clear()  # auto is timed from a cold start
        if system in STRATEGIES:
            out = run_emotiq(system, sub, test, labels, vectors, seed)
        elif system == "tfidf_lr":
            out = run_tfidf(sub, test, labels, seed)
        else:
            out = run_frozen_lr(sub, test, labels, vectors, seed)
        row = {"set": name, "size": size, "rows": len(sub), "n_test": len(test), "system": system, **scores(gold, out.pop("pred")), **out}
        print(f"    macro-F1 {row['macro_f1']:.3f}, accuracy {row['accuracy']:.3f}, train {row['train_s']:.0f} s"
              f"{', chose ' + str(row.get('chosen')) if system == 'auto' else ''}", flush=True)
        rows.append(row)
    return rows


def _fallback(strategy: str, row: dict[str, Any]) -> str:
    """For a strategy run alone: what was kept instead when the strategy itself was not (else empty)."""
    if strategy not in STRATEGIES or row.get("chosen", strategy).startswith(strategy):
        return ""
    status, _, note = row.get("candidates", {}).get(strategy, ("skipped", None, ""))
    return f", {strategy} {status}{': ' + note if note else ''}; {row['chosen']} kept"


def table(rows: list[dict[str, Any]], systems: list[str]) -> list[str]:
    header = ["train rows", *systems, "best baseline", "auto beats it"]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for size in dict.fromkeys(r["size"] for r in rows):
        line = {r["system"]: r for r in rows if r["size"] == size}
        first = next(iter(line.values()))
        cells = [f"{first['rows']:,} ({size})"]
        for s in systems:
            r = line.get(s)
            if r is None:
                cells.append("not run")
                continue
            extra = f", {r['chosen']}" if s == "auto" else _fallback(s, r)
            cached = "*" if s in STRATEGIES and r.get("vectors_ready", 0.0 if s == "auto" else 1.0) >= 1.0 else ""
            cells.append(f"{r['macro_f1']:.3f} / {r['accuracy']:.3f} ({r['train_s']:.0f} s{cached}{extra})")
        base = [line[b] for b in BASELINES if b in line]
        best = max(base, key=lambda r: r["macro_f1"]) if base else None
        cells.append(f"{best['macro_f1']:.3f} ({best['system']})" if best else "-")
        cells.append(("yes" if line["auto"]["macro_f1"] > best["macro_f1"] else "**no**") if best and "auto" in line else "-")
        out.append("| " + " | ".join(cells) + " |")
    return out


def candidates_table(rows: list[dict[str, Any]]) -> list[str]:
    """Each candidate of ``auto``'s search: its selection score (held-out rows or cross-validation on
    the training rows, never the test split) and what became of it."""
    autos = [r for r in rows if r["system"] == "auto" and r.get("candidates")]
    names = [s for s in CANDIDATES if any(s in r["candidates"] for r in autos)]
    if not autos:
        return []
    out = ["| train rows | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for r in autos:
        cells = [f"{r['rows']:,} ({r['size']})"]
        for name in names:
            status, score, note = r["candidates"].get(name, ("not tried", None, ""))
            note = note.strip().rstrip(";")
            value = "" if score is None else f"{score:.3f}"
            if status == "chosen":
                cells.append(f"**{value}** chosen")
            elif status == "scored":
                cells.append(value)
            else:
                cells.append(" ".join(filter(None, [value, status + (f": {note}" if note else "")])))
        out.append("| " + " | ".join(cells) + " |")
    return out


def report(rows: list[dict[str, Any]], systems: list[str], info: dict[str, Any], seconds: float, command: str,
           notes: str = "") -> str:
    """The results page; ``notes``: a paragraph on how merged runs were made (stored with them)."""
    lines = ["# Fine-tuning on your own labels: strategies against tuned baselines", "",
             (f"Macro-F1 / accuracy on each set's test split and training wall time, per training size. Machine: {info['cpu']}, "
              f"{info['usable_cpus']} usable CPUs, torch {info['torch']}, 1-minute load average {info.get('load_avg_1m', 0):.1f} "
              f"at the end; whole run {seconds / 60:.0f} min. Command: `{command}`."), "",
             ("`auto` (default time budget) and the strategies train on the bundled model with 10% of the rows held out to "
              "score the candidates and calibrate the winner (a winning linear head is then fitted again on all the rows); "
              "`*`: the encoder vectors of these texts were already computed in this run, so the time excludes "
              "embedding. TF-IDF + LR and frozen e5 + LR (vectors of multilingual-e5-small before emotiq's fine-tuning) choose C by 3-fold "
              "cross-validation on the training rows and fit on all of them. `10pc`: 10 rows per class.")]
    if notes:
        lines += ["", notes]
    for name in dict.fromkeys(r["set"] for r in rows):
        part = [r for r in rows if r["set"] == name]
        lines += ["", f"## {name} ({part[0]['n_test']:,} test rows)", "", f"Published: {PUBLISHED[name]}.", "",
                  *table(part, [s for s in systems if any(r['system'] == s for r in part)])]
        if found := candidates_table(part):
            lines += ["", ("Candidates in `auto`'s search, by macro-F1 on the rows it held out (cross-validation below 2,000 "
                           "rows or 10 held-out rows per class); the test split is not used to choose:"), "", *found]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    import sys

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"Comma-separated subset of {', '.join(SETS)}.")
    parser.add_argument("--sizes", default=SIZES, help="Comma-separated sizes: 10pc (10 per class), row counts, all.")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="emotiq strategies to run (auto first).")
    parser.add_argument("--baselines", default=",".join(BASELINES))
    parser.add_argument("--data-root", default=None, help="Folder with the labelled sets (default: $EMOTIQ_DATA or ../shared/data).")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--output", type=Path, default=RESULTS, help="Results stem (.md and .json are written).")
    parser.add_argument("--render", action="store_true", help="Only write the .md again from the run stored in the .json.")
    args = parser.parse_args(argv)
    if args.render:
        stored = json.loads(args.output.with_suffix(".json").read_text(encoding="utf-8"))
        systems = stored.get("systems") or list(dict.fromkeys(r["system"] for r in stored["results"]))
        markdown = report(stored["results"], systems, stored["machine"], stored["seconds"], stored["command"], stored.get("notes", ""))
        args.output.with_suffix(".md").write_text(markdown.rstrip() + "\n", encoding="utf-8")
        return
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import emotiq
    from emotiq.training.sources import resolve_data_root

    root = resolve_data_root(args.data_root)
    systems = [s.strip() for s in args.strategies.split(",") if s.strip()] + [b.strip() for b in args.baselines.split(",") if b.strip()]
    from threadpoolctl import threadpool_limits

    # the baselines' small BLAS calls: extra threads only contend on a shared machine (torch's OpenMP threads,
    # which run the encoder, are left as they are)
    threadpool_limits(limits=1, user_api="blas")
    vectors = Vectors(emotiq.load())
    vectors.install()
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for name in (s.strip() for s in args.sets.split(",")):
        data = SETS[name](root)
        wanted = [s.strip() for s in args.sizes.split(",")]
        sizes = dict.fromkeys("all" if s.isdigit() and int(s) >= len(data[0]) else s for s in wanted)  # a size past the set is all of it
        for size in sizes:
            rows += measure(name, size, data, systems, vectors, args.seed)
            info = {**machine_info(), "load_avg_1m": os.getloadavg()[0]}
            command = "python benchmarks/bench_finetune.py " + " ".join(sys.argv[1:] if argv is None else argv)
            markdown = report(rows, systems, info, time.perf_counter() - start, command.strip())
            write_results(args.output, markdown, {"machine": info, "seed": args.seed, "seconds": round(time.perf_counter() - start, 1),
                                                  "command": command.strip(), "systems": systems, "results": rows})  # after every size
    print("\n" + markdown)


if __name__ == "__main__":
    main()
