"""Task heads and the registry that turns their outputs into results.

A head maps a pooled sentence vector to one logit per label. Its ``kind``
says how logits become probabilities (``softmax`` over exclusive labels,
``sigmoid`` for multi-label). Its ``role`` says where the probabilities go in
an :class:`~emotiq.schema.Analysis`; the built-in roles are ``sentiment``,
``emotion`` and ``complaint``, and any fine-tuned task is a ``custom`` head.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from emotiq.errors import UnknownNameError

Kind = Literal["softmax", "sigmoid"]


@dataclass
class HeadSpec:
    """What a head predicts; stored in the model's ``config.json``."""

    name: str
    role: str
    kind: Kind
    labels: list[str]
    temperature: float = 1.0
    """Divides logits before softmax/sigmoid (fitted on dev data to calibrate); texts of a language in
    ``extra["temperatures_by_language"]`` use that language's instead."""
    threshold: float = 0.5
    hidden: int = 0
    """Width of a hidden layer before the output (0 for a linear head)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def thresholds(self, language: str | None = None) -> list[float]:
        """Per-label decision thresholds of a sigmoid head for texts in ``language``.

        ``extra["thresholds_by_language"][language]`` when fitted for that language, else
        ``extra["thresholds"]`` (fitted on all languages), else ``threshold`` for every label.
        """
        by_language = self.extra.get("thresholds_by_language") or {}
        if language in by_language:
            return list(by_language[language])
        return list(self.extra.get("thresholds") or [self.threshold] * len(self.labels))

    def temperature_for(self, language: str | None = None) -> float:
        """The temperature for texts in ``language``: ``extra["temperatures_by_language"][language]``
        when fitted for that language, else ``temperature`` (fitted on all languages)."""
        return float((self.extra.get("temperatures_by_language") or {}).get(language, self.temperature))

    @property
    def space(self) -> str:
        """The vectors the head reads: ``"model"`` (the fine-tuned encoder, default), ``"topic"``
        (the base encoder before fine-tuning) or ``"adapted"`` (the base encoder with the task
        adapter of a fine-tuning run); see :meth:`EmotiqModel.embed`."""
        return str(self.extra.get("space", "model"))

    @property
    def spaces(self) -> tuple[str, ...]:
        """Every vector space the head reads: its own, then its companion's (see :class:`TaskHead`)."""
        companion = self.extra.get("companion")
        return (self.space,) if not companion or companion == self.space else (self.space, str(companion))

    @property
    def encoder_passes(self) -> int:
        """Encoder passes per text that scoring with this head needs (``"model"`` always runs)."""
        return encoder_passes(self.spaces)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeadSpec:
        return cls(**data)


def encoder_passes(spaces: Iterable[str]) -> int:
    """Encoder passes per text to get the vectors of ``spaces``: the model's own, plus one per other space."""
    return 1 + len(set(spaces) - {"model"})


class TaskHead(nn.Module):
    """Dropout, an optional hidden layer, and a linear layer to ``len(labels)`` logits.

    A head with ``spec.extra["companion"]`` (a vector space name) also has a linear
    ``companion`` layer over that space's vectors, whose logits are added: two views of
    a text in one head (a fine-tuned head blended with a linear head on other vectors).
    """

    def __init__(self, spec: HeadSpec, in_features: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.spec = spec
        self.in_features = in_features
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        width = in_features
        if spec.hidden:
            layers += [nn.Linear(in_features, spec.hidden), nn.GELU(), nn.Dropout(dropout)]
            width = spec.hidden
        layers.append(nn.Linear(width, len(spec.labels)))
        self.net = nn.Sequential(*layers)
        self.companion = nn.Linear(in_features, len(spec.labels)) if len(spec.spaces) > 1 else None

    def add_companion(self, space: str) -> nn.Linear:
        """Give the head a (zero) companion layer over ``space``'s vectors and return it."""
        self.spec.extra["companion"] = space
        self.companion = nn.Linear(self.in_features, len(self.spec.labels)).to(self.net[-1].weight)
        nn.init.zeros_(self.companion.weight)
        nn.init.zeros_(self.companion.bias)
        return self.companion

    def remove_companion(self) -> None:
        """Drop the companion layer, if any: the head reads its own space alone."""
        self.spec.extra.pop("companion", None)
        self.companion = None

    def logits(self, vectors: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Logits from the vectors of each space the head reads (``spec.spaces``)."""
        out = self(vectors[self.spec.space])
        if self.companion is not None:
            out = out + self.companion(vectors[self.spec.spaces[1]])
        return out

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.net(pooled)

    def probabilities(self, logits: torch.Tensor, languages: Sequence[str | None] | None = None) -> torch.Tensor:
        """Calibrated probabilities of ``logits``; with ``languages`` (one per row, as detected) each
        row is divided by its language's temperature (see :meth:`HeadSpec.temperature_for`)."""
        scaled = logits.float() / self._temperatures(languages, len(logits))
        return scaled.softmax(-1) if self.spec.kind == "softmax" else scaled.sigmoid()

    def _temperatures(self, languages: Sequence[str | None] | None, rows: int) -> float | torch.Tensor:
        """The head's one temperature, or a ``(rows, 1)`` column of each row's language's."""
        if languages is None or not self.spec.extra.get("temperatures_by_language"):
            return self.spec.temperature
        if len(languages) != rows:
            raise ValueError(f"{len(languages)} languages for {rows} rows of logits")
        return torch.tensor([self.spec.temperature_for(lang) for lang in languages]).unsqueeze(1)


ROLES: dict[str, Callable[..., Any]] = {}
"""Role name -> decoder (filled in by :mod:`emotiq.decode`)."""


def register_role(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering how a role's probabilities become result fields."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        ROLES[name] = func
        return func

    return wrap


def select_heads(names: list[str], tasks: Iterable[str] | str | None) -> list[str]:
    """The head names ``tasks`` asks for, in its order (all of ``names`` when None)."""
    if tasks is None:
        return list(names)
    wanted = [tasks] if isinstance(tasks, str) else list(tasks)
    unknown = [t for t in wanted if t not in names]
    if unknown:
        raise UnknownNameError(f"unknown task(s) {unknown}; this model has {names}")
    return wanted


def role_decoder(role: str) -> Callable[..., Any]:
    if role not in ROLES:
        raise UnknownNameError(f"unknown head role {role!r}; known roles: {', '.join(sorted(ROLES))}")
    return ROLES[role]


class HeadSet(nn.ModuleDict):
    """The heads of a model, by name, sharing one input vector."""

    def __init__(self, specs: list[HeadSpec], in_features: int) -> None:
        super().__init__({spec.name: TaskHead(spec, in_features) for spec in specs})

    @property
    def specs(self) -> list[HeadSpec]:
        return [head.spec for head in self.values()]  # type: ignore[union-attr]

    def forward(self, pooled: torch.Tensor, names: list[str] | None = None) -> dict[str, torch.Tensor]:  # type: ignore[override]
        """Logits of the heads in ``names`` (all heads when None)."""
        wanted = names if names is not None else list(self.keys())
        return {name: self[name](pooled) for name in wanted}
