"""Numerics for the encoder body: fp32, bf16/fp16 autocast, or int8 dynamic quantization.

``"auto"`` picks the fastest choice that keeps results close to fp32: bf16
where the CPU has native bf16 matrix instructions (AVX-512 BF16 / AMX), or
the GPU supports it; otherwise fp32 (fp16 on older GPUs).
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from emotiq.errors import UnknownNameError

logger = logging.getLogger(__name__)


def _unchanged(body: nn.Module) -> nn.Module:
    return body


def with_converted_layers(body: nn.Module, convert: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """A view of ``body`` whose transformer layers are ``convert``-ed copies.

    Only the layers are copied (about 21M parameters); the embeddings, by far the
    largest tensors, stay shared with the fp32 body instead of being duplicated.
    A body that is not BERT-shaped is converted whole (``convert`` must copy).
    """
    layers = getattr(body, "encoder", None)
    if layers is None:
        return convert(body)
    view = copy.copy(body)
    view._modules = dict(body._modules)
    view._modules["encoder"] = convert(layers)
    return view


def quantize_layers(body: nn.Module) -> nn.Module:
    """``body`` with its transformer layers int8 dynamically quantized."""

    def quantize(layers: nn.Module) -> nn.Module:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch marks the eager quantization API as deprecated
            return torch.ao.quantization.quantize_dynamic(copy.deepcopy(layers).float(), {nn.Linear}, dtype=torch.qint8)

    return with_converted_layers(body, quantize)


def linear_weights_in(dtype: torch.dtype) -> Callable[[nn.Module], nn.Module]:
    """Prepare step keeping a ``dtype`` copy of the layers' Linear weights for autocast.

    Autocast would otherwise cast every weight again on every forward pass. The
    results are identical: autocast rounds the fp32 weights the same way.
    """

    def cast_linears(layers: nn.Module) -> nn.Module:
        memo: dict[int, Any] = {
            id(p): nn.Parameter(p.detach().to(dtype), requires_grad=False)
            for module in layers.modules() if isinstance(module, nn.Linear) for p in module.parameters(recurse=False)
        }
        return copy.deepcopy(layers, memo)  # copies the rest, takes the converted weights from memo

    return lambda body: with_converted_layers(body, cast_linears)


@dataclass(frozen=True)
class Precision:
    """How the encoder runs: an autocast dtype over the fp32 weights, and/or a converted body."""

    name: str
    autocast: torch.dtype | None = None
    prepare: Callable[[nn.Module], nn.Module] = _unchanged
    devices: tuple[str, ...] = ("cpu", "cuda")


PRECISIONS: dict[str, Precision] = {}
"""Precision name -> :class:`Precision`."""


def register_precision(precision: Precision) -> Precision:
    PRECISIONS[precision.name] = precision
    return precision


# bf16/fp16 use autocast: matmuls run in half precision while LayerNorm and the residual
# stream stay in fp32. Only the layers' Linear weights get a half-precision copy (~42 MB);
# the embeddings stay shared with the fp32 body.
register_precision(Precision("fp32"))
register_precision(Precision("bf16", autocast=torch.bfloat16, prepare=linear_weights_in(torch.bfloat16)))
register_precision(Precision("fp16", autocast=torch.float16, prepare=linear_weights_in(torch.float16), devices=("cuda",)))
register_precision(Precision("int8", prepare=quantize_layers, devices=("cpu",)))


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
    if device.type not in PRECISIONS[name].devices:
        where = " and ".join(d.upper() for d in PRECISIONS[name].devices)
        raise UnknownNameError(f"precision={name!r} runs on the {where} only; use 'auto', 'fp32' or 'bf16' here")
    return name
