"""Which input column holds the feedback text, and what to call emotiq's own columns."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from emotiq.io.cells import cell_text
from emotiq.io.errors import ExportError

logger = logging.getLogger(__name__)

WARNING_COLUMN = "emotiq_warning"
"""Column emotiq adds with a note for rows it had to repair ('' when none)."""

SCORE_PREFIX = "emotiq_"
"""Put before every emotiq column when an input column already has one of their names."""

_TEXT_NAME = re.compile(r"text|message|bericht|comment|opmerking|feedback|review|toelichting|omschrijving|"
                        r"description|klacht|complaint|body|content|antwoord|answer|remark|notes?\b", re.IGNORECASE)
_NOT_TEXT_NAME = re.compile(r"(^|_|\b)(id|nr|nummer|number|code|date|datum|time|tijd|created|updated|email|e-mail|"
                            r"mail|url|link|phone|telefoon|score|rating|cijfer)($|_|\b)", re.IGNORECASE)
_NOT_TEXT_VALUE = re.compile(
    r"^\s*(\S+@\S+\.\S+|https?://\S+|www\.\S+|[\d\s.,:/+\-]+|\d{4}-\d{2}-\d{2}[T ][\d:.+\-Z]*|[A-Z]{0,4}[-_]?\d+)\s*$"
)


@dataclass(frozen=True)
class ColumnStats:
    """How text-like one column of a sample looks."""

    name: str
    filled: float
    """Share of non-empty cells."""
    mean_length: float
    mean_words: float
    distinct: float
    """Distinct values / non-empty cells."""
    structured: float
    """Share of cells that look like ids, numbers, dates, e-mail addresses or URLs."""

    @property
    def score(self) -> float:
        if self.structured > 0.5 or self.filled == 0:
            return 0.0
        bonus = 1.5 if _TEXT_NAME.search(self.name) else (0.5 if _NOT_TEXT_NAME.search(self.name) else 1.0)
        return self.mean_length * (0.5 + self.distinct) * min(self.mean_words, 3.0) * bonus


def column_stats(name: str, values: Iterable[object]) -> ColumnStats:
    """Measure how much ``values`` look like free text."""
    texts = [cell_text(v).strip() for v in values if isinstance(v, str)]
    total = len(texts) or 1
    filled = [t for t in texts if t]
    if not filled:
        return ColumnStats(name, 0.0, 0.0, 0.0, 0.0, 1.0)
    n = len(filled)
    return ColumnStats(
        name=name,
        filled=n / total,
        mean_length=sum(len(t) for t in filled) / n,
        mean_words=sum(len(t.split()) for t in filled) / n,
        distinct=len(set(filled)) / n,
        structured=sum(1 for t in filled if _NOT_TEXT_VALUE.match(t)) / n,
    )


def pick_text_column(sample: pd.DataFrame, path: str = "input") -> str:
    """The column of ``sample`` that most looks like free-text feedback.

    String columns are ranked by mean length, words per cell and share of
    distinct values; ids, numbers, dates, e-mail addresses and URLs are
    ignored, and names like ``message``, ``opmerking`` or ``feedback`` count extra.
    """
    stats = [column_stats(str(c), sample[c].tolist()) for c in sample.columns]
    ranked = sorted((s for s in stats if s.score > 0), key=lambda s: -s.score)
    if not ranked:
        raise ExportError(f"{path}: found no free-text column; name it with text_column=... (columns: {list(sample.columns)})")
    best = ranked[0]
    others = ", ".join(f"{s.name!r}" for s in ranked[1:3])
    logger.info("scoring text column %r (mean %.0f characters%s); pass text_column=... to choose another",
                best.name, best.mean_length, f"; next candidates: {others}" if others else "")
    return best.name


def require_column(name: str | None, columns: Sequence[str], what: str, path: str) -> str | None:
    """``name`` if it is one of ``columns`` (None passes); else an error listing the columns."""
    if name is None or name in columns:
        return name
    folded = [c for c in columns if c.strip().lower() == name.strip().lower()]
    if len(folded) == 1:
        logger.info("%s %r matched column %r", what, name, folded[0])
        return folded[0]
    raise ExportError(f"{path}: no column {name!r} for {what}; columns: {list(columns)}")


def output_names(score_keys: Sequence[str], input_columns: Sequence[str], *,
                 extra: Sequence[str] = (WARNING_COLUMN,)) -> list[str]:
    """Names for emotiq's columns (``score_keys`` then ``extra``): as they are, or all prefixed when one clashes."""
    keys = [*score_keys, *extra]
    taken = set(input_columns)
    prefix, n = "", 1
    while any(prefix + k in taken for k in keys):
        prefix = SCORE_PREFIX if n == 1 else f"{SCORE_PREFIX}{n}_"
        n += 1
    if prefix:
        clash = sorted(k for k in keys if k in taken)
        logger.warning("input already has column(s) %s; emotiq's columns are prefixed %r", clash, prefix)
    return [prefix + k for k in keys]
