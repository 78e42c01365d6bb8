"""The ``emotiq score`` command as a plain function: arguments in, exit status out.

Errors about the input (missing, empty, binary or unsupported file, unknown
column or sheet, a checkpoint for another run) print one line,
``error: <message>``, and return 2; no traceback is shown.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emotiq.errors import EmotiqError, InputError
from emotiq.io.formats import OUTPUT_FORMATS
from emotiq.io.score import score_file

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def default_output(input: Path) -> Path:
    """``feedback.xlsx`` -> ``feedback.scored.xlsx`` beside it (``.csv`` for inputs emotiq cannot write)."""
    suffix = input.suffix.lower() if input.suffix.lower() in OUTPUT_FORMATS else ".csv"
    return input.with_name(f"{input.stem}.scored{suffix}")


@contextmanager
def _console_logging(quiet: bool) -> Iterator[None]:
    """Show emotiq's log lines on stderr unless the application already handles them."""
    logger = logging.getLogger("emotiq")
    handled = logging.getLogger().handlers or any(not isinstance(h, logging.NullHandler) for h in logger.handlers)
    if handled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _fail(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def score_cli_main(input: str | Path, output: str | Path | None = None, *, text_column: str | None = None,
                   sheet: str | None = None, model: str | None = None, batch_size: int = 64, device: str = "cpu",
                   resume: bool = False, force: bool = False, report: str | Path | None = None, by: str | None = None,
                   time_column: str | None = None, chunk_rows: int = 5000, quiet: bool = False, compile: bool = False) -> int:
    """Run ``emotiq score`` and return its exit status (0 ok, 1 failed, 2 bad input, 130 interrupted).

    Args:
        input: Export to score (.csv/.tsv/.txt, .xlsx, .parquet, .jsonl).
        output: Scored file; default ``<input stem>.scored<ext>`` beside the input.
        text_column: Column to score (default: detected and logged).
        sheet: Worksheet name or 0-based index of an .xlsx input.
        model: Bundled model name or model folder (default: the bundled default).
        batch_size, device, chunk_rows, report, by, time_column, compile: as for :func:`emotiq.io.score_file`.
        resume: Continue an interrupted run from its checkpoint.
        force: Overwrite an existing output file.
        quiet: Log warnings only (no progress lines).
    """
    source = Path(input).expanduser()
    target = Path(output).expanduser() if output else default_output(source)
    if target.exists() and not (force or resume):
        return _fail(f"{target} already exists; pass --force to overwrite it", EXIT_BAD_INPUT)
    with _console_logging(quiet):
        try:
            loaded = None
            if model is not None:
                import emotiq

                loaded = emotiq.load(model, device=device, compile=compile)
            summary = score_file(source, target, model=loaded, text_column=text_column, batch_size=batch_size,
                                 device=device, resume=resume, report=report, by=by, time_column=time_column,
                                 sheet=sheet, chunk_rows=chunk_rows, compile=compile)
        except InputError as exc:
            return _fail(str(exc), EXIT_BAD_INPUT)
        except (EmotiqError, OSError) as exc:
            return _fail(str(exc), EXIT_FAILED)
        except KeyboardInterrupt:
            return _fail("interrupted; run again with --resume to continue", EXIT_INTERRUPTED)
    print(summary)
    if summary.report is not None:
        print(f"report: {summary.report}")
    return EXIT_OK
