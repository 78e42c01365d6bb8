"""The labelled sources emotiq knows: one registered loader per source.

A loader gets its source folder and returns ``text`` plus whichever label columns the
source has (``sentiment``, ``emotions``, ``complaint``, ``severity``, ``native_label``)
and ``split``. Rows whose ``split`` is None are split by
:func:`emotiq.training.sources.load_sources` with the seeded split, keyed by the optional
``group`` column (else the text) and stratified by the optional ``stratum`` column.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from emotiq.errors import InputError
from emotiq.schema import SENTIMENT_LABELS, SEVERITY_LABELS
from emotiq.training import mappings as maps
from emotiq.training.sources import REPOSITORY, MissingDataError, SourceInfo, load_sources, register
from emotiq.training.splits import DEFAULT_FRACTIONS, SPLITS, text_key

_SENTIMENT_NAMES = {name: (name,) for name in SENTIMENT_LABELS}
_SEVERITY_IDS = {str(i): (name,) for i, name in enumerate(SEVERITY_LABELS)}
_COMPLAINT_IDS = {"0": ("no complaint",), "1": ("complaint",)}


# --------------------------------------------------------------------------- readers


def _require(path: Path) -> Path:
    if not path.exists():
        raise MissingDataError(f"labelled data file not found: {path}")
    return path


def read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, split on ``\\n`` only, without the trailing empty line."""
    text = _require(path).read_bytes().decode("utf-8-sig")
    lines = [line.rstrip("\r") for line in text.split("\n")]
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_tsv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """Tab-separated file without quoting; extra fields are ignored, blank lines skipped."""
    width = len(columns)
    rows = [(line.split("\t") + [""] * width)[:width] for line in read_lines(path) if line.strip()]
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def read_csv(path: Path) -> pd.DataFrame:
    """Comma-separated file with a header, every cell a string (empty, never NaN)."""
    return pd.read_csv(_require(path), dtype=str, keep_default_na=False, encoding="utf-8")


def _map_labels(values: pd.Series, mapping: Mapping[str, int], what: str) -> pd.Series:
    """Map label strings to ints (empty -> -1); raise on a label the mapping lacks."""
    unknown = sorted(set(values) - set(mapping) - {""})
    if unknown:
        raise ValueError(f"{what}: unexpected label(s) {unknown}; known: {sorted(mapping)}")
    return values.map(lambda v: mapping.get(v, -1)).astype(int)


def _emotions(native: pd.Series, mapping: maps.LabelMap, source: str, *, neutral_if_none: bool = False) -> pd.Series:
    """Per-row emotion vectors from lists of native labels: NaN where ``source`` does not
    annotate an emotion, None for rows without a label (see maps.annotated_vector)."""
    annotated = maps.ANNOTATED_EMOTIONS[source]
    return native.map(lambda labels: maps.annotated_vector(labels, mapping, annotated, neutral_if_none)).astype(object)


def _single(labels: pd.Series) -> pd.Series:
    """One native label per row (empty: none) as one-element lists."""
    return labels.map(lambda label: [label] if label else [])


# --------------------------------------------------------------------------- GoEmotions


def read_goemotions(folder: Path, taxonomy: str) -> pd.DataFrame:
    """GoEmotions ``taxonomy`` (original/ekman/group) with its official splits.

    Returns:
        Columns ``text``, ``split`` and ``native`` (list of label names).
    """
    names = read_lines(folder / taxonomy / "labels.txt")
    columns = ("text", "ids", "comment_id")
    frames = [read_tsv(folder / taxonomy / f"{s}.tsv", columns).assign(split=s) for s in SPLITS]
    df = pd.concat(frames, ignore_index=True)
    df["native"] = df["ids"].map(lambda ids: [names[int(i)] for i in ids.split(",")])
    return df[["text", "split", "native"]]


_GOEMOTIONS = SourceInfo(
    name="goemotions",
    folder="goemotions",
    languages=("en",),
    tasks=("emotion",),
    licence="Apache-2.0 (GoEmotions data and mirror); Reddit comments",
    permissive=True,
    licence_note="Released by Google under Apache-2.0 (dataset card and repository); "
    "the comments come from Reddit, whose users keep copyright in their posts.",
    citation="Demszky et al. (2020), GoEmotions: A Dataset of Fine-Grained Emotions, ACL.",
    url="https://github.com/google-research/google-research/tree/master/goemotions",
    label_map={"emotion": maps.GOEMOTIONS_TO_EMOTIQ},
    notes="27 emotions + neutral, multi-label. curiosity maps to surprise (as in "
    "GoEmotions' Ekman grouping) so ekman_group() reproduces the official Ekman labels.",
)


@register(_GOEMOTIONS)
def _goemotions(folder: Path) -> pd.DataFrame:
    df = read_goemotions(folder, "original")
    df["emotions"] = _emotions(df["native"], maps.GOEMOTIONS_TO_EMOTIQ, "goemotions")
    df["native_label"] = df["native"].map(",".join)
    return df.drop(columns="native")


# --------------------------------------------------------------------------- XED


def _xed(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """XED rows (``text``, ``labels`` = comma-separated ids) to emotions, seeded split."""
    native = frame["labels"].map(lambda ids: [i.strip() for i in ids.split(",")])
    return pd.DataFrame(
        {
            "text": frame["text"],
            "emotions": _emotions(native, maps.XED_TO_EMOTIQ, source),
            "native_label": native.map(lambda ids: ",".join(maps.XED_NAMES[i] for i in ids)),
            "stratum": native.map(lambda ids: ids[0]),
            "split": None,
        }
    )


_XED = SourceInfo(
    name="xed",
    folder="xed",
    languages=("en",),
    tasks=("emotion",),
    licence="CC-BY-4.0",
    permissive=True,
    licence_note="",
    citation="Öhman et al. (2020), XED: A Multilingual Dataset for Sentiment Analysis and "
    "Emotion Detection, COLING.",
    url="https://github.com/Helsinki-NLP/XED",
    label_map={"emotion": maps.XED_TO_EMOTIQ},
    split_fractions=DEFAULT_FRACTIONS,
    split_note="seeded 80/10/10 by text, stratified by first label",
)


@register(
    replace(
        _XED,
        name="xed_en",
        licence_note="CC-BY 4.0 (attribution) per the XED README; lines are movie subtitles "
        "from OPUS OpenSubtitles.",
        notes="Gold annotations (en-annotated.tsv) plus the neutral lines (neu_en.txt). "
        "en-projections.tsv is not loaded: it is silver data and part of it is malformed.",
    )
)
def _xed_en(folder: Path) -> pd.DataFrame:
    annotated = read_tsv(folder / "en-annotated.tsv", ("text", "labels"))
    neutral = read_tsv(folder / "neu_en.txt", ("labels", "text"))
    return _xed(pd.concat([annotated, neutral], ignore_index=True), "xed_en")


@register(
    replace(
        _XED,
        name="xed_nl",
        languages=("nl",),
        licence_note="CC-BY 4.0 (attribution) per the XED README; lines are Dutch movie "
        "subtitles from OPUS OpenSubtitles.",
        notes="Silver labels: projected from English/Finnish annotations onto aligned Dutch "
        "subtitle lines (machine alignment, no Dutch annotator). No neutral class.",
    )
)
def _xed_nl(folder: Path) -> pd.DataFrame:
    return _xed(read_tsv(folder / "nl-projections.tsv", ("text", "labels")), "xed_nl")


# --------------------------------------------------------------------------- TweetEval / SemEval


@register(
    SourceInfo(
        name="tweeteval_emotion",
        folder="tweeteval",
        languages=("en",),
        tasks=("emotion",),
        licence="TweetEval: no restrictions of its own; SemEval-2018 Task 1 tweets",
        permissive=False,
        licence_note="TweetEval defers to the licences of the underlying tasks and to "
        "Twitter's terms; SemEval-2018 Task 1 states no data licence.",
        citation="Barbieri et al. (2020), TweetEval, Findings of EMNLP; Mohammad et al. "
        "(2018), SemEval-2018 Task 1: Affect in Tweets.",
        url="https://github.com/cardiffnlp/tweeteval",
        label_map={"emotion": maps.TWEETEVAL_EMOTION_TO_EMOTIQ},
        notes="Single-label 4-way; native_label keeps the TweetEval class for the native "
        "4-class macro-F1 (see tweeteval_emotion_class).",
    )
)
def _tweeteval_emotion(folder: Path) -> pd.DataFrame:
    names = dict(read_tsv(folder / "emotion" / "mapping.txt", ("id", "name")).to_numpy())
    frames = []
    for split, prefix in (("train", "train"), ("dev", "val"), ("test", "test")):
        texts = read_lines(folder / "emotion" / f"{prefix}_text.txt")
        labels = read_lines(folder / "emotion" / f"{prefix}_labels.txt")
        if len(texts) != len(labels):
            raise ValueError(f"{folder}/emotion/{prefix}: {len(texts)} texts, {len(labels)} labels")
        native = pd.Series([names[label.strip()] for label in labels])
        frames.append(pd.DataFrame({"text": texts, "native_label": native, "split": split}))
    df = pd.concat(frames, ignore_index=True)
    df["emotions"] = _emotions(_single(df["native_label"]), maps.TWEETEVAL_EMOTION_TO_EMOTIQ, "tweeteval_emotion")
    return df


_SEMEVAL_TRAIN = tuple(
    f"twitter-{name}-A.tsv"
    for name in (
        "2013train", "2013dev", "2013test", "2014test", "2014sarcasm", "2015train", "2015test",
        "2016train", "2016devtest", "2016test",
    )
)  # fmt: skip
"""Training files: every 2013-2016 file but the 2016 dev file (the SemEval-2017 protocol)."""
_SEMEVAL_DEV = ("twitter-2016dev-A.tsv",)
_SEMEVAL_TEST_FILE = "SemEval2017-task4-test.subtask-A.english.txt"
_SEMEVAL_GOLD_FILE = "SemEval2017_task4_subtaskA_test_english_gold.txt"
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_ESCAPED_QUOTES = re.compile(r'\\?"{2,}|\\"')


def clean_semeval_text(text: str) -> str:
    r"""Undo the SemEval TSV escaping: ``\uXXXX`` escapes, CSV-style outer quotes, ``\""``."""
    text = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    inner = text[1:-1]
    if len(text) > 1 and text[0] == text[-1] == '"' and '"' not in _ESCAPED_QUOTES.sub("", inner):
        text = inner
    return _ESCAPED_QUOTES.sub('"', text)


@register(
    SourceInfo(
        name="semeval2017_sentiment",
        folder="semeval2017_task4a_en",
        languages=("en",),
        tasks=("sentiment",),
        licence="no data licence (repository code MIT); SemEval-2017 Task 4 tweets",
        permissive=False,
        licence_note="The MIT licence covers the mirror's code only; no licence is stated "
        "for the tweets, and Twitter's terms apply.",
        citation="Rosenthal, Farra and Nakov (2017), SemEval-2017 Task 4: Sentiment Analysis "
        "in Twitter.",
        url="https://alt.qcri.org/semeval2017/task4/",
        label_map={"sentiment": _SENTIMENT_NAMES},
        split_note="train = every 2013-2016 file but the 2016 dev file (SemEval-2017 released "
        "all earlier data, old test sets included, as training data); dev = twitter-2016dev; "
        "test = SemEval-2017 test with gold labels (the TweetEval sentiment test set)",
    )
)
def _semeval2017(folder: Path) -> pd.DataFrame:
    columns = ("id", "label", "text")
    frames = [
        read_tsv(folder / name, columns).assign(split=split)
        for split, names in (("train", _SEMEVAL_TRAIN), ("dev", _SEMEVAL_DEV))
        for name in names
    ]
    test = read_tsv(folder / _SEMEVAL_TEST_FILE, columns).drop(columns="label")
    gold = read_tsv(folder / _SEMEVAL_GOLD_FILE, ("id", "label"))
    frames.append(test.merge(gold, on="id", how="inner", validate="1:1").assign(split="test"))
    df = pd.concat(frames, ignore_index=True)
    df["text"] = df["text"].map(clean_semeval_text)
    df["sentiment"] = _map_labels(df["label"], maps.POLARITY_TO_SENTIMENT, "SemEval-2017 label")
    df = df.rename(columns={"label": "native_label"})
    return df[["text", "sentiment", "native_label", "split"]]


# --------------------------------------------------------------------------- complaints

_SINGH_LICENCE_NOTE = (
    "The MIT licence is the authors' repository licence; the texts are third-party "
    "{what}, which that licence cannot clear for commercial use."
)


_XCI = SourceInfo(
    name="xci",
    folder="xci_complaints_singh2023",
    languages=("en",),
    tasks=("sentiment", "emotion", "complaint", "severity"),
    licence="repository MIT; tweets from Preotiuc-Pietro et al. (2019), no licence",
    permissive=False,
    licence_note=_SINGH_LICENCE_NOTE.format(what="tweets (Twitter terms apply)"),
    citation="Singh et al. (2023), Peeking inside the black box: A Commonsense-aware "
    "Generative Framework for Explainable Complaint Detection, ACL.",
    url="https://github.com/appy1608/ACL2023",
    label_map={
        "complaint": _COMPLAINT_IDS,
        "severity": _SEVERITY_IDS,
        "sentiment": _SENTIMENT_NAMES,
        "emotion": maps.XCI_EMOTION_TO_EMOTIQ,
    },
    split_fractions=DEFAULT_FRACTIONS,
    split_note="seeded 80/10/10 by text, stratified by severity",
    notes="Emotion 'other' (43% of rows) says none of Ekman's six: those six are "
    "negatives for it, the other emotions (and neutral) unknown.",
)


@register(_XCI)
def _xci(folder: Path) -> pd.DataFrame:
    raw = read_csv(folder / "X-CI Dataset.csv")
    sentiment = raw["sentiment"].str.lower()
    return pd.DataFrame(
        {
            "text": raw["tweet"],
            "sentiment": _map_labels(sentiment, maps.POLARITY_TO_SENTIMENT, "X-CI sentiment"),
            "emotions": _emotions(_single(raw["emotion"]), maps.XCI_EMOTION_TO_EMOTIQ, "xci"),
            "complaint": raw["label"].astype(int),
            "severity": raw["Severity"].astype(int),
            "native_label": raw["emotion"],
            "stratum": raw["Severity"],
            "split": None,
        }
    )


TRANSLATIONS = REPOSITORY / "data" / "translations"
"""Dutch translations of English sources, kept in the repository (``data/translations``)."""


def translation_key(text: str) -> str:
    """Short key of an English text in a translation file: the SHA-1 of its :func:`text_key`."""
    return hashlib.sha1(text_key(text).encode("utf-8")).hexdigest()[:16]


def read_translations(path: Path) -> dict[str, str]:
    """Key -> translated text from a JSON-lines file of ``{"key": ..., "text": ...}`` rows."""
    if not path.is_file():
        raise MissingDataError(f"translation file not found: {path} (it is part of the repository's data/ folder)")
    translations = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            translations[str(row["key"])] = str(row["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise InputError(f"{path}, line {number}: not a {{\"key\": ..., \"text\": ...}} object ({error})") from None
    return translations


def translated(english: pd.DataFrame, translations: Mapping[str, str]) -> pd.DataFrame:
    """The rows of ``english`` (a loaded source, splits assigned) that have a translation, with
    the translated text: labels and split are the English row's, so a translation never
    crosses into another split than its original."""
    keys = english["text"].map(translation_key)
    rows = english[keys.isin(translations)].copy()
    rows["text"] = keys[rows.index].map(translations)
    return rows.drop(columns=["source", "lang"])


def register_translation(english: SourceInfo, name: str, *, licence: str, notes: str) -> None:
    """Register source ``name``: the rows of source ``english`` that have a Dutch translation in
    ``data/translations/<name>.jsonl``, with the English rows' labels and splits (see
    :func:`translated`). The English source's data folder and licence terms carry over."""
    info = replace(
        english,
        name=name,
        languages=("nl",),
        licence=licence,
        licence_note=f"Dutch translations of the {english.name} texts, written for emotiq; the originals' "
        "terms carry over. " + english.licence_note,
        citation=english.citation + f" Dutch translations: emotiq (data/translations/{name}.jsonl).",
        split_fractions=None,
        split_note="the split of the English text each row translates",
        notes=notes,
    )

    def load(folder: Path) -> pd.DataFrame:
        return translated(load_sources(english.name, data_root=folder.parent), read_translations(TRANSLATIONS / f"{name}.jsonl"))

    register(info)(load)


register_translation(
    _XCI,
    "xci_nl",
    licence="derived from X-CI: repository MIT; tweets from Preotiuc-Pietro et al. (2019), no licence",
    notes="Translations of X-CI's tweets into Dutch with the English labels: the only "
    "Dutch complaint and severity labels emotiq has.",
)
register_translation(
    _GOEMOTIONS,
    "goemotions_nl",
    licence="derived from GoEmotions: Apache-2.0; Reddit comments",
    notes="Translations into Dutch of 4,800 GoEmotions training and 800 dev comments (a seeded "
    "sample; no test comment), with the English labels: Dutch emotion labels from a gold "
    "English scheme with all ten emotiq emotions.",
)


def _unescape_newlines(text: str) -> str:
    r"""Turn literal ``\n`` into line breaks and tidy the whitespace around them."""
    lines = [" ".join(line.split()) for line in text.replace("\\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _title_and_review(title: str, review: str) -> str:
    """Review preceded by its title on its own line (unless the review already starts with it)."""
    if not title or review.startswith(title):
        return review
    return f"{title}\n{review}" if review else title


_CESAMARD = SourceInfo(
    name="cesamard",
    folder="cesamard_aspect_singh2023",
    languages=("en",),
    tasks=("sentiment", "emotion", "complaint", "severity"),
    licence="repository MIT; texts are scraped Amazon.in reviews",
    permissive=False,
    licence_note=_SINGH_LICENCE_NOTE.format(what="Amazon.in customer reviews (scraped)"),
    citation="Singh et al. (2023), Knowing What and How: A Multi-modal Aspect-Based "
    "Framework for Complaint Detection, ECIR; base corpus CESAMARD, Singh et al. (2022), AAAI.",
    url="https://github.com/appy1608/ECIR2023_Complaint-Detection",
    label_map={
        "complaint": _COMPLAINT_IDS,
        "severity": {
            name: (SEVERITY_LABELS[level],) for name, level in maps.SEVERITY_TO_LEVEL.items()
        },
        "sentiment": {str(i): (name,) for i, name in enumerate(SENTIMENT_LABELS)},
        "emotion": maps.CESAMARD_EMOTION_TO_EMOTIQ,
    },
    split_fractions=DEFAULT_FRACTIONS,
    split_note="seeded 80/10/10 by text, stratified by severity",
    notes="Text = review title, a line break, then the review. Severity is -1 where it "
    "contradicts the complaint label (18 rows).",
)


@register(_CESAMARD)
def _cesamard(folder: Path) -> pd.DataFrame:
    raw = read_csv(folder / "CESAMARD-Aspect_Dataset.csv")
    titles, reviews = raw["Title"].map(_unescape_newlines), raw["Review_S"].map(_unescape_newlines)
    complaint = raw["Complaint"].astype(int)
    severity = _map_labels(raw["Severity"].str.lower(), maps.SEVERITY_TO_LEVEL, "CESAMARD severity")
    consistent = (complaint == 1) == (severity > 0)
    sentiment_ids = {str(i): i for i in range(len(SENTIMENT_LABELS))}
    return pd.DataFrame(
        {
            "text": [_title_and_review(t, r) for t, r in zip(titles, reviews, strict=True)],
            "sentiment": _map_labels(raw["Sentiment"], sentiment_ids, "CESAMARD sentiment"),
            "emotions": _emotions(_single(raw["Emotion"]), maps.CESAMARD_EMOTION_TO_EMOTIQ, "cesamard"),
            "complaint": complaint,
            "severity": severity.where(consistent, -1),
            "native_label": raw["Emotion"],
            "stratum": raw["Severity"],
            "split": None,
        }
    )


register_translation(
    _CESAMARD,
    "cesamard_nl",
    licence="derived from CESAMARD: repository MIT; scraped Amazon.in reviews",
    notes="Translations into Dutch of the CESAMARD reviews of up to 1,200 characters (all splits), "
    "with the English labels: Dutch review complaints, severity, sentiment and emotions.",
)


# --------------------------------------------------------------------------- ABSA restaurants

_ABSA_RULE: Mapping[str, tuple[str, ...]] = {
    "positive (no negative)": ("positive",),
    "negative (no positive)": ("negative",),
    "neutral only, or no opinion": ("neutral",),
    "positive and negative": (),
}


def sentence_sentiment(polarities: set[str]) -> int:
    """Sentence sentiment from its aspect polarities; -1 (dropped) when mixed."""
    if {"positive", "negative"} <= polarities:
        return -1
    if "positive" in polarities:
        return SENTIMENT_LABELS.index("positive")
    if "negative" in polarities:
        return SENTIMENT_LABELS.index("negative")
    return SENTIMENT_LABELS.index("neutral")


def read_absa(path: Path) -> pd.DataFrame:
    """In-scope sentences of a SemEval-2016 ABSA XML file with sentence sentiment.

    Returns:
        Columns ``text``, ``group`` (review id), ``sentiment`` and ``native_label``
        (sorted aspect polarities, or ``none``).
    """
    rows = []
    for review in ET.parse(_require(path)).getroot().iter("Review"):
        for sentence in review.iter("sentence"):
            if sentence.get("OutOfScope") == "TRUE":
                continue
            polarities = {o.get("polarity", "") for o in sentence.iter("Opinion")}
            native = ",".join(sorted(polarities)) or "none"
            text = sentence.findtext("text", "")
            rows.append((text, review.get("rid"), sentence_sentiment(polarities), native))
    return pd.DataFrame(rows, columns=["text", "group", "sentiment", "native_label"])


_ABSA = SourceInfo(
    name="absa16",
    folder="",
    languages=("en",),
    tasks=("sentiment",),
    licence="",
    permissive=False,
    licence_note="",
    citation="Pontiki et al. (2016), SemEval-2016 Task 5: Aspect Based Sentiment Analysis.",
    url="https://alt.qcri.org/semeval2016/task5/",
    label_map={"sentiment": _ABSA_RULE},
    notes="Sentence sentiment from aspect polarities; out-of-scope sentences and sentences "
    "with both positive and negative opinions are dropped. Sentences without any opinion "
    "count as neutral (native_label 'none'; noisier, filter them if needed).",
)


@register(
    replace(
        _ABSA,
        name="absa16_en",
        folder="semeval2016_absa_en_restaurants",
        licence="no licence stated; SemEval-2016 Task 5 data (research use)",
        licence_note="Distributed for the shared task without a licence; research use only.",
        split_fractions={"train": 0.9, "dev": 0.1},
        split_note="train file cut 90/10 (seeded, by review) into train/dev; test = gold test",
    )
)
def _absa16_en(folder: Path) -> pd.DataFrame:
    train = read_absa(folder / "ABSA16_Restaurants_Train_SB1_v2.xml").assign(split=None)
    test = read_absa(folder / "EN_REST_SB1_TEST.xml.gold").assign(split="test")
    return pd.concat([train, test], ignore_index=True)


@register(
    replace(
        _ABSA,
        name="absa16_nl",
        folder="semeval2016_absa_nl_restaurants",
        languages=("nl",),
        licence="no licence stated; the sibling French release is CC BY-NC-ND 4.0",
        licence_note="No licence in either mirror; the French data of the same task is "
        "CC BY-NC-ND 4.0, so this is treated as non-commercial until verified.",
        split_fractions=DEFAULT_FRACTIONS,
        split_note="training file only (official test kept out); seeded 80/10/10 by review",
    )
)
def _absa16_nl(folder: Path) -> pd.DataFrame:
    return read_absa(folder / "restaurants_dutch_training.xml").assign(split=None)


# --------------------------------------------------------------------------- Dutch political tweets


@register(
    SourceInfo(
        name="dutch_political_tweets",
        folder="dutch_political_tweets_zegelaar",
        languages=("nl",),
        tasks=("sentiment", "emotion"),
        licence="no licence stated",
        permissive=False,
        licence_note="The thesis repository has no licence file or statement; tweets by "
        "Dutch MPs (Twitter terms apply).",
        citation="Zegelaar (2020), Emotion Classification of Dutch Political Tweets, MA "
        "thesis, Vrije Universiteit Amsterdam.",
        url="https://github.com/cltl-students/"
        "Eva_Zegelaar_Emotion_Classification_Dutch_Political_Tweets",
        label_map={
            "sentiment": _SENTIMENT_NAMES,
            "emotion": maps.DUTCH_POLITICAL_EMOTION_TO_EMOTIQ,
        },
        split_fractions=DEFAULT_FRACTIONS,
        split_note="training sheets only (official test kept out); seeded 80/10/10 by text, "
        "stratified by polarity",
        notes="Emotion and polarity sheets are joined on the text; a tweet in only one sheet "
        "keeps only that label.",
    )
)
def _dutch_political(folder: Path) -> pd.DataFrame:
    emotion = read_csv(folder / "train-emotion.csv").drop_duplicates("text")
    polarity = read_csv(folder / "train-polarity.csv").drop_duplicates("text")
    df = emotion.merge(polarity, on="text", how="outer").fillna("")
    return pd.DataFrame(
        {
            "text": df["text"],
            "sentiment": _map_labels(df["polarity"], maps.POLARITY_TO_SENTIMENT, "polarity"),
            "emotions": _emotions(_single(df["emotion"]), maps.DUTCH_POLITICAL_EMOTION_TO_EMOTIQ, "dutch_political_tweets"),
            "native_label": df["emotion"],
            "stratum": df["polarity"].where(df["polarity"] != "", df["emotion"]),
            "split": None,
        }
    )


# --------------------------------------------------------------------------- SemEval-2018 E-c

_MENTION = re.compile(r"@\w+")


@register(
    SourceInfo(
        name="semeval2018_ec",
        folder="semeval2018_ec_en",
        languages=("en",),
        tasks=("emotion",),
        licence="no licence stated; SemEval-2018 Task 1 data (research use), Twitter terms",
        permissive=False,
        licence_note="Released by NRC Canada for the shared task, research use; no licence file "
        "in the mirror. Twitter's terms apply.",
        citation="Mohammad, Bravo-Marquez, Salameh and Kiritchenko (2018), SemEval-2018 Task 1: "
        "Affect in Tweets.",
        url="https://competitions.codalab.org/competitions/17751",
        label_map={"emotion": maps.SEMEVAL2018_EMOTION_TO_EMOTIQ},
        split_note="official train and dev (the unlabelled test is not included)",
        notes="Multi-label, 11 emotions; love -> joy, optimism -> anticipation, pessimism gives "
        "no target; a tweet with none of them is neutral. @mentions become @user, as in TweetEval. "
        "TweetEval emotion is a 4-class subset of this set (its train and val tweets are in the "
        "train and dev files here; its test tweets are not), so the two are never trained on together.",
    )
)
def _semeval2018(folder: Path) -> pd.DataFrame:
    columns = ("id", "text", *maps.SEMEVAL2018_EMOTION_TO_EMOTIQ)
    frames = [
        read_tsv(folder / f"2018-E-c-En-{name}.txt", columns).iloc[1:].assign(split=split)
        for split, name in (("train", "train"), ("dev", "dev"))
    ]
    df = pd.concat(frames, ignore_index=True)
    names = list(maps.SEMEVAL2018_EMOTION_TO_EMOTIQ)
    native = df[names].apply(lambda row: [n for n in names if str(row[n]).strip() == "1"], axis=1)
    return pd.DataFrame(
        {
            "text": df["text"].map(lambda t: _MENTION.sub("@user", t)),
            "emotions": _emotions(native, maps.SEMEVAL2018_EMOTION_TO_EMOTIQ, "semeval2018_ec", neutral_if_none=True),
            "native_label": native.map(",".join),
            "split": df["split"],
        }
    )


# --------------------------------------------------------------------------- Dutch TV transcripts

_TV_BLOCK = 50
"""Consecutive transcript sentences split together, so neighbouring context stays on one side."""


@register(
    SourceInfo(
        name="dutch_tv_emotion",
        folder="dutch_tv_emotion_ayumicho",
        languages=("nl",),
        tasks=("emotion",),
        licence="no licence; research use only (student project), transcribed broadcast TV",
        permissive=False,
        licence_note="No licence file; the project README says 'for academic and research purposes "
        "only'. The sentences are transcribed TV broadcasts (third-party copyright).",
        citation="ayumicho/dutch-emotion-classification (Breda University of Applied Sciences "
        "student project), 2024.",
        url="https://github.com/ayumicho/dutch-emotion-classification",
        label_map={"emotion": maps.DUTCH_TV_EMOTION_TO_EMOTIQ},
        split_fractions=DEFAULT_FRACTIONS,
        split_note="seeded 80/10/10 by blocks of 50 consecutive sentences",
        notes="Dutch and Flemish reality-TV speech-to-text sentences, one emotion each (pipeline "
        "labels checked by students). Non-speech captions in capitals (MUZIEK, GELACH, ...) are "
        "dropped, and so are texts whose rows disagree on the label.",
    )
)
def _dutch_tv(folder: Path) -> pd.DataFrame:
    raw = read_csv(folder / "train.csv")
    df = pd.DataFrame({"text": raw.iloc[:, 0].str.strip(), "label": raw.iloc[:, 1].str.strip().str.lower()})
    df["group"] = [f"block-{i // _TV_BLOCK}" for i in range(len(df))]
    caption = df["text"].str.fullmatch(r"[^a-z]*[A-Z]{3,}[^a-z]*")
    labels_per_text = df.groupby("text")["label"].transform("nunique")
    df = df[~caption & (labels_per_text == 1) & (df["label"] != "")]
    return pd.DataFrame(
        {
            "text": df["text"],
            "emotions": _emotions(_single(df["label"]), maps.DUTCH_TV_EMOTION_TO_EMOTIQ, "dutch_tv_emotion"),
            "native_label": df["label"],
            "group": df["group"],
            "split": None,
        }
    )
