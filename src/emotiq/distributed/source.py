"""Where workers find the model, and a check of that run on the workers before a job starts."""

from __future__ import annotations

import socket
from dataclasses import dataclass, replace
from pathlib import Path

from emotiq.heads import HeadSpec


@dataclass(frozen=True)
class ModelSource:
    """The model a job's workers load, and how they run it.

    ``location`` is a bundled model name or a folder path as the workers see it
    (shared storage). ``shipped`` is set when the folder travels with the job
    instead (Spark's ``SparkContext.addFile``): workers then read the folder of
    that name under the job's file root.
    """

    location: str | None = None
    """Bundled model name or folder path; None for the bundled default."""
    shipped: str | None = None
    """Folder name under the job's shipped files."""
    precision: str = "auto"
    device: str = "cpu"

    @classmethod
    def from_argument(cls, model: object, *, precision: str = "auto", device: str = "cpu") -> ModelSource:
        """A source for an adapter's ``model=`` argument: None, a bundled model name or a folder path.

        Raises:
            TypeError: ``model`` is something else, such as a loaded model (it is not sent to workers).
        """
        if model is None or isinstance(model, str | Path):
            return cls(location=None if model is None else str(model), precision=precision, device=device)
        raise TypeError(f"model is {type(model).__name__}; pass a bundled model name or the path of a model folder "
                        "(workers load it themselves, a loaded model is not sent to them)")

    def driver_folder(self) -> Path:
        """The model folder as this (driver) process sees it.

        Raises:
            ModelFolderError: there is no such folder or bundled model.
        """
        from emotiq.api import model_folder

        return model_folder(self.location).resolve()

    def head_specs(self) -> list[HeadSpec]:
        """The model's heads, read from its ``config.json`` (no weights are loaded).

        Raises:
            ModelFolderError: the folder or its config cannot be read.
        """
        from emotiq.model_io import read_config

        return [HeadSpec.from_dict(h) for h in read_config(self.driver_folder()).heads]

    def shipped_as(self, name: str) -> ModelSource:
        """This source, read by workers from the shipped folder ``name``."""
        return replace(self, shipped=name)

    def worker_location(self, files_root: str | None = None) -> str | None:
        """What a worker passes to :func:`emotiq.load`; ``files_root`` is where shipped files are."""
        if self.shipped is None:
            return self.location
        if files_root is None:
            raise ValueError("a shipped model needs the root folder of the job's files")
        return str(Path(files_root) / self.shipped)


def check_on_worker(source: ModelSource, files_root: str | None = None) -> str | None:
    """Why this machine cannot read ``source``'s model (None when it can), naming the machine."""
    from emotiq.api import model_folder
    from emotiq.errors import EmotiqError
    from emotiq.model_io import read_config

    try:
        read_config(model_folder(source.worker_location(files_root)))
    except (EmotiqError, OSError, ValueError) as exc:
        return f"{socket.gethostname()}: {exc}"
    return None
