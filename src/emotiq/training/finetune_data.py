"""Labelled feedback for fine-tuning: read, check, clean and split it.

Every row that is dropped is counted and named: each problem becomes one
warning that gives the first few row numbers (1-based, in input order; row 1 is
the first row under the header) and the total. Problems that make training
impossible (no label column, one class, a class with a single example, labels
missing from ``label_map``) raise :class:`~emotiq.errors.InputError`.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from emotiq.errors import InputError
from emotiq.text import clean_text

logger = logging.getLogger(__name__)

MIN_EXAMPLES = 5
"""Classes with fewer training examples than this get a warning (fewer than 2: an error)."""
MAX_LABELS = 500
"""More distinct labels than this is an error: the column is most likely not a category."""

_SHOWN = 5


def row_list(rows: list[int]) -> str:
    """``"rows 3, 8, 12, ... (14 in all)"`` for 1-based row numbers."""
    shown = ", ".join(str(r) for r in rows[:_SHOWN])
    more = f", ... ({len(rows)} in all)" if len(rows) > _SHOWN else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


@dataclass
class Notes:
    """Warnings about the data, logged as they are added and returned to the caller."""

    messages: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        logger.warning(message)
        self.messages.append(message)

    def drop(self, what: str, name: str, rows: list[int], why: str) -> None:
        """Record that ``rows`` of the ``what`` set were dropped because of ``why``."""
        if rows:
            self.dropped[f"{what}: {why}"] = len(rows)
            name = name[:-1] if len(rows) == 1 and name.endswith("s") else name
            self.warn(f"{what} data: dropped {len(rows)} {name} ({row_list(rows)}): {why}")


@dataclass
class LabelledRows:
    """Clean texts with their labels (a str, or a tuple of str when multi-label) and row numbers."""

    texts: list[str]
    labels: list[Any]
    rows: list[int]
    input_rows: int

    def subset(self, index: list[int]) -> LabelledRows:
        return LabelledRows([self.texts[i] for i in index], [self.labels[i] for i in index], [self.rows[i] for i in index], self.input_rows)

    def counts(self) -> Counter[str]:
        """Examples per label (each label of a multi-label row counts once)."""
        return Counter(label for value in self.labels for label in (value if isinstance(value, tuple) else (value,)))


def read_table(source: Any, what: str) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a ``datasets.Dataset`` or a CSV/TSV/XLSX/JSONL/Parquet path."""
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True)
    if hasattr(source, "to_pandas") and hasattr(source, "column_names"):
        return source.to_pandas()
    if isinstance(source, (str, Path)):
        from emotiq.io.readers import open_table

        table = open_table(source)
        frames = [frame for frame, _ in table.frames(50_000)]
        if not frames:
            raise InputError(f"{what} file {source} has no data rows")
        return pd.concat(frames, ignore_index=True)
    raise TypeError(f"{what} must be a pandas DataFrame, a datasets.Dataset or a file path, not {type(source).__name__}")


def _missing(value: Any) -> bool:
    from emotiq.io.cells import is_missing

    return is_missing(value) or (isinstance(value, str) and not value.strip())


def label_text(value: Any) -> str:
    """A label cell as a str: ``1.0`` -> ``"1"``, surrounding spaces removed."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def split_labels(value: Any, separator: str) -> tuple[str, ...]:
    """The labels of a multi-label cell: a list, a JSON list or a ``separator``-joined str."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                pass
        if isinstance(value, str):
            value = text.split(separator)
    if hasattr(value, "tolist"):
        value = value.tolist()
    parts = (label_text(v) for v in (value if isinstance(value, (list, tuple, set)) else [value]))
    return tuple(sorted({p for p in parts if p}))


def _columns(df: pd.DataFrame, text_column: str, label_column: str, what: str) -> None:
    absent = [c for c in (text_column, label_column) if c not in df.columns]
    if absent:
        names = ", ".join(repr(str(c)) for c in df.columns)
        raise InputError(f"{what} data has no column {' or '.join(repr(c) for c in absent)}; its columns are: {names}")


def extract(df: pd.DataFrame, text_column: str, label_column: str, *, multi_label: bool, separator: str,
            what: str, notes: Notes) -> LabelledRows:
    """Texts and labels of ``df``; rows without a text or a label are dropped and reported."""
    _columns(df, text_column, label_column, what)
    no_label, no_text, blank, keep = [], [], [], []
    for position, (text, label) in enumerate(zip(df[text_column], df[label_column]), start=1):
        unlabelled = label is None or (not isinstance(label, (list, tuple)) and not hasattr(label, "tolist") and _missing(label))
        if unlabelled:
            no_label.append(position)
        elif _missing(text):
            no_text.append(position)
        elif not clean_text(str(text)).scorable:
            blank.append(position)
        else:
            keep.append((str(text).strip(), split_labels(label, separator) if multi_label else label_text(label), position))
    notes.drop(what, "rows", no_label, f"no label in column {label_column!r}")
    notes.drop(what, "rows", no_text, f"empty text in column {text_column!r}")
    notes.drop(what, "rows", blank, "nothing to learn from in the text (only digits, punctuation or a URL)")
    texts, labels, rows = (list(part) for part in zip(*keep)) if keep else ([], [], [])
    return LabelledRows(texts, labels, rows, len(df))


def deduplicate(data: LabelledRows, what: str, notes: Notes) -> LabelledRows:
    """Keep one row per text; drop every copy of a text that carries conflicting labels."""
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(data.texts):
        groups.setdefault(" ".join(text.split()).casefold(), []).append(i)
    keep, conflicting, repeated = [], [], []
    for index in groups.values():
        if len({data.labels[i] for i in index}) > 1:
            conflicting += index
        else:
            keep.append(index[0])
            repeated += index[1:]
    notes.drop(what, "rows", sorted(data.rows[i] for i in conflicting), "the same text appears with different labels")
    notes.drop(what, "duplicate rows", sorted(data.rows[i] for i in repeated), "repeats of an earlier text with the same label (kept once)")
    return data.subset(sorted(keep))


def apply_label_map(data: LabelledRows, label_map: dict[str, str] | None, head_labels: list[str], what: str) -> LabelledRows:
    """Translate the data's labels to ``head_labels`` through ``label_map``; unknown labels raise."""
    mapping = {label_text(k): _head_label(v, head_labels) for k, v in (label_map or {}).items()}
    if not label_map:
        mapping = {label: label for label in head_labels}
    found = data.counts()
    unknown = {label: n for label, n in found.items() if label not in mapping}
    if unknown:
        listed = ", ".join(f"{label!r} ({n} rows)" for label, n in sorted(unknown.items()))
        hint = "add them to label_map" if label_map else f"pass label_map to map them to {head_labels}"
        raise InputError(f"{what} data has labels the head does not know: {listed}; {hint}")
    mapped = [tuple(sorted({mapping[v] for v in value})) if isinstance(value, tuple) else mapping[value] for value in data.labels]
    return LabelledRows(data.texts, mapped, data.rows, data.input_rows)


def _head_label(value: Any, head_labels: list[str]) -> str:
    text = label_text(value)
    if text in head_labels:
        return text
    if text.isdigit() and int(text) < len(head_labels):
        return head_labels[int(text)]  # a level number, e.g. complaint severity 0..4
    raise InputError(f"label_map maps to {text!r}, which is not one of the head's labels {head_labels}")


def check_classes(data: LabelledRows, notes: Notes) -> list[str]:
    """The sorted label set; one class or a class with one example raises, rare classes warn."""
    counts = data.counts()
    if len(counts) < 2:
        only = ", ".join(f"{label!r} ({n} rows)" for label, n in counts.items()) or "none"
        raise InputError(f"training data needs at least 2 different labels; found {only}")
    if len(counts) > MAX_LABELS:
        shown = ", ".join(repr(label) for label in sorted(counts)[:_SHOWN])
        raise InputError(f"the label column has {len(counts):,} distinct values in {len(data.labels):,} rows (more than "
                         f"{MAX_LABELS}): {shown}, ...; is it an id or free-text column? Pass the column with the categories")
    single = {label: n for label, n in counts.items() if n < 2}
    if single:
        listed = ", ".join(f"{label!r} ({n})" for label, n in sorted(single.items()))
        raise InputError(f"labels with a single example cannot be learned or evaluated: {listed}; "
                         "add examples, merge them into another label or remove those rows")
    for group in _near_duplicates(counts):
        listed = ", ".join(f"{label!r} ({counts[label]})" for label in group)
        notes.warn(f"labels that differ only in case, spaces or punctuation are learned as separate classes: {listed}; "
                   "if they mean the same, merge them (for example with label_map)")
    rare = {label: n for label, n in counts.items() if n < MIN_EXAMPLES}
    if rare:
        listed = ", ".join(f"{label!r} ({n})" for label, n in sorted(rare.items()))
        notes.warn(f"labels with fewer than {MIN_EXAMPLES} examples will be predicted poorly and their scores are unreliable: {listed}")
    return sorted(counts)


def _near_duplicates(counts: Counter[str]) -> list[list[str]]:
    """Groups of two or more labels that are the same once case, spaces and punctuation are ignored."""
    groups: dict[str, list[str]] = {}
    for label in sorted(counts):
        groups.setdefault(re.sub(r"[\W_]+", "", label.casefold()), []).append(label)
    return [group for key, group in groups.items() if key and len(group) > 1]


def _stratum(value: Any, counts: Counter[str]) -> str:
    if isinstance(value, tuple):
        return min(value, key=lambda label: (counts[label], label)) if value else ""
    return str(value)


def stratified_split(data: LabelledRows, fraction: float, seed: int) -> tuple[LabelledRows, LabelledRows]:
    """Split ``data`` so each class (multi-label: each row's rarest label) has ~``fraction`` of its rows in eval."""
    if not 0 < fraction < 1:
        raise InputError(f"eval_fraction must be between 0 and 1, got {fraction}")
    counts = data.counts()
    strata: dict[str, list[int]] = {}
    for i, value in enumerate(data.labels):
        strata.setdefault(_stratum(value, counts), []).append(i)
    rng = random.Random(seed)
    train, held = [], []
    for key in sorted(strata):
        index = strata[key]
        rng.shuffle(index)
        n_eval = min(max(1, round(fraction * len(index))), len(index) - 1)  # each class on both sides
        held += index[:n_eval]
        train += index[n_eval:]
    return data.subset(sorted(train)), data.subset(sorted(held))


def clean_eval(train: LabelledRows, held: LabelledRows, labels: list[str], notes: Notes) -> LabelledRows:
    """Drop eval rows that repeat a training text or carry a label the training data lacks."""
    seen = {" ".join(t.split()).casefold() for t in train.texts}
    known = set(labels)
    leaked, unseen, keep = [], [], []
    for i, (text, value) in enumerate(zip(held.texts, held.labels)):
        if " ".join(text.split()).casefold() in seen:
            leaked.append(held.rows[i])
        elif not set(value if isinstance(value, tuple) else (value,)) <= known:
            unseen.append(held.rows[i])
        else:
            keep.append(i)
    notes.drop("eval", "rows", leaked, "the text is also in the training data")
    notes.drop("eval", "rows", unseen, "a label that the training data does not have")
    if not keep:
        raise InputError("no usable eval rows are left; pass more eval data or use eval_fraction")
    return held.subset(keep)


@dataclass
class PreparedData:
    """Clean training and eval rows, the label set, and every warning raised on the way."""

    train: LabelledRows
    eval: LabelledRows
    labels: list[str]
    eval_source: str
    notes: Notes


def _read(source: Any, what: str, options: dict[str, Any], notes: Notes) -> LabelledRows:
    rows = extract(read_table(source, what), options["text_column"], options["label_column"], multi_label=options["multi_label"],
                   separator=options["label_separator"], what=what, notes=notes)
    rows = deduplicate(rows, what, notes)
    if options.get("head_labels") is not None:
        rows = apply_label_map(rows, options.get("label_map"), options["head_labels"], what)
    return rows


def prepare_data(train: Any, *, text_column: str = "text", label_column: str = "label", multi_label: bool = False,
                 eval: Any = None, eval_fraction: float = 0.1, label_map: dict[str, Any] | None = None,
                 head_labels: list[str] | None = None, label_separator: str = "|", seed: int = 13) -> PreparedData:
    """Read, check, clean and split labelled rows the way :func:`emotiq.finetune` does, without training.

    ``head_labels`` (with ``label_map``) translates the labels to an existing
    head's labels. Raises :class:`InputError` for unusable data; the returned
    ``notes`` hold the warnings and the count of rows each problem dropped.
    """
    options = {"text_column": text_column, "label_column": label_column, "multi_label": multi_label,
               "label_separator": label_separator, "label_map": label_map, "head_labels": head_labels}
    notes = Notes()
    rows = _read(train, "training", options, notes)
    labels = check_classes(rows, notes)
    if eval is None:
        train_rows, eval_rows = stratified_split(rows, eval_fraction, seed)
        source = f"a stratified {eval_fraction:.0%} split of the training input"
    else:
        train_rows, eval_rows, source = rows, _read(eval, "eval", options, notes), "the eval set given"
    eval_rows = clean_eval(train_rows, eval_rows, labels, notes)
    logger.info("Training on %d rows, evaluating on %d rows (%s)", len(train_rows.texts), len(eval_rows.texts), source)
    return PreparedData(train_rows, eval_rows, labels, source, notes)


def parse_label_map(text: str) -> dict[str, str]:
    """``"1=negative,2=negative,3=neutral"`` (or a JSON object) as a dict."""
    text = text.strip()
    if text.startswith("{"):
        try:
            return {str(k): str(v) for k, v in json.loads(text).items()}
        except (json.JSONDecodeError, AttributeError) as exc:
            raise InputError(f"label map is not a valid JSON object: {exc}") from None
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    bad = ["=".join(p) for p in pairs if len(p) != 2 or not p[0].strip() or not p[1].strip()]
    if bad or not pairs:
        raise InputError(f"label map must look like '1=negative,2=negative,3=neutral'; cannot read {bad or [text]}")
    return {k.strip(): v.strip() for k, v in pairs}
