"""Stray bytes and huge answers never stop a run: every cell is cleaned and cut the same way for the
workbook and the Google Sheet; the state keeps what the source gave; errors never quote answers."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from small_workspace import AS_OF, HEADER, write_workspace

from connectors.base import Table
from connectors.cells import CUT_MARK, EXCEL_CELL_CHARS, SHEETS_CELL_CHARS, cell_text, clean_text
from connectors.google_sheets import GoogleSheetsWarehouse
from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.cli.main import cli
from ingest.config import load_campaign
from ingest.errors import unexpected, unexpected_traceback
from ingest.state import StateStore
from tests.emulator import Emulator
from tests.google_workspace import google_api

CLEANING = {
    "clean Thai text is untouched": ("ขอบคุณครับ\tมาก\nค่ะ", "ขอบคุณครับ\tมาก\nค่ะ"),
    "Word's manual line break (Shift+Enter)": ("บรรทัดแรก\x0bบรรทัดสอง", "บรรทัดแรก\nบรรทัดสอง"),
    "page break": ("หน้า 1\x0cหน้า 2", "หน้า 1\nหน้า 2"),
    "CRLF and CR": ("a\r\nb\rc", "a\nb\nc"),
    "NUL and other C0": ("ดี\x00มาก\x01\x1f", "ดีมาก"),
    "DEL": ("ab\x7fc", "abc"),
    "XML non-characters": ("a\ufffeb\uffff", "ab"),
    "lone surrogate from an undecodable file name": ("ภาพ\udcbb.jpg", "ภาพ\ufffd.jpg"),
}


@pytest.mark.parametrize(("raw", "clean"), CLEANING.values(), ids=CLEANING.keys())
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize("limit", [EXCEL_CELL_CHARS, SHEETS_CELL_CHARS])
def test_long_text_is_cut_to_the_limit_with_a_visible_mark(limit):
    assert cell_text("ก" * limit, limit) == "ก" * limit  # exactly the limit fits
    cut = cell_text("ก" * (limit + 1), limit)
    assert len(cut) == limit and cut.endswith(CUT_MARK)
    # Characters beyond the BMP count twice (UTF-16), so an emoji answer still fits once cut.
    emoji = cell_text("😀" * limit, limit)
    assert len(emoji.encode("utf-16-le")) // 2 <= limit and emoji.endswith(CUT_MARK)


def dirty_tables() -> list[Table]:
    return [Table("responses", ["response_id", "ข้อเสนอแนะ\x01"],
                  [["r1", "ดี\x0bมาก\x00"], ["r2", "x" * 40_000], ["r3", "\x00=1+1"]], note="หมายเหตุ\x02")]


def test_xlsx_workbook_is_written_with_clean_cut_cells(tmp_path):
    warehouse = XlsxWarehouse(tmp_path / "w.xlsx")
    warehouse.write(dirty_tables())
    rows = warehouse.read()["responses"]
    assert rows[0][0] == "หมายเหตุ" and rows[1] == ["response_id", "ข้อเสนอแนะ"]
    assert rows[2] == ["r1", "ดี\nมาก"]
    assert len(rows[3][1]) == EXCEL_CELL_CHARS and rows[3][1].endswith(CUT_MARK)
    assert rows[4][1] == "=1+1"  # still text once cleaned, never a formula


def test_google_sheet_is_written_with_clean_cut_cells(tmp_path):
    with Emulator() as emu:
        book = emu.sheets.create(title="warehouse")
        GoogleSheetsWarehouse(google_api(emu, tmp_path), book).write(
            [Table("responses", ["response_id", "ข้อเสนอแนะ\x01"], [["r1", "ดี\x0bมาก\x00"], ["r2", "x" * 60_000]])])
        values = emu.sheets.values(book, "responses")
        assert values[0] == ["response_id", "ข้อเสนอแนะ"] and values[1] == ["r1", "ดี\nมาก"]
        assert len(values[2][1]) == SHEETS_CELL_CHARS and values[2][1].endswith(CUT_MARK)
        assert emu.violations == []


def test_the_emulator_refuses_a_cell_over_50000_characters_as_google_does():
    from google.auth.credentials import AnonymousCredentials
    from googleapiclient.errors import HttpError

    from tests.emulator import build_service

    with Emulator() as emu:
        book = emu.sheets.create(title="warehouse")
        sheets = build_service("sheets", "v4", emu.base_url, AnonymousCredentials())
        body = {"valueInputOption": "RAW", "data": [{"range": "Sheet1!A1", "values": [["ok", "x" * 50_001]]}]}
        with pytest.raises(HttpError) as caught:
            sheets.spreadsheets().values().batchUpdate(spreadsheetId=book, body=body).execute()
        assert caught.value.status_code == 400
        assert caught.value.reason == "Your input contains more than the maximum of 50000 characters in a single cell."
        assert emu.sheets.values(book, "Sheet1") == []  # the whole write was refused
        body["data"][0]["values"] = [["ok", "x" * 50_000]]
        sheets.spreadsheets().values().batchUpdate(spreadsheetId=book, body=body).execute()
        assert len(emu.sheets.values(book, "Sheet1")[0][1]) == 50_000
        assert emu.violations == []


def test_a_sync_with_stray_bytes_in_answers_headers_and_names_runs_and_keeps_the_raw_text(tmp_path):
    header = [*HEADER[:3], "ข้อเสนอแนะ\x01"]
    rows = [["2022-11-05 10:00:00", "ยะลา", "สมชาย ใจดี", "ดี\x0bมาก\x00"],
            ["2022-11-05 11:00:00", "ตาก", "สมศรี มีสุข", "ก" * 40_000]]
    config = write_workspace(tmp_path, rows, header=header)
    folder = tmp_path / "uploads" / "95 ยะลา\x01"
    folder.mkdir()
    (folder / "IMG\x01.jpg").write_bytes(b"not a photo")
    # A TIS-620 file name (an old Windows zip): bytes that are not UTF-8, as Python sees them.
    tis620 = os.fsdecode("ภาพ.jpg".encode("tis-620"))  # "\udcc0Ҿ.jpg": \xd2\xbe happen to be valid UTF-8
    (folder / tis620).write_bytes(b"not a photo either")
    result = CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    book = XlsxWarehouse(tmp_path / "warehouse.xlsx").read()
    responses = book["responses"]
    column = responses[0].index("ข้อเสนอแนะ")
    answers = sorted(str(r[column]) for r in responses[1:])
    assert answers[1] == "ดี\nมาก"
    assert len(answers[0]) == EXCEL_CELL_CHARS and answers[0].endswith(CUT_MARK)
    names = {r[1] for r in book["files"][1:]}
    assert names == {"IMG.jpg", "\ufffdҾ.jpg"}
    state = StateStore(load_campaign(config).state_path)
    try:
        kept = {a for r in state.responses("form") for a in r.answers.values()}
        assert "ดี\x0bมาก\x00" in kept and "ก" * 40_000 in kept  # the state keeps what the source gave
        assert {f.name for f in state.files("uploads")} == {"IMG\x01.jpg", tis620}
    finally:
        state.close()


def test_an_unexpected_error_is_named_without_its_message():
    def choke(answer: str) -> None:
        raise ValueError(f"{answer} cannot be used in worksheets.")

    answer = "สมชาย ใจดี เบอร์ 0812345678"
    try:
        choke(answer)
    except ValueError as exc:
        described, stack = unexpected(exc), unexpected_traceback(exc)
    assert described.startswith("ValueError at test_stray_text.py:") and "(in choke)" in described
    assert "สมชาย" not in described and "สมชาย" not in stack and "choke" in stack


def test_run_log_keeps_no_answer_text(tmp_path):
    rows = [["2022-11-05 10:00:00", "ยะลา", "สมชาย ใจดี", "ความลับ"], ["เมื่อวาน สมศรี", "ตาก", "สมศรี", "x"]]
    config = write_workspace(tmp_path, rows)
    result = CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF])
    assert result.exit_code == 4, result.output  # 1 of 2 rows unreadable: more than 20%
    run = XlsxWarehouse(tmp_path / "warehouse.xlsx").read()["runs"][-1]
    assert "row 3: timestamp shaped 'กกกกกกกก กกกกก'" in run[-1]
    assert "สมศรี" not in run[-1] and "สมศรี" not in result.output
