"""Group sequences of similar length so padding stays small.

Sequences are sorted by length and cut into batches whose padded size
(longest length x count) stays within a token budget, as in spaCy's
``minibatch_by_padded_size``; callers restore input order from the indices.
"""

from __future__ import annotations

import numpy as np


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
    for index in order.tolist():
        longest = lengths[index]  # ascending order: the newest is the longest
        if current and (longest * (len(current) + 1) > token_budget or len(current) >= max_batch_size):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches
