"""Temperature scaling: one scalar per head (or per head and language), fitted on dev data, so 0.8 means 80%."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, kind: str, known: torch.Tensor | None = None) -> float:
    """The temperature minimising dev negative log-likelihood.

    Args:
        logits: ``(n, n_labels)`` raw head outputs.
        targets: class indices (softmax) or a 0/1 matrix (sigmoid).
        kind: ``"softmax"`` or ``"sigmoid"``.
        known: sigmoid only: which cells carry a label (default all).
    """
    if len(logits) == 0:
        return 1.0
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)
    logits = logits.detach().float()

    def loss_fn() -> torch.Tensor:
        optimizer.zero_grad()
        scaled = logits / log_t.exp()
        if kind == "softmax":
            loss = F.cross_entropy(scaled, targets.long())
        else:
            weight = known.float() if known is not None else None
            loss = F.binary_cross_entropy_with_logits(scaled, targets.float(), weight=weight, reduction="sum")
            loss = loss / (weight.sum() if weight is not None else targets.numel())
        loss.backward()
        return loss

    optimizer.step(loss_fn)
    return float(log_t.detach().exp().clamp(0.05, 20.0))
