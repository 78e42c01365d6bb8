"""Engine logic that needs no GPU: batching, device and precision choice."""

from __future__ import annotations

import logging

import pytest
import torch

from emotiq.engine import devices as devices_module
from emotiq.engine import plan_batches, resolve_device, resolve_precision
from emotiq.errors import UnknownNameError


def test_batches_respect_token_budget_and_cover_everything():
    lengths = [5, 300, 12, 12, 511, 40, 7, 90] * 10
    batches = plan_batches(lengths, token_budget=1024, max_batch_size=16)
    seen = sorted(i for b in batches for i in b)
    assert seen == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 16
        assert max(lengths[i] for i in batch) * len(batch) <= 1024 or len(batch) == 1


def test_a_few_long_sequences_do_not_pad_the_short_ones():
    lengths = [30] * 70 + [120, 125]
    batches = plan_batches(lengths, token_budget=4096, max_batch_size=64)
    assert [len(b) for b in batches] == [64, 6, 2]
    assert sorted(lengths[i] for i in batches[-1]) == [120, 125]


def test_similar_lengths_stay_in_full_batches():
    lengths = list(range(20, 37)) * 15  # tweet-like spread
    batches = plan_batches(lengths, token_budget=4096, max_batch_size=64)
    assert len(batches) == -(-len(lengths) // 64)


def test_auto_device_without_cuda(monkeypatch):
    monkeypatch.setattr(devices_module, "cuda_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_cuda_falls_back_to_cpu_with_a_reason(monkeypatch, caplog):
    monkeypatch.setattr(devices_module, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING):
        assert resolve_device("cuda") == torch.device("cpu")
    assert "running on the CPU" in caplog.text


def test_auto_device_picks_cuda_when_present(monkeypatch):
    monkeypatch.setattr(devices_module, "cuda_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda:1")


def test_unknown_device_and_precision():
    with pytest.raises(UnknownNameError, match="cpu"):
        resolve_device("tpu")
    with pytest.raises(UnknownNameError, match="fp32"):
        resolve_precision("fp8", torch.device("cpu"))
    with pytest.raises(UnknownNameError, match="CPU only"):
        resolve_precision("int8", torch.device("cuda"))


def test_auto_precision_on_cpu(monkeypatch):
    from emotiq.engine import precision

    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")) == "bf16"
