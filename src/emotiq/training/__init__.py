"""Training-side code: labelled data sources, label mappings, fixed splits and fine-tuning.

Import the submodules directly (``from emotiq.training.sources import load_sources``).
``finetune``, ``FinetuneResult`` and ``prepare_data`` are exported here lazily:
the training code loads on first use, so that ``import emotiq`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "finetune": "emotiq.training.finetune",
    "FinetuneResult": "emotiq.training.finetune",
    "prepare_data": "emotiq.training.finetune_data",
}

__all__ = ["FinetuneResult", "finetune", "prepare_data"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    for export, source in _LAZY.items():  # binds the function over the same-named submodule the import set here
        if source == module.__name__:
            globals()[export] = getattr(module, export)
    return globals()[name]
