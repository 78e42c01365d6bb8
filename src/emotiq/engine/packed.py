"""A padding-free inference forward pass for BERT-shaped encoders.

Only attention needs the ``[batch, length]`` layout; every other step of a layer
(projections, feed-forward, LayerNorm, residuals) works on one token per row.
:class:`PackedEncoder` therefore keeps the hidden states *packed*, the padding
positions dropped, and scatters them into the padded layout just for attention,
as FasterTransformer's "remove padding" and BetterTransformer do. The query,
key and value projections are fused into one matrix multiplication.

It reuses the body's own embeddings, LayerNorms and Linear weights (only the
fused QKV weight is new), returns the mean-pooled vector of each sequence, and
computes what the ``transformers`` forward pass computes for the real tokens
(to float rounding; checked in the tests). Encoders of another shape keep that
forward pass.

Measured on a 2-core CPU, length-sorted batches of tweets or reviews carry
little padding, and there the packed and padded layouts ran within noise of
each other. Packing also hands oneDNN a new matrix shape with nearly every
batch, and it keeps kernels and buffers for each shape, so memory grew over
long runs: the runner therefore packs only on a GPU, where batches are large
and mix lengths.

On the CPU, half-precision attention over short sequences whose length SDPA's
flash kernel handles slowly runs as two matmuls instead (see
:func:`sdpa_is_slow_at`); in one-off A/B runs on tweets (not among
``benchmarks/results``) that made whole ``analyze`` calls 5-7% faster, with the
same agreement with fp32.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from emotiq.encoder.text_encoder import mean_pool

logger = logging.getLogger(__name__)


def supports_packing(body: nn.Module) -> bool:
    """Whether ``body`` is a BERT encoder that :class:`PackedEncoder` reproduces exactly.

    Not while adapter layers are injected (during training): the packed view reads the plain
    ``Linear`` weights only.
    """
    config = getattr(body, "config", None)
    layers = getattr(getattr(body, "encoder", None), "layer", None)
    return (
        config is not None
        and layers is not None
        and getattr(config, "model_type", None) in {"bert", "xlm-roberta", "roberta"}
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and config.hidden_act in {"gelu", "gelu_new", "gelu_pytorch_tanh"}
        and not getattr(config, "is_decoder", False)
        and all(hasattr(layer, "attention") and hasattr(layer, "intermediate") for layer in layers)
        and not any("lora_" in name for name, _ in body.named_parameters())
    )


def _fused_qkv(attention: nn.Module) -> nn.Linear:
    parts = [attention.query, attention.key, attention.value]
    fused = nn.Linear(parts[0].in_features, sum(p.out_features for p in parts), device=parts[0].weight.device)
    with torch.no_grad():
        fused.weight.copy_(torch.cat([p.weight for p in parts]))
        fused.bias.copy_(torch.cat([p.bias for p in parts]))
    fused.requires_grad_(False)
    return fused


class PackedLayer(nn.Module):
    """One post-LayerNorm transformer layer over packed tokens."""

    def __init__(self, layer: nn.Module, *, heads: int, approximate: str) -> None:
        super().__init__()
        self.qkv = _fused_qkv(layer.attention.self)
        self.out = layer.attention.output.dense
        self.norm1 = layer.attention.output.LayerNorm
        self.ffn_in = layer.intermediate.dense
        self.ffn_out = layer.output.dense
        self.norm2 = layer.output.LayerNorm
        self.heads = heads
        self.approximate = approximate

    def forward(self, tokens: torch.Tensor, index: torch.Tensor | None, mask: torch.Tensor, *,
                matmul_attention: bool = False) -> torch.Tensor:
        """``tokens`` ``[n, d]`` -> ``[n, d]``; ``index``: their rows in the flat ``[b*l]`` layout
        (None: ``tokens`` already are that layout, padding included). ``matmul_attention``: run
        half-precision attention as two batched matmuls instead of SDPA."""
        tokens = self.norm1(tokens.add_(self.out(self._attention(self.qkv(tokens), index, mask, matmul_attention))))
        hidden = F.gelu(self.ffn_in(tokens), approximate=self.approximate)
        return self.norm2(tokens.add_(self.ffn_out(hidden)))

    def _attention(self, qkv: torch.Tensor, index: torch.Tensor | None, mask: torch.Tensor, matmul: bool) -> torch.Tensor:
        batch, length = mask.shape
        width = qkv.shape[-1]
        padded = qkv if index is None else qkv.new_zeros(batch * length, width).index_copy_(0, index, qkv)
        q, k, v = padded.view(batch, length, 3, self.heads, width // (3 * self.heads)).permute(2, 0, 3, 1, 4)
        if matmul and q.dtype in (torch.bfloat16, torch.float16):
            context = _matmul_attention(q, k, v, mask)
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        context = context.transpose(1, 2).reshape(batch * length, width // 3)
        return context if index is None else context.index_select(0, index)


def _matmul_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Attention over padded keys as matmul, float32 softmax, matmul (what SDPA computes, unfused)."""
    bias = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device).masked_fill_(~mask, float("-inf"))
    scores = torch.matmul(q, k.transpose(-1, -2)).float().mul_(q.shape[-1] ** -0.5).add_(bias[:, None, None, :])
    return torch.matmul(torch.softmax(scores, dim=-1).to(v.dtype), v)


def sdpa_is_slow_at(length: int) -> bool:
    """Whether CPU SDPA at ``length`` tokens is slower than :func:`_matmul_attention` in bf16.

    In a one-off microbenchmark on a 2-core AVX-512/AMX Xeon, batches of 2,048
    tokens: the flash kernel is fast where the length is a multiple of 16 from
    32 up, and 1.3-2× slower at other lengths (31 tokens took 2.5× as long as
    32, at 1 and 2 threads); the two matmuls take time about in proportion to
    the length and win below 64 tokens. In fp32 neither was faster throughout
    (the matmuls won at 31 tokens, SDPA at 16, 21, 36 and 48), so fp32 keeps
    SDPA.
    """
    return length < 64 and (length < 32 or length % 16 != 0)


class PackedEncoder(nn.Module):
    """Mean-pooled vectors of a BERT-shaped ``body``, computed without padding.

    The body's modules are shared, not copied; :attr:`encoder` holds the layers so
    precision conversions can replace them (see :mod:`emotiq.engine.precision`).
    """

    min_padding_to_pack: float | None = 0.1
    """Share of padding positions from which a batch is packed; below it the
    padded layout is kept (packing was not measurably faster there). None: never
    pack (the runner's choice on the CPU, see :mod:`emotiq.engine.runner`)."""

    matmul_attention: bool = False
    """Run half-precision attention as two matmuls for padded batches at the
    lengths where :func:`sdpa_is_slow_at` (the runner's choice on the CPU)."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        config = body.config
        approximate = "none" if config.hidden_act == "gelu" else "tanh"
        self.config = config
        self.embeddings = body.embeddings
        self.encoder = nn.ModuleList(
            PackedLayer(layer, heads=config.num_attention_heads, approximate=approximate) for layer in body.encoder.layer
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Float32 mean of the last hidden states over each row's real tokens."""
        batch, length = input_ids.shape
        mask = attention_mask.bool()
        tokens = self.embeddings(input_ids=input_ids).reshape(batch * length, -1)
        threshold = self.min_padding_to_pack
        if threshold is None or int(mask.sum()) >= (1 - threshold) * batch * length:
            matmul = self.matmul_attention and sdpa_is_slow_at(length)
            for layer in self.encoder:
                tokens = layer(tokens, None, mask, matmul_attention=matmul)
            return mean_pool(tokens.float().view(batch, length, -1), mask)
        index = mask.reshape(-1).nonzero().squeeze(1)
        tokens = tokens.index_select(0, index)
        for layer in self.encoder:
            tokens = layer(tokens, index, mask)
        return _packed_mean(tokens.float(), index // length, mask.sum(1), batch)


def _packed_mean(tokens: torch.Tensor, rows: torch.Tensor, counts: torch.Tensor, batch: int) -> torch.Tensor:
    """Mean of packed ``tokens`` per sequence; ``rows`` gives each token's sequence."""
    sums = tokens.new_zeros(batch, tokens.shape[-1]).index_add_(0, rows, tokens)
    return sums / counts.clamp(min=1).unsqueeze(1).to(tokens.dtype)
