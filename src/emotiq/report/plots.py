"""Charts for the report, drawn with matplotlib's Agg backend and returned as PNG data URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

SENTIMENT_COLORS: dict[str, str] = {"negative": "#d64541", "neutral": "#a5a5a5", "positive": "#3a9d5d"}
SEVERITY_COLORS: dict[str, str] = {
    "no_complaint": "#d9d9d9",
    "no_explicit_reproach": "#fdd49e",
    "disapproval": "#fc8d59",
    "accusation": "#e34a33",
    "blame": "#b30000",
}
ACCENT = "#3b6ea8"
_WIDTH = 8.0


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _finish(fig: Any, ax: Any, title: str, *, percent_axis: str | None = None) -> str:
    from matplotlib.ticker import PercentFormatter

    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    if percent_axis == "x":
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    elif percent_axis == "y":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    _pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _label(name: str) -> str:
    return name.replace("_", " ")


def bars(values: dict[str, float], title: str, *, colors: dict[str, str] | None = None, percent: bool = True) -> str:
    """Horizontal bars, one per key, largest at the top when unordered labels are given."""
    plt = _pyplot()
    names = list(values)
    fig, ax = plt.subplots(figsize=(_WIDTH, 0.35 * len(names) + 1.0))
    ax.barh(range(len(names)), list(values.values()), color=[(colors or {}).get(n, ACCENT) for n in names])
    ax.set_yticks(range(len(names)), [_label(n) for n in names])
    ax.invert_yaxis()
    for y, v in enumerate(values.values()):
        ax.text(v, y, f" {v:.0%}" if percent else f" {v:,.2f}", va="center", fontsize=8)
    ax.margins(x=0.12)
    return _finish(fig, ax, title, percent_axis="x" if percent else None)


def stacked(categories: Sequence[str], shares: dict[str, Sequence[float]], title: str, *, colors: dict[str, str]) -> str:
    """One 100% bar per category (a group or a period), split by the labels of ``shares``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH, 0.32 * len(categories) + 1.4))
    left = [0.0] * len(categories)
    for label, values in shares.items():
        ax.barh(range(len(categories)), list(values), left=left, color=colors.get(label, ACCENT), label=_label(label))
        left = [a + b for a, b in zip(left, values)]
    ax.set_yticks(range(len(categories)), list(categories), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.legend(ncol=min(len(shares), 5), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 if len(categories) > 3 else -0.3), frameon=False)
    return _finish(fig, ax, title, percent_axis="x")


def lines(periods: Sequence[str], series: dict[str, Sequence[float]], title: str, *, percent: bool = True,
          colors: dict[str, str] | None = None) -> str:
    """One line per series over ``periods``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH, 3.2))
    for name, values in series.items():
        ax.plot(range(len(periods)), list(values), marker="o", markersize=3, label=_label(name), color=(colors or {}).get(name))
    ax.set_xticks(range(len(periods)), list(periods))
    if len(series) > 1:
        ax.legend(fontsize=8, ncol=3, frameon=False)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    if percent:
        ax.set_ylim(bottom=0)
    return _finish(fig, ax, title, percent_axis="y" if percent else None)


def heatmap(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]], title: str) -> str:
    """A grid of shares (rows x columns), each cell labelled."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(_WIDTH, 0.35 * len(rows) + 1.6))
    top = max([1e-9, *(v for row in values for v in row)])
    ax.imshow(values, aspect="auto", cmap="Blues", vmin=0, vmax=top)
    ax.set_xticks(range(len(columns)), [_label(c) for c in columns], rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), list(rows), fontsize=8)
    for y, row in enumerate(values):
        for x, v in enumerate(row):
            ax.text(x, y, f"{v:.0%}", ha="center", va="center", fontsize=7, color="white" if v > 0.6 * top else "black")
    return _finish(fig, ax, title)
