"""Running totals for the HTML report, updated chunk by chunk while a file is scored.

Only counts are kept (per group of the ``by`` column and per day of the time
column) plus the few most severe complaints, so memory stays bounded however
long the file is. The totals round-trip through JSON (:meth:`ReportAggregator.state`)
so a resumed run continues them.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import pandas as pd

from emotiq.io.cells import cell_text, is_missing
from emotiq.schema import EMOTION_LABELS, SENTIMENT_LABELS, SEVERITY_LABELS

OTHER = "(other)"
"""Group for values of the ``by`` column beyond ``max_groups``."""

EMPTY_GROUP = "(empty)"
TEXT_CHARS = 600
"""Characters of complaint text kept for the report table."""
THEME_SAMPLE = 2000
"""Complaints kept for the report's themes: a fixed pseudo-random sample (by row number), so runs and resumed runs agree."""


def _sample_key(number: int) -> int:
    """A pseudo-random but fixed rank for row ``number`` (the smallest ranks are kept)."""
    return int.from_bytes(hashlib.blake2b(str(number).encode(), digest_size=8).digest(), "big")


def to_days(values: Sequence[Any]) -> list[str | None]:
    """Dates (``YYYY-MM-DD``) of time cells: ISO 8601 first, then day-first formats; None if unreadable."""
    raw = pd.Series([None if is_missing(v) or v == "" else v for v in values], dtype=object)
    parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601", utc=True)
    retry = parsed.isna() & raw.notna()
    if retry.any():
        again = pd.to_datetime(raw[retry].map(cell_text), errors="coerce", format="mixed", dayfirst=True, utc=True)
        parsed = parsed.where(~retry, again)
    return [None if pd.isna(t) else t.strftime("%Y-%m-%d") for t in parsed]


def _counter_dict(data: dict[str, Any]) -> defaultdict[str, Counter[str]]:
    return defaultdict(Counter, {k: Counter(v) for k, v in data.items()})


class ReportAggregator:
    """Counts sentiment, emotions, complaints and severity overall, per group and per day."""

    def __init__(self, *, by: str | None = None, time_column: str | None = None, top_n: int = 25, max_groups: int = 200) -> None:
        self.by, self.time_column, self.top_n, self.max_groups = by, time_column, top_n, max_groups
        self.status: Counter[str] = Counter()
        self.overall: Counter[str] = Counter()
        self.groups: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.days: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.day_groups: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.unparsed_times = 0
        self.severe: list[list[Any]] = []
        self.theme_sample: list[list[Any]] = []
        self.theme_sample_size = THEME_SAMPLE

    # -- updating -----------------------------------------------------------------
    @staticmethod
    def _keys(row: dict[str, Any]) -> list[str]:
        """Counter keys one scored row adds to: rows, sentiment, emotions, complaint, severity."""
        keys = ["rows", f"sentiment:{row.get('sentiment')}"]
        keys += [f"emotion:{e}" for e in str(row.get("emotions") or "").split(",") if e]
        if row.get("is_complaint"):
            keys.append("complaint")
        keys.append(f"severity:{row.get('severity_label')}")
        return keys

    def _group(self, value: Any) -> str:
        name = cell_text(value).strip() or EMPTY_GROUP
        if name not in self.groups and len(self.groups) >= self.max_groups:
            return OTHER
        return name

    def add(self, rows: Sequence[dict[str, Any]], texts: Sequence[str], *, first_row: int = 0,
            groups: Sequence[Any] | None = None, times: Sequence[Any] | None = None) -> None:
        """Count one chunk: score rows (``Analysis.to_dict()``), their texts, ``by`` and time cells."""
        days = to_days(times) if times is not None else [None] * len(rows)
        for i, row in enumerate(rows):
            status = str(row.get("emotiq_status", "ok"))
            self.status["error" if status.startswith("error") else status] += 1
            if status != "ok":
                continue
            keys = self._keys(row)
            group = self._group(groups[i]) if groups is not None else None
            self.overall.update(keys)
            if group is not None:
                self.groups[group].update(keys)
            if days[i] is not None:
                self.days[days[i]].update(keys)
                if group is not None:
                    self.day_groups[days[i]].update(f"{group}|{k}" for k in ("rows", "complaint", "sentiment:negative") if k in keys)
            elif times is not None:
                self.unparsed_times += 1
            if row.get("is_complaint"):
                self._keep_severe(row, texts[i], first_row + i + 1, group, days[i])
                self._keep_for_themes(row, texts[i], first_row + i + 1, days[i])

    def _keep_severe(self, row: dict[str, Any], text: str, number: int, group: str | None, day: str | None) -> None:
        item = [float(row.get("expected_severity") or 0.0), -number, text[:TEXT_CHARS], str(row.get("severity_label")),
                float(row.get("complaint_prob") or 0.0), group, day]
        if len(self.severe) < self.top_n:
            heapq.heappush(self.severe, item)
        elif item[:2] > self.severe[0][:2]:
            heapq.heapreplace(self.severe, item)

    def _keep_for_themes(self, row: dict[str, Any], text: str, number: int, day: str | None) -> None:
        item = [-_sample_key(number), number, text[:TEXT_CHARS], row.get("sentiment_score"), float(row.get("expected_severity") or 0.0),
                day, str(row.get("language") or "und")]
        if len(self.theme_sample) < self.theme_sample_size:
            heapq.heappush(self.theme_sample, item)
        elif item[0] > self.theme_sample[0][0]:
            heapq.heapreplace(self.theme_sample, item)

    # -- reading ------------------------------------------------------------------
    @property
    def scored(self) -> int:
        """Rows with status ok (the ones the statistics describe)."""
        return self.overall["rows"]

    def shares(self, counts: Counter[str], prefix: str, labels: Sequence[str]) -> dict[str, float]:
        """Share of scored rows per label, e.g. ``shares(c, 'sentiment', SENTIMENT_LABELS)``."""
        n = counts["rows"] or 1
        return {label: counts[f"{prefix}:{label}"] / n for label in labels}

    def sentiment(self, counts: Counter[str]) -> dict[str, float]:
        return self.shares(counts, "sentiment", SENTIMENT_LABELS)

    def emotions(self, counts: Counter[str]) -> dict[str, float]:
        return self.shares(counts, "emotion", EMOTION_LABELS)

    def severity(self, counts: Counter[str]) -> dict[str, float]:
        return self.shares(counts, "severity", SEVERITY_LABELS)

    @staticmethod
    def complaint_rate(counts: Counter[str]) -> float:
        return counts["complaint"] / (counts["rows"] or 1)

    def top_groups(self, limit: int = 12) -> dict[str, Counter[str]]:
        """The ``limit`` largest groups; the rest summed into ``(other)``."""
        ranked = sorted(self.groups.items(), key=lambda kv: -kv[1]["rows"])
        shown = dict(ranked[:limit])
        rest = [c for _, c in ranked[limit:]]
        if rest:
            shown[OTHER] = sum(rest, Counter()) + shown.get(OTHER, Counter())
        return shown

    def most_severe(self) -> list[dict[str, Any]]:
        """The most severe complaints kept, highest expected severity first."""
        names = ("expected_severity", "row", "text", "severity_label", "complaint_prob", "group", "day")
        ranked = sorted(self.severe, key=lambda item: (-item[0], -item[1]))
        return [dict(zip(names, [s, -neg_row, *rest])) for s, neg_row, *rest in ranked]

    def complaint_sample(self) -> list[dict[str, Any]]:
        """The complaints kept for themes, in row order."""
        names = ("row", "text", "sentiment_score", "expected_severity", "day", "language")
        return [dict(zip(names, item[1:])) for item in sorted(self.theme_sample, key=lambda item: item[1])]

    # -- persistence ----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """All totals as plain JSON data."""
        return {
            "by": self.by, "time_column": self.time_column, "top_n": self.top_n, "max_groups": self.max_groups,
            "status": dict(self.status), "overall": dict(self.overall),
            "groups": {k: dict(v) for k, v in self.groups.items()},
            "days": {k: dict(v) for k, v in self.days.items()},
            "day_groups": {k: dict(v) for k, v in self.day_groups.items()},
            "unparsed_times": self.unparsed_times, "severe": self.severe, "theme_sample": self.theme_sample,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ReportAggregator:
        """Rebuild an aggregator saved with :meth:`state`."""
        agg = cls(by=state["by"], time_column=state["time_column"], top_n=state["top_n"], max_groups=state["max_groups"])
        agg.status, agg.overall = Counter(state["status"]), Counter(state["overall"])
        agg.groups, agg.days = _counter_dict(state["groups"]), _counter_dict(state["days"])
        agg.day_groups = _counter_dict(state["day_groups"])
        agg.unparsed_times = state["unparsed_times"]
        agg.severe = [list(item) for item in state["severe"]]
        heapq.heapify(agg.severe)
        agg.theme_sample = [list(item) for item in state.get("theme_sample", [])]
        heapq.heapify(agg.theme_sample)
        return agg
