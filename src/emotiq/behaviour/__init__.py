"""CheckList-style behavioural tests for emotiq models (Ribeiro et al., ACL 2020).

The suite ships as JSONL files in ``emotiq/behaviour/cases``: hand-written Dutch and
English customer feedback, grouped by capability (negation, sarcasm, polite
complaints, emoji, typos, invariance to names, ...), each case a minimum
functionality test (MFT: expected label), a directional test (DIR: a score must
move one way) or an invariance test (INV: label and score stay put).

Example:
    >>> import emotiq
    >>> from emotiq.behaviour import run_suite
    >>> report = run_suite(emotiq.load(precision="fp32"))
    >>> report.overall.rate, report.by_capability["negation"].rate
"""

from __future__ import annotations

from emotiq.behaviour.casefile import Case, load_cases, parse_cases
from emotiq.behaviour.checks import TASKS, judge
from emotiq.behaviour.record import check_model, read_record, record_behaviour
from emotiq.behaviour.report import behaviour_section, behaviour_table, regressions
from emotiq.behaviour.runner import CaseResult, PassRate, SuiteReport, run_suite

__all__ = [
    "TASKS",
    "Case",
    "CaseResult",
    "PassRate",
    "SuiteReport",
    "behaviour_section",
    "behaviour_table",
    "check_model",
    "judge",
    "load_cases",
    "parse_cases",
    "read_record",
    "record_behaviour",
    "regressions",
    "run_suite",
]
