"""The suite's pass rates as Markdown, and the comparison with rates recorded for a model."""

from __future__ import annotations

from typing import Any

from emotiq.behaviour.casefile import LANGUAGES

CAPABILITY_NAMES = {
    "negation": "negation (\"niet slecht\", \"not bad at all\")",
    "intensifiers": "intensifiers and downtoners",
    "sarcasm": "sarcasm markers (🙄, \"geweldig, weer…\")",
    "polite_complaint": "polite complaints without angry words",
    "neutral_request": "neutral questions and requests",
    "neutral_statement": "plainly neutral statements",
    "short_answer": "one-word answers (\"Prima.\", \"Meh.\")",
    "emotion_words": "plain emotion and sentiment words (\"woedend\", \"schandalig\", \"furious\")",
    "emoji_only": "emoji-only texts",
    "accents_typos": "missing accents and typos",
    "code_switching": "code-switching (Dutch-English)",
    "complaint_delivery": "complaints about delivery",
    "complaint_billing": "complaints about billing",
    "complaint_staff": "complaints about staff",
    "complaint_product": "complaints about the product",
    "complaint_agreement": "complaint probability and severity agree",
    "inv_names": "invariance to names",
    "inv_places": "invariance to places",
    "inv_amounts": "invariance to amounts",
}
"""Capability id -> the name shown in tables (ids not listed are shown as they are)."""


def _cell(rate: dict[str, Any] | None) -> str:
    return "" if not rate else f"{rate['rate']:.0%} ({rate['passed']}/{rate['total']})"


def behaviour_table(record: dict[str, Any]) -> str:
    """Markdown table of pass rates per capability and language, from :meth:`SuiteReport.to_dict`."""
    header = "| capability | " + " | ".join(LANGUAGES) + " | all |"
    lines = [header, "|---|" + "---:|" * (len(LANGUAGES) + 1)]
    order = list(CAPABILITY_NAMES)
    for cap, rates in sorted(record["capabilities"].items(), key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0])):
        cells = " | ".join(_cell(rates.get(lang)) for lang in LANGUAGES)
        lines.append(f"| {CAPABILITY_NAMES.get(cap, cap)} | {cells} | {_cell(rates)} |")
    cells = " | ".join(_cell(record["languages"].get(lang)) for lang in LANGUAGES)
    lines.append(f"| **all cases** | {cells} | {_cell(record['overall'])} |")
    return "\n".join(lines)


def behaviour_section(record: dict[str, Any]) -> str:
    """The "Behavioural suite" section of metrics.md: how it was run, then the table."""
    types = ", ".join(f"{k} {_cell(v)}" for k, v in record["types"].items())
    settings = ", ".join(f"{k} {v}" for k, v in record.get("settings", {}).items())
    intro = (f"Pass rates on emotiq's hand-written behavioural suite (`emotiq behaviour`, suite `{record['suite']}`, "
             f"{record['overall']['total']} cases{'; ' + settings if settings else ''}). By test type: {types}. "
             "MFT cases expect a label, DIR cases a score moving one way, INV cases a label and score that stay put. "
             "`tests/test_behaviour.py` fails if the model drops below these rates.")
    return f"## Behavioural suite\n\n{intro}\n\n{behaviour_table(record)}"


def regressions(current: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """Where ``current`` passes fewer cases than ``recorded`` (both from :meth:`SuiteReport.to_dict`).

    Compares the overall rate and each capability's rate; a capability missing
    from ``current`` counts as a drop. Returns one line per drop (empty: no drop).
    """
    drops = []
    pairs = [("overall", current["overall"], recorded["overall"])]
    pairs += [(cap, current["capabilities"].get(cap), rate) for cap, rate in recorded["capabilities"].items()]
    for name, now, then in pairs:
        if now is None:
            drops.append(f"{name}: no longer in the suite (recorded {_cell(then)})")
        elif now["rate"] < then["rate"]:
            drops.append(f"{name}: {_cell(now)} < recorded {_cell(then)}")
    return drops
