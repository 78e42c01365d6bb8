"""Registries: a name -> function table filled by a decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def registrar(table: dict[str, T]) -> Callable[[str], Callable[[T], T]]:
    """A decorator factory that stores the decorated function in ``table`` under ``name``."""

    def register(name: str) -> Callable[[T], T]:
        def wrap(func: T) -> T:
            table[name] = func
            return func

        return wrap

    return register
