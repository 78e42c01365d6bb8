"""Render the report's totals as one self-contained HTML page (charts inlined as PNG data URIs)."""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotiq.explain.marking import mark_spans
from emotiq.report import plots
from emotiq.report.aggregate import ReportAggregator
from emotiq.report.timeline import by_period, period_unit
from emotiq.schema import EMOTION_LABELS, SENTIMENT_LABELS, SEVERITY_LABELS

if TYPE_CHECKING:
    from emotiq.report.insights import Insights

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#222}
main{max-width:1000px;margin:0 auto;padding:24px 32px;background:#fff}
h1{font-size:1.5em;margin-bottom:4px}h2{margin-top:36px;border-bottom:2px solid #e3e6ea;padding-bottom:4px}
.meta{color:#666;font-size:.9em}.kpis{display:flex;gap:12px;flex-wrap:wrap;margin:18px 0}
.kpi{flex:1;min-width:150px;background:#f0f4f9;border-radius:8px;padding:12px}
.kpi b{display:block;font-size:1.6em}.kpi span{color:#555;font-size:.85em}
figure{margin:14px 0}img{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:.88em}th,td{border-bottom:1px solid #e3e6ea;padding:6px;text-align:left;vertical-align:top}
th{background:#f0f4f9}td.text{white-space:pre-wrap;max-width:520px}.note{color:#666;font-size:.85em}
mark{background:#ffd7a8;border-radius:3px;padding:0 2px}ul.quotes{margin:0;padding-left:16px}ul.quotes li{margin-bottom:4px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _figure(uri: str, alt: str) -> str:
    return f'<figure><img src="{uri}" alt="{_e(alt)}"></figure>'


class _Page:
    """Builds the sections of one report from an aggregator."""

    def __init__(self, agg: ReportAggregator, meta: dict[str, Any], insights: Insights | None = None) -> None:
        self.agg, self.meta = agg, meta
        self.insights = insights
        self.groups = agg.top_groups() if agg.by and agg.groups else {}
        self.unit = period_unit(list(agg.days))
        self.periods = by_period(agg.days, self.unit) if len(agg.days) > 0 else {}
        self.by_label = _e(agg.by)

    def _split(self, shares: Any, labels: tuple[str, ...], title: str, colors: dict[str, str]) -> list[str]:
        """The same distribution per group and per period, as stacked bars."""
        parts = []
        for name, source in (("group", self.groups), ("period", self.periods)):
            if len(source) == 0:
                continue
            keys = list(source)
            values = {label: [shares(source[k])[label] for k in keys] for label in labels}
            what = f"by {self.agg.by}" if name == "group" else f"per {self.unit}"
            parts.append(_figure(plots.stacked(keys, values, f"{title} {what}", colors=colors), f"{title} {what}"))
        return parts

    def summary(self) -> str:
        agg, meta = self.agg, self.meta
        status = agg.status
        neg = agg.sentiment(agg.overall)["negative"]
        top = sorted(agg.emotions(agg.overall).items(), key=lambda kv: -kv[1])[:1]
        kpis = [
            (f"{agg.scored:,}", f"rows scored; {status['empty']:,} empty and {status['error']:,} failed rows left out"),
            (f"{neg:.0%}", "negative sentiment"),
            (f"{agg.complaint_rate(agg.overall):.0%}", "complaints"),
            (_e(top[0][0].replace("_", " ")) if top else "-", "most frequent emotion"),
        ]
        cards = "".join(f'<div class="kpi"><b>{v}</b><span>{_e(label)}</span></div>' for v, label in kpis)
        facts = [f"text column <b>{_e(meta.get('text_column'))}</b>"]
        facts += [f"split by <b>{self.by_label}</b>"] if agg.by else []
        facts += [f"per {self.unit} of <b>{_e(agg.time_column)}</b>"] if agg.time_column else []
        facts += [f"model {_e(meta['model'])}"] if meta.get("model") else []
        facts.append(f"generated {dt.datetime.now():%Y-%m-%d %H:%M}")
        return f'<h1>Feedback report: {_e(meta.get("input", ""))}</h1><p class="meta">{" · ".join(facts)}</p><div class="kpis">{cards}</div>'

    def sentiment(self) -> str:
        agg = self.agg
        parts = ["<h2>Sentiment</h2>",
                 _figure(plots.bars(agg.sentiment(agg.overall), "Sentiment", colors=plots.SENTIMENT_COLORS), "Sentiment distribution")]
        parts += self._split(agg.sentiment, SENTIMENT_LABELS, "Sentiment", plots.SENTIMENT_COLORS)
        return "".join(parts)

    def emotions(self) -> str:
        agg = self.agg
        overall = dict(sorted(agg.emotions(agg.overall).items(), key=lambda kv: -kv[1]))
        parts = ["<h2>Emotions</h2>", '<p class="note">Share of scored rows in which each emotion is present (probability at least 0.5); a text can show several.</p>',
                 _figure(plots.bars(overall, "Emotion frequency"), "Emotion frequencies")]
        if self.groups:
            values = [[agg.emotions(c)[e] for e in EMOTION_LABELS] for c in self.groups.values()]
            parts.append(_figure(plots.heatmap(list(self.groups), EMOTION_LABELS, values, f"Emotions by {agg.by}"), f"Emotions by {agg.by}"))
        if self.periods:
            top = [e for e in overall if e != "neutral"][:5]
            series = {e: [agg.emotions(c)[e] for c in self.periods.values()] for e in top}
            parts.append(_figure(plots.lines(list(self.periods), series, f"Most frequent emotions per {self.unit}"), "Emotions over time"))
        return "".join(parts)

    def complaints(self) -> str:
        agg = self.agg
        note = (f"{agg.complaint_rate(agg.overall):.1%} of scored rows are complaints. Severity follows the X-CI scale: "
                "no explicit reproach, disapproval, accusation, blame.")
        parts = ["<h2>Complaints and severity</h2>", f'<p class="note">{note}</p>',
                 _figure(plots.bars(agg.severity(agg.overall), "Severity", colors=plots.SEVERITY_COLORS), "Severity distribution")]
        if self.groups:
            rates = {g: agg.complaint_rate(c) for g, c in self.groups.items()}
            parts.append(_figure(plots.bars(rates, f"Complaint rate by {agg.by}"), f"Complaint rate by {agg.by}"))
        if self.periods:
            parts.append(_figure(plots.lines(list(self.periods), self._rate_series(), f"Complaint rate per {self.unit}"), "Complaint rate over time"))
        parts += self._split(agg.severity, SEVERITY_LABELS, "Severity", plots.SEVERITY_COLORS)
        return "".join(parts)

    def _rate_series(self) -> dict[str, list[float]]:
        series = {"all": [self.agg.complaint_rate(c) for c in self.periods.values()]}
        per_group = by_period(self.agg.day_groups, self.unit) if self.groups else {}
        for group in [g for g in self.groups if g != "(other)"][:5]:
            counts = [per_group.get(p, Counter()) for p in self.periods]
            series[group] = [c[f"{group}|complaint"] / (c[f"{group}|rows"] or 1) for c in counts]
        return series

    def severe(self) -> str:
        rows = self.agg.most_severe()
        if not rows:
            return "<h2>Most severe complaints</h2><p>No complaints found.</p>"
        extra = [("group", self.agg.by)] if self.agg.by else []
        extra += [("day", self.agg.time_column)] if self.agg.time_column else []
        head = "".join(f"<th>{_e(h)}</th>" for h in ["row", *(label for _, label in extra), "severity", "expected", "text"])
        body = "".join(
            f"<tr><td>{r['row']}</td>" + "".join(f"<td>{_e(r[key])}</td>" for key, _ in extra)
            + f"<td>{_e(str(r['severity_label']).replace('_', ' '))}</td><td>{r['expected_severity']:.2f}</td>"
            f'<td class="text">{self._marked(r["row"], r["text"])}</td></tr>'
            for r in rows
        )
        note = ('<p class="note">Highlighted: the words that raised the complaint probability most '
                "(leaving each out lowers it most).</p>") if self.insights and self.insights.evidence else ""
        return f"<h2>Most severe complaints</h2>{note}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _marked(self, row: int, text: str) -> str:
        evidence = self.insights.evidence.get(row) if self.insights else None
        task = evidence.tasks.get("complaint") if evidence is not None else None
        if task is None:
            return _e(text)
        return mark_spans(text, task.top(3, sign=1 if task.label == "complaint" else -1), before="<mark>", after="</mark>", escape=_e)

    def themes(self) -> str:
        themes = self.insights.themes if self.insights else None
        notes = "".join(f'<p class="note">{_e(n)}</p>' for n in (self.insights.notes if self.insights else ()))
        if themes is None:
            return f"<h2>Themes in complaints</h2>{notes or '<p>No complaints to group.</p>'}" if self.insights else ""
        how = {"silhouette": "the number of themes was chosen by silhouette", "given": "the number of themes was set"}.get(
            themes.chosen_by, "")
        intro = (f"{themes.n_grouped:,} complaints{' (a fixed sample)' if themes.n_grouped < self.agg.overall['complaint'] else ''} "
                 f"grouped by what they are about ({_e(themes.method)} on emotiq's topic vectors; {how}). "
                 "Labels are the words most typical of each theme.")
        parts = ["<h2>Themes in complaints</h2>", f'<p class="note">{intro}</p>', notes]
        parts += [f'<p class="note">{_e(m)}</p>' for m in (themes.message, *themes.notes) if m]
        if not themes.themes:
            return "".join(parts)
        names = [f"{t.id + 1}. {t.label}" for t in themes.themes]
        parts.append(_figure(plots.bars(dict(zip(names, (t.share for t in themes.themes))), "Share of complaints per theme"),
                             "Share of complaints per theme"))
        if themes.period_unit and any(t.trend for t in themes.themes):
            periods = sorted({p for t in themes.themes for p in t.trend})
            series = {name: [t.trend.get(p, 0) for p in periods] for name, t in list(zip(names, themes.themes))[:6]}
            parts.append(_figure(plots.lines(periods, series, f"Complaints per theme per {themes.period_unit}", percent=False),
                                 "Themes over time"))
        parts.append(self._theme_table(names))
        return "".join(parts)

    def _theme_table(self, names: list[str]) -> str:
        themes = self.insights.themes if self.insights else None
        assert themes is not None
        head = "".join(f"<th>{h}</th>" for h in ("theme", "complaints", "share", "sentiment", "severity", "keywords", "typical complaints"))

        def number(value: float | None, fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        body = "".join(
            f"<tr><td>{_e(name)}</td><td>{t.size:,}</td><td>{t.share:.0%}</td><td>{number(t.mean_sentiment, '+.2f')}</td>"
            f"<td>{number(t.mean_severity, '.2f')}</td><td>{_e(', '.join(t.keywords))}</td>"
            f'<td class="text"><ul class="quotes">{"".join(f"<li>{_e(q)}</li>" for q in t.quotes)}</ul></td></tr>'
            for name, t in zip(names, themes.themes)
        )
        return f'<table class="themes"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>' 

    def notes(self) -> str:
        agg = self.agg
        notes = ["Rows whose text was empty or could not be scored are left out of every chart."]
        if agg.unparsed_times:
            notes.append(f"{agg.unparsed_times:,} rows had no readable date in {_e(agg.time_column)} and are left out of the charts over time.")
        return "".join(f'<p class="note">{n}</p>' for n in notes)


def render(agg: ReportAggregator, meta: dict[str, Any] | None = None, insights: Insights | None = None) -> str:
    """The report as an HTML document; ``insights`` adds themes and highlighted evidence."""
    page = _Page(agg, meta or {}, insights)
    if agg.scored:
        body = (page.summary() + page.sentiment() + page.emotions() + page.complaints() + page.themes() + page.severe()
                + page.notes())
    else:
        body = page.summary() + "<p>No row had text to score, so there is nothing to chart.</p>"
    title = _e(f"emotiq report: {(meta or {}).get('input', '')}")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
            f"<body><main>{body}</main></body></html>\n")


def write_report(agg: ReportAggregator, path: str | Path, *, meta: dict[str, Any] | None = None,
                 insights: Insights | None = None) -> Path:
    """Write the report for ``agg`` to ``path`` (a single self-contained HTML file)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(agg, meta, insights), encoding="utf-8")
    tmp.replace(path)
    return path
