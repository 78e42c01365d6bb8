"""LoRA adapters on every attention and feed-forward projection of the encoder, through ``peft``.

Training injects LoRA layers into the encoder body (:func:`add_lora`); the base weights stay
frozen. Saving keeps only the low-rank factors (:func:`lora_factors`), in peft's key layout,
and loading merges them into the base weights (:func:`emotiq.model_io.merge_lora`), so the
inference engine runs plain ``Linear`` layers at unchanged speed.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)


def lora_config(rank: int, alpha: float, dropout: float) -> Any:
    from peft import LoraConfig

    # regex over full module names: every projection of every encoder layer, nothing in the embeddings
    pattern = r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)"
    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=pattern, bias="none")


def add_lora(body: nn.Module, rank: int, alpha: float, dropout: float = 0.0) -> list[str]:
    """Inject LoRA layers into ``body`` in place; freeze the base; return the trainable names."""
    from peft import inject_adapter_in_model

    body.requires_grad_(False)
    inject_adapter_in_model(lora_config(rank, alpha, dropout), body)
    names = [name for name, p in body.named_parameters() if "lora_" in name]
    for name, p in body.named_parameters():
        p.requires_grad_("lora_" in name)
    logger.info("LoRA rank %d on %d projections: %d trainable parameters", rank, len(names) // 2,
                sum(p.numel() for n, p in body.named_parameters() if "lora_" in n))
    return names


def has_lora(body: nn.Module) -> bool:
    return any("lora_" in name for name, _ in body.named_parameters())


def lora_factors(body: nn.Module) -> dict[str, torch.Tensor]:
    """The LoRA factors of ``body`` under peft's names (``<module>.lora_A.weight``)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().float().cpu().contiguous() for k, v in get_peft_model_state_dict(body).items()}


def load_lora_factors(body: nn.Module, factors: dict[str, torch.Tensor]) -> None:
    """Set the injected LoRA layers of ``body`` to ``factors`` (peft's key layout, as saved)."""
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(body, factors)
    missing = [k for k in result.missing_keys if "lora_" in k]
    if result.unexpected_keys or missing:
        raise ValueError(f"LoRA factors do not fit the encoder: unexpected {list(result.unexpected_keys)[:3]}, missing {missing[:3]}")


def unload_lora(body: nn.Module) -> None:
    """Merge the injected LoRA layers into their base ``Linear`` layers and remove them."""
    from peft.tuners.lora import LoraLayer

    for name, module in list(body.named_modules()):
        if isinstance(module, LoraLayer):
            module.merge()
            parent_name, _, child = name.rpartition(".")
            parent = body.get_submodule(parent_name) if parent_name else body
            setattr(parent, child, module.get_base_layer())
