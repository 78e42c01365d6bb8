"""`emotiq train` end to end on a tiny sample: reproducible recipe, permissive-only filter."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from emotiq.cli import app
from emotiq.model_io import read_folder
from tests.conftest import DATA_ROOT, REPO, needs_shared_data

TINY = {
    "max_train_per_source": {name: 40 for name in ("goemotions", "xed_en", "xed_nl", "tweeteval_emotion", "semeval2017_sentiment",
                                                    "xci", "cesamard", "absa16_en", "absa16_nl", "dutch_political_tweets")},
    "max_dev_per_source": 20,
}


def _tiny_config(tmp_path):
    config = json.loads((REPO / "models" / "emotiq-small" / "train_config.json").read_text())
    config.update(TINY)
    config["loop"].update({"epochs": 1, "trainable_layers": 1})
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
