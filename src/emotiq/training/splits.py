"""Fixed, seeded train/dev/test splits and text de-duplication.

Splits are cut from a stable hash of each unit's key (normally the normalised text), so
they do not depend on row order, the pandas version or the Python hash seed. Rows that
share a key always land in the same split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

SPLIT_SEED = 13
"""Seed of every split emotiq cuts itself."""

SPLITS: tuple[str, ...] = ("train", "dev", "test")
"""Split names, in order."""

DEFAULT_FRACTIONS: Mapping[str, float] = {"train": 0.8, "dev": 0.1, "test": 0.1}
"""Split sizes for sources that come without an official split."""

_KEEP_PRIORITY: tuple[str, ...] = ("test", "dev", "train")


def text_key(text: str) -> str:
    """Key under which two texts count as the same: whitespace collapsed, case folded."""
    return " ".join(str(text).split()).casefold()


def stable_hash(key: str, seed: int = SPLIT_SEED) -> int:
    """64-bit hash of ``key`` that is the same on every machine and run."""
    digest = hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def seeded_split(
    keys: pd.Series,
    *,
    strata: pd.Series | None = None,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int = SPLIT_SEED,
) -> pd.Series:
    """Assign each row a split from the stable hash of its key.

    Every distinct key is one unit. Within each stratum, units are ordered by hash and cut
    at the cumulative ``fractions``, so the split is stratified and fully deterministic.

    Args:
        keys: Per-row unit key (a normalised text or a group id such as a review id).
        strata: Optional per-row stratum (e.g. the label); a unit takes the stratum of
            its first row.
        fractions: Split name -> share; shares must sum to 1.
        seed: Hash seed.

    Returns:
        Split names, aligned with ``keys``.
    """
    total = sum(fractions.values())
    if not np.isclose(total, 1.0):
        raise ValueError(f"split fractions must sum to 1, got {dict(fractions)} (sum {total})")
    units = pd.DataFrame({"key": keys.astype(str).to_numpy()})
    units["stratum"] = "" if strata is None else strata.astype(str).to_numpy()
    units = units.drop_duplicates("key")
    units["hash"] = [stable_hash(k, seed) for k in units["key"]]
    units = units.sort_values(["stratum", "hash"], kind="stable")
    by_stratum = units.groupby("stratum", sort=False)["hash"]
    position = (by_stratum.cumcount() + 0.5) / by_stratum.transform("size")
    names = list(fractions)
    cuts = np.cumsum([fractions[n] for n in names])
    index = np.minimum(np.searchsorted(cuts, position.to_numpy(), side="right"), len(names) - 1)
    split_of = dict(zip(units["key"], np.asarray(names, dtype=object)[index], strict=True))
    return pd.Series([split_of[k] for k in keys.astype(str)], index=keys.index, dtype=object)


def drop_split_leaks(df: pd.DataFrame) -> pd.DataFrame:
    """Drop rows whose text also sits in a more held-out split (test > dev > train).

    Used across sources: a text in one source's test set leaves every other source's
    train and dev rows. Repeats within the same split are kept.
    """
    rank = df["split"].map({name: i for i, name in enumerate(_KEEP_PRIORITY)})
    best = rank.groupby(df["text"].map(text_key)).transform("min")
    return df[rank == best]


def drop_duplicate_texts(df: pd.DataFrame) -> pd.DataFrame:
    """Keep one row per normalised text, preferring test over dev over train.

    Official test sets stay whole (only repeats inside them collapse), and a text that is
    also in a test or dev set is removed from the training rows.
    """
    rank = df["split"].map({name: i for i, name in enumerate(_KEEP_PRIORITY)})
    order = rank.sort_values(kind="stable").index
    keep = ~df.loc[order, "text"].map(text_key).duplicated()
    return df.loc[order[keep.to_numpy()]].sort_index()
