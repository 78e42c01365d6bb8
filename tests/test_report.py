"""The HTML report: running totals, a self-contained page, and how it renders in a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from emotiq.io import score_file
from emotiq.report import ReportAggregator, render, write_report
from emotiq.report.aggregate import OTHER, to_days
from emotiq.report.insights import Insights
from emotiq.report.timeline import by_period, period_unit
from emotiq.schema import Evidence, EvidenceSpan, TaskEvidence

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "feedback_export.csv"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def row(sentiment="neutral", emotions="", complaint=False, severity=0.0, label="no_complaint", status="ok"):
    return {"sentiment": sentiment, "emotions": emotions, "is_complaint": complaint, "expected_severity": severity,
            "severity_label": label, "complaint_prob": 0.9 if complaint else 0.1, "emotiq_status": status}


def filled_aggregator(**options):
    agg = ReportAggregator(by="channel", time_column="created", **options)
    rows = [row("negative", "anger,disappointment", True, 3.6, "blame"), row("positive", "joy"),
            row("negative", "anger", True, 2.1, "disapproval"), row(status="empty"), row(status="error: bad")]
    texts = ["<script>alert('x')</script> & nooit meer!", "Top", "Te laat", "", ""]
    agg.add(rows, texts, groups=["email", "chat", "email", "chat", None], times=["2025-03-03 10:00", "04-03-2025", "2025-05-20", None, "soon"])
    return agg


def test_aggregator_counts_scored_rows_by_group_and_day():
    agg = filled_aggregator()
    assert agg.scored == 3 and agg.status == {"ok": 3, "empty": 1, "error": 1}
    assert agg.sentiment(agg.overall) == {"negative": 2 / 3, "neutral": 0.0, "positive": 1 / 3}
    assert agg.complaint_rate(agg.groups["email"]) == 1.0 and agg.complaint_rate(agg.groups["chat"]) == 0.0
    assert agg.emotions(agg.overall)["anger"] == 2 / 3
    assert sorted(agg.days) == ["2025-03-03", "2025-03-04", "2025-05-20"]
    assert [r["row"] for r in agg.most_severe()] == [1, 3] and agg.most_severe()[0]["group"] == "email"


def test_aggregator_state_round_trips_through_json():
    agg = filled_aggregator()
    again = ReportAggregator.from_state(json.loads(json.dumps(agg.state())))
    assert again.state() == agg.state()
    again.add([row("positive")], ["Fijn"], first_row=5, groups=["app"], times=["2025-03-05"])
    assert again.scored == 4 and again.groups["app"]["rows"] == 1


def test_aggregator_keeps_only_the_most_severe_and_bounds_groups():
    agg = ReportAggregator(by="channel", top_n=2, max_groups=2)
    rows = [row("negative", "", True, s, "blame") for s in (1.0, 3.5, 2.0, 3.9)]
    agg.add(rows, ["a", "b", "c", "d"], groups=["x", "y", "z", "x"])
    assert [r["text"] for r in agg.most_severe()] == ["d", "b"]
    assert set(agg.groups) == {"x", "y", OTHER}


def test_time_cells_in_iso_and_dutch_formats():
    assert to_days(["2025-03-03 10:00", "04-03-2025 09:15", "2025-03-05T08:00:00Z", "", None, "morgen"]) == [
        "2025-03-03", "2025-03-04", "2025-03-05", None, None, None]
    assert period_unit(["2025-01-01", "2025-03-01"]) == "week" and period_unit(["2025-01-01", "2025-12-01"]) == "month"
    assert list(by_period({"2025-03-04": {"rows": 1}, "2025-03-06": {"rows": 2}}, "week")) == ["2025-03-03"]


def test_report_is_self_contained_and_escapes_texts(tmp_path):
    page = render(filled_aggregator(), {"input": "export <1>.csv", "text_column": "message"})
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; nooit meer!" in page
    assert "export &lt;1&gt;.csv" in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) >= 8 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert write_report(filled_aggregator(), tmp_path / "sub" / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_aggregator_keeps_a_fixed_bounded_sample_of_complaints_for_themes():
    agg = ReportAggregator()
    agg.theme_sample_size = 3
    rows = [row("negative", "", True, 2.0, "blame") for _ in range(10)]
    agg.add(rows, [f"klacht {i}" for i in range(10)], times=None)
    again = ReportAggregator()
    again.theme_sample_size = 3
    again.add(rows[:4], [f"klacht {i}" for i in range(4)])
    again = ReportAggregator.from_state(json.loads(json.dumps(again.state())))
    again.theme_sample_size = 3
    again.add(rows[4:], [f"klacht {i}" for i in range(4, 10)], first_row=4)
    sample = agg.complaint_sample()
    assert len(sample) == 3 and sample == again.complaint_sample() and [s["row"] for s in sample] == sorted(s["row"] for s in sample)


def insights():
    from emotiq.themes import Theme, ThemeSet

    theme = Theme(id=0, label="levering, laat", keywords=("levering", "laat"), size=2, share=1.0, language="nl",
                  quotes=("<b>te laat</b>",), members=(1, 3), mean_sentiment=-0.7, complaint_rate=1.0, mean_severity=2.5,
                  trend={"2025-03-03": 1, "2025-05-19": 1})
    themes = ThemeSet(themes=(theme,), status="ok", method="kmeans", chosen_by="given", n_texts=2, n_grouped=2, seed=0,
                      period_unit="week")
    text = "<script>alert('x')</script> & nooit meer!"
    start = text.index("nooit")
    task = TaskEvidence("complaint", "complaint", 0.9, (EvidenceSpan("nooit", start, start + 5, 0.4),))
    return Insights(themes=themes, evidence={1: Evidence("ok", "word-occlusion", {"complaint": task}, len(text))})


def test_report_shows_themes_and_highlights_evidence():
    page = render(filled_aggregator(), {"input": "x.csv"}, insights())
    assert "Themes in complaints" in page and "1. levering, laat" in page and "&lt;b&gt;te laat&lt;/b&gt;" in page
    assert "<mark>nooit</mark> meer!" in page and "<script>" not in page
    assert 'alt="Themes over time"' in page and 'alt="Share of complaints per theme"' in page


def test_report_without_scored_rows_says_so():
    agg = ReportAggregator()
    agg.add([row(status="empty")], [""])
    assert "nothing to chart" in render(agg)


@pytest.fixture(scope="session")
def example_report(model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    summary = score_file(EXAMPLE, folder / "scored.csv", model=model, report=folder / "report.html",
                         by="channel", time_column="created_at")
    return summary.report


def test_score_file_writes_the_report(example_report):
    page = example_report.read_text(encoding="utf-8")
    for heading in ("Sentiment by channel", "Emotions by channel", "Complaint rate by channel", "Severity per week",
                    "Most severe complaints", "customer_message", "Themes in complaints", "Share of complaints per theme"):
        assert heading in page
    assert page.count("<img ") >= 11 and "<mark>" in page


PROBE = """<script>window.addEventListener("load", () => {
  const images = [...document.images];
  const result = {images: images.length, loaded: images.filter(i => i.complete && i.naturalWidth > 0).length,
                  themes: document.querySelectorAll("table.themes tbody tr").length,
                  marks: [...document.querySelectorAll("mark")].filter(m => m.getBoundingClientRect().width > 0).length};
  const pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(result);
  document.body.append(pre);
});</script>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *args], check=False, capture_output=True, text=True, timeout=90)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)")
def test_report_renders_with_its_images_in_headless_chromium(example_report, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text(example_report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri(), profile=tmp_path / "profile").stdout
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', dom)
    assert found, dom[-500:]
    result = json.loads(found.group(1))
    assert result["images"] >= 11 and result["loaded"] == result["images"]
    assert result["themes"] >= 1 and result["marks"] >= 1

    from PIL import Image

    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,3000", example_report.as_uri(), profile=tmp_path / "profile")
    colors = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 16)
    assert colors is None or len(colors) > 50  # charts and text, not a blank page
