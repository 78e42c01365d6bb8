"""Exceptions raised by emotiq. Each message says what went wrong and what to do."""

from __future__ import annotations


class EmotiqError(Exception):
    """Base class of emotiq's own errors."""


class BaseModelError(EmotiqError):
    """The base encoder could not be found, converted or loaded."""


class ModelFolderError(EmotiqError):
    """A model folder is missing files or holds an unreadable config."""


class ClusterError(EmotiqError):
    """A Spark or Ray cluster cannot run emotiq: it is not installed on the workers, or they cannot read the model."""


class MissingDataError(EmotiqError, FileNotFoundError):
    """A labelled data folder or file is not where emotiq looked for it."""


class InputError(EmotiqError, ValueError):
    """An input (text, file, column) cannot be used; the message names it."""


class UnknownNameError(EmotiqError, KeyError):
    """A name is not in a registry; the message lists the names that are."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
