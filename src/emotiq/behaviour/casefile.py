"""Behavioural test cases: the case record, reading the shipped JSONL files, template expansion.

Each line of ``cases/*.jsonl`` is one case (or one template that expands into
several). Fields:

- ``id``, ``lang`` (``nl``/``en``), ``capability``, ``type`` (``MFT``, ``DIR``, ``INV``), ``task``
  (``sentiment``, ``emotion``, ``complaint``, ``severity``, ``agreement``);
- MFT: ``text`` and ``labels`` (the label must be one of them; for ``emotion`` the
  predicted emotions must be a non-empty subset), ``any`` (emotion: at least one
  of these predicted) and/or ``avoid`` (none of these);
- DIR: ``text``, ``perturbed``, ``direction`` (``up``/``down``), optional ``emotion``
  (which emotion's probability, for the emotion task), ``min_delta`` (the score must
  move at least this far the right way) or ``tolerance`` (how far it may move the
  wrong way; default 0.02);
- INV: ``text``, ``perturbed``, optional ``tolerance`` (largest allowed score change,
  default 0.1); the label must stay the same;
- templates (INV only): ``template`` with ``{slot}`` fields and ``fills`` (slot ->
  values of equal length): the first filling is the original, each other
  filling one perturbed case, with ids ``<id>.1``, ``<id>.2``, ...
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from emotiq.errors import InputError

LANGUAGES = ("nl", "en")
TYPES = ("MFT", "DIR", "INV")
DIRECTIONS = ("up", "down")
DEFAULT_DIR_TOLERANCE = 0.02
DEFAULT_INV_TOLERANCE = 0.1


@dataclass(frozen=True)
class Case:
    """One behavioural test: a text (or a text pair) and what the model must do with it."""

    id: str
    lang: str
    capability: str
    type: str
    task: str
    text: str
    perturbed: str | None = None
    labels: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    direction: str | None = None
    emotion: str | None = None
    min_delta: float | None = None
    tolerance: float | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        """The texts the model scores for this case."""
        return (self.text,) if self.perturbed is None else (self.text, self.perturbed)


_FIELDS = set(Case.__dataclass_fields__) | {"template", "fills"}
_TUPLES = ("labels", "any", "avoid")


def _expand(raw: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """One raw record, or the cases its ``template`` and ``fills`` stand for."""
    if "template" not in raw:
        return [raw]
    fills: dict[str, list[str]] = raw.pop("fills", None) or {}
    template: str = raw.pop("template")
    sizes = {len(values) for values in fills.values()}
    if not fills or len(sizes) != 1 or sizes.pop() < 2:
        raise InputError(f"{where}: 'fills' must map each slot to a list of at least two values, all of the same length")
    if raw.get("type") != "INV":
        raise InputError(f"{where}: templates are for INV cases only, got type {raw.get('type')!r}")
    texts = [template.format(**{slot: values[i] for slot, values in fills.items()}) for i in range(len(next(iter(fills.values()))))]
    return [{**raw, "id": f"{raw['id']}.{i}", "text": texts[0], "perturbed": other} for i, other in enumerate(texts[1:], start=1)]


def _check(case: Case, where: str) -> None:
    from emotiq.behaviour.checks import TASKS

    problems = []
    if case.lang not in LANGUAGES:
        problems.append(f"lang {case.lang!r} is not one of {LANGUAGES}")
    if case.type not in TYPES:
        problems.append(f"type {case.type!r} is not one of {TYPES}")
    if case.task not in TASKS:
        problems.append(f"task {case.task!r} is not one of {tuple(TASKS)}")
    if case.type == "MFT" and (case.perturbed is not None or not (case.labels or case.any or case.avoid)):
        problems.append("an MFT case needs 'labels', 'any' or 'avoid' and no 'perturbed'")
    if case.type in ("DIR", "INV") and not case.perturbed:
        problems.append(f"a {case.type} case needs 'perturbed'")
    if case.type == "DIR" and case.direction not in DIRECTIONS:
        problems.append(f"a DIR case needs 'direction' in {DIRECTIONS}")
    if case.type == "DIR" and case.task == "emotion" and not case.emotion:
        problems.append("an emotion DIR case needs 'emotion' (whose probability must move)")
    if not problems and case.task in TASKS:
        problems += TASKS[case.task].problems(case)
    if problems:
        raise InputError(f"{where} (case {case.id!r}): " + "; ".join(problems))


def parse_cases(lines: Iterable[str], *, source: str = "<cases>") -> list[Case]:
    """Cases from JSONL lines; a bad line raises :class:`InputError` naming the source and line."""
    cases: list[Case] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from exc
        unknown = sorted(set(raw) - _FIELDS)
        missing = sorted({"id", "lang", "capability", "type", "task"} - set(raw)) + ([] if {"text", "template"} & set(raw) else ["text"])
        if unknown or missing:
            raise InputError(f"{where}: unknown fields {unknown}, missing fields {missing}")
        for record in _expand(raw, where):
            record = {k: tuple(v) if k in _TUPLES else v for k, v in record.items()}
            case = Case(**record)
            _check(case, where)
            cases.append(case)
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise InputError(f"{source}: case id {case.id!r} is used twice")
        seen.add(case.id)
    return cases


def case_files(folder: str | Path | None = None) -> list[Path]:
    """The JSONL case files: those shipped in ``emotiq/behaviour/cases`` unless ``folder`` is given."""
    root = Path(folder) if folder is not None else Path(str(resources.files("emotiq.behaviour") / "cases"))
    files = sorted(root.glob("*.jsonl"))
    if not files:
        raise InputError(f"no *.jsonl case files in {root}")
    return files


def load_cases(folder: str | Path | None = None) -> list[Case]:
    """Every case of the suite (the shipped one, or the ``*.jsonl`` files in ``folder``)."""
    cases: list[Case] = []
    for path in case_files(folder):
        cases += parse_cases(path.read_text(encoding="utf-8").splitlines(), source=path.name)
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"case ids used in more than one file: {duplicates}")
    return cases


def cases_digest(folder: str | Path | None = None) -> str:
    """SHA-256 over the case files, so recorded pass rates can name the suite they came from."""
    digest = hashlib.sha256()
    for path in case_files(folder):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
