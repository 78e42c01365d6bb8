"""score_file end to end: every row back, in order, originals untouched, scores added."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from emotiq.io import score_file
from emotiq.io.readers import iter_chunks, open_table

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "examples" / "feedback_export.csv"
FIXTURES = REPO / "tests" / "fixtures" / "exports"
NUMERIC = ("sentiment_score", "sentiment_negative", "complaint_prob", "expected_severity", "severity", "n_tokens")


def read_rows(path, *, delimiter=","):
    """All records of a delimited UTF-8 file, header first, read with the csv module."""
    text = path.read_text(encoding="utf-8-sig")
    return [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]


def original_rows(path, **options):
    """The input's cells as the readers see them, as text."""
    table = open_table(path, **options)
    frame = pd.concat([c.frame for c in iter_chunks(table, 1000)], ignore_index=True)
    return table.columns, frame


@pytest.fixture(scope="module")
def scored_example(model, tmp_path_factory):
    """The example export scored in chunks of 16 rows: (summary, output path)."""
    out = tmp_path_factory.mktemp("example") / "scored.csv"
    return score_file(EXAMPLE, out, model=model, chunk_rows=16), out


def test_example_export_round_trips_with_scores(scored_example):
    summary, out = scored_example
    assert (summary.rows, summary.ok + summary.empty + summary.error) == (40, 40)
    assert summary.text_column == "customer_message" and summary.empty == 1 and summary.output == out
    written = read_rows(out, delimiter=";")  # the input's delimiter is kept
    source = read_rows(EXAMPLE, delimiter=";")
    header = written[0]
    assert header[:4] == source[0] and {"sentiment", "emotions", "severity_label", "emotiq_status", "emotiq_warning"} <= set(header)
    assert len(written) == len(source) == 41
    assert [row[:4] for row in written] == source  # original cells, in order, exactly as read
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and not list(out.parent.glob("*.part"))


def test_messy_csv_exports_keep_every_cell(model, tmp_path):
    for name in ("dutch_semicolon_cp1252.csv", "multiline_quotes.csv", "empty_and_ragged.csv", "excel_unicode_text.txt"):
        columns, frame = original_rows(FIXTURES / name)
        out = tmp_path / f"{name}.csv"
        summary = score_file(FIXTURES / name, out, model=model)
        written = pd.read_csv(out, dtype=str, keep_default_na=False, sep=None, engine="python", encoding="utf-8-sig")
        assert summary.rows == len(frame) == len(written), name
        pd.testing.assert_frame_equal(written[columns], frame.astype(str), check_dtype=False)


def test_ragged_empty_and_undecodable_rows_are_flagged_not_dropped(model, tmp_path):
    out = tmp_path / "ragged.jsonl"
    score_file(FIXTURES / "empty_and_ragged.csv", out, model=model)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5", "6", "7"]
    assert [r["emotiq_status"] for r in rows] == ["ok", "empty", "ok", "empty", "ok", "empty", "ok"]
    assert "3 of 4 fields" in rows[3]["emotiq_warning"] and "joined" in rows[4]["emotiq_warning"]
    out = tmp_path / "mixed.csv"
    summary = score_file(FIXTURES / "mixed_bytes.csv", out, model=model)
    written = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert written["emotiq_warning"].tolist() == ["", "", "replaced undecodable bytes", ""] and summary.flagged == 1


def test_formula_cells_stay_as_they_were_and_scores_never_look_like_formulas(model, tmp_path):
    out = tmp_path / "formulas.csv"
    score_file(FIXTURES / "formula_cells.csv", out, model=model)
    written = read_rows(out, delimiter=";")
    source = read_rows(FIXTURES / "formula_cells.csv", delimiter=";")
    assert [r[:5] for r in written] == source  # =SUM(..), +31 .., @user written back unchanged
    header = written[0]
    for row in written[1:]:
        for name, value in zip(header[5:], row[5:]):
            if name in NUMERIC:
                float(value)  # numbers are written as plain numbers
            else:
                assert not value.startswith(("=", "+", "-", "@")), (name, value)


def test_xlsx_output_stores_formula_like_text_as_text(model, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "formulas.xlsx"
    score_file(FIXTURES / "formula_cells.csv", out, model=model)
    sheet = load_workbook(out).active
    assert sheet["D2"].value.startswith("=SUM(A1:A9)") and sheet["D2"].data_type == "s"
    assert sheet["E5"].value == "=1+1" and sheet["E5"].data_type == "s"
    assert sheet.max_row == 5 and not any(p.name.endswith(".parts") for p in tmp_path.iterdir())


def test_xlsx_sheet_in_parquet_and_xlsx_out(model, tmp_path):
    source = FIXTURES / "workbook_sheets.xlsx"
    summary = score_file(source, tmp_path / "out.parquet", model=model, sheet="Reacties")
    table = pd.read_parquet(tmp_path / "out.parquet")
    assert summary.text_column == "Klantreactie" and len(table) == 5
    assert table["Ontvangen"][0] == pd.Timestamp("2025-01-13 09:30") and table["Nr"].tolist() == [1, 2, 3, 4, 5]
    assert table["emotiq_status"].tolist()[2] == "empty"
    score_file(source, tmp_path / "out.xlsx", model=model, sheet=1)
    from openpyxl import load_workbook

    rows = list(load_workbook(tmp_path / "out.xlsx", read_only=True).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("Nr", "Vestiging", "Ontvangen", "Klantreactie", "Cijfer") and len(rows) == 6
    assert rows[5][3] == "=not a formula, just how the customer started the sentence"


def test_jsonl_in_keeps_values_and_types(model, tmp_path):
    out = tmp_path / "out.jsonl"
    summary = score_file(FIXTURES / "feedback.jsonl", out, model=model)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert summary.text_column == "text" and [r["id"] for r in rows] == [1, 2, None, 4, 5]
    assert rows[3]["tags"] == ["ui", "speed"] and "not valid JSON" in rows[2]["emotiq_warning"]


def test_parquet_in_with_missing_texts(model, tmp_path):
    frame = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False).head(6)
    frame.loc[2, "customer_message"] = None
    frame.to_parquet(tmp_path / "in.parquet")
    summary = score_file(tmp_path / "in.parquet", tmp_path / "out.csv", model=model)
    written = pd.read_csv(tmp_path / "out.csv", sep=",", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert summary.rows == 6 and written["ticket_id"].tolist() == frame["ticket_id"].tolist()
    assert written["customer_message"][2] == "" and written["emotiq_status"][2] == "empty"


def test_score_columns_are_prefixed_when_the_input_has_their_names(model, tmp_path):
    source = tmp_path / "rescored.csv"
    source.write_text("id,text,sentiment\n1,Heel fijn geholpen,positive\n2,Slechte service,negative\n", encoding="utf-8")
    score_file(source, tmp_path / "out.csv", model=model, text_column="text")
    header = read_rows(tmp_path / "out.csv")[0]
    assert header[:3] == ["id", "text", "sentiment"] and "emotiq_sentiment" in header and "emotiq_emotiq_status" in header


def test_chunk_size_does_not_change_which_row_gets_which_score(model, scored_example, tmp_path):
    score_file(EXAMPLE, tmp_path / "whole.csv", model=model, chunk_rows=5000)
    chunked = pd.read_csv(scored_example[1], sep=";", encoding="utf-8-sig", keep_default_na=False)
    whole = pd.read_csv(tmp_path / "whole.csv", sep=";", encoding="utf-8-sig", keep_default_na=False)
    exact = ["ticket_id", "customer_message", "language", "n_tokens", "emotiq_status"]
    pd.testing.assert_frame_equal(chunked[exact], whole[exact])
    # batches hold other neighbours when chunks differ: reduced-precision noise only,
    # 0.01 in probability (expected_severity is a 0-4 expectation: 4 x that)
    for column, atol in {"sentiment_score": 1e-2, "complaint_prob": 1e-2, "expected_severity": 4e-2}.items():
        pd.testing.assert_series_equal(chunked[column], whole[column], atol=atol, check_exact=False)
