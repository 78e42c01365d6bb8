"""Run the encoder over token-id sequences in padded, length-sorted batches."""

from __future__ import annotations

import logging

import torch

from emotiq.encoder.text_encoder import TextEncoder, mean_pool
from emotiq.engine.batching import plan_batches
from emotiq.engine.devices import resolve_device
from emotiq.engine.precision import PRECISIONS, resolve_precision

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_BUDGET = {"cpu": 8192, "cuda": 65536}
"""Padded tokens per batch: bounds attention memory on CPU, fills a GPU."""


class EncoderRunner:
    """Pooled vectors for many sequences, computed batch by batch.

    Args:
        encoder: The fp32 text encoder (left untouched; a converted copy is used
            when the precision is not fp32).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"``, ``"fp16"`` or ``"int8"``.
        token_budget: Padded tokens per batch (default by device type).
        max_batch_size: Most sequences per batch.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        *,
        device: str | torch.device | None = "cpu",
        precision: str | None = "auto",
        token_budget: int | None = None,
        max_batch_size: int = 256,
    ) -> None:
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.token_budget = token_budget or DEFAULT_TOKEN_BUDGET[self.device.type]
        self.max_batch_size = max_batch_size
        self.pad_id = encoder.pad_id
        self.spec = PRECISIONS[self.precision]
        self.body = self.spec.prepare(encoder.body.to(self.device)).eval()
        logger.info("Encoder on %s in %s", self.device, self.precision)

    def _pad(self, sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        longest = max(len(s) for s in sequences)
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
            return mean_pool(self.body(input_ids=ids, attention_mask=mask).last_hidden_state, mask)

    @torch.inference_mode()
    def pooled(self, sequences: list[list[int]]) -> torch.Tensor:
        """Mean-pooled float32 vectors (on the CPU), one row per sequence, input order."""
        hidden = int(self.body.config.hidden_size)
        out = torch.empty((len(sequences), hidden), dtype=torch.float32)
        lengths = [len(s) for s in sequences]
        for batch in plan_batches(lengths, token_budget=self.token_budget, max_batch_size=self.max_batch_size):
            ids, mask = self._pad([sequences[i] for i in batch])
            out[torch.as_tensor(batch)] = self._pool(ids, mask).cpu()
        return out
