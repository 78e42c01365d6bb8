"""Tests of the labelled-data layer: registry, row format, fixed splits, mappings, licences."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emotiq.errors import InputError, UnknownNameError
from emotiq.schema import EMOTION_LABELS, SENTIMENT_LABELS, SEVERITY_LABELS
from emotiq.training import sources
from emotiq.training.catalogue import (
    TRANSLATIONS,
    clean_semeval_text,
    read_translations,
    sentence_sentiment,
    translated,
    translation_key,
)
from emotiq.training.mappings import (
    ANNOTATED_EMOTIONS,
    EKMAN_LABELS,
    GOEMOTIONS_TO_EMOTIQ,
    ekman_group,
    emotion_vector,
    tweeteval_emotion_class,
)
from emotiq.training.sources import (
    COLUMNS,
    MissingDataError,
    SourceInfo,
    available_sources,
    goemotions_ekman,
    load_sources,
    source_info,
    summary_table,
)
from emotiq.training.splits import (
    SPLITS,
    drop_duplicate_texts,
    drop_split_leaks,
    seeded_split,
    stable_hash,
    text_key,
)

DATA_ROOT = Path(
    os.environ.get("EMOTIQ_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
needs_data = pytest.mark.skipif(
    not DATA_ROOT.exists(),
    reason="../shared/data not found: the labelled sets live beside the repo",
)

PERMISSIVE = {"goemotions", "goemotions_nl", "xed_en", "xed_nl"}
EXPECTED_SOURCES = PERMISSIVE | {
    "tweeteval_emotion", "semeval2017_sentiment", "xci", "cesamard", "absa16_en", "absa16_nl",
    "dutch_political_tweets", "semeval2018_ec", "dutch_tv_emotion", "xci_nl", "cesamard_nl",
}  # fmt: skip
NO_TEST_SPLIT = {"semeval2018_ec", "goemotions_nl"}  # unlabelled test file; no test comment translated
TASK_LABELS = {
    "sentiment": SENTIMENT_LABELS, "emotion": EMOTION_LABELS, "severity": SEVERITY_LABELS,
}  # fmt: skip


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return load_sources(data_root=DATA_ROOT)


# --------------------------------------------------------------------------- without data


def test_registry_lists_every_source_with_its_licence_decision() -> None:
    assert set(available_sources()) == EXPECTED_SOURCES
    for name in available_sources():
        info = source_info(name)
        assert isinstance(info, SourceInfo) and info.name == name
        assert info.permissive == (name in PERMISSIVE), name
        assert info.licence and info.licence_note and info.citation and info.url
        assert set(info.languages) <= {"en", "nl"} and set(info.tasks) <= set(sources.TASKS)


def test_every_label_mapping_targets_emotiq_labels() -> None:
    for name in available_sources():
        for task, mapping in source_info(name).label_map.items():
            if task in TASK_LABELS:
                targets = {t for labels in mapping.values() for t in labels}
                assert targets <= set(TASK_LABELS[task]), (name, task)
    assert set(GOEMOTIONS_TO_EMOTIQ) and len(GOEMOTIONS_TO_EMOTIQ) == 28


def test_unknown_source_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="goemotions"):
        source_info("imdb")


def test_missing_data_root_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(MissingDataError, match=str(missing)):
        load_sources(["xci"], data_root=missing)


def test_missing_source_folder_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="xci_complaints_singh2023"):
        load_sources(["xci"], data_root=tmp_path)


def test_env_var_sets_the_data_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(sources.DATA_ENV_VAR, str(tmp_path))
    assert sources.resolve_data_root() == tmp_path


def test_unknown_split_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="valid: train, dev, test"):
        load_sources(["xci"], data_root=tmp_path, splits=["validation"])


def test_stable_hash_does_not_change() -> None:
    assert stable_hash("hello", 13) == 4651599000585221023
    assert stable_hash("hello", 14) != stable_hash("hello", 13)


def test_seeded_split_is_stratified_deterministic_and_order_free() -> None:
    keys = pd.Series([f"text {i}" for i in range(2000)] + ["text 7"])
    strata = pd.Series(["a" if i % 4 else "b" for i in range(2000)] + ["b"])
    split = seeded_split(keys, strata=strata)
    shuffled = keys.sample(frac=1.0, random_state=1)
    assert split.equals(seeded_split(keys, strata=strata))
    assert seeded_split(shuffled, strata=strata[shuffled.index]).sort_index().equals(split)
    assert split.iloc[7] == split.iloc[-1]
    for _, part in split[:2000].groupby(strata[:2000]):
        shares = part.value_counts(normalize=True)
        assert shares["train"] == pytest.approx(0.8, abs=0.01)
        assert shares["test"] == pytest.approx(0.1, abs=0.01)


def test_duplicates_keep_the_most_held_out_copy() -> None:
    df = pd.DataFrame(
        {"text": ["Hi  there", "hi there", "other", "x"], "split": ["train", "test", "dev", "dev"]}
    )
    kept = drop_duplicate_texts(df)
    assert kept["text"].tolist() == ["hi there", "other", "x"]
    leaks = drop_split_leaks(pd.concat([df, pd.DataFrame({"text": ["X"], "split": ["train"]})]))
    assert "X" not in leaks["text"].tolist() and "Hi  there" not in leaks["text"].tolist()


def test_pipeline_fills_defaults_splits_and_drops_duplicates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "toy").mkdir()
    info = SourceInfo(
        name="toy", folder="toy", languages=("nl",), tasks=("sentiment",), licence="MIT",
        permissive=True, licence_note="test", citation="-", url="-",
        split_fractions={"train": 0.5, "dev": 0.5},
    )  # fmt: skip

    def loader(folder: Path) -> pd.DataFrame:
        texts = [f"zin {i}" for i in range(40)] + ["zin 3 ", "", "geen label"]
        return pd.DataFrame({"text": texts, "sentiment": [2] * 42 + [-1]})

    monkeypatch.setitem(sources._INFO, "toy", info)
    monkeypatch.setitem(sources._LOADERS, "toy", loader)
    df = load_sources("toy", data_root=tmp_path)
    assert list(df.columns) == list(COLUMNS) and len(df) == 40
    assert set(df["split"]) == {"train", "dev"} and set(df["lang"]) == {"nl"}
    assert (df["complaint"] == -1).all() and df["emotions"].isna().all()
    assert load_sources("toy", data_root=tmp_path, permissive_only=True).equals(df)


def test_ekman_group_accepts_every_form() -> None:
    scores = {name: 0.0 for name in EMOTION_LABELS} | {"trust": 0.7, "disappointment": 0.4}
    assert ekman_group(scores) == dict.fromkeys(EKMAN_LABELS, 0.0) | {"joy": 0.7, "sadness": 0.4}
    assert ekman_group(["anticipation", "anger", "trust"]) == ["anger", "joy"]
    vector = emotion_vector(["disappointment"])
    assert ekman_group(vector) == [float(k == "sadness") for k in EKMAN_LABELS]
    assert ekman_group(np.array([vector, vector])).shape == (2, len(EKMAN_LABELS))


def test_tweeteval_class_reads_optimism_from_anticipation() -> None:
    scores = np.zeros((2, len(EMOTION_LABELS)))
    scores[0, EMOTION_LABELS.index("anticipation")] = 0.9
    scores[1, EMOTION_LABELS.index("sadness")] = 0.6
    assert tweeteval_emotion_class(scores).tolist() == [2, 3]  # optimism, sadness


def test_semeval_text_is_unescaped() -> None:
    assert clean_semeval_text('"It read: \\""Go\\"" now\\u002c ok"') == 'It read: "Go" now, ok'
    assert clean_semeval_text('"Quote." - Bob, "Song"') == '"Quote." - Bob, "Song"'


def test_sentence_sentiment_rule() -> None:
    assert sentence_sentiment({"positive", "neutral"}) == SENTIMENT_LABELS.index("positive")
    assert sentence_sentiment({"negative"}) == SENTIMENT_LABELS.index("negative")
    assert sentence_sentiment(set()) == SENTIMENT_LABELS.index("neutral")
    assert sentence_sentiment({"positive", "negative"}) == -1


def test_a_translation_keeps_the_labels_and_split_of_its_original() -> None:
    english = pd.DataFrame({
        "text": ["My parcel never came", "Thanks, all sorted", "Where is my refund?"],
        "lang": "en", "source": "xci", "split": ["train", "dev", "test"],
        "sentiment": [0, 2, 0], "complaint": [1, 0, 1], "severity": [2, 0, 1],
    })  # fmt: skip
    translations = {translation_key("my  parcel NEVER came"): "Mijn pakket is nooit gekomen",
                    translation_key("Where is my refund?"): "Waar blijft mijn terugbetaling?"}
    rows = translated(english, translations)
    assert rows["text"].tolist() == ["Mijn pakket is nooit gekomen", "Waar blijft mijn terugbetaling?"]
    assert rows["split"].tolist() == ["train", "test"] and rows["severity"].tolist() == [2, 1]
    assert "source" not in rows and "lang" not in rows  # the translated source's own


def test_missing_translation_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="xci_nl.jsonl"):
        read_translations(tmp_path / "xci_nl.jsonl")


def test_a_broken_translation_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "xci_nl.jsonl"
    path.write_text('{"key": "a1", "text": "Goed"}\n\n{"key": "b2"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 3"):
        read_translations(path)


@pytest.mark.parametrize(("name", "rows"), [("xci_nl", 3000), ("goemotions_nl", 5000), ("cesamard_nl", 3500)])
def test_translation_files_are_read_from_the_repository(name: str, rows: int) -> None:
    translations = read_translations(TRANSLATIONS / f"{name}.jsonl")
    assert len(translations) > rows
    assert all(len(key) == 16 and text.strip() == text != "" for key, text in translations.items())


# --------------------------------------------------------------------------- with data


@needs_data
def test_every_source_has_the_row_format(rows: pd.DataFrame) -> None:
    assert list(rows.columns) == list(COLUMNS)
    assert set(rows["source"]) == EXPECTED_SOURCES
    assert rows["text"].map(lambda t: isinstance(t, str) and t.strip() == t != "").all()
    assert rows["split"].isin(SPLITS).all()
    assert rows["sentiment"].between(-1, len(SENTIMENT_LABELS) - 1).all()
    assert rows["complaint"].isin([-1, 0, 1]).all()
    assert rows["severity"].between(-1, len(SEVERITY_LABELS) - 1).all()
    emotions = rows["emotions"].dropna()
    known = emotions.map(lambda v: [x for x in v if not np.isnan(x)])
    assert emotions.map(len).eq(len(EMOTION_LABELS)).all()
    assert known.map(lambda v: len(v) > 0 and set(v) <= {0.0, 1.0}).all()
    for name, part in rows[rows["emotions"].notna()].groupby("source"):
        annotated = set(ANNOTATED_EMOTIONS[str(name)])
        # a source says yes or no exactly to the emotions it annotates, and NaN elsewhere
        for vector in part["emotions"]:
            assert {e for e, v in zip(EMOTION_LABELS, vector) if not np.isnan(v)} == annotated, name


@needs_data
def test_each_source_labels_exactly_its_tasks(rows: pd.DataFrame) -> None:
    for name, part in rows.groupby("source"):
        info = source_info(str(name))
        assert set(part["lang"]) == set(info.languages)
        assert set(part["split"]) == set(SPLITS) - ({"test"} if name in NO_TEST_SPLIT else set()), name
        labelled = {
            "sentiment": (part["sentiment"] >= 0).any(),
            "emotion": part["emotions"].notna().any(),
            "complaint": (part["complaint"] >= 0).any(),
            "severity": (part["severity"] >= 0).any(),
        }
        assert {task for task, has in labelled.items() if has} == set(info.tasks), name


@needs_data
def test_splits_are_disjoint_by_text(rows: pd.DataFrame) -> None:
    keys = rows["text"].map(text_key)
    assert not pd.concat([rows["source"], keys], axis=1).duplicated().any()
    held_out = set(keys[rows["split"] == "test"])
    assert held_out.isdisjoint(keys[rows["split"] != "test"])
    assert set(keys[rows["split"] == "dev"]).isdisjoint(keys[rows["split"] == "train"])


@needs_data
def test_splits_are_the_same_on_every_load(rows: pd.DataFrame) -> None:
    names = ["xci", "cesamard", "absa16_nl", "dutch_political_tweets"]
    first = load_sources(names, data_root=DATA_ROOT)
    second = load_sources(names, data_root=DATA_ROOT)
    assert first.drop(columns="emotions").equals(second.drop(columns="emotions"))
    vectors = [np.array([v if v is not None else [] for v in df["emotions"]], dtype=object) for df in (first, second)]
    assert all(np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=True) for a, b in zip(*vectors))
    mine = first.set_index(["source", "text"])["split"]
    together = rows[rows["source"].isin(names)].set_index(["source", "text"])["split"]
    assert together.equals(mine.loc[together.index])


@needs_data
def test_official_split_sizes(rows: pd.DataFrame) -> None:
    sizes = rows.groupby(["source", "split"]).size()
    assert sizes["goemotions", "test"] == 5421  # 5,427 minus 6 repeated texts
    assert sizes["semeval2017_sentiment", "test"] == 12282  # 12,284 minus 2 repeats
    assert sizes["tweeteval_emotion", "test"] == 1421
    assert sizes["absa16_en", "test"] == 612


def _row(rows: pd.DataFrame, source: str, text: str) -> pd.Series:
    match = rows[(rows["source"] == source) & (rows["text"] == text)]
    assert len(match) == 1, (source, text)
    return match.iloc[0]


def _emotions_of(row: pd.Series) -> set[str]:
    return {name for name, v in zip(EMOTION_LABELS, row["emotions"], strict=True) if v == 1.0}


@needs_data
def test_known_rows_are_mapped(rows: pd.DataFrame) -> None:
    row = _row(rows, "goemotions", "WHY THE FUCK IS BAYLESS ISOING")
    assert _emotions_of(row) == {"anger"} and row["sentiment"] == -1
    row = _row(rows, "xed_en", "... And I don't think we need to discuss the Trinity any more .")
    assert _emotions_of(row) == {"anger", "trust"} and row["native_label"] == "trust,anger"
    row = _row(rows, "xed_nl", "Dit is de VS-marinehelikopter.")
    assert _emotions_of(row) == {"fear", "trust"} and row["lang"] == "nl"
    tweet = "Gas by my house hit $3.39!!!! I’m going to Chapel Hill on Sat. :)"
    row = _row(rows, "semeval2017_sentiment", tweet)
    assert row["sentiment"] == SENTIMENT_LABELS.index("positive") and row["emotions"] is None
    sentence = "The food was lousy - too sweet or too salty and the portions tiny."
    assert _row(rows, "absa16_en", sentence)["sentiment"] == SENTIMENT_LABELS.index("negative")
    row = _row(rows, "dutch_political_tweets", "Zo hou je de moed erin. Goed bezig!")
    assert _emotions_of(row) == {"anticipation"}
    assert row["sentiment"] == SENTIMENT_LABELS.index("positive")


@needs_data
def test_complaint_rows_are_mapped(rows: pd.DataFrame) -> None:
    xci = _row(
        rows, "xci", "@FC_HELP can I return online purchases to a House of Fraser concesssion "
        "if I have the delivery note and order details?",
    )  # fmt: skip
    assert (xci["complaint"], xci["severity"], xci["sentiment"]) == (0, 0, 1)
    assert xci["native_label"] == "other" and _emotions_of(xci) == set()  # "other": none of Ekman's six
    assert [np.isnan(v) for v in xci["emotions"]] == [e not in ANNOTATED_EMOTIONS["xci"] for e in EMOTION_LABELS]
    title = "Must read book | Measure your growth"
    row = rows[(rows["source"] == "cesamard") & rows["text"].str.startswith(title)].iloc[0]
    assert "\\n" not in row["text"] and row["text"].startswith(f"{title}\nBefore starting")
    assert _emotions_of(row) == {"joy"} and (row["sentiment"], row["complaint"]) == (2, 0)
    complaints = rows[rows["source"].isin(["xci", "cesamard"]) & (rows["severity"] >= 0)]
    assert ((complaints["complaint"] == 1) == (complaints["severity"] > 0)).all()


@needs_data
@pytest.mark.parametrize(("name", "original", "share"),
                         [("xci_nl", "xci", 0.95), ("goemotions_nl", "goemotions", 0.1), ("cesamard_nl", "cesamard", 0.9)])
def test_translated_rows_are_the_english_rows_with_their_labels_and_splits(rows: pd.DataFrame, name: str, original: str,
                                                                           share: float) -> None:
    english = rows[rows["source"] == original].set_index(rows.loc[rows["source"] == original, "text"].map(translation_key))
    dutch = rows[rows["source"] == name]
    assert set(dutch["lang"]) == {"nl"} and len(dutch) > share * len(english)
    translations = read_translations(TRANSLATIONS / f"{name}.jsonl")
    by_text = {t: k for k, t in translations.items()}
    once = pd.Series(list(translations.values())).value_counts()
    dutch = dutch[dutch["text"].map(once) == 1]  # a text two originals share ("Bedankt!") names neither
    originals = english.loc[dutch["text"].map(by_text)]
    for column in ("split", "sentiment", "emotions", "complaint", "severity", "native_label"):
        assert originals[column].astype(str).tolist() == dutch[column].astype(str).tolist(), column


@needs_data
def test_goemotions_ekman_matches_the_emotiq_grouping(rows: pd.DataFrame) -> None:
    ekman = goemotions_ekman(data_root=DATA_ROOT)
    test = rows[(rows["source"] == "goemotions") & (rows["split"] == "test")]
    assert ekman["text"].tolist() == test["text"].tolist()
    grouped = ekman_group(np.array(test["emotions"].tolist()))
    assert (grouped == np.array(ekman["ekman"].tolist())).all()


@needs_data
def test_tweeteval_native_labels_round_trip(rows: pd.DataFrame) -> None:
    part = rows[rows["source"] == "tweeteval_emotion"]
    classes = tweeteval_emotion_class(np.array(part["emotions"].tolist()))
    names = ["anger", "joy", "optimism", "sadness"]
    assert [names[c] for c in classes] == part["native_label"].tolist()


@needs_data
def test_permissive_only_keeps_permissive_sources() -> None:
    df = load_sources(["xci", "xed_nl"], data_root=DATA_ROOT, permissive_only=True, splits="dev")
    assert set(df["source"]) == {"xed_nl"} and set(df["split"]) == {"dev"}


@needs_data
def test_summary_table_counts_labelled_rows(rows: pd.DataFrame) -> None:
    table = summary_table(rows)
    assert table["rows"].sum() == len(rows)
    assert table["emotion"].sum() == rows["emotions"].notna().sum()
    xci = table[(table["source"] == "xci")].set_index("split")
    assert xci["severity"].sum() == xci["rows"].sum()
    assert list(table.columns) == ["source", "lang", "split", "rows", *sources.TASKS]


@needs_data
def test_semeval2018_maps_love_and_optimism_and_reads_no_label_as_neutral(rows: pd.DataFrame) -> None:
    part = rows[rows["source"] == "semeval2018_ec"]
    assert part["split"].value_counts().to_dict().keys() == {"train", "dev"}
    assert not part["text"].str.contains(r"@(?!user\b)\w+").any()  # mentions anonymised as in TweetEval
    row = _row(rows, "semeval2018_ec", "Whatever you decide to do make sure it makes you #happy.")
    assert row["native_label"] == "joy,love,optimism" and _emotions_of(row) == {"joy", "anticipation"}
    empty = part[part["native_label"] == ""]
    assert len(empty) > 100 and empty["emotions"].map(lambda v: _emotions_of(pd.Series({"emotions": v})) == {"neutral"}).all()


@needs_data
def test_dutch_tv_drops_captions_and_conflicts_and_splits_by_block(rows: pd.DataFrame) -> None:
    part = rows[rows["source"] == "dutch_tv_emotion"]
    assert not part["text"].isin(["MUZIEK", "GELACH", "APPLAUS"]).any()
    assert not part["text"].isin(["Nee."]).any()  # labelled four different ways in the source
    assert 8000 < len(part) < 10401 and set(part["lang"]) == {"nl"}
    counts = part["split"].value_counts(normalize=True)
    assert 0.75 < counts["train"] < 0.85
