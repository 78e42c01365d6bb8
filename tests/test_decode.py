"""Decoding head outputs: complaint fields never contradict, emotion sets stay small and neutral stays alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emotiq.decode import (
    EmotionRule,
    complaint_decision,
    complaint_fields,
    emotion_decisions,
    emotion_fields,
    language_thresholds,
)
from emotiq.heads import HeadSpec
from emotiq.schema import EMOTION_LABELS, SEVERITY_LABELS
from tests.conftest import REPO

COMPLAINT = HeadSpec(name="complaint", role="complaint", kind="softmax", labels=list(SEVERITY_LABELS))


def test_complaint_fields_agree_for_any_probabilities():
    rng = np.random.default_rng(0)
    rows = rng.dirichlet(np.ones(5) * 0.5, size=5000)
    rows[:10] = [0.35, 0.2, 0.15, 0.15, 0.15]  # complaint 0.65, but no_complaint is the single most likely level
    for row in rows:
        c = complaint_fields(COMPLAINT, row)["complaint"]
        assert c.is_complaint == (c.probability >= COMPLAINT.threshold) == (c.severity > 0)
        assert c.severity_label == SEVERITY_LABELS[c.severity]
    is_complaint, level = complaint_decision(np.array([[0.35, 0.2, 0.15, 0.15, 0.15]]), 0.5)
    assert is_complaint[0] and level[0] == 1


def test_emotion_sets_have_one_label_at_least_and_neutral_alone():
    thresholds = np.full(len(EMOTION_LABELS), 0.5)
    n = EMOTION_LABELS.index("neutral")
    probs = np.zeros((3, len(EMOTION_LABELS)))
    probs[0, [0, n]] = [0.6, 0.9]  # neutral most probable: neutral only
    probs[1, [0, 3, n]] = [0.9, 0.7, 0.6]  # emotions win: neutral dropped
    probs[2, 4] = 0.2  # nothing over threshold: the most probable label
    chosen = emotion_decisions(probs, EMOTION_LABELS, thresholds)
    assert [np.flatnonzero(r).tolist() for r in chosen] == [[n], [0, 3], [4]]


def test_relative_cutoff_drops_emotions_far_weaker_than_the_strongest_chosen_one():
    n = len(EMOTION_LABELS)
    thresholds = np.full(n, 0.3)
    probs = np.zeros((3, n))
    probs[0, [0, 1, 4]] = [0.9, 0.5, 0.56]  # disgust under 0.6 x 0.9, sadness just over it
    probs[1, [0, 1]] = [0.2, 0.35]  # anger under its threshold: the cutoff is taken from the strongest chosen emotion
    probs[2, 2] = 0.1  # nothing over threshold: the most probable label stays
    assert emotion_decisions(probs, EMOTION_LABELS, thresholds).sum(axis=1).tolist() == [3, 1, 1]
    chosen = emotion_decisions(probs, EMOTION_LABELS, thresholds, relative_cutoff=0.6)
    assert [np.flatnonzero(r).tolist() for r in chosen] == [[0, 4], [1], [2]]
    spec = HeadSpec(name="emotion", role="emotion", kind="sigmoid", labels=list(EMOTION_LABELS),
                    extra={"thresholds": thresholds.tolist(), "relative_cutoff": 0.6})
    assert emotion_fields(spec, probs[0])["emotion_labels"] == ("anger", "sadness")
    rule = EmotionRule.of(spec, ["en", "nl", None])
    assert rule.relative_cutoff == 0.6 and (rule.decide(probs, EMOTION_LABELS) == chosen).all()
    assert (rule.rows(np.array([2])).decide(probs[2:], EMOTION_LABELS) == chosen[2:]).all()


def test_the_relative_cutoff_is_chosen_by_cross_fitting_and_kept_at_0_when_it_costs_f1():
    from emotiq.training.cutoff import CUTOFF_GRID, choose_relative_cutoff

    rng = np.random.default_rng(0)
    rows, n = 600, len(EMOTION_LABELS)
    gold = np.zeros((rows, n), dtype=int)
    gold[np.arange(rows), rng.integers(0, 6, rows)] = 1  # one emotion per text
    probs = np.zeros((rows, n))
    probs[:, :6] = np.clip(gold[:, :6] * 0.7 + rng.random((rows, 6)) * 0.45, 0, 1)  # the gold emotion high, others up to 0.45
    known = np.ones((rows, n), dtype=bool)
    sources = np.where(np.arange(rows) % 2, "a", "b")
    fit = lambda fit_rows: np.full((rows, n), 0.3)  # a low threshold lets weak second emotions in
    rho, scores = choose_relative_cutoff(gold, probs, known, sources, EMOTION_LABELS, fit)
    assert set(scores) == set(CUTOFF_GRID) and rho >= 0.5 and scores[rho] > scores[0.0] + 0.05
    gold[:, :6] = probs[:, :6] >= 0.3  # now the weak ones are real second emotions: cutting them costs F1
    rho, scores = choose_relative_cutoff(gold, probs, known, sources, EMOTION_LABELS, fit)
    assert rho <= 0.3 and scores[0.0] > scores[0.8] + 0.05


def test_emotion_thresholds_follow_the_language_with_the_pooled_ones_as_fallback():
    n = len(EMOTION_LABELS)
    spec = HeadSpec(name="emotion", role="emotion", kind="sigmoid", labels=list(EMOTION_LABELS),
                    extra={"thresholds": [0.5] * n, "thresholds_by_language": {"nl": [0.3] * n, "en": [0.7] * n}})
    probs = np.zeros(n)
    probs[[0, 3]] = [0.8, 0.4]  # anger clear, joy between the Dutch and the pooled threshold
    assert emotion_fields(spec, probs, "nl")["emotion_labels"] == ("anger", "joy")
    assert emotion_fields(spec, probs, "und")["emotion_labels"] == ("anger",)  # no fitted language: pooled thresholds
    assert emotion_fields(spec, probs)["emotion_labels"] == ("anger",)
    rows = language_thresholds(spec, ["nl", "en", "other", None])
    assert rows.shape == (4, n) and rows[:, 0].tolist() == [0.3, 0.7, 0.5, 0.5]
    chosen = emotion_decisions(np.tile(probs, (4, 1)), EMOTION_LABELS, rows)
    assert chosen.sum(axis=1).tolist() == [2, 1, 1, 1]


def test_analyze_picks_the_thresholds_of_each_texts_language(model):
    spec = model.heads["emotion"].spec
    saved = dict(spec.extra)
    n = len(spec.labels)
    try:  # Dutch: nothing reaches 1.01, so only the most probable emotion; English: every emotion reaches 0
        spec.extra["thresholds_by_language"] = {"nl": [1.01] * n, "en": [0.0] * n}
        spec.extra["relative_cutoff"] = 0.0  # every emotion over its threshold stays
        dutch, english = model.analyze(["Ik ben woedend en bang, dit is walgelijk en verdrietig.",
                                        "I am furious and scared, this is disgusting and sad."])
        assert (dutch.language, english.language) == ("nl", "en")
        assert len(dutch.emotion_labels) == 1
        assert len(english.emotion_labels) == n - 1  # all but neutral, which never stands beside others
    finally:
        spec.extra.clear()
        spec.extra.update(saved)


@pytest.mark.skipif(not (REPO / "models" / "emotiq-small" / "metrics.json").exists(), reason="bundled model has no metrics.json")
def test_evaluation_found_no_contradiction_on_the_test_sets():
    metrics = json.loads((REPO / "models" / "emotiq-small" / "metrics.json").read_text())
    if "consistency" not in metrics:
        pytest.skip("the bundled model was evaluated before the consistency check existed")
    assert metrics["consistency"]["texts"] == metrics["test_rows"] > 10_000
    assert metrics["consistency"]["contradictions"] == 0


def test_bundled_model_complaint_fields_agree(model):
    texts = ["Waardeloos, nooit meer.", "Het pakket kwam dinsdag.", "Where is my refund??", "Thanks, all sorted!",
             "Ik wacht al drie weken op mijn terugbetaling en niemand reageert.", "Not bad at all", ""]
    for r in model.analyze(texts):
        c = r.complaint
        assert c.is_complaint == (c.severity > 0) == (c.probability >= 0.5)


def test_temperatures_follow_the_language_with_the_pooled_one_as_fallback():
    import torch

    from emotiq.heads import TaskHead

    spec = HeadSpec(name="sentiment", role="sentiment", kind="softmax", labels=["negative", "neutral", "positive"],
                    temperature=2.0, extra={"temperatures_by_language": {"nl": 4.0, "en": 1.0}})
    assert [spec.temperature_for(lang) for lang in ("nl", "en", "und", None)] == [4.0, 1.0, 2.0, 2.0]
    head = TaskHead(spec, 4)
    logits = torch.tensor([[4.0, 0.0, 0.0]] * 4)
    probs = head.probabilities(logits, ["nl", "en", "und", None])
    expected = [torch.softmax(logits[0] / t, -1) for t in (4.0, 1.0, 2.0, 2.0)]
    torch.testing.assert_close(probs, torch.stack(expected))
    torch.testing.assert_close(head.probabilities(logits), torch.stack([expected[2]] * 4))  # no languages: pooled
    with pytest.raises(ValueError, match="3 languages for 4 rows"):
        head.probabilities(logits, ["nl", "en", "en"])


def test_analyze_calibrates_each_text_with_its_languages_temperature(model):
    spec = model.heads["sentiment"].spec
    saved = dict(spec.extra)
    texts = ["Ik ben woedend, dit is de slechtste service ooit.", "I am furious, this is the worst service ever."]
    before = model.analyze(texts, sentences=True)
    try:  # a huge Dutch temperature flattens Dutch probabilities; English keeps its own
        spec.extra["temperatures_by_language"] = {**saved.get("temperatures_by_language", {}), "nl": 1000.0}
        dutch, english = model.analyze(texts, sentences=True)
    finally:
        spec.extra.clear()
        spec.extra.update(saved)
    assert (dutch.language, english.language) == ("nl", "en")
    assert max(dutch.sentiment.probabilities.values()) < 0.34 < max(before[0].sentiment.probabilities.values())
    assert all(max(s.sentiment.probabilities.values()) < 0.34 for s in dutch.sentences)
    assert english.sentiment.probabilities == pytest.approx(before[1].sentiment.probabilities, abs=1e-6)
