"""The padding-free forward pass computes what the ``transformers`` forward pass computes."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import pytest
import torch
from transformers import BertConfig, BertModel

from emotiq.encoder.text_encoder import mean_pool
from emotiq.engine.memory import release_freed_memory
from emotiq.engine.packed import PackedEncoder, supports_packing
from emotiq.engine.precision import PRECISIONS
from emotiq.engine.runner import EncoderRunner


def _tiny_bert(**overrides: object) -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, **overrides)
    return BertModel(config, add_pooling_layer=False).eval()


def _ragged_batch() -> tuple[torch.Tensor, torch.Tensor]:
    lengths = [9, 3, 17, 1, 17, 6]
    ids = torch.zeros((len(lengths), max(lengths)), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(5, 100, (length,))
        mask[row, :length] = 1
    return ids, mask


@pytest.mark.parametrize("autocast", [None, torch.bfloat16])
@pytest.mark.parametrize("min_padding_to_pack", [0.0, 1.0], ids=["packed", "padded"])
def test_packed_matches_transformers_on_ragged_batch(autocast: torch.dtype | None, min_padding_to_pack: float) -> None:
    body = _tiny_bert()
    ids, mask = _ragged_batch()
    packed = PackedEncoder(body)
    packed.min_padding_to_pack = min_padding_to_pack
    with torch.inference_mode(), torch.autocast("cpu", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
        expected = mean_pool(body(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
        got = packed(ids, mask)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-5 if autocast is None else 1e-2, rtol=0)


@pytest.mark.parametrize("length", [9, 17, 31, 40])
def test_matmul_attention_matches_sdpa(length: int) -> None:
    from emotiq.engine.packed import _matmul_attention

    torch.manual_seed(0)
    q, k, v = torch.randn(3, 5, 4, length, 8).unbind(0)
    mask = torch.arange(length)[None, :] < torch.tensor([length, 1, 3, length - 2, 7])[:, None]
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
    torch.testing.assert_close(_matmul_attention(q, k, v, mask), expected, atol=1e-5, rtol=1e-5)
    half = _matmul_attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), mask)
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), expected, atol=3e-2, rtol=0)


def test_matmul_attention_is_used_where_sdpa_is_slow() -> None:
    from emotiq.engine.packed import sdpa_is_slow_at

    assert [n for n in range(1, 80) if not sdpa_is_slow_at(n)] == [32, 48, *range(64, 80)]
    body = _tiny_bert()
    ids, mask = _ragged_batch()
    packed = PackedEncoder(body)
    packed.min_padding_to_pack = None
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = mean_pool(body(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
        sdpa = packed(ids, mask)
        packed.matmul_attention = True
        got = packed(ids, mask)
    torch.testing.assert_close(got, expected, atol=1e-2, rtol=0)
    assert not torch.equal(got, sdpa)  # the other path ran


def test_packed_ignores_what_sits_in_padding() -> None:
    packed = PackedEncoder(_tiny_bert())
    ids, mask = _ragged_batch()
    noisy = ids.masked_fill(mask == 0, 42)
    with torch.inference_mode():
        torch.testing.assert_close(packed(noisy, mask), packed(ids, mask))


def test_packed_shares_weights_with_the_body() -> None:
    body = _tiny_bert()
    packed = PackedEncoder(body)
    assert packed.encoder[0].ffn_in.weight is body.encoder.layer[0].intermediate.dense.weight
    assert packed.embeddings is body.embeddings


@pytest.mark.parametrize("name", ["bf16", "int8"])
def test_precisions_convert_the_packed_layers_and_keep_the_body(name: str) -> None:
    body = _tiny_bert()
    before = body.encoder.layer[0].intermediate.dense.weight.clone()
    spec = PRECISIONS[name]
    converted = spec.prepare(PackedEncoder(body))
    ids, mask = _ragged_batch()
    with torch.inference_mode(), torch.autocast("cpu", dtype=spec.autocast or torch.bfloat16, enabled=spec.autocast is not None):
        assert converted(ids, mask).shape == (ids.shape[0], 32)
    assert body.encoder.layer[0].intermediate.dense.weight.dtype == torch.float32
    torch.testing.assert_close(body.encoder.layer[0].intermediate.dense.weight, before)


def test_other_shapes_keep_the_transformers_forward() -> None:
    assert supports_packing(_tiny_bert())
    assert not supports_packing(_tiny_bert(position_embedding_type="relative_key"))
    assert not supports_packing(torch.nn.Linear(3, 3))


def test_release_freed_memory_is_safe_to_call() -> None:
    release_freed_memory()
    release_freed_memory()


def test_bucketed_lengths_waste_little_and_stay_few() -> None:
    from emotiq.engine.runner import bucket_length

    sizes = [bucket_length(n) for n in range(1, 513)]
    assert all(size >= n for n, size in zip(range(1, 513), sizes))
    assert max(size / n for n, size in zip(range(1, 513), sizes)) <= 1 + 1 / 16
    assert len(set(sizes)) <= 100  # 16 sizes per doubling: few shapes over a long run
    assert bucket_length(512) == 512


SEQUENCES = [[1, 7, 9, 2], [1, 5, 2], [1, *range(10, 40), 2]]


def _runner(**options: object) -> EncoderRunner:
    return EncoderRunner(SimpleNamespace(body=_tiny_bert(), pad_id=0), precision="fp32", **options)


def test_compile_failure_falls_back_with_a_warning(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken_compile(module: torch.nn.Module, **options: object) -> object:
        def fail(*args: object, **kwargs: object) -> None:
            raise RuntimeError("no working C++ compiler found\n(long compiler log)")

        return fail

    monkeypatch.setattr(torch, "compile", broken_compile)
    runner = _runner(compile=True)
    with caplog.at_level("WARNING", logger="emotiq.engine.runner"):
        got = runner.pooled(SEQUENCES)
    assert runner.compiled is None
    assert "torch.compile failed" in caplog.text and "no working C++ compiler found" in caplog.text
    assert "long compiler log" not in caplog.text
    torch.testing.assert_close(got, _runner().pooled(SEQUENCES))


@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "g++")) is None, reason="torch.compile on the CPU needs a C++ compiler (g++ or $CXX)")
def test_compiled_encoder_matches_eager() -> None:
    runner = _runner(compile=True)
    got = runner.pooled(SEQUENCES)
    assert runner.compiled is not None, "compiling failed: see the logged warning"
    eager = _runner()
    torch.testing.assert_close(got, eager.pooled(SEQUENCES), atol=1e-4, rtol=0)
    torch.testing.assert_close(runner.pooled(SEQUENCES[:1]), eager.pooled(SEQUENCES[:1]), atol=1e-4, rtol=0)
