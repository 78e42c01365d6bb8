"""Labelled rows to tensors: token ids, per-task targets and masks, in token-bucketed batches."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from emotiq.encoder.text_encoder import TextEncoder
from emotiq.engine.batching import plan_batches
from emotiq.text import clean_text, detect_language


@dataclass
class Batch:
    """One padded batch with the targets of every task (-1 / zero mask where unlabelled)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    targets: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor]
    rows: list[int]
    label_masks: dict[str, torch.Tensor] = field(default_factory=dict)
    """Multi-label heads: which labels each row annotates ([rows, labels])."""
    twin_positions: list[int] = field(default_factory=list)
    """Positions in the batch of the rows that have a twin (a variant text that must score the same)."""
    twin_ids: torch.Tensor | None = None
    """Their twins' token ids, padded, in the order of ``twin_positions``."""
    twin_mask: torch.Tensor | None = None


class ExampleSet:
    """Tokenized texts with targets for the built-in heads and any custom head.

    Args:
        df: Rows with ``text`` and target columns: ``sentiment`` (class index or
            -1), ``emotions`` (0/1 list or None), ``severity`` (class index or -1),
            or any column named in ``single_label`` / ``multi_label``.
        encoder: Tokenizes ``text`` the way inference does (cleaned, prefixed).
        max_tokens: Training sequences are cut to this many tokens.
        single_label: Head name -> column of class indices (-1 for none).
        multi_label: Head name -> column of 0/1 lists (None for none; NaN for a
            label the row's source does not annotate).

    An optional ``twin`` column holds, for some rows, a variant of the text that
    should score exactly the same (for example with another person's name); see
    ``LoopSettings.invariance_weight``.
    """

    def __init__(self, df: pd.DataFrame, encoder: TextEncoder, *, max_tokens: int,
                 single_label: dict[str, str], multi_label: dict[str, str]) -> None:
        texts = [clean_text(str(t)).text for t in df["text"]]
        self.texts = texts
        self.ids = cut_ids(encoder.encode_ids(texts), max_tokens)
        self.pad_id = encoder.pad_id
        twins = {i: clean_text(t).text for i, t in enumerate(df["twin"]) if isinstance(t, str)} if "twin" in df else {}
        self.twins: dict[int, list[int]] = dict(zip(twins, cut_ids(encoder.encode_ids(list(twins.values())), max_tokens))) if twins else {}
        """Row -> token ids of its twin text."""
        self.sources = df["source"].astype(str).to_numpy() if "source" in df else np.full(len(df), "")
        self.targets: dict[str, torch.Tensor] = {}
        self.masks: dict[str, torch.Tensor] = {}
        """Rows that carry a label of each head."""
        self.label_masks: dict[str, torch.Tensor] = {}
        for head, column in single_label.items():
            values = torch.tensor(df[column].astype(int).to_numpy())
            self.targets[head], self.masks[head] = values.clamp(min=0), values >= 0
        for head, column in multi_label.items():
            present = df[column].map(lambda v: v is not None and not (isinstance(v, float) and np.isnan(v)))
            width = len(next(v for v, p in zip(df[column], present) if p)) if present.any() else 1
            matrix = torch.tensor([list(v) if p else [float("nan")] * width for v, p in zip(df[column], present)], dtype=torch.float32)
            known = ~torch.isnan(matrix)
            self.targets[head] = torch.nan_to_num(matrix, nan=0.0)
            self.label_masks[head] = known
            self.masks[head] = known.any(dim=1)

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def languages(self) -> np.ndarray:
        """Each text's detected language (as ``analyze`` detects it; computed on first use)."""
        return np.array([detect_language(text) for text in self.texts])

    def batch(self, rows: list[int]) -> Batch:
        input_ids, mask = padded_ids([self.ids[r] for r in rows], self.pad_id)
        index = torch.tensor(rows)
        batch = Batch(input_ids, mask, {h: t[index] for h, t in self.targets.items()},
                      {h: m[index] for h, m in self.masks.items()}, rows,
                      {h: m[index] for h, m in self.label_masks.items()})
        batch.twin_positions = [i for i, r in enumerate(rows) if r in self.twins]
        if batch.twin_positions:
            batch.twin_ids, batch.twin_mask = padded_ids([self.twins[rows[i]] for i in batch.twin_positions], self.pad_id)
        return batch

    def batches(self, *, token_budget: int, max_batch_size: int, shuffle: bool, seed: int = 0,
                rows: list[int] | None = None) -> list[list[int]]:
        """Row groups of similar length (of ``rows``, default all); shuffled windows when ``shuffle``."""
        rows = list(range(len(self))) if rows is None else list(rows)
        rng = random.Random(seed)
        if shuffle:
            rng.shuffle(rows)
        window = max_batch_size * 50
        groups: list[list[int]] = []
        for start in range(0, len(rows), window):
            part = rows[start : start + window]
            lengths = [len(self.ids[r]) for r in part]
            for batch in plan_batches(lengths, token_budget=token_budget, max_batch_size=max_batch_size):
                groups.append([part[i] for i in batch])
        if shuffle:
            rng.shuffle(groups)
        return groups


def cut_ids(ids: list[list[int]], max_tokens: int) -> list[list[int]]:
    """Sequences cut to ``max_tokens`` (keeping the closing token)."""
    return [seq if len(seq) <= max_tokens else seq[: max_tokens - 1] + seq[-1:] for seq in ids]


def padded_ids(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded to the longest sequence, and the attention mask."""
    longest = max(len(seq) for seq in sequences)
    input_ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for i, seq in enumerate(sequences):
        input_ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
    return input_ids, mask
