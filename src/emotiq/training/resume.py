"""Checkpoints that let a training run continue where it stopped, with the same result.

A checkpoint folder holds the trainable parameters, the best state so far, the optimizer's
moments, the learning-rate schedule, torch's random state and the loop position, as
safetensors plus one JSON file (no pickles). It is written to a temporary folder and then
renamed, so a run killed while writing leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "state.json"
_TENSOR_FILES = ("trainable", "best", "optimizer", "rng")


@dataclass
class LoopState:
    """Where a run is: epoch, batches done in it, and what has been recorded so far."""

    epoch: int = 0
    step: int = 0
    """Batches of ``epoch`` already trained."""
    global_step: int = 0
    epoch_loss: float = 0.0
    """Sum of the batch losses of ``epoch`` so far, and how many batches it adds up."""
    epoch_losses: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: float = -1.0
    stale: int = 0
    train_seconds: float = 0.0
    cpu_seconds: float = 0.0
    sittings: int = 1
    """How many processes the run has taken (1 + the number of resumes)."""


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors = {f"{index}.{key}": torch.as_tensor(value).detach().clone().contiguous()
               for index, slots in state["state"].items() for key, value in slots.items()}
    return tensors, {"param_groups": state["param_groups"]}


def _load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        slots.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})


def save_checkpoint(folder: str | Path, *, trainable: dict[str, torch.Tensor], best: dict[str, torch.Tensor],
                    optimizer: torch.optim.Optimizer, scheduler: Any, state: LoopState, extra: dict[str, Any]) -> Path:
    """Write a checkpoint to ``folder`` atomically (temporary folder, then rename)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    optimizer_tensors, optimizer_meta = _optimizer_tensors(optimizer)
    tensors = {"trainable": trainable, "best": best, "optimizer": optimizer_tensors, "rng": {"torch": torch.get_rng_state()}}
    for name in _TENSOR_FILES:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors[name].items()}, str(tmp / f"{name}.safetensors"))
    schedule = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    record = {"state": asdict(state), "optimizer": optimizer_meta, "scheduler": schedule, **extra}
    (tmp / STATE_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


@dataclass
class Checkpoint:
    """A checkpoint read back by :func:`load_checkpoint`."""

    state: LoopState
    trainable: dict[str, torch.Tensor]
    best: dict[str, torch.Tensor]
    record: dict[str, Any]
    folder: Path

    def restore(self, optimizer: torch.optim.Optimizer, scheduler: Any) -> None:
        """Put the optimizer's moments, the schedule and torch's random state back."""
        from safetensors.torch import load_file

        _load_optimizer(optimizer, load_file(str(self.folder / "optimizer.safetensors")), self.record["optimizer"])
        schedule = scheduler.state_dict()
        schedule.update(self.record["scheduler"])
        scheduler.load_state_dict(schedule)
        torch.set_rng_state(load_file(str(self.folder / "rng.safetensors"))["torch"])


def load_checkpoint(folder: str | Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: ``folder`` holds no complete checkpoint.
    """
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / STATE_FILE).exists():
        raise FileNotFoundError(f"no training checkpoint in {folder} ({STATE_FILE} is missing)")
    record = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    state = LoopState(**record["state"])
    return Checkpoint(state, load_file(str(folder / "trainable.safetensors")), load_file(str(folder / "best.safetensors")),
                      record, folder)
