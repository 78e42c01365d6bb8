"""Rows and checks shared by the Spark and Ray adapter tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd

from tests.test_engine_parity import FEEDBACK

ODD_TEXTS: dict[str, str | None] = {
    "null": None,
    "empty": "",
    "blank": "   \t ",
    "emoji": "😡😡👎",
    "control": "\x00\x01\x02",
    "url": "https://example.com/order/123",
    "digits": "12345",
    "huge": "Waardeloze service, nooit meer. " * 700,  # over max_chars: cut and flagged truncated
}
"""Texts with nothing ordinary about them, by the ``kind`` their row gets."""

EMPTY_STATUS = {"null", "empty", "blank", "url", "digits"}
"""Kinds whose rows must come back with status ``empty``."""

ADAPTER_ROWS = 2000
"""Rows scored by each adapter's agreement test."""

TOLERANCE = 1e-4
"""Largest probability difference allowed against ``analyze`` in fp32."""


def feedback_rows(n: int) -> pd.DataFrame:
    """``n`` rows (id, kind, score, text): ordinary feedback plus one row of each odd text, spread out."""
    odd = list(ODD_TEXTS.items())
    step = max(1, n // (len(odd) + 1))
    rows: list[dict[str, Any]] = []
    for i in range(n):
        slot = i // step - 1
        if i % step == step // 2 and 0 <= slot < len(odd):
            kind, text = odd[slot]
        else:
            a, b = FEEDBACK[i % len(FEEDBACK)], FEEDBACK[(i * 7 + 3) % len(FEEDBACK)]
            kind, text = "feedback", f"{a} {b}" if i % 3 == 0 else f"{a} (#{i})"
        rows.append({"id": i, "kind": kind, "score": float(i % 11) / 10, "text": text})
    return pd.DataFrame(rows)


def texts(column: pd.Series) -> list[str | None]:
    """The cells of a text column, with None for every kind of missing value."""
    return [None if pd.isna(t) else t for t in column.tolist()]


def reference_scores(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``model.analyze`` on the text column: one ``to_dict`` row per input row, indexed by id."""
    results = model.analyze(frame["text"], errors="flag")
    return pd.DataFrame([r.to_dict() for r in results], index=frame["id"].to_numpy())


def assert_matches_reference(scored: pd.DataFrame, source: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Rows, their original cells, labels, statuses and probabilities agree with ``analyze``."""
    assert len(scored) == len(source) and scored["id"].is_unique
    scored = scored.set_index("id", drop=False).loc[source["id"]]
    for column in ("id", "kind", "score"):
        assert scored[column].tolist() == source[column].tolist()
    assert texts(scored["text"]) == texts(source["text"])
    for column in ("language", "sentiment", "severity_label", "severity", "emotiq_status", "n_tokens", "truncated"):
        assert scored[column].tolist() == reference[column].tolist(), column
    numeric = [c for c in reference.columns if reference[c].dtype == np.float64]
    assert len(numeric) >= 15
    difference = np.abs(scored[numeric].to_numpy(dtype=float) - reference[numeric].to_numpy(dtype=float)).max()
    assert difference <= TOLERANCE, f"probabilities differ by {difference:.2e}"
    top = scored[[c for c in numeric if c.startswith("emotion_")]].to_numpy().argmax(axis=1)
    assert (top == reference[[c for c in numeric if c.startswith("emotion_")]].to_numpy().argmax(axis=1)).all()


def assert_odd_rows(scored: pd.DataFrame) -> None:
    """Odd texts come back with a status and never an error."""
    by_kind = scored.set_index("kind")
    for kind in ODD_TEXTS:
        status = by_kind.loc[kind, "emotiq_status"]
        assert status == "empty" if kind in EMPTY_STATUS else status in {"ok", "empty"}, (kind, status)
    assert bool(by_kind.loc["huge", "truncated"])
    assert (scored.loc[scored["kind"] == "feedback", "emotiq_status"] == "ok").all()


def java_major() -> int | None:
    """Major version of the ``java`` on PATH (or in JAVA_HOME); None without one."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        out = subprocess.run([java, "-version"], check=False, capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def worker_python_env() -> None:
    """Let Spark's Python workers run this interpreter (and so see the same packages)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
