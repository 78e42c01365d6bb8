"""The bundled default model on a handful of unambiguous texts written for these tests."""

from __future__ import annotations

import pytest

PRAISE = [
    "Geweldige service, heel erg bedankt voor de snelle en vriendelijke hulp!",
    "Thank you so much, the staff were wonderful and solved everything quickly!",
]
ANGRY_COMPLAINTS = [
    "Dit is al de derde keer dat jullie mijn pakket kwijtraken. Jullie zijn echt waardeloos, ik wil mijn geld terug!",
    "You lost my package AGAIN. This is completely your fault and I want a full refund right now!",
]
QUESTIONS = [
    "Hoe laat gaat de winkel morgen open?",
    "What time does the store open tomorrow?",
]


@pytest.fixture(scope="module")
def trained(model):
    if not model.config.trained:
        pytest.skip("the bundled model's heads are untrained")
    return model


def test_clear_praise_is_positive_and_no_complaint(trained):
    for result in trained.analyze(PRAISE):
        assert result.sentiment.label == "positive", result.text
        assert result.complaint.probability < 0.5, result.text
        assert max(result.emotions["joy"], result.emotions["trust"]) > result.emotions["anger"]


def test_angry_complaint_with_blame(trained):
    for result in trained.analyze(ANGRY_COMPLAINTS):
        assert result.sentiment.label == "negative", result.text
        assert result.complaint.is_complaint, result.text
        assert result.complaint.expected_severity >= 1.5, result.text
        negative = max(result.emotions[e] for e in ("anger", "disgust", "disappointment", "sadness"))
        assert negative > result.emotions["joy"], result.text


def test_neutral_question(trained):
    for result in trained.analyze(QUESTIONS):
        assert result.sentiment.label == "neutral", result.text
        assert not result.complaint.is_complaint, result.text


def test_unjudgeable_texts_are_low_confidence_neutral(trained):
    for result in trained.analyze(["", "https://t.co/abc123", "0612345678", "   "]):
        assert result.status == "empty" and result.low_confidence
        assert result.sentiment.label == "neutral"
        assert not result.complaint.is_complaint


def test_bundled_model_folders_stay_within_their_size_budget():
    from tests.conftest import REPO

    sizes = {p.name: p.stat().st_size for p in (REPO / "models").rglob("*") if p.is_file()}
    assert sum(sizes.values()) <= 25 * 2**20, f"models/ holds {sum(sizes.values()) / 2**20:.1f} MiB, over its 25 MiB budget"
    assert not any(name.endswith((".bin", ".pt", ".pkl", ".pickle")) for name in sizes), "model folders hold safetensors and JSON only"
