"""The public API: load, analyze in every input form, bad input, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import emotiq
from emotiq import Analysis
from emotiq.errors import ModelFolderError, UnknownNameError

GOOD = ["Top service, dank jullie wel!", "Where is my refund?? Third time asking.", "Pakket kwam kapot aan 😡"]


def _probs(result: Analysis) -> list[float]:
    values = list(result.sentiment.probabilities.values()) + list(result.emotions.values())
    return values + list(result.complaint.severity_probabilities.values())


def test_single_text(model):
    result = model.analyze("De bezorging was weer te laat!")
    assert isinstance(result, Analysis)
    assert result.status == "ok" and result.language == "nl"
    assert -1.0 <= result.sentiment.score <= 1.0
    assert result.sentiment.label == max(result.sentiment.probabilities, key=result.sentiment.probabilities.get)
    assert abs(sum(result.sentiment.probabilities.values()) - 1) < 1e-4
    assert set(result.emotions) == set(emotiq.EMOTION_LABELS)
    assert 0.0 <= result.complaint.probability <= 1.0
    assert 0.0 <= result.complaint.expected_severity <= 4.0
    assert result.complaint.severity_label == emotiq.SEVERITY_LABELS[result.complaint.severity]


def test_list_keeps_input_order(model):
    results = model.analyze(GOOD)
    assert [r.text for r in results] == GOOD
    singles = [model.analyze(t) for t in GOOD]
    for a, b in zip(results, singles):
        assert np.allclose(_probs(a), _probs(b), atol=0.02)


def test_batch_size_does_not_change_scores(model):
    texts = GOOD * 5 + ["kort", "Een veel langere tekst over een bestelling die maar niet aankwam, ondanks drie beloftes."]
    small = model.analyze(texts, batch_size=1)
    large = model.analyze(texts, batch_size=64)
    for a, b in zip(small, large):
        assert np.allclose(_probs(a), _probs(b), atol=0.02)
        assert a.sentiment.label == b.sentiment.label or max(a.sentiment.probabilities.values()) < 0.55


def test_pandas_series_and_dataframe(model):
    series = pd.Series(GOOD + [None], index=[10, 11, 12, 13])
    results = model.analyze(series)
    assert len(results) == 4 and results[3].status == "empty"
    df = pd.DataFrame({"id": [1, 2, 3], "message": GOOD})
    scored = model.analyze_df(df, text_column="message")
    assert list(scored.columns[:2]) == ["id", "message"]
    assert {"sentiment", "sentiment_score", "emotion_anger", "complaint_prob", "severity", "emotiq_status"} <= set(scored.columns)
    assert len(scored) == 3 and scored["emotiq_status"].eq("ok").all()


def test_datasets_dataset(model):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"text": GOOD})
    assert [r.text for r in model.analyze(ds)] == GOOD


def test_to_dict_is_flat(model):
    row = model.analyze("Prima geholpen").to_dict()
    assert all(not isinstance(v, dict | list) for v in row.values())
    assert row["emotiq_status"] == "ok"


@pytest.mark.parametrize("bad", [None, b"bytes", 42])
def test_bad_top_level_input(model, bad):
    with pytest.raises(TypeError, match="position|None|int"):
        model.analyze(bad)


def test_non_str_item_names_position_and_type(model):
    with pytest.raises(TypeError, match=r"position 2.*bytes"):
        model.analyze(["ok", "fine", b"raw"])
    with pytest.raises(TypeError, match=r"position 1.*NoneType"):
        model.analyze(["ok", None])


def test_flagged_bad_item_keeps_the_rest(model):
    results = model.analyze(["Top!", 3.5, "Slecht!"], errors="flag")
    assert [r.status for r in results] == ["ok", "error", "ok"]
    assert "position 1" in results[1].error and "float" in results[1].error
    assert results[1].to_dict()["emotiq_status"].startswith("error:")


def test_odd_texts_get_results_without_shifting_others(model):
    odd = ["", "   \n\t ", "😡😡😡", "x" * 1_000_000, "bad\x00\x07control", "lone \udc80 surrogate", "12345", "https://t.co/x"]
    mixed = [t for pair in zip(GOOD * 3, odd) for t in pair]
    results = model.analyze(mixed)
    assert len(results) == len(mixed)
    clean = model.analyze(GOOD * 3)
    for got, want in zip(results[0::2], clean):
        assert got.text == want.text
        assert np.allclose(_probs(got), _probs(want), atol=0.02)
    status = {r.text[:20]: r.status for r in results[1::2]}
    assert status[""] == "empty" and status["12345"] == "empty" and status["https://t.co/x"] == "empty"
    assert status["😡😡😡"] == "ok"
    huge = results[7]
    assert huge.status == "ok" and huge.truncated and huge.n_chunks > 1
    for r in results[1::2]:
        if r.status == "empty":
            assert r.low_confidence and r.sentiment.label == "neutral"


def test_analyze_iter_streams_in_order(model):
    texts = (f"Bericht nummer {i}: {'top' if i % 2 else 'slecht'}" for i in range(50))
    results = list(model.analyze_iter(texts, window=16))
    assert [r.text for r in results] == [f"Bericht nummer {i}: {'top' if i % 2 else 'slecht'}" for i in range(50)]


def test_sentence_scores_on_request(model):
    result = model.analyze("Het eten was heerlijk. De bediening was traag en onbeleefd.", sentences=True)
    assert result.sentences is not None and len(result.sentences) == 2
    assert result.sentences[1].text.startswith("De bediening")


def test_tasks_skip_heads(model):
    result = model.analyze("Prima", tasks=["sentiment"])
    assert result.sentiment is not None and result.complaint is None and result.emotions == {}
    with pytest.raises(UnknownNameError, match="this model has"):
        model.analyze("Prima", tasks=["sarcasm"])


def test_compile_is_switched_on_and_off_without_reloading(model):
    try:
        assert model.to(compile=True).runner.compiled is not None  # compiles lazily, on the first batch
    finally:
        model.to(compile=False)
    assert model.runner.compiled is None


def test_save_and_load_round_trip(model, tmp_path):
    model.save(tmp_path / "copy")
    again = emotiq.load(tmp_path / "copy")
    for a, b in zip(model.analyze(GOOD), again.analyze(GOOD)):
        assert _probs(a) == _probs(b)
    assert (tmp_path / "copy" / "README.md").exists()


def test_unknown_model_lists_bundled():
    with pytest.raises(ModelFolderError, match="emotiq-small"):
        emotiq.load("no-such-model")


def test_default_model_is_bundled():
    assert "emotiq-small" in emotiq.available_models()
