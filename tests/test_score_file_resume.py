"""A killed run continues from its last completed chunk: no row lost, none written twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import emotiq
from emotiq.io import ExportError, score_file
from emotiq.io.checkpoint import checkpoint_path

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "feedback_export.csv"
CHUNK = 3

KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import emotiq
    from emotiq.io import score_file

    source, target, chunks = sys.argv[1], sys.argv[2], int(sys.argv[3])

    class DiesMidway:
        # the real model, but the process is killed when chunk `chunks + 1` starts
        def __init__(self, inner):
            self.inner, self.calls = inner, 0
        def analyze(self, *args, **kwargs):
            return self.inner.analyze(*args, **kwargs)
        def analyze_iter(self, texts, **kwargs):
            self.calls += 1
            if self.calls > chunks:
                os.kill(os.getpid(), signal.SIGKILL)
            return self.inner.analyze_iter(texts, **kwargs)

    score_file(source, target, model=DiesMidway(emotiq.load()), chunk_rows=int(sys.argv[4]))
    """
)


class Crash(BaseException):
    """Stands in for an interrupt in the middle of a run."""


class CrashesAfter:
    """The real model, raising :class:`Crash` when chunk ``chunks + 1`` starts."""

    def __init__(self, inner, chunks):
        self.inner, self.chunks, self.calls = inner, chunks, 0

    def analyze(self, *args, **kwargs):
        return self.inner.analyze(*args, **kwargs)

    def analyze_iter(self, texts, **kwargs):
        self.calls += 1
        if self.calls > self.chunks:
            raise Crash
        return self.inner.analyze_iter(texts, **kwargs)


@pytest.fixture()
def source(tmp_path):
    """The first 12 rows of the example export (4 chunks of 3)."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:13]
    path = tmp_path / "export.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def run_killed(source: Path, target: Path, chunks: int) -> subprocess.CompletedProcess:
    src = Path(emotiq.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))}
    args = [sys.executable, "-c", KILLED_RUN, str(source), str(target), str(chunks), str(CHUNK)]
    return subprocess.run(args, check=False, env=env, capture_output=True, text=True, timeout=120)


def test_sigkilled_run_resumes_to_the_same_file_as_a_clean_run(model, source, tmp_path):
    clean, resumed = tmp_path / "clean.csv", tmp_path / "resumed.csv"
    done = run_killed(source, resumed, chunks=2)
    assert done.returncode == -9, done.stderr[-2000:]
    state = json.loads(checkpoint_path(resumed).read_text(encoding="utf-8"))
    assert (state["rows_done"], state["chunks_done"]) == (2 * CHUNK, 2) and not resumed.exists()
    part = resumed.with_name(resumed.name + ".part")
    assert part.stat().st_size == state["output_bytes"]
    with part.open("ab") as fh:  # half a chunk written after the last checkpoint
        fh.write(b"T-99999;email;2025-01-01;half a row that was never checkpo")
    summary = score_file(source, resumed, model=model, chunk_rows=CHUNK, resume=True)
    score_file(source, clean, model=model, chunk_rows=CHUNK)
    assert summary.rows == 12 and summary.resumed_rows == 2 * CHUNK
    assert resumed.read_bytes() == clean.read_bytes()
    assert not checkpoint_path(resumed).exists() and not part.exists()


def test_interrupted_parquet_run_resumes_from_its_parts(model, source, tmp_path):
    clean, resumed = tmp_path / "clean.parquet", tmp_path / "resumed.parquet"
    options = {"chunk_rows": 2 * CHUNK, "report": tmp_path / "r.html", "by": "channel"}
    with pytest.raises(Crash):
        score_file(source, resumed, model=CrashesAfter(model, 1), **options)
    assert len(list(tmp_path.glob("resumed.parquet.parts/part-*.parquet"))) == 1 and not resumed.exists()
    summary = score_file(source, resumed, model=model, resume=True, **options)
    score_file(source, clean, model=model, **options)
    assert summary.resumed_rows == 2 * CHUNK and summary.rows == 12 and summary.report.exists()
    pd.testing.assert_frame_equal(pd.read_parquet(resumed), pd.read_parquet(clean))
    assert not resumed.with_name("resumed.parquet.parts").exists()


def test_resume_refuses_a_changed_input_and_restarts_without_a_checkpoint(model, source, tmp_path):
    out = tmp_path / "out.csv"
    with pytest.raises(Crash):
        score_file(source, out, model=CrashesAfter(model, 1), chunk_rows=CHUNK)
    source.write_text(source.read_text(encoding="utf-8") + "T-1;chat;2025-05-01;Nieuwe regel\n", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot resume.*input_size"):
        score_file(source, out, model=model, chunk_rows=CHUNK, resume=True)
    with pytest.raises(ExportError, match="cannot resume.*chunk_rows"):
        score_file(source, out, model=model, chunk_rows=CHUNK + 1, resume=True)
    summary = score_file(source, out, model=model, chunk_rows=50)  # without resume: starts over
    assert summary.rows == 13 and summary.resumed_rows == 0 and not checkpoint_path(out).exists()
    again = score_file(source, tmp_path / "fresh.csv", model=model, chunk_rows=50, resume=True)  # nothing to resume
    assert again.resumed_rows == 0 and (tmp_path / "fresh.csv").read_bytes() == out.read_bytes()
