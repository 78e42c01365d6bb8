"""Evidence: occlusion spans, weights that match the model's own probabilities, bad inputs and the CLI."""

from __future__ import annotations

import html
import itertools

import numpy as np
import pytest
from typer.testing import CliRunner

from emotiq.cli import app
from emotiq.explain import EXPLAIN_MAX_CHARS, keep_only, occlusion_spans, without
from emotiq.explain.marking import mark_spans
from emotiq.explain.units import word_spans
from emotiq.schema import EvidenceSpan

TEXT = "De bezorging was weer te laat! Nooit meer bij jullie 😡"


def test_word_spans_cover_words_and_emoji_not_punctuation():
    assert [TEXT[s:e] for s, e in word_spans(TEXT)] == ["De", "bezorging", "was", "weer", "te", "laat", "Nooit", "meer", "bij",
                                                       "jullie", "😡"]
    other = "it's a check-in, ok?"
    assert [other[s:e] for s, e in word_spans(other)] == ["it's", "a", "check-in", "ok"]


def test_long_texts_are_cut_into_at_most_budget_phrases():
    text = " ".join(f"w{i}" for i in range(50))
    spans = occlusion_spans(text, 16)
    assert len(spans) == 16 and spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    assert len(occlusion_spans("twee woorden", 16)) == 2


def test_without_and_keep_only():
    spans = word_spans(TEXT)
    assert without(TEXT, [spans[5]]) == "De bezorging was weer te ! Nooit meer bij jullie 😡"
    assert keep_only(TEXT, [spans[5], spans[1]]) == "bezorging laat"


def test_mark_spans_merges_neighbours_and_escapes():
    text = "te laat & <kapot>"
    spans = [EvidenceSpan("laat", 3, 7, 0.2), EvidenceSpan("te", 0, 2, 0.1), EvidenceSpan("kapot", 11, 16, 0.05)]
    assert mark_spans(text, spans) == "[te laat] & <[kapot]>"
    assert mark_spans(text, spans, before="<mark>", after="</mark>", escape=html.escape) == (
        "<mark>te laat</mark> &amp; &lt;<mark>kapot</mark>&gt;")


def test_evidence_weights_are_the_probability_drop_when_a_span_is_left_out(model):
    result = model.analyze(TEXT, explain=True)
    evidence = result.evidence
    assert evidence.status == "ok" and evidence.method == "word-occlusion" and set(evidence.tasks) == {"sentiment", "emotion", "complaint"}
    sentiment = evidence.tasks["sentiment"]
    assert sentiment.label == result.sentiment.label
    assert abs(sentiment.probability - result.sentiment.probabilities[sentiment.label]) < 0.02
    for task in evidence.tasks.values():
        assert all(TEXT[s.start:s.end] == s.text for s in task.spans)
        assert [abs(s.weight) for s in task.spans] == sorted((abs(s.weight) for s in task.spans), reverse=True)
    strongest = sentiment.spans[0]
    probs = model.predict_proba([TEXT, without(TEXT, [(strongest.start, strongest.end)])], tasks=["sentiment"])["sentiment"]
    column = model.heads["sentiment"].spec.labels.index(sentiment.label)
    assert np.isclose(probs[0, column] - probs[1, column], strongest.weight, atol=1e-4)
    complaint = evidence.tasks["complaint"]
    assert complaint.label == ("complaint" if result.complaint.is_complaint else "no_complaint")


def test_explain_is_opt_in_and_flat_in_to_dict(model):
    plain = model.analyze(["Top service"])[0]
    assert plain.evidence is None and not any(k.startswith("evidence") for k in plain.to_dict())
    row = model.analyze(["Top service"], explain=True)[0].to_dict()
    assert row["evidence_status"] == "ok" and "'" in row["evidence_sentiment"] and "evidence_complaint" in row


def test_explain_on_empty_text_gives_empty_evidence_with_a_reason(model):
    results = model.analyze(["", "   ", "!!!"], explain=True)
    for result in results:
        assert result.evidence.status == "empty" and result.evidence.tasks == {} and result.evidence.message


@pytest.mark.slow
def test_explain_on_a_one_megabyte_text_is_truncated_and_says_so(model):
    text = ("De levering was te laat en niemand belt terug. " * 22000)[:1_000_000]
    result = model.analyze(text, explain=True)
    evidence = result.evidence
    assert evidence.status == "truncated" and 0 < evidence.explained_chars <= EXPLAIN_MAX_CHARS
    assert "1,000,000" in evidence.message
    assert all(s.end <= evidence.explained_chars for t in evidence.tasks.values() for s in t.spans)
    assert all(len(t.spans) > 0 for t in evidence.tasks.values())


def test_explain_keeps_errors_flagged(model):
    results = model.analyze(["Prima", 42], explain=True, errors="flag")
    assert results[0].evidence.status == "ok"
    assert results[1].status == "error" and results[1].evidence.status == "error" and "position 1" in results[1].evidence.message


def test_cli_marks_evidence_in_the_text():
    result = CliRunner().invoke(app, ["analyze", "--explain", TEXT, ""])
    assert result.exit_code == 0, result.output
    assert "evidence for " in result.output and "[" in result.output.split("evidence for ")[1]
    assert "evidence: empty" in result.output
