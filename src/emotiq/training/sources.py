"""Labelled training and evaluation sources, read into one row format.

Every source is a loader in a registry. ``load_sources()`` returns one DataFrame with the
columns in COLUMNS:

- ``text``, ``lang`` (``"en"``/``"nl"``), ``source`` (registry name), ``split``
  (``"train"``/``"dev"``/``"test"``);
- ``sentiment``: index into SENTIMENT_LABELS, or -1 where the row has no sentiment;
- ``emotions``: 10 floats (0/1) in EMOTION_LABELS order, or None where it has none;
- ``complaint``: 0/1 or -1; ``severity``: 0..4 (index into SEVERITY_LABELS) or -1;
- ``native_label``: the source's own label(s), for native evaluation.

Official splits are kept where a source has them; otherwise a fixed seeded split is cut
(see :mod:`emotiq.training.splits`). Texts are de-duplicated within each source, and a
text never appears in two splits. The data live outside the package: pass ``data_root``,
set ``EMOTIQ_DATA``, or keep them in ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from emotiq.errors import InputError, MissingDataError, UnknownNameError
from emotiq.training.mappings import (
    EKMAN_LABELS,
    TWEETEVAL_EMOTION_LABELS,
    ekman_group,
    tweeteval_emotion_class,
)
from emotiq.training.splits import (
    SPLITS,
    drop_duplicate_texts,
    drop_split_leaks,
    seeded_split,
    text_key,
)

__all__ = [
    "COLUMNS",
    "DATA_ENV_VAR",
    "EKMAN_LABELS",
    "TASKS",
    "TWEETEVAL_EMOTION_LABELS",
    "MissingDataError",
    "SourceInfo",
    "available_sources",
    "ekman_group",
    "goemotions_ekman",
    "load_sources",
    "register",
    "resolve_data_root",
    "source_info",
    "summary_table",
    "tweeteval_emotion_class",
]

logger = logging.getLogger(__name__)

DATA_ENV_VAR = "EMOTIQ_DATA"
"""Environment variable naming the folder that holds the labelled sets."""

COLUMNS: tuple[str, ...] = (
    "text", "lang", "source", "split", "sentiment", "emotions", "complaint", "severity",
    "native_label",
)  # fmt: skip
"""Columns of every frame ``load_sources`` returns, in order."""

TASKS: tuple[str, ...] = ("sentiment", "emotion", "complaint", "severity")

_INT_DEFAULTS: Mapping[str, int] = {"sentiment": -1, "complaint": -1, "severity": -1}
_HELPER_COLUMNS = ("group", "stratum")


@dataclass(frozen=True)
class SourceInfo:
    """What one labelled source is, where it comes from and how it is mapped.

    ``label_map`` is task -> source label -> emotiq label(s); an empty tuple means the
    source label gives no target. ``split_fractions`` is None where the source's
    official splits are used, else the shares of the seeded split emotiq cuts.
    """

    name: str
    folder: str
    languages: tuple[str, ...]
    tasks: tuple[str, ...]
    licence: str
    permissive: bool
    licence_note: str
    citation: str
    url: str
    label_map: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    split_fractions: Mapping[str, float] | None = None
    split_note: str = "official splits"
    notes: str = ""


Loader = Callable[[Path], pd.DataFrame]
_LOADERS: dict[str, Loader] = {}
_INFO: dict[str, SourceInfo] = {}


def register(info: SourceInfo) -> Callable[[Loader], Loader]:
    """Decorator adding a loader (``folder -> DataFrame``) to the registry under ``info.name``."""

    def decorate(loader: Loader) -> Loader:
        if info.name in _INFO:
            raise ValueError(f"source {info.name!r} is registered twice")
        _INFO[info.name] = info
        _LOADERS[info.name] = loader
        return loader

    return decorate


def _registry() -> Mapping[str, SourceInfo]:
    """The registry, filled on first use by importing the catalogue of loaders."""
    from emotiq.training import catalogue  # noqa: F401  (registers the sources)

    return _INFO


def available_sources() -> list[str]:
    """Names of all registered sources, in registration order."""
    return list(_registry())


def source_info(name: str) -> SourceInfo:
    """The SourceInfo of ``name``.

    Raises:
        UnknownNameError: ``name`` is not registered.
    """
    registry = _registry()
    if name not in registry:
        raise UnknownNameError(f"unknown source {name!r}; available: {', '.join(registry)}")
    return registry[name]


REPOSITORY = Path(__file__).resolve().parents[3]
"""The root of a source checkout of emotiq (beside which ``../shared/data`` sits by default)."""


def resolve_data_root(data_root: str | os.PathLike[str] | None = None) -> Path:
    """Folder holding the labelled sets: ``data_root``, else $EMOTIQ_DATA, else ``../shared/data``.

    Raises:
        MissingDataError: The folder does not exist.
    """
    default = REPOSITORY.parent / "shared" / "data"
    root = Path(data_root or os.environ.get(DATA_ENV_VAR) or default).expanduser()
    if not root.is_dir():
        raise MissingDataError(
            f"labelled data folder not found: {root}. Pass data_root=..., or set "
            f"{DATA_ENV_VAR} to the folder that holds the source folders (goemotions/, xed/, ...)."
        )
    return root


def load_sources(
    names: str | Iterable[str] | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
    permissive_only: bool = False,
    splits: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Load labelled sources into one frame with the columns in COLUMNS.

    Args:
        names: Source name(s); None loads every registered source.
        data_root: Folder with the source folders (default: $EMOTIQ_DATA or
            ``../shared/data`` beside the repository).
        permissive_only: Leave out sources whose licence is not clearly open for
            commercial use (``SourceInfo.permissive``).
        splits: Keep only these splits (``"train"``, ``"dev"``, ``"test"``).

    Returns:
        The concatenated rows, index reset.

    Raises:
        UnknownNameError: A source name is not registered.
        InputError: A split name is not one of SPLITS.
        MissingDataError: The data folder, or a file a source needs, is missing.
    """
    chosen = _select(names, permissive_only)
    wanted = _check_splits(splits)
    root = resolve_data_root(data_root)
    frames = [_load_one(name, root) for name in chosen]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    df = pd.concat(frames, ignore_index=True)
    if len(frames) > 1:
        kept = drop_split_leaks(df)
        logger.info("%d rows dropped: text in another source's dev/test", len(df) - len(kept))
        df = kept
    return df[df["split"].isin(wanted)].reset_index(drop=True)


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Labelled-row counts per source x split x task, for data and model cards.

    Returns:
        One row per (source, lang, split) with columns ``rows`` and one count per task.
    """
    flags = pd.DataFrame(
        {
            "source": df["source"],
            "lang": df["lang"],
            "split": pd.Categorical(df["split"], categories=SPLITS, ordered=True),
            "rows": 1,
            "sentiment": (df["sentiment"] >= 0).astype(int),
            "emotion": df["emotions"].notna().astype(int),
            "complaint": (df["complaint"] >= 0).astype(int),
            "severity": (df["severity"] >= 0).astype(int),
        }
    )
    table = flags.groupby(["source", "lang", "split"], observed=True, sort=True).sum()
    return table.reset_index().astype({"split": str})


def goemotions_ekman(
    split: str | None = "test", *, data_root: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """GoEmotions with its official Ekman labels, for the published Ekman comparison.

    Rows match the ``goemotions`` source (same cleaning and de-duplication).

    Returns:
        Columns ``text``, ``split``, ``ekman`` (7 floats in EKMAN_LABELS order) and
        ``native_label``.
    """
    from emotiq.training.catalogue import read_goemotions

    folder = _source_folder(source_info("goemotions"), resolve_data_root(data_root))
    df = read_goemotions(folder, "ekman")
    df["ekman"] = df["native"].map(lambda labels: [float(k in labels) for k in EKMAN_LABELS])
    df["native_label"] = df["native"].map(",".join)
    df["text"] = df["text"].map(_clean_text)
    df = drop_duplicate_texts(df[df["text"] != ""])
    if split is not None:
        df = df[df["split"] == split]
    return df[["text", "split", "ekman", "native_label"]].reset_index(drop=True)


# --------------------------------------------------------------------------- assembly


def _as_list(value: str | Iterable[str] | None, default: Iterable[str]) -> list[str]:
    if value is None:
        return list(default)
    return [value] if isinstance(value, str) else list(value)


def _select(names: str | Iterable[str] | None, permissive_only: bool) -> list[str]:
    infos = [source_info(name) for name in _as_list(names, available_sources())]
    return [info.name for info in infos if info.permissive or not permissive_only]


def _check_splits(splits: str | Iterable[str] | None) -> list[str]:
    wanted = _as_list(splits, SPLITS)
    unknown = sorted(set(wanted) - set(SPLITS))
    if unknown:
        raise InputError(f"unknown split(s) {unknown}; valid: {', '.join(SPLITS)}")
    return wanted


def _source_folder(info: SourceInfo, root: Path) -> Path:
    folder = root / info.folder
    if not folder.is_dir():
        raise MissingDataError(f"data folder of source {info.name!r} not found: {folder}")
    return folder


def _load_one(name: str, root: Path) -> pd.DataFrame:
    info = source_info(name)
    df = _LOADERS[name](_source_folder(info, root))
    df = _finalize(df, info)
    logger.info("loaded %s: %d rows %s", name, len(df), df["split"].value_counts().to_dict())
    return df


def _finalize(df: pd.DataFrame, info: SourceInfo) -> pd.DataFrame:
    """Bring a loader's frame to COLUMNS: defaults, clean text, splits, no duplicates."""
    df = df.copy()
    for column, default in _INT_DEFAULTS.items():
        df[column] = df[column].astype(int) if column in df else default
    if "emotions" not in df:
        df["emotions"] = None
    if "native_label" not in df:
        df["native_label"] = ""
    df["text"] = df["text"].map(_clean_text)
    df["source"] = info.name
    if "lang" not in df:
        df["lang"] = info.languages[0]
    df = _assign_splits(df[df["text"] != ""], info)
    labelled = (df[list(_INT_DEFAULTS)] >= 0).any(axis=1) | df["emotions"].notna()
    df = drop_duplicate_texts(df[labelled])
    logger.debug("%s: %d unlabelled rows, %d kept", info.name, int((~labelled).sum()), len(df))
    return df[list(COLUMNS)].astype({"split": str, "native_label": str}).reset_index(drop=True)


def _assign_splits(df: pd.DataFrame, info: SourceInfo) -> pd.DataFrame:
    """Fill rows without a split from the seeded split (by ``group`` or text, per ``stratum``)."""
    if "split" not in df:
        df = df.assign(split=None)
    todo = df["split"].isna()
    if todo.any():
        if info.split_fractions is None:
            raise ValueError(f"source {info.name!r} left rows without a split")
        part = df[todo]
        keys = part["group"] if "group" in part else part["text"].map(text_key)
        strata = part.get("stratum", None)
        df.loc[todo, "split"] = seeded_split(keys, strata=strata, fractions=info.split_fractions)
    return df.drop(columns=[c for c in _HELPER_COLUMNS if c in df])


def _clean_text(text: object) -> str:
    return html.unescape(str(text)).strip()


