"""The CLI mirrors the Python API and fails with one line, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from emotiq.cli import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("analyze", "info", "train", "evaluate", "behaviour"):
        assert command in result.output


def test_analyze_prints_scores():
    result = runner.invoke(app, ["analyze", "Nooit meer bij jullie!", "Thanks for the help"])
    assert result.exit_code == 0, result.output
    assert "sentiment=" in result.output and "complaint=" in result.output


def test_analyze_json():
    result = runner.invoke(app, ["analyze", "--json", "Prima service"])
    assert result.exit_code == 0
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["text"] == "Prima service" and "sentiment" in data


def test_info():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0 and "emotiq-small" in result.output


def test_missing_model_is_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "emotiq", "info", "--model", "/no/such/folder"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "Traceback" not in proc.stderr
