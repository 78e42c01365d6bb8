"""The error raised for a feedback export that cannot be scored."""

from __future__ import annotations

from emotiq.errors import InputError


class ExportError(InputError):
    """A file, sheet, column or checkpoint cannot be used; the message says which and why.

    Raised before any row is scored (missing, empty, binary or unsupported file,
    unknown column or sheet) or when a checkpoint does not match its input.
    Problems with single rows never raise: they are flagged in the output.
    """
