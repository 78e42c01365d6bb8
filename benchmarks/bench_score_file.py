"""Rows/s and peak memory of ``emotiq.io.score_file`` against an all-in-memory baseline.

For each size a feedback export is generated (``;``-separated, Dutch and
English messages), then scored twice, each run in its own process so peak RSS
is that run's alone:

* ``score_file``: streaming, chunked, checkpointed (the library path);
* ``baseline``: ``pandas.read_csv`` of the whole file, ``model.analyze`` over
  the full list, ``pandas.concat`` of the scores and ``to_csv``.

Usage::

    python benchmarks/bench_score_file.py --sizes 10000,100000,1000000
    python benchmarks/bench_score_file.py --sizes 2000 --model path/to/model
    python benchmarks/bench_score_file.py --baseline-max-rows 100000   # skip the slow 1M baseline

The table is printed and written to ``benchmarks/results/score_file.md`` after
every measurement, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import peak_rss_mib

EXAMPLE = HERE.parent / "data" / "examples" / "feedback_export.csv"
RESULTS = HERE / "results" / "score_file.md"
CONFIGS = ("score_file", "baseline")
EXTRA = [
    "Bestelnummer {n}.", "Order {n}.", "Groet, {name}", "Kind regards, {name}", "Al {d} dagen wachten.",
    "Waited {d} days so far.", "", "", "",
]
NAMES = ["Sanne", "Pieter", "Emma", "Daan", "Olivia", "Mohammed", "Julia", "Kevin"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write a ``rows``-row export built from the example messages with varied details."""
    with EXAMPLE.open(encoding="utf-8", newline="") as fh:
        examples = [r for r in csv.DictReader(fh, delimiter=";") if r["customer_message"]]
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", lineterminator="\n")
        writer.writerow(["ticket_id", "channel", "created_at", "customer_message"])
        for i in range(rows):
            base = rng.choice(examples)
            extra = rng.choice(EXTRA).format(n=rng.randint(10**6, 10**7), name=rng.choice(NAMES), d=rng.randint(2, 30))
            when = start + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 365))
            writer.writerow([f"T-{i + 1:07d}", base["channel"], f"{when:%Y-%m-%d %H:%M}", f"{base['customer_message']} {extra}".strip()])


def worker(config: str, source: Path, target: Path, model_name: str | None, batch_size: int, chunk_rows: int) -> dict:
    """Run one configuration in this process and measure it."""
    import emotiq

    started = time.perf_counter()
    model = emotiq.load(model_name)
    loaded = time.perf_counter()
    if config == "score_file":
        from emotiq.io import score_file

        rows = score_file(source, target, model=model, batch_size=batch_size, chunk_rows=chunk_rows, text_column="customer_message").rows
    else:
        import pandas as pd

        frame = pd.read_csv(source, sep=";", dtype=str, keep_default_na=False)
        results = model.analyze(frame["customer_message"].tolist(), batch_size=batch_size)
        scored = pd.concat([frame, pd.DataFrame([r.to_dict() for r in results])], axis=1)
        scored.to_csv(target, sep=";", index=False)
        rows = len(scored)
    done = time.perf_counter()
    return {"config": config, "rows": rows, "load_s": loaded - started, "score_s": done - loaded,
            "rows_per_s": rows / (done - loaded), "peak_rss_mb": peak_rss_mib()}


def measure(config: str, source: Path, target: Path, args: argparse.Namespace) -> dict:
    """Run ``config`` in a fresh process and return its measurements."""
    command = [sys.executable, __file__, "--worker", config, "--input", str(source), "--output", str(target),
               "--batch-size", str(args.batch_size), "--chunk-rows", str(args.chunk_rows)]
    if args.model:
        command += ["--model", args.model]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{config} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load_avg_1m": os.getloadavg()[0]}


def table(results: list[dict]) -> str:
    """Results as a Markdown table."""
    lines = ["| rows | config | rows/s | scoring s | model load s | peak RSS MiB | load avg (1 min) at end |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['rows']:,} | {r['config']} | {r['rows_per_s']:.1f} | {r['score_s']:.1f} | {r['load_s']:.1f} "
                     f"| {r['peak_rss_mb']:.0f} | {r.get('load_avg_1m', float('nan')):.2f} |")
    return "\n".join(lines)


def report(results: list[dict], args: argparse.Namespace) -> str:
    """The Markdown page written to ``benchmarks/results/score_file.md``."""
    import torch

    machine = (f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
               f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    return (f"# score_file benchmark\n\nRun {dt.datetime.now():%Y-%m-%d %H:%M} on {machine}.\n"
            f"Model: `{args.model or 'emotiq.load() default'}`, batch size {args.batch_size}, chunk rows {args.chunk_rows}.\n"
            "Each configuration runs in its own process; peak RSS is that process's maximum resident set size "
            "(model included). Generated `;`-separated exports of Dutch and English messages.\n\n"
            f"{table(results)}\n\n`score_file`: streaming read/score/write in chunks with checkpoints. "
            "`baseline`: `pandas.read_csv` of the whole file + `model.analyze` over the full list + `pandas.concat` + `to_csv`"
            + (f" (run up to {args.baseline_max_rows:,} rows)" if args.baseline_max_rows is not None else "")
            + ". A 1-minute load average above the thread count means other work shared the CPU.\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated row counts")
    parser.add_argument("--model", default=None, help="model name or folder (default: emotiq.load())")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-rows", type=int, default=5000)
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown file to write")
    parser.add_argument("--baseline-max-rows", type=int, default=None, help="run the baseline only up to this many rows")
    parser.add_argument("--worker", choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.input, args.output, args.model, args.batch_size, args.chunk_rows)))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="emotiq-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",") if s.strip()):
            source = Path(tmp) / f"export_{size}.csv"
            generate(source, size)
            for config in CONFIGS:
                if config == "baseline" and args.baseline_max_rows is not None and size > args.baseline_max_rows:
                    continue
                results.append(measure(config, source, Path(tmp) / f"{config}_{size}.csv", args))
                print(table(results[-1:]).splitlines()[-1], flush=True)
                (Path(tmp) / f"{config}_{size}.csv").unlink(missing_ok=True)
                write_results(results, args)
    print(table(results))
    print(f"written to {args.results}")


def write_results(results: list[dict], args: argparse.Namespace) -> None:
    """Write the Markdown page and a JSON copy of the measurements beside it."""
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(report(results, args), encoding="utf-8")
    args.results.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
