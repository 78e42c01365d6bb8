"""Themes: clustering, keywords, determinism and every awkward input, on synthetic vectors and with the model."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="themes need scikit-learn (pip install 'emotiq[themes]')")

from emotiq.errors import InputError, UnknownNameError
from emotiq.themes import Theme, ThemeSet, find_themes
from emotiq.themes.build import candidate_counts
from emotiq.themes.keywords import stop_words, theme_keywords

TOPICS = {
    "nl": ["De factuur is te hoog, factuur klopt niet", "Weer een te hoge factuur ontvangen", "Factuur dubbel betaald, geld terug",
           "Waarom is mijn factuur zo hoog deze maand", "Factuur fout, graag correctie", "Te veel betaald op de factuur"],
    "en": ["The internet connection drops every evening", "No internet again, the modem keeps restarting",
           "Internet down for two days now", "Slow internet and the connection keeps dropping", "Internet outage in my street",
           "My internet connection is unstable"],
}


def synthetic(per_topic: int = 6, seed: int = 0) -> tuple[list[str], np.ndarray, list[str]]:
    """Two well-separated groups of texts with vectors around two centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2, 32)) * 4
    texts, vectors, languages = [], [], []
    for c, (lang, group) in enumerate(TOPICS.items()):
        for i in range(per_topic):
            texts.append(group[i % len(group)] + f" ({i})")
            vectors.append(centres[c] + rng.normal(size=32) * 0.3)
            languages.append(lang)
    return texts, np.array(vectors), languages


def test_two_groups_are_found_with_keywords_in_their_own_language():
    texts, vectors, languages = synthetic()
    themes = find_themes(texts, vectors, n_themes=2, languages=languages, sentiment=[-0.5] * 12, complaint=[True] * 6 + [False] * 6)
    assert themes.status == "ok" and len(themes) == 2 and themes.chosen_by == "given"
    by_language = {t.language: t for t in themes}
    assert "factuur" in by_language["nl"].keywords and "internet" in by_language["en"].keywords
    assert {by_language["nl"].complaint_rate, by_language["en"].complaint_rate} == {1.0, 0.0}
    assert all(t.size == 6 and t.share == 0.5 and t.mean_sentiment == -0.5 for t in themes)
    assert all(1 <= len(t.quotes) <= 4 and set(t.quotes) <= {" ".join(x.split()) for x in texts} for t in themes)
    assert sorted(i for t in themes for i in t.members) == list(range(12))
    assert any("mix languages" in note for note in themes.notes)


def test_automatic_choice_is_recorded_and_deterministic():
    texts, vectors, _ = synthetic(per_topic=15)
    first, again = find_themes(texts, vectors, seed=3), find_themes(texts, vectors, seed=3)
    assert first == again
    assert first.chosen_by == "silhouette" and set(first.quality) == set(candidate_counts(30, 30, 12)) and len(first) in first.quality
    assert [t.id for t in first] == list(range(len(first))) and [t.size for t in first] == sorted((t.size for t in first), reverse=True)


def test_candidate_counts():
    assert candidate_counts(3, 3, 12) == []
    assert candidate_counts(12, 12, 12) == [2]
    assert candidate_counts(100, 100, 12) == list(range(4, 13))
    grid = candidate_counts(3080, 3080, 100)
    assert grid[0] == 4 and grid[-1] == 100 and len(grid) <= 16


def test_three_texts_make_one_theme_and_say_why():
    texts, vectors, _ = synthetic()
    themes = find_themes(texts[:3], vectors[:3])
    assert themes.status == "single" and len(themes) == 1 and themes.themes[0].size == 3
    assert "too few" in themes.message


def test_identical_texts_make_one_theme_and_say_why():
    themes = find_themes(["Te laat!"] * 20, np.ones((20, 8)))
    assert themes.status == "single" and len(themes) == 1 and "identical" in themes.message


def test_all_empty_texts_give_no_themes_and_say_why():
    themes = find_themes(["", "  ", ""], np.zeros((3, 8)))
    assert themes.status == "empty" and len(themes) == 0 and themes.assignments == (-1, -1, -1)
    assert "all 3 texts are empty" in themes.message


def test_bad_arguments_name_the_problem():
    texts, vectors, _ = synthetic()
    with pytest.raises(InputError, match="vectors has 5 rows for 12 texts"):
        find_themes(texts, vectors[:5])
    with pytest.raises(InputError, match="n_themes=40"):
        find_themes(texts, vectors, n_themes=40)
    with pytest.raises(UnknownNameError, match="known methods: agglomerative, hdbscan, kmeans"):
        find_themes(texts, vectors, method="lda")
    with pytest.raises(TypeError, match="position 2"):
        find_themes(["a", "b", None], np.ones((3, 2)))


@pytest.mark.parametrize("method", ["agglomerative", "hdbscan"])
def test_other_methods_run(method):
    texts, vectors, _ = synthetic(per_topic=15)
    themes = find_themes(texts, vectors, method=method)
    assert themes.method == method and len(themes) >= 1 and sum(t.size for t in themes) == 30


def test_trend_per_period_when_times_are_given():
    texts, vectors, _ = synthetic()
    times = ["2025-03-03"] * 6 + ["2025-03-12"] * 6
    themes = find_themes(texts, vectors, n_themes=2, times=times)
    assert themes.period_unit == "week"
    assert sorted(sum(t.trend.values()) for t in themes) == [6, 6]


def test_keywords_skip_stop_words_links_and_handles():
    assert {"de", "het", "the", "and"} <= set(stop_words())
    words = theme_keywords(["@OrangeBENL de factuur https://t.co/x", "het factuur probleem &amp;"], np.array([0, 0]), 1)[0]
    assert "factuur" in words and not {"de", "het", "orangebenl", "amp", "https"} & {w for k in words for w in k.split()}


def test_theme_set_to_frame():
    texts, vectors, _ = synthetic()
    frame = find_themes(texts, vectors, n_themes=2).to_frame()
    assert list(frame["size"]) == [6, 6] and "members" not in frame.columns


def test_model_themes_group_complaints_by_default(model):
    texts = [*TOPICS["nl"], *TOPICS["en"], "Dank jullie wel, top geholpen!", "Great service, thanks!"]
    themes = model.themes(texts, n_themes=2)
    assert isinstance(themes, ThemeSet) and themes.n_texts == len(texts)
    grouped = [i for i, a in enumerate(themes.assignments) if a >= 0]
    assert grouped and all(isinstance(t, Theme) for t in themes)
    assert set(grouped) == {i for t in themes for i in t.members}
    assert all(t.complaint_rate == 1.0 for t in themes)


def test_model_themes_on_results_bad_inputs(model):
    results = model.analyze(["Dank je wel!", "Super, bedankt"])
    none = model.themes(results)
    assert none.status == "empty" and "subset='all'" in none.message
    empty = model.themes(["", " "])
    assert empty.status == "empty" and "empty" in empty.message
    few = model.themes(["Te laat geleverd", "Factuur klopt niet", "Internet ligt eruit"], subset="all")
    assert few.status == "single" and len(few) == 1
    mixed = model.themes([*TOPICS["nl"], *TOPICS["en"]], subset="all", n_themes=2)
    assert mixed.languages.keys() >= {"nl", "en"} and mixed.notes
    with pytest.raises(TypeError, match="not one str"):
        model.themes("one text")
    with pytest.raises(InputError, match="times has 1 values for 2 texts"):
        model.themes(["a", "b"], times=["2025-01-01"])


def test_cli_themes_prints_themes_of_an_export_and_names_bad_columns():
    from pathlib import Path

    from typer.testing import CliRunner

    from emotiq.cli import app

    example = Path(__file__).resolve().parents[1] / "data" / "examples" / "feedback_export.csv"
    result = CliRunner().invoke(app, ["themes", str(example), "--n-themes", "2", "--time-column", "created_at"])
    assert result.exit_code == 0, result.output
    assert "2 themes in" in result.output and "customer_message" in result.output and "keywords:" in result.output
    bad = CliRunner().invoke(app, ["themes", str(example), "--text-column", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.output and "customer_message" in bad.output
