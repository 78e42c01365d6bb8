"""Rows/s, start-up cost and memory of the Spark and Ray adapters against single-process ``emotiq score``.

Generated short feedback rows (tweet-length, Dutch and English; ``texts.py``)
are written to Parquet, then scored by three configurations, each in its own
process and on the same cores, in one run:

* ``single``: ``emotiq.score_file`` (what ``emotiq score`` runs) on one Parquet
  file, torch on all cores;
* ``spark``: ``score_spark`` on Spark ``local[N]`` over the same rows in 8
  Parquet files, written back as Parquet; one Python worker per core, each with
  torch on 1 thread (``spark.task.cpus=1``);
* ``ray``: ``score_ray`` on a local Ray cluster, an actor pool of N actors of
  1 CPU each (Ray is given N + 1 logical CPUs so its read tasks are not starved
  by the actors), the dataset repartitioned into 8 blocks (Ray reads the small
  files as one block, which would keep all but one actor idle), results streamed
  to the driver and written to Parquet there.

Rate once started ("steady rows/s") and start-up cost come from the same
definition for all three: start-up = wall time from process start to the last
row written, minus rows / steady rate. Steady rate: ``single``: rows over the
scoring time of ``score_file``; ``spark``: rows over a job run after a warm-up
job that started the workers and loaded the model in each of them (Python
workers are reused); ``ray``: rows after the first batch over the time after
the first batch (each Ray Data job starts its own actors). Peak memory per
worker is the peak RSS (``VmHWM``) of each worker process, sampled while it
runs.

Usage::

    python benchmarks/bench_distributed.py --rows 200000
    python benchmarks/bench_distributed.py --rows 20000 --configs single,spark
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import Column, emit, gemm_ceilings, machine_info, markdown_table, peak_rss_mib, run_child, thread_env, write_results
from texts import make_texts

STARTED = time.perf_counter()
RESULTS = HERE / "results" / "distributed"
CONFIGS = ("single", "spark", "ray")
PARTS = 8


# -- data -----------------------------------------------------------------------------
def generate(folder: Path, rows: int, seed: int = 11) -> tuple[Path, Path]:
    """``rows`` feedback rows as one Parquet file and as ``PARTS`` files of a dataset folder."""
    import pandas as pd

    texts = make_texts("tweet", rows, seed=seed)
    frame = pd.DataFrame({"id": range(rows), "channel": [("app", "chat", "email", "survey")[i % 4] for i in range(rows)],
                          "text": texts})
    single = folder / "feedback.parquet"
    frame.to_parquet(single, index=False)
    parts = folder / "feedback_parts"
    parts.mkdir()
    size = -(-rows // PARTS)
    for i in range(PARTS):
        frame.iloc[i * size:(i + 1) * size].to_parquet(parts / f"part-{i:02d}.parquet", index=False)
    return single, parts


# -- worker memory ----------------------------------------------------------------------
def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _hwm_mib(pid: int) -> tuple[str, float] | None:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return cmd, int(line.split()[1]) / 1024
    return None


class MemorySampler(threading.Thread):
    """Polls the peak RSS of this process's descendants whose command line contains ``marker``."""

    def __init__(self, marker: str, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.marker, self.interval, self.peaks, self.jvm = marker, interval, {}, 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        for pid in _descendants(os.getpid()):
            found = _hwm_mib(pid)
            if found is None:
                continue
            cmd, mib = found
            if Path(cmd.split(" ")[0]).name == "java":
                self.jvm = max(self.jvm, mib)
            elif self.marker in cmd:
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), mib)

    def stop(self) -> dict[str, Any]:
        self.sample()
        self.stopped.set()
        workers = sorted(self.peaks.values(), reverse=True)
        loaded = [m for m in workers if m > 400]  # workers that loaded the model (others only forked or read)
        return {"worker_peak_mib": max(workers, default=0.0), "workers_with_model": len(loaded),
                "worker_peaks_mib": [round(m) for m in workers[:8]], "jvm_peak_mib": self.jvm or None}


# -- the three configurations (each in a child process) ----------------------------------------
def child_single(args: argparse.Namespace) -> dict[str, Any]:
    from emotiq import score_file

    summary = score_file(args.input, args.output, text_column="text", batch_size=args.batch_size)
    wall = time.perf_counter() - STARTED
    steady = summary.rows / summary.scoring_seconds
    return {"rows": summary.rows, "steady_rows_per_s": steady, "wall_s": wall, "startup_s": wall - summary.rows / steady,
            "worker_peak_mib": peak_rss_mib(), "workers_with_model": 1, "statuses": {"ok": summary.ok, "empty": summary.empty,
                                                                                     "error": summary.error}}


def child_spark(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from emotiq.spark import score_spark

    sampler = MemorySampler("pyspark")
    sampler.start()
    spark = (SparkSession.builder.master(f"local[{args.cores}]").appName("emotiq-bench").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - STARTED
    warm = spark.createDataFrame([(i, f"Warm-up text number {i}") for i in range(4 * args.cores)], "id long, text string")
    score_spark(warm.repartition(args.cores), "text", batch_size=args.batch_size).collect()  # starts workers, loads models
    warm_s = time.perf_counter() - STARTED
    frame = spark.read.parquet(str(args.input))
    job = time.perf_counter()
    score_spark(frame, "text", batch_size=args.batch_size, check=False).write.mode("overwrite").parquet(str(args.output))
    job_s = time.perf_counter() - job
    rows = spark.read.parquet(str(args.output)).count()
    statuses = {r["emotiq_status"]: r["count"] for r in spark.read.parquet(str(args.output)).groupBy("emotiq_status").count().collect()}
    wall = session_s + (warm_s - session_s) + job_s
    partitions = frame.rdd.getNumPartitions()
    memory = sampler.stop()
    spark.stop()
    return {"rows": rows, "steady_rows_per_s": rows / job_s, "wall_s": wall, "startup_s": wall - job_s, "session_s": session_s,
            "partitions": partitions, "statuses": statuses, **memory}


def child_ray(args: argparse.Namespace) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import ray

    from emotiq.ray import score_ray

    sampler = MemorySampler("ray::MapWorker")
    sampler.start()
    ray.init(num_cpus=args.cores + 1, include_dashboard=False, configure_logging=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    init_s = time.perf_counter() - STARTED
    source = ray.data.read_parquet(str(args.input)).repartition(PARTS)  # small files are read as one block
    per_block = -(-args.rows // PARTS)  # one block per actor task, so results stream back task by task
    scored = score_ray(source, "text", concurrency=args.cores, num_cpus=1, batch_size=args.batch_size,
                       rows_per_batch=min(4096, per_block))
    rows, first_rows, first_at, writer, statuses, arrivals = 0, 0, 0.0, None, {}, 0
    for batch in scored.iter_batches(batch_format="pyarrow", batch_size=None):
        if writer is None:
            first_rows, first_at = batch.num_rows, time.perf_counter()
            writer = pq.ParquetWriter(str(args.output), batch.schema)
        writer.write_table(pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch)
        rows += batch.num_rows
        arrivals += 1
        for status in batch.column("emotiq_status").to_pylist():
            statuses[status] = statuses.get(status, 0) + 1
    if writer is not None:
        writer.close()
    end = time.perf_counter()
    wall = end - STARTED
    if arrivals < PARTS // 2:  # results came back in too few pieces to time the rate once started
        memory = sampler.stop()
        ray.shutdown()
        return {"rows": rows, "steady_rows_per_s": None, "wall_s": wall, "startup_s": None, "session_s": init_s,
                "batches": arrivals, "statuses": statuses, **memory}
    steady = (rows - first_rows) / (end - first_at)
    memory = sampler.stop()
    ray.shutdown()
    return {"rows": rows, "steady_rows_per_s": steady, "wall_s": wall, "startup_s": wall - rows / steady, "session_s": init_s,
            "batches": arrivals, "statuses": statuses, **memory}


def child_gemm(args: argparse.Namespace) -> dict[str, Any]:
    """Matrix-product ceilings (GFLOP/s of a 4096-square product) on ``args.cores`` threads."""
    import torch

    torch.set_num_threads(args.cores)
    return gemm_ceilings(4096, 3.0)


CHILDREN = {"single": child_single, "spark": child_spark, "ray": child_ray, "gemm": child_gemm}


# -- report -----------------------------------------------------------------------------
def add_ratios(results: list[dict[str, Any]], cores: int) -> None:
    base = next((r for r in results if r["config"] == "single"), None)
    for r in results:
        r["overall_rows_per_s"] = r["rows"] / r["wall_s"]
        steady = r["steady_rows_per_s"]
        r["rows_per_s_per_core"] = steady / cores if steady else None
        if base is not None:
            r["steady_vs_single"] = steady / base["steady_rows_per_s"] if steady else None
            r["overall_vs_single"] = r["overall_rows_per_s"] / base["overall_rows_per_s"]


COLUMNS = [
    Column("config", "config"), Column("rows", "rows", "{:,}"),
    Column("steady_rows_per_s", "rows/s once started", "{:.1f}"), Column("steady_vs_single", "vs single", "{:.2f}×"),
    Column("startup_s", "start-up s", "{:.1f}"), Column("wall_s", "wall s", "{:.1f}"),
    Column("overall_rows_per_s", "rows/s overall", "{:.1f}"), Column("overall_vs_single", "overall vs single", "{:.2f}×"),
    Column("worker_peak_mib", "peak RSS per worker MiB", "{:,.0f}"), Column("workers_with_model", "workers"),
    Column("jvm_peak_mib", "JVM peak MiB", "{:,.0f}"), Column("load_avg_1m", "load avg (1 min)", "{:.1f}"),
]


def scaling(results: list[dict[str, Any]]) -> str:
    lines = ["| config | rows/s per core | 10M rows on 8 cores | 10M rows on 64 cores | 100M rows on 64 cores | 100M rows on 256 cores |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        per_core = r["rows_per_s_per_core"]
        if not per_core:
            continue
        cells = [f"{rows / (per_core * cores) / 3600:.2f} h" for rows, cores in ((1e7, 8), (1e7, 64), (1e8, 64), (1e8, 256))]
        lines.append(f"| {r['config']} | {per_core:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(data: dict[str, Any]) -> str:
    m = data["machine"]
    return "\n".join([
        "# Spark and Ray adapters against single-process `emotiq score`", "",
        (f"Run {data['date']} on {m['cpu']} ({m['usable_cpus']} usable CPUs), {m['os']}, Python {m['python']}, "
        f"torch {m['torch']}, pyspark {data['versions'].get('pyspark', '–')}, ray {data['versions'].get('ray', '–')}."),
        (f"{data['rows']:,} generated tweet-length Dutch and English feedback rows in Parquet, scored on {data['cores']} cores "
        f"(`python benchmarks/bench_distributed.py {data['argv']}`). Model: bundled default, precision auto, batch size "
        f"{data['batch_size']}."
        + (f" GEMM ceiling on {data['cores']} threads (4096-square matrix product, measured before the configurations): "
           + ", ".join(f"{k} {v:,.0f} GFLOP/s" for k, v in data["gemm"].items() if k in ("fp32", "bf16"))
           + ("" if "bf16" in data["gemm"] else " (no native bf16: inference runs fp32)") + "."
           if data.get("gemm") else "")), "",
        markdown_table(data["results"], COLUMNS), "",
        ("*rows/s once started*: rows over the time after start-up (see the script's docstring for how each is measured); "
        "*start-up*: wall time minus rows / that rate (process start, session or cluster start, workers, model loading); "
        "*vs single*: ratio to single-process `emotiq score`; *peak RSS per worker*: the largest peak resident memory of one "
        "worker process that loaded the model (single: the whole process). Each configuration ran in its own process, "
        "one after another; a 1-minute load average above the core count means other work shared the CPUs."), "",
        "Expected scoring time at the measured rate per core, start-up left out (it is paid once per executor):", "",
        scaling(data["results"]), "",
    ])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="generated rows (default 200,000)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated: single, spark, ray")
    parser.add_argument("--cores", type=int, default=2, help="cores for every configuration (default 2)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", type=Path, default=RESULTS, help="results stem (.md and .json are written)")
    parser.add_argument("--child", choices=[*CONFIGS, "gemm"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--target", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("pyspark", "ray", "emotiq"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        args.output = args.target
        emit(CHILDREN[args.child](args))
        return
    configs = [c for c in args.configs.split(",") if c]
    results: list[dict[str, Any]] = []
    data: dict[str, Any] = {"date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", "machine": machine_info(),
                            "versions": versions(), "rows": args.rows, "cores": args.cores, "batch_size": args.batch_size,
                            "argv": " ".join(sys.argv[1:] if argv is None else argv), "results": results}
    data["gemm"] = run_child([__file__, "--child", "gemm", "--cores", str(args.cores)], env=thread_env(args.cores))
    with tempfile.TemporaryDirectory(prefix="emotiq-bench-distributed-") as tmp:
        single, parts = generate(Path(tmp), args.rows)
        for config in configs:
            source = single if config == "single" else parts
            target = Path(tmp) / f"scored_{config}{'.parquet' if config != 'spark' else ''}"
            result = run_child([__file__, "--child", config, "--input", str(source), "--target", str(target),
                                "--cores", str(args.cores), "--batch-size", str(args.batch_size)], env=thread_env(args.cores))
            result.update(config=config, load_avg_1m=os.getloadavg()[0])
            results.append(result)
            add_ratios(results, args.cores)
            print(markdown_table(results[-1:], COLUMNS).splitlines()[-1], flush=True)
            write_results(args.output, report(data), data)
    print(report(data))


if __name__ == "__main__":
    main()
