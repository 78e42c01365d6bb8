"""Device choice: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``."""

from __future__ import annotations

import logging

import torch

from emotiq.errors import UnknownNameError

logger = logging.getLogger(__name__)


def cuda_available() -> bool:
    return bool(torch.cuda.is_available())


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn a device name into a ``torch.device``, falling back to CPU with a warning.

    ``"auto"`` (or None) picks CUDA when a GPU is visible, else the CPU. Asking for
    CUDA where torch sees none logs why and runs on the CPU instead of failing.
    """
    name = str(device or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if cuda_available():
            return torch.device(name)
        reason = "torch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        logger.warning("device=%r asked for, but %s; running on the CPU instead", name, reason)
        return torch.device("cpu")
    raise UnknownNameError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'")
