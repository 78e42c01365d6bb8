"""Refitting a trained model's linear heads on its own vectors: row weights, selection, installation."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from emotiq.training.examples import ExampleSet
from emotiq.training.head_refit import mean_source_macro_f1, refit_heads, refit_softmax_head, source_row_weights
from emotiq.training.loop import LoopSettings, fit_decisions, pooled_vectors, predict_logits


def _blobs(n: int, seed: int, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Three classes, each a cloud around its own direction."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, n)
    centres = np.eye(3, dim) * 3.0
    return (centres[gold] + rng.normal(size=(n, dim))).astype(np.float32), gold


def test_row_weights_give_each_source_its_share_of_the_draw():
    sources = np.array(["big"] * 400 + ["small"] * 100)
    weights = source_row_weights(sources, LoopSettings(sampling_power=0.5))
    assert abs(weights.mean() - 1.0) < 1e-9
    assert abs(weights[sources == "small"].sum() / weights.sum() - 10 / 30) < 1e-9  # sqrt(100) / (sqrt(400) + sqrt(100))
    weighted = source_row_weights(sources, LoopSettings(sampling_power=1.0, source_weights={"small": 4.0}))
    assert abs(weighted[sources == "small"].sum() / weighted.sum() - 0.5) < 1e-9


def test_mean_source_macro_f1_averages_sources_over_the_classes_each_has():
    gold = np.array([0, 1, 0, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    sources = np.array(["a", "a", "a", "a", "b", "b"])
    a = np.mean([2 * 1 / (2 + 1), 2 * 2 / (2 + 3)])  # class 0: 1 hit of 2 gold, 1 predicted; class 1: 2 hits, 3 predicted
    b = 2 * 1 / (2 + 1)  # class 2 only (class 0 is not gold in b)
    assert abs(mean_source_macro_f1(gold, pred, sources, 3) - np.mean([a, b])) < 1e-9


def test_a_refit_replaces_a_poor_head_and_leaves_a_good_one():
    x, gold = _blobs(600, seed=1)
    xd, gold_d = _blobs(300, seed=2)
    sources, dev_sources = np.array(["s"] * 600), np.array(["s"] * 300)
    settings = LoopSettings()
    poor = np.random.default_rng(0).normal(size=(300, 3))  # a head that guesses
    result, layer = refit_softmax_head(x, gold, sources, xd, gold_d, dev_sources, poor, settings, name="sentiment")
    assert result.kept and layer is not None and result.refit_dev > result.trained_dev + 0.5
    weight, bias = layer
    assert weight.shape == (3, 8) and bias.shape == (3,)
    assert np.mean((xd @ weight.T + bias).argmax(1) == gold_d) > 0.9  # the layer reads the unscaled vectors
    good = xd @ weight.T + bias  # the best refit itself as the trained head: nothing beats it by the margin
    result, layer = refit_softmax_head(x, gold, sources, xd, gold_d, dev_sources, good, settings, name="sentiment")
    assert not result.kept and layer is None
    assert result.to_dict()["head"] == "sentiment"
    assert result.summary().startswith("sentiment: dev macro-F1") and result.summary().endswith("trained head kept")


def test_refit_heads_installs_a_kept_refit_into_the_model(model):
    """On the real encoder: a scrambled sentiment head is refitted on 60 rows and scores as the refit said."""
    texts = {0: ["Terrible service, never again.", "Het is echt waardeloos.", "Awful, I want my money back."],
             1: ["The parcel arrived on Tuesday.", "Mijn adres is gewijzigd.", "The shop opens at nine."],
             2: ["Great help, thank you so much!", "Super vriendelijk geholpen, top!", "Love it, works perfectly."]}
    rows = [(f"{t} ({i})", label, "en" if i % 2 else "nl") for i in range(10) for label, ts in texts.items() for t in ts]
    df = pd.DataFrame(rows, columns=["text", "sentiment", "source"])
    data = ExampleSet(df, model.encoder, max_tokens=32, single_label={"sentiment": "sentiment"}, multi_label={})
    refitted = copy.deepcopy(model)
    with torch.no_grad():
        layer = refitted.heads["sentiment"].net[-1]
        layer.weight.copy_(layer.weight[[1, 2, 0]])  # the classes' rows rotated: every prediction wrong
        layer.bias.copy_(layer.bias[[1, 2, 0]])
    settings = LoopSettings(bf16=False)
    vectors = pooled_vectors(refitted, data, settings)  # the refit leaves the encoder alone: reused to calibrate after
    results = refit_heads(refitted, data, data, ["sentiment", "emotion"], settings, vectors)
    assert [r.head for r in results] == ["sentiment"]  # the sigmoid head is not refitted
    assert results[0].kept and results[0].refit_dev > results[0].trained_dev
    logits = predict_logits(refitted, data, ["sentiment"], settings)["sentiment"].numpy()
    score = mean_source_macro_f1(df["sentiment"].to_numpy(), logits.argmax(1), df["source"].to_numpy(), 3)
    assert abs(score - results[0].refit_dev) < 1e-6
    assert torch.equal(refitted.heads["emotion"].net[-1].weight, model.heads["emotion"].net[-1].weight)
    given = fit_decisions(refitted, data, ["sentiment"], settings, vectors)
    own = fit_decisions(refitted, data, ["sentiment"], settings)  # its own encoder pass over the same rows
    assert given[0] == pytest.approx(own[0], rel=1e-4) and torch.allclose(given[2]["sentiment"], own[2]["sentiment"], atol=1e-5)
