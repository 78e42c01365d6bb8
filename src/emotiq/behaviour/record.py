"""Store a model's suite pass rates in its folder (``metrics.json`` ``behaviour`` key, ``metrics.md`` section)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotiq.errors import ModelFolderError

if TYPE_CHECKING:
    from emotiq.behaviour.runner import SuiteReport
    from emotiq.model import EmotiqModel

RECORD_PRECISION = "fp32"
"""Precision the recorded rates are measured in: the same on every CPU, so the regression test is too."""


def read_record(folder: str | Path) -> dict[str, Any] | None:
    """The recorded suite results of the model in ``folder`` (None when none were recorded)."""
    path = Path(folder) / "metrics.json"
    if not path.exists():
        return None
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelFolderError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); rerun `emotiq evaluate`") from exc
    record: dict[str, Any] | None = metrics.get("behaviour")
    return record


def record_behaviour(folder: str | Path, model: EmotiqModel, report: SuiteReport) -> Path:
    """Put ``report``'s rates into ``folder``'s metrics.json and metrics.md (other results kept); refresh the card."""
    from emotiq.training.metrics_report import write_metrics

    folder = Path(folder)
    path = folder / "metrics.json"
    metrics: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"model": model.config.name}
    metrics["behaviour"] = report.to_dict()
    write_metrics(folder, model, metrics)
    return path


def check_model(name_or_path: str | Path | None = None, *, record: bool = False, precision: str = RECORD_PRECISION,
                threads: int | None = None) -> SuiteReport:
    """Load a model, run the suite on it and, with ``record=True``, store the rates in its folder.

    Args:
        name_or_path: Bundled model name or model folder (default: the bundled default model).
        record: Write the rates into the folder's ``metrics.json`` (``behaviour`` key) and
            ``metrics.md``: the rates ``tests/test_behaviour.py`` holds the model to.
        precision: Precision to run in; recorded rates are measured in fp32 so that
            every CPU reproduces them.
        threads: CPU threads for torch.

    Returns:
        The :class:`~emotiq.behaviour.runner.SuiteReport`.
    """
    import emotiq
    from emotiq.api import DEFAULT_MODEL, _find
    from emotiq.behaviour.runner import run_suite

    if record and precision != RECORD_PRECISION:
        raise ValueError(f"recorded rates are measured in {RECORD_PRECISION}; drop --precision {precision} or --record")
    folder = _find(name_or_path or DEFAULT_MODEL)
    model = emotiq.load(folder, precision=precision, threads=threads)
    report = run_suite(model, settings={"precision": precision})
    if record:
        record_behaviour(folder, model, report)
    return report
