"""Run the encoder over token-id sequences in padded, length-sorted batches."""

from __future__ import annotations

import logging

import torch

from emotiq.encoder.text_encoder import TextEncoder, mean_pool
from emotiq.engine.batching import plan_batches
from emotiq.engine.devices import resolve_device
from emotiq.engine.memory import release_freed_memory
from emotiq.engine.packed import PackedEncoder, supports_packing
from emotiq.engine.precision import PRECISIONS, resolve_precision

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_BUDGET = {"cpu": 4096, "cuda": 65536}
"""Padded tokens per batch: keeps a batch's activations in cache on CPU, fills a GPU.

On a 2-core AVX-512/AMX Xeon, 4096 rather than 8192 ran reviews and long texts
6-20% faster (fp32 and bf16) and left tweets unchanged (64 tweets stay under it).
"""


def bucket_length(length: int, steps_per_octave: int = 16) -> int:
    """``length`` rounded up to one of ``steps_per_octave`` sizes per power of two.

    Batches are padded to these sizes (at most 1/16 extra, about 3% on average)
    so that a long run meets few distinct shapes: on the CPU, oneDNN keeps
    compiled kernels and buffers for every matrix shape it has seen, and a run
    over texts of every length grew by about 20 MiB per 5,000 texts when each
    batch had its own length. For the same reason CPU batches keep the padded
    layout instead of packing a different number of tokens each time.
    """
    step = max(1, (1 << max(length - 1, 1).bit_length()) // (2 * steps_per_octave))
    return -(-length // step) * step


class EncoderRunner:
    """Pooled vectors for many sequences, computed batch by batch.

    Args:
        encoder: The fp32 text encoder. Its weights are not changed: BERT-shaped
            bodies run through a view sharing them
            (:class:`~emotiq.engine.packed.PackedEncoder`: fused QKV; on a GPU no
            work on padding; on the CPU short bf16 attention as matmuls where
            SDPA is slow), and precisions other than fp32 convert copies
            of the layers.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"``, ``"fp16"`` or ``"int8"``.
        token_budget: Padded tokens per batch (default by device type).
        max_batch_size: Most sequences per batch.
        compile: Run the encoder through ``torch.compile`` (inductor, dynamic
            shapes), which fuses its small operations. The first batch then takes
            seconds to minutes while the kernels are built (cached on disk for
            later runs), so it can pay off on long jobs only; on a 2-core AMX CPU
            the eager bf16 path was as fast or faster. Needs a C++ compiler on
            the CPU (Triton on a GPU); if compiling fails, a warning says why and
            the encoder runs as usual.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        *,
        device: str | torch.device | None = "cpu",
        precision: str | None = "auto",
        token_budget: int | None = None,
        max_batch_size: int = 256,
        compile: bool = False,
    ) -> None:
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.token_budget = token_budget or DEFAULT_TOKEN_BUDGET[self.device.type]
        self.max_batch_size = max_batch_size
        self.pad_id = encoder.pad_id
        self.spec = PRECISIONS[self.precision]
        body = encoder.body.to(self.device)
        self.packed = supports_packing(body)
        self.body = self.spec.prepare(PackedEncoder(body) if self.packed else body).eval()
        if self.packed and self.device.type == "cpu":
            self.body.min_padding_to_pack = None
            self.body.matmul_attention = not compile  # inductor fuses attention itself; a length branch would recompile
        self.compiled = torch.compile(self.body, dynamic=True) if compile else None
        logger.info("Encoder on %s in %s%s%s", self.device, self.precision, " (packed)" if self.packed else "",
                    " (compiled)" if compile else "")

    def _pad(self, sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        longest = bucket_length(max(len(s) for s in sequences))
        ids = torch.full((len(sequences), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(sequences), longest), dtype=torch.long)
        for row, seq in enumerate(sequences):
            ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        if self.device.type == "cuda":
            return ids.pin_memory().to(self.device, non_blocking=True), mask.pin_memory().to(self.device, non_blocking=True)
        return ids, mask

    def _pool(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        dtype = self.spec.autocast
        with torch.autocast(self.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            if self.compiled is not None:
                try:
                    return self._forward_compiled(ids, mask)
                except Exception as exc:  # noqa: BLE001 -- compiling happens on the first calls; any failure there is torch's
                    logger.warning("torch.compile failed, the encoder runs without it: %s", _first_line(exc))
                    self.compiled = None
            return self._forward(self.body, ids, mask)

    def _forward_compiled(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The compiled forward; a batch of one runs as two copies, as torch.compile would compile it anew."""
        if ids.shape[0] == 1:
            return self._forward(self.compiled, ids.repeat(2, 1), mask.repeat(2, 1))[:1]
        return self._forward(self.compiled, ids, mask)

    def _forward(self, body: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.packed:
            return body(ids, mask)
        return mean_pool(body(input_ids=ids, attention_mask=mask).last_hidden_state, mask)

    @torch.inference_mode()
    def pooled(self, sequences: list[list[int]]) -> torch.Tensor:
        """Mean-pooled float32 vectors (on the CPU), one row per sequence, input order."""
        hidden = int(self.body.config.hidden_size)
        out = torch.empty((len(sequences), hidden), dtype=torch.float32)
        lengths = [len(s) for s in sequences]
        for batch in plan_batches(lengths, token_budget=self.token_budget, max_batch_size=self.max_batch_size):
            ids, mask = self._pad([sequences[i] for i in batch])
            out[torch.as_tensor(batch)] = self._pool(ids, mask).cpu()
            if self.device.type == "cpu":
                release_freed_memory()
        return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
