"""`emotiq train` end to end on a tiny sample: reproducible recipe, permissive-only filter."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from emotiq.cli import app
from emotiq.model_io import read_folder
from tests.conftest import DATA_ROOT, REPO, needs_shared_data

TINY = {
    "max_train_per_source": {name: 40 for name in ("goemotions", "xed_en", "xed_nl", "tweeteval_emotion", "semeval2017_sentiment",
                                                    "xci", "cesamard", "absa16_en", "absa16_nl", "dutch_political_tweets",
                                                    "semeval2018_ec", "dutch_tv_emotion")},
    "max_dev_per_source": 20,
}


def _tiny_config(tmp_path):
    config = json.loads((REPO / "models" / "emotiq-small" / "train_config.json").read_text())
    config.update(TINY, init_from=None)  # the bundled recipe continues a stage; this one starts from the base
    config["loop"].update({"epochs": 1, "trainable_layers": 1, "lora_rank": 0, "samples_per_epoch": 0})
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config))
    return path


@needs_shared_data
def test_permissive_only_training_keeps_only_labelled_heads(tmp_path):
    out = tmp_path / "model"
    result = CliRunner().invoke(app, ["train", "--config", str(_tiny_config(tmp_path)), "-o", str(out),
                                      "--permissive-only", "--data-root", str(DATA_ROOT)])
    assert result.exit_code == 0, result.output
    config, _heads, encoder = read_folder(out)
    assert config.trained
    assert [h["name"] for h in config.heads] == ["emotion"]  # the permissive sets label emotions only
    assert all(s["permissive"] for s in config.training["data"]["sources"].values())
    assert len(encoder) == len(config.encoder_params) > 0
    assert config.training["config"]["permissive_only"] is True
    assert "thresholds" in config.training and "wall_seconds" in config.training
    assert not (out / "train_config.json").exists()  # the recipe recorded in config.json serves instead
    again = CliRunner().invoke(app, ["recalibrate", "-m", str(out), "--data-root", str(DATA_ROOT)])
    assert again.exit_code == 0, again.output
    assert "goemotions" in again.output and "cesamard" not in again.output  # still the permissive sets only


def test_cached_embeddings_are_stored_once_and_reused(model, tmp_path):
    from emotiq.training.baselines import cached_embeddings

    texts = ["Het pakket kwam dinsdag.", "Great service, thanks!"]
    first = cached_embeddings(model, texts, tmp_path)
    stored = list(tmp_path.glob("embeddings-*.safetensors"))
    assert len(stored) == 1 and not list(tmp_path.glob("*.partial"))
    np.testing.assert_array_equal(cached_embeddings(model, texts, tmp_path), first)
    np.testing.assert_allclose(first, model.embed(texts), atol=1e-6)
    cached_embeddings(model, [*texts, "Nog een tekst."], tmp_path)  # other texts: another entry
    assert len(list(tmp_path.glob("embeddings-*.safetensors"))) == 2


@needs_shared_data
def test_recalibrate_refits_thresholds_in_place_and_records_beta(tmp_path):
    import shutil

    from emotiq.training.recalibrate import recalibrate
    from emotiq.training.train import TrainConfig

    folder = tmp_path / "model"
    shutil.copytree(REPO / "models" / "emotiq-small", folder)
    shutil.copy(_tiny_config(tmp_path), folder / "train_config.json")
    result = CliRunner().invoke(app, ["recalibrate", "-m", str(folder), "--threshold-beta", "0.5", "--data-root", str(DATA_ROOT)])
    assert result.exit_code == 0, result.output
    assert "goemotions" in result.output and "predicted / gold" in result.output
    config, _, _ = read_folder(folder)
    thresholds = config.training["thresholds"]["emotion"]
    assert len(thresholds) == 10 and all(0 < t < 1 for t in thresholds)
    emotion = next(h for h in config.heads if h["name"] == "emotion")
    assert set(emotion["extra"]["thresholds_by_language"]) == {"nl", "en"}
    assert all(len(v) == 10 and all(0 < t < 1 for t in v) for v in emotion["extra"]["thresholds_by_language"].values())
    assert json.loads((folder / "train_config.json").read_text())["loop"]["threshold_beta"] == 0.5
    from emotiq.training.cutoff import CUTOFF_GRID

    assert emotion["extra"]["relative_cutoff"] in CUTOFF_GRID and "relative cutoff" in result.output  # chosen on dev
    assert config.training["relative_cutoff"] == emotion["extra"]["relative_cutoff"]
    fixed = CliRunner().invoke(app, ["recalibrate", "-m", str(folder), "--relative-cutoff", "0.45", "--data-root", str(DATA_ROOT)])
    assert fixed.exit_code == 0, fixed.output
    config, _, _ = read_folder(folder)
    assert next(h for h in config.heads if h["name"] == "emotion")["extra"]["relative_cutoff"] == 0.45
    assert json.loads((folder / "train_config.json").read_text())["loop"]["relative_cutoff"] == 0.45
    settings = TrainConfig.from_file(folder / "train_config.json")
    settings.data_root = str(DATA_ROOT)
    settings.loop.relative_cutoff = 0.0
    _, precise = recalibrate(folder, settings)
    settings.loop.threshold_beta = 2.0  # recall-weighted thresholds predict more emotions
    _, loose = recalibrate(folder, settings)
    assert sum(c.predicted for c in precise) < sum(c.predicted for c in loose)
    assert [c.gold for c in precise] == [c.gold for c in loose]
    refit = CliRunner().invoke(app, ["recalibrate", "-m", str(folder), "--refit-heads", "--data-root", str(DATA_ROOT)])
    assert refit.exit_code == 0, refit.output
    assert "sentiment: dev macro-F1" in refit.output and "complaint: dev macro-F1" in refit.output
    config, _, _ = read_folder(folder)
    assert [r["head"] for r in config.training["head_refit"]] == ["sentiment", "complaint"]  # not the sigmoid head
    assert json.loads((folder / "train_config.json").read_text())["loop"]["refit_heads"] is True


def test_names_augmentation_fills_placeholders_in_training_rows_only():
    import pandas as pd
    import pytest

    from emotiq.errors import UnknownNameError
    from emotiq.training.augment import NAMES, augment
    from emotiq.training.train import TrainConfig

    rows = pd.DataFrame({"text": ["[NAME] was so rude to [NAME].", "No names here.", "Thanks [NAME]!"], "source": ["goemotions"] * 3})
    filled = augment(rows, ["names"], seed=1)
    assert not filled["text"].str.contains(r"\[NAME\]").any() and rows["text"].iloc[0].startswith("[NAME]")  # input kept
    assert filled["text"].iloc[1] == "No names here."
    first = filled["text"].iloc[0].removesuffix(".").split(" was so rude to ")
    assert len(first) == 2 and set(first) <= set(NAMES)
    assert augment(rows, ["names"], seed=1)["text"].tolist() == filled["text"].tolist()  # seeded
    with pytest.raises(UnknownNameError, match="unknown augmentation"):
        augment(rows, ["synonyms"], seed=1)
    assert TrainConfig.from_dict({"augment": ["names"]}).augment == ["names"] and TrainConfig().augment == []


@needs_shared_data
def test_training_frames_augment_train_rows_and_leave_dev_rows_as_published(tmp_path):
    from emotiq.training.train import TrainConfig, training_frames

    config = TrainConfig.from_dict({"sources": ["goemotions"], "max_train_per_source": {"goemotions": 3000},
                                    "max_dev_per_source": 3000, "data_root": str(DATA_ROOT), "augment": ["names"]})
    train, dev = training_frames(config)
    plain, _ = training_frames(TrainConfig.from_dict({**config.to_dict(), "augment": []}))
    assert not train["text"].str.contains(r"\[NAME\]", regex=True).any()
    assert plain["text"].str.contains(r"\[NAME\]", regex=True).sum() > 100 and dev["text"].str.contains(r"\[NAME\]", regex=True).any()
    assert (train["text"] != plain["text"]).sum() == plain["text"].str.contains(r"\[NAME\]", regex=True).sum()


def test_sampling_ece_is_the_floor_a_calibrated_model_shows_on_a_set_that_size():
    from emotiq.training.metrics import expected_calibration_error, sampling_ece, single_label_report
    from emotiq.training.metrics_report import recall_table

    rng = np.random.default_rng(1)
    small, large = rng.uniform(0.4, 1.0, 80), rng.uniform(0.4, 1.0, 20000)
    assert sampling_ece(large) < 0.01 < sampling_ece(small) < 0.15
    assert sampling_ece(small) == sampling_ece(small)  # seeded
    drawn = [expected_calibration_error(small, rng.random(80) < small) for _ in range(300)]
    assert abs(sampling_ece(small) - np.mean(drawn)) < 0.01
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    report = single_label_report(np.array([0, 1, 1]), probs, ["no", "yes"])
    assert report["ece_sampling"] == sampling_ece(probs.max(1))
    table = recall_table([{"test_set": "tiny", "task": "complaint", "system": "emotiq", **report}])
    assert "ECE of a calibrated model" in table and f"| {report['ece_sampling']:.3f} |" in table


def test_metrics_say_how_busy_the_machine_was_when_recorded():
    from emotiq.training.evaluate import _machine_load
    from emotiq.training.metrics_report import render_metrics

    record = {"test_set": "tiny", "lang": "en", "task": "complaint", "system": "emotiq", "n": 3, "macro_f1": 0.5,
              "accuracy": 0.5, "macro_recall": 0.5, "per_class_f1": {"no": 0.5}, "ece": 0.1, "ece_sampling": 0.05}
    result = {"test_rows": 3, "train_rows": 10, "seconds": 12.0, "published": {}, "records": [record]}
    assert "load average" not in render_metrics(result)  # older results did not record it
    machine = _machine_load()
    assert machine["usable_cpus"] >= 1 and machine["load_avg_1m"] >= 0
    busy = render_metrics({**result, "usable_cpus": 2, "load_avg_1m": 3.9})
    assert "in 12 s on 2 usable CPUs, 1-minute load average 3.9 at the end" in busy
