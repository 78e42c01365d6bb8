"""Bad input gives one clear error (and exit status 2 from the command), before any scoring."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotiq.errors import InputError
from emotiq.io import ExportError, score_cli_main, score_file
from emotiq.io.cells import cell_text, safe_text
from emotiq.io.checkpoint import Checkpoint, checkpoint_path, load, save

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "examples" / "feedback_export.csv"
FIXTURES = REPO / "tests" / "fixtures" / "exports"


class NoModel:
    """Fails the test if scoring is reached: every error here must come first."""

    def __getattr__(self, name):
        raise AssertionError(f"the model was used ({name}) although the input is bad")


def bad_inputs(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blank.csv").write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    (tmp_path / "header_only.csv").write_text("id;channel;message\n", encoding="utf-8")
    (tmp_path / "picture.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (tmp_path / "nul.csv").write_bytes(b"id,text\n" + b"\x00\x9c\x01" * 200)
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04rest")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0rest")
    (tmp_path / "fake.xlsx").write_text("id,text\n1,hello\n", encoding="utf-8")
    return {
        "missing.csv": "no such file",
        "empty.csv": "the file is empty",
        "blank.csv": "the file is empty",
        "header_only.csv": "header but no data rows",
        "picture.csv": "PNG image, not a text export",
        "nul.csv": "not a text export",
        "notes.docx": "unsupported input type '.docx'",
        "old.xls": "save it as .xlsx or CSV",
        "fake.xlsx": "not a valid xlsx file",
    }


def test_bad_files_raise_export_error_naming_the_problem(tmp_path):
    for name, message in bad_inputs(tmp_path).items():
        with pytest.raises(ExportError, match=message) as caught:
            score_file(tmp_path / name, tmp_path / "out.csv", model=NoModel())
        assert isinstance(caught.value, InputError) and str(tmp_path / name) in str(caught.value)


def test_unknown_columns_list_the_columns_that_exist(tmp_path):
    for option in ("text_column", "by", "time_column"):
        with pytest.raises(ExportError, match=r"no column 'opmerking'.*\['ticket_id', 'channel', 'created_at', 'customer_message'\]"):
            score_file(EXAMPLE, tmp_path / "out.csv", model=NoModel(), **{option: "opmerking"})


def test_unsupported_output_and_overwriting_the_input(tmp_path):
    with pytest.raises(ExportError, match=r"unsupported output type '\.docx'"):
        score_file(EXAMPLE, tmp_path / "out.docx", model=NoModel())
    copy = tmp_path / "in.csv"
    copy.write_bytes(EXAMPLE.read_bytes())
    with pytest.raises(ExportError, match="overwrite the input"):
        score_file(copy, copy, model=NoModel())


def test_cli_entry_prints_one_line_and_returns_2(tmp_path, capsys):
    cases = bad_inputs(tmp_path)
    for name in ("missing.csv", "header_only.csv", "picture.csv", "notes.docx"):
        assert score_cli_main(tmp_path / name, tmp_path / "out.csv") == 2
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines == [f"error: {lines[0][7:]}"] and cases[name] in lines[0]
        assert "Traceback" not in err
    assert score_cli_main(EXAMPLE, tmp_path / "out.csv", text_column="nope") == 2
    assert "columns: ['ticket_id'" in capsys.readouterr().err


def test_cli_entry_refuses_to_overwrite_without_force(tmp_path, capsys):
    target = tmp_path / "scored.csv"
    target.write_text("already here", encoding="utf-8")
    assert score_cli_main(EXAMPLE, target) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "already here"


def test_emotiq_text_cells_never_start_like_a_formula():
    for risky in ("=1+1", "+31 6 1234", "-5", "@user", "\tx"):
        assert safe_text(risky) == "'" + risky
    assert safe_text("error: empty text") == "error: empty text"
    assert cell_text(None) == "" and cell_text(float("nan")) == "" and cell_text(3.0) == "3" and cell_text(True) == "true"


def test_checkpoint_round_trips_and_names_what_changed(tmp_path):
    source = FIXTURES / "formula_cells.csv"
    out = tmp_path / "out.csv"
    options = {"output_format": "csv", "text_column": "message", "sheet": None, "chunk_rows": 10, "columns": ["a"]}
    first = Checkpoint.start(source, out, **options)
    first.rows_done, first.output_bytes = 10, 1234
    save(first, checkpoint_path(out))
    again = load(checkpoint_path(out))
    assert again == first and not list(tmp_path.glob("*.tmp"))
    changed = Checkpoint.start(source, out, **{**options, "chunk_rows": 20})
    assert changed.mismatch(again) == "chunk_rows: was 10, now 20"
    assert load(tmp_path / "none.json") is None
