"""Helpers shared by the benchmark scripts.

* run a measurement in a fresh Python process and get its result back as a dict
  (so thread settings, caches and peak memory belong to that measurement alone);
* peak resident memory of the current process;
* a description of the machine;
* Markdown tables, and writing results as Markdown plus JSON.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULT_MARK = "@@RESULT@@ "
"""Prefix of the one stdout line that carries a child's result."""


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss``)."""
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def emit(result: dict[str, Any]) -> None:
    """Send ``result`` to the parent (call once, at the end of a child)."""
    result.setdefault("peak_rss_mib", peak_rss_mib())
    sys.stdout.write(RESULT_MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


def run_child(argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float | None = None) -> dict[str, Any]:
    """Run ``python argv...`` in a fresh process and return the dict it :func:`emit`-ted.

    The child's stderr passes through (progress, warnings). Raises RuntimeError
    with the tail of its output when the child fails or emits nothing.
    """
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *argv], env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, text=True, timeout=timeout, check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stdout.splitlines()[-20:])
        raise RuntimeError(f"child {' '.join(argv)} failed (exit {proc.returncode}):\n{tail}")
    result = json.loads(lines[-1][len(RESULT_MARK):])
    result.setdefault("wall_s", time.perf_counter() - started)
    return result


def thread_env(threads: int) -> dict[str, str]:
    """Environment that pins OpenMP/MKL to ``threads`` threads in a child process."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def cpu_model() -> str:
    """The CPU's model name (``lscpu`` on Linux, else ``platform``)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return fields.get("Model name", platform.machine()).strip()


def machine_info() -> dict[str, Any]:
    """CPU, core count, OS and library versions, for the header of a results file."""
    import torch
    import transformers

    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


@dataclass(frozen=True)
class Column:
    """One column of a Markdown table: dict key, header, and how to show a value."""

    key: str
    header: str
    fmt: str | Callable[[Any], str] = "{}"

    def show(self, row: dict[str, Any]) -> str:
        value = row.get(self.key)
        if value is None:
            return "–"
        return self.fmt(value) if callable(self.fmt) else self.fmt.format(value)


def gemm_rate(kind: str, size: int, min_seconds: float) -> float:
    """Achieved FLOP/s (or int OP/s) of a ``size``-square matrix product in ``kind``."""
    import torch

    if kind == "int8":
        a = torch.randint(-127, 127, (size, size), dtype=torch.int8)
        b = torch.randint(-127, 127, (size, size), dtype=torch.int8)
        product = torch._int_mm
    else:
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[kind]
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        product = torch.matmul
    product(a, b)
    reps, began = 0, time.perf_counter()
    while reps < 2 or time.perf_counter() - began < min_seconds:
        product(a, b)
        reps += 1
    return 2.0 * size**3 * reps / (time.perf_counter() - began)


def ceiling_kinds(wanted: Sequence[str] = ("fp32", "bf16")) -> list[str]:
    """The products of ``wanted`` this CPU computes natively (emulated bf16 takes minutes and is never used)."""
    import torch

    from emotiq.engine.precision import cpu_has_fast_bf16

    native = {"fp32": True, "bf16": cpu_has_fast_bf16(), "int8": hasattr(torch, "_int_mm")}
    return [kind for kind in wanted if native.get(kind)]


def gemm_ceilings(size: int = 4096, min_seconds: float = 3.0) -> dict[str, float]:
    """GFLOP/s of an fp32 and (where the CPU computes it natively) a bf16 ``size``-square product,
    at the current torch thread count: the ceiling to report beside a speed figure."""
    return {kind: round(gemm_rate(kind, size, min_seconds) / 1e9, 1) for kind in ceiling_kinds()}


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """Rows as a Markdown table (missing values shown as ``–``)."""
    lines = ["| " + " | ".join(c.header for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(c.show(row) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_results(stem: Path, markdown: str, data: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``stem.md`` and ``stem.json``; returns both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    md, js = stem.with_suffix(".md"), stem.with_suffix(".json")
    md.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    js.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return md, js
