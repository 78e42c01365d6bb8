"""Numerics for the encoder body: fp32, bf16, fp16 or int8 dynamic quantization.

``"auto"`` picks the fastest choice that keeps results close to fp32: bf16
where the CPU has native bf16 matrix instructions (AVX-512 BF16 / AMX), or
the GPU supports it; otherwise fp32 (fp16 on older GPUs).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import torch
from torch import nn

from emotiq.errors import UnknownNameError

logger = logging.getLogger(__name__)

PRECISIONS: dict[str, Callable[[nn.Module], nn.Module]] = {}
"""Precision name -> function converting an fp32 body in place (or returning a new one)."""


def register_precision(name: str) -> Callable[[Callable[[nn.Module], nn.Module]], Callable[[nn.Module], nn.Module]]:
    def wrap(func: Callable[[nn.Module], nn.Module]) -> Callable[[nn.Module], nn.Module]:
        PRECISIONS[name] = func
        return func

    return wrap


@register_precision("fp32")
def to_fp32(body: nn.Module) -> nn.Module:
    return body.float()


@register_precision("bf16")
def to_bf16(body: nn.Module) -> nn.Module:
    return body.to(torch.bfloat16)


@register_precision("fp16")
def to_fp16(body: nn.Module) -> nn.Module:
    return body.to(torch.float16)


@register_precision("int8")
def to_int8(body: nn.Module) -> nn.Module:
    """Dynamic int8 quantization of every Linear layer (CPU only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks the eager quantization API as deprecated
        return torch.ao.quantization.quantize_dynamic(body.float(), {nn.Linear}, dtype=torch.qint8)


def cpu_has_fast_bf16() -> bool:
    """True when oneDNN reports native bf16 support (AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def auto_precision(device: torch.device) -> str:
    """The precision ``"auto"`` stands for on ``device``."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def resolve_precision(precision: str | None, device: torch.device) -> str:
    """Validate ``precision`` for ``device``, resolving ``"auto"``."""
    name = (precision or "auto").lower()
    if name == "auto":
        return auto_precision(device)
    if name not in PRECISIONS:
        raise UnknownNameError(f"unknown precision {precision!r}; choose from auto, {', '.join(PRECISIONS)}")
    if name == "int8" and device.type != "cpu":
        raise UnknownNameError("precision='int8' runs on the CPU only; use 'bf16' or 'fp16' on a GPU")
    return name
