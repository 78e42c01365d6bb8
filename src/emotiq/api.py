"""``emotiq.load``: find a model by name or path and load it."""

from __future__ import annotations

from pathlib import Path

from emotiq.errors import ModelFolderError
from emotiq.model import EmotiqModel

DEFAULT_MODEL = "emotiq-small"


def model_dirs() -> list[Path]:
    """Folders searched for bundled models: inside the package, then the source tree's ``models/``."""
    package = Path(__file__).resolve().parent
    return [package / "_models", package.parents[1] / "models"]


def available_models() -> list[str]:
    """Names of the bundled models that :func:`load` finds by name."""
    names = {p.parent.name for d in model_dirs() if d.is_dir() for p in d.glob("*/config.json")}
    return sorted(names)


def _find(name_or_path: str | Path) -> Path:
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    for folder in model_dirs():
        if (folder / str(name_or_path) / "config.json").exists():
            return folder / str(name_or_path)
    known = ", ".join(available_models()) or "none found"
    raise ModelFolderError(f"no model folder or bundled model named {str(name_or_path)!r}; bundled models: {known}")


def model_folder(name_or_path: str | Path | None = None) -> Path:
    """The folder :func:`load` would read for ``name_or_path`` (default: the bundled default model).

    Raises:
        ModelFolderError: no such folder and no bundled model of that name.
    """
    return _find(name_or_path or DEFAULT_MODEL)


def load(name_or_path: str | Path | None = None, *, device: str = "cpu", precision: str = "auto", threads: int | None = None,
         compile: bool = False) -> EmotiqModel:
    """Load an emotiq model.

    Args:
        name_or_path: A bundled model name (default ``"emotiq-small"``) or the
            path of a folder written by :meth:`EmotiqModel.save`.
        device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        precision: ``"auto"`` (fastest accurate choice), ``"fp32"``, ``"bf16"``,
            ``"fp16"`` (GPU) or ``"int8"`` (CPU).
        threads: CPU threads for torch (default: torch's own choice, which follows
            ``OMP_NUM_THREADS`` or the number of physical cores).
        compile: Run the encoder through ``torch.compile``, after 25-30 s of
            compiling on the first batch (less once the kernels are cached on
            disk). On a 2-core AMX CPU the default engine is now as fast or
            faster (tweets 637 against 607 texts/s on 2 threads; reviews and
            long texts within 3%); it may pay off on other CPUs and long jobs.
            Needs a C++ compiler; without one a warning is logged and the
            encoder runs as usual.

    Example:
        >>> model = emotiq.load()
        >>> model.analyze(["Top service!", "Nooit meer bij jullie."])
    """
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, int(threads)))
    return EmotiqModel.load(model_folder(name_or_path), device=device, precision=precision, compile=compile)
