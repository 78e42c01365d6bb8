"""Group sequences of similar length so padding stays small.

Sequences are sorted by length and cut into batches whose padded size
(longest length x count) stays within a token budget, as in spaCy's
``minibatch_by_padded_size``; callers restore input order from the indices.
A batch is also cut where the lengths jump, so that a few long texts among
short ones (a pasted letter among tweets) do not pad the short ones to their
length.
"""

from __future__ import annotations

import numpy as np

MAX_PADDING_SHARE = 1 / 3
"""Most of a batch's padded tokens that may be padding, once it holds more than :data:`MIN_RAGGED_TOKENS`."""
MIN_RAGGED_TOKENS = 512
"""Padded size below which a ragged batch is cheaper than one more batch."""


def plan_batches(lengths: list[int], *, token_budget: int, max_batch_size: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches, shortest sequences first.

    Args:
        lengths: Token count of each sequence.
        token_budget: Upper bound on ``max(length) * len(batch)`` per batch (a
            sequence longer than the budget still gets a batch of its own).
        max_batch_size: Upper bound on sequences per batch.
    """
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[list[int]] = []
    current: list[int] = []
    real = 0
    for index in order.tolist():
        longest = lengths[index]  # ascending order: the newest is the longest
        padded = longest * (len(current) + 1)
        ragged = padded > MIN_RAGGED_TOKENS and padded - real - longest > MAX_PADDING_SHARE * padded
        if current and (padded > token_budget or len(current) >= max_batch_size or ragged):
            batches.append(current)
            current, real = [], 0
        current.append(index)
        real += longest
    if current:
        batches.append(current)
    return batches
