"""Group per-day counts into weeks or months, whichever suits the time span."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

WEEKLY_MAX_DAYS = 120
"""Spans up to this many days are shown per week, longer ones per month."""


def period_unit(days: list[str]) -> str:
    """'week' or 'month' for a set of ``YYYY-MM-DD`` days."""
    if not days:
        return "week"
    first, last = dt.date.fromisoformat(min(days)), dt.date.fromisoformat(max(days))
    return "week" if (last - first).days <= WEEKLY_MAX_DAYS else "month"


def period_of(day: str, unit: str) -> str:
    """The label of the week (its Monday, ``YYYY-MM-DD``) or month (``YYYY-MM``) holding ``day``."""
    date = dt.date.fromisoformat(day)
    if unit == "month":
        return f"{date:%Y-%m}"
    return (date - dt.timedelta(days=date.weekday())).isoformat()


def by_period(days: Mapping[str, Counter[str]], unit: str) -> dict[str, Counter[str]]:
    """Sum per-day counters into per-period counters, oldest period first."""
    periods: dict[str, Counter[str]] = {}
    for day in sorted(days):
        periods.setdefault(period_of(day, unit), Counter()).update(days[day])
    return periods
