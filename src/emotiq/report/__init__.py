"""A self-contained HTML report of a scored feedback file, built from running totals.

>>> from emotiq.report import ReportAggregator, write_report
>>> agg = ReportAggregator(by="channel")
>>> agg.add([analysis.to_dict() for analysis in results], texts, groups=channels)
>>> write_report(agg, "report.html", meta={"input": "feedback.csv"})
"""

from __future__ import annotations

from emotiq.report.aggregate import ReportAggregator
from emotiq.report.html import render, write_report

__all__ = ["ReportAggregator", "render", "write_report"]
