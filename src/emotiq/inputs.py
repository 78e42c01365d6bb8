"""Accept texts in the forms people hold them: str, list, Series, array, Dataset."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from emotiq.errors import InputError

MISSING = None
"""Marker for a missing cell (NaN/None in a pandas column): scored as empty."""


def _describe(position: Any, value: Any) -> str:
    kind = type(value).__name__
    hint = " (decode bytes first, e.g. value.decode('utf-8'))" if isinstance(value, bytes | bytearray) else ""
    return f"text at position {position!r} is {kind}, not str{hint}"


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def check_text(position: Any, value: Any, *, allow_missing: bool) -> str | None:
    """Return ``value`` if it is a str (None for an allowed missing cell), else raise."""
    if isinstance(value, str):
        return value
    if allow_missing and (is_missing(value) or type(value).__name__ in {"NAType", "NaTType"}):
        return MISSING
    raise TypeError(_describe(position, value))


def _dataset_column(data: Any, text_column: str | None) -> list[Any]:
    columns = list(data.column_names)
    column = text_column or ("text" if "text" in columns else None)
    if column is None or column not in columns:
        raise InputError(f"name the text column with text_column=...; the dataset has columns {columns}")
    return list(data[column])


def iter_items(texts: Any, *, text_column: str | None = None) -> tuple[Iterable[tuple[Any, Any]], bool]:
    """Yield ``(position, value)`` pairs and whether missing cells count as empty texts.

    pandas and Dataset inputs treat NaN/None as missing (scored as empty); plain
    Python sequences must hold only str.
    """
    if texts is None or isinstance(texts, bytes | bytearray):
        raise TypeError(_describe(0, texts) if texts is not None else "texts is None; pass a str or a list of str")
    kind = type(texts).__module__.split(".")[0]
    if kind == "pandas":
        if hasattr(texts, "columns"):
            if text_column is None:
                raise InputError(f"pass text_column=... to analyze a DataFrame; columns: {list(texts.columns)}")
            texts = texts[text_column]
        return texts.items(), True
    if kind == "datasets":
        return enumerate(_dataset_column(texts, text_column)), True
    if kind == "numpy":
        return enumerate(texts.tolist()), True
    if isinstance(texts, Iterable):
        return enumerate(texts), False
    raise TypeError(f"texts is {type(texts).__name__}; pass a str, a list of str, a pandas Series or a Dataset")


def validated(items: Iterable[tuple[Any, Any]], allow_missing: bool, errors: str) -> Iterator[tuple[str | None, str | None]]:
    """Yield ``(text, error)``: ``errors="raise"`` raises on a bad item, ``"flag"`` reports it."""
    for position, value in items:
        try:
            yield check_text(position, value, allow_missing=allow_missing), None
        except TypeError as exc:
            if errors == "raise":
                raise
            yield None, str(exc)
