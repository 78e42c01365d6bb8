"""The score columns an adapter adds, with their types, from the model's heads alone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from emotiq.decode import result_fields
from emotiq.heads import HeadSpec, select_heads
from emotiq.io.columns import output_names
from emotiq.schema import Analysis

STATUS_KEY = "emotiq_status"


@dataclass(frozen=True)
class ScoreColumns:
    """emotiq's columns for one job: result keys, the names they get, and their Python types."""

    keys: tuple[str, ...]
    """Keys of :meth:`Analysis.to_dict`, in its order."""
    names: tuple[str, ...]
    """Output column names (the keys, all prefixed ``emotiq_`` when one clashes with an input column)."""
    types: tuple[type, ...]
    """``str``, ``float``, ``int`` or ``bool`` per column."""
    tasks: tuple[str, ...]
    """Heads that are run."""

    @property
    def status(self) -> str:
        """Name of the status column."""
        return self.names[self.keys.index(STATUS_KEY)]


def score_columns(specs: Sequence[HeadSpec], input_columns: Iterable[str], tasks: Iterable[str] | str | None = None) -> ScoreColumns:
    """The columns :meth:`Analysis.to_dict` gives for a model with ``specs``, named clear of ``input_columns``.

    They come from a placeholder result built from the heads, so a fine-tuned
    model's own columns are included and the order is that of ``emotiq score``.

    Raises:
        UnknownNameError: a task is not one of the model's heads.
    """
    by_name = {spec.name: spec for spec in specs}
    heads = select_heads(list(by_name), tasks)
    placeholder = Analysis(text="", language="", status="empty", **result_fields((by_name[h] for h in heads), None))
    row = placeholder.to_dict()
    names = output_names(list(row), list(input_columns), extra=())
    return ScoreColumns(keys=tuple(row), names=tuple(names), types=tuple(type(v) for v in row.values()), tasks=tuple(heads))
