"""Reading messy exports: encodings, delimiters, quoting, ragged rows, sheets, JSONL, Parquet."""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest

from emotiq.io.columns import output_names, pick_text_column
from emotiq.io.dialect import sniff_delimiter
from emotiq.io.encoding import detect_encoding
from emotiq.io.errors import ExportError
from emotiq.io.readers import REPLACED_NOTE, iter_chunks, open_table

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "examples" / "feedback_export.csv"
FIXTURES = REPO / "tests" / "fixtures" / "exports"


def rows_of(path, **options):
    table = open_table(path, **options)
    chunks = list(iter_chunks(table, 3))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    return table, frame, [n for c in chunks for n in c.notes]


def test_cp1252_semicolon_export_reads_euro_and_accents():
    table, frame, _ = rows_of(FIXTURES / "dutch_semicolon_cp1252.csv")
    assert table.encoding.name == "cp1252"
    assert table.delimiter == ";"
    assert table.columns == ["klantnummer", "kanaal", "datum", "opmerking", "bedrag"]
    text = " ".join(frame["opmerking"])
    assert "€ 24,95" in text and "café" in text and "naïeve" in text and "Geëmailde" in text
    assert frame["bedrag"].tolist()[0] == "€ 24,95"  # decimal commas stay inside their field


def test_excel_unicode_text_is_utf16_tab_separated():
    table, frame, _ = rows_of(FIXTURES / "excel_unicode_text.txt")
    assert table.encoding.bom and table.encoding.name == "utf-16"
    assert table.delimiter == "\t"
    assert table.columns == ["Ticket", "Channel", "Date", "Comment"]
    assert frame["Comment"][2] == 'Agent said "we will call you back" – nobody ever did.'
    assert "👍" in frame["Comment"][1] and "München" in frame["Comment"][4]


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"id,text\n1,Fijne dag\n")
    table, frame, _ = rows_of(path)
    assert table.columns == ["id", "text"] and frame["id"].tolist() == ["1"]


def test_multiline_quoted_cells_and_doubled_quotes_are_kept_exactly():
    _, frame, notes = rows_of(FIXTURES / "multiline_quotes.csv")
    assert len(frame) == 5 and not any(notes)
    assert frame["feedback"][0] == "The app froze twice today.\r\nI lost my whole shopping cart, again."
    assert frame["feedback"][1] == 'Great service, "five stars" from me!'
    assert frame["feedback"][2].count("\n") == 3


def test_ragged_rows_are_padded_or_merged_and_noted():
    _, frame, notes = rows_of(FIXTURES / "empty_and_ragged.csv")
    assert frame["id"].tolist() == ["1", "2", "3", "4", "5", "6", "7"]  # the blank line is not a row
    assert frame["message"][3] == "" and "3 of 4 fields" in notes[3]
    assert frame["message"][4] == "Package was damaged, box torn open, and one item was missing"
    assert "joined into the last column" in notes[4]
    assert frame["message"][6] == "Prima service!" and notes[6] == ""  # trailing empty fields dropped


def test_stray_undecodable_bytes_are_replaced_and_flagged():
    table, frame, notes = rows_of(FIXTURES / "mixed_bytes.csv")
    assert table.encoding.name == "utf-8"
    assert "\ufffd" in frame["message"][2] and notes[2] == REPLACED_NOTE
    assert frame["message"][3] == "Très bien, merci beaucoup" and notes[3] == ""


def test_excel_sep_line_sets_the_delimiter_and_is_skipped(tmp_path):
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\r\nid;text\r\n1;Goed, snel en netjes\r\n", encoding="utf-8")
    table, frame, _ = rows_of(path)
    assert table.delimiter == ";" and table.columns == ["id", "text"] and frame["text"][0] == "Goed, snel en netjes"


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a;b;c\n1;hallo, wereld;3\n2;nog, een, komma;4\n", ";"),
        ("a,b\n1,\"x; y\"\n2,z\n", ","),
        ("a\tb\n1\tx, y; z\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ("only one column\nrow two\n", ","),
    ],
)
def test_sniff_delimiter(sample, expected):
    assert sniff_delimiter(sample, complete=True) == expected


def test_xlsx_sheets_by_default_name_and_index():
    path = FIXTURES / "workbook_sheets.xlsx"
    assert open_table(path).columns == ["Rapport", "Klantfeedback Q1"]  # first sheet by default
    by_name, frame, _ = rows_of(path, sheet="Reacties")
    by_index = open_table(path, sheet=1)
    assert by_name.columns == by_index.columns == ["Nr", "Vestiging", "Ontvangen", "Klantreactie", "Cijfer"]
    assert len(frame) == 5 and frame["Ontvangen"][0].year == 2025 and frame["Klantreactie"][2] is None
    with pytest.raises(ExportError, match=r"no sheet 'Feedback'.*Overzicht.*Reacties.*Instellingen"):
        open_table(path, sheet="Feedback")


def test_jsonl_collects_every_key_and_keeps_broken_lines_as_rows():
    table, frame, notes = rows_of(FIXTURES / "feedback.jsonl")
    assert table.columns == ["id", "source", "text", "score", "tags", "lang"]
    assert len(frame) == 5 and frame["text"][2] is None and "line 3 is not valid JSON" in notes[2]
    assert frame["tags"][3] == ["ui", "speed"] and frame["lang"][4] == "nl"


def test_parquet_keeps_arrow_types(tmp_path):
    path = tmp_path / "feedback.parquet"
    pd.DataFrame({"id": [1, 2, None], "text": ["Goed", None, "Slecht"]}).astype({"id": "Int64"}).to_parquet(path)
    table, frame, _ = rows_of(path)
    assert table.estimated_rows == 3 and table.columns == ["id", "text"]
    assert str(frame["id"].dtype).startswith("int64") and frame["text"].tolist()[0] == "Goed"


def test_chunks_have_exact_sizes_and_offsets():
    table = open_table(EXAMPLE)
    chunks = list(iter_chunks(table, 16))
    assert [len(c) for c in chunks] == [16, 16, 8]
    assert [c.start for c in chunks] == [0, 16, 32]


@pytest.mark.parametrize(
    ("path", "column"),
    [(EXAMPLE, "customer_message"), (FIXTURES / "dutch_semicolon_cp1252.csv", "opmerking"),
     (FIXTURES / "excel_unicode_text.txt", "Comment"), (FIXTURES / "formula_cells.csv", "message")],
)
def test_text_column_heuristic_ignores_ids_dates_and_categories(path, column):
    frame = next(iter_chunks(open_table(path), 100)).frame
    assert pick_text_column(frame) == column


def test_output_names_get_a_prefix_only_on_a_clash():
    assert output_names(["sentiment", "emotiq_status"], ["id", "text"]) == ["sentiment", "emotiq_status", "emotiq_warning"]
    assert output_names(["sentiment", "emotiq_status"], ["sentiment"]) == [
        "emotiq_sentiment", "emotiq_emotiq_status", "emotiq_emotiq_warning"]


def test_encoding_detection_refuses_binary(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"id,text\n1,\x00\x01\x02\x03\xff\x00\x10binary\x00\x00\x00\x00garbage")
    with pytest.raises(ExportError, match="not a text export"):
        detect_encoding(path)
