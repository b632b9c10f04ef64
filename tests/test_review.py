"""Coordinators' review decisions (issue 15): typed into the `files` and `responses` tabs of either
warehouse, read back by key at the start of each sync and applied; never lost, never written over."""

from __future__ import annotations

import io
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from review_boards import AS_OF, Board, SheetsBoard, XlsxBoard
from smtp_server import smtp_server

from connectors.a1 import column_letters
from ingest.review import FAIL, PASS, Decision, decision_text, file_key, load_decisions, merge_decisions
from ingest.state import StateStore
from tests.emulator import Emulator

ROWS = [
    ["2022-11-05 10:00:00", "ยะลา", "ผู้ตอบ ก", "ดี"],
    ["2022-11-05 11:00:00", "ยะลา", "ผู้ตอบ ข", "ดี"],
    ["2022-11-05 12:00:00", "ราชบุรี", "ผู้ตอบ ค", "ดี"],
    ["2022-10-30 09:00:00", "ราชบุรี", "ผู้ตอบ ง", "ทดสอบ"],  # before the form opened: tidtam does not count it
]
EARLY = ["2022-11-04 08:00:00", "ตาก", "ผู้ตอบ จ", "ดี"]  # sorts before every other row of the tab
QUESTIONNAIRE, PHOTOS = "แบบสอบถาม (ส่ง/กำหนด)", "ภาพถ่าย (ส่ง/กำหนด)"
REASONS = "ไม่นับ/ผิดเงื่อนไข"


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 100, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(params=["xlsx", "sheets"])
def board(request, tmp_path):
    if request.param == "xlsx":
        board = XlsxBoard(tmp_path)
        board.write(ROWS)
        yield _photos(board)
        return
    with Emulator() as emu:
        board = SheetsBoard(tmp_path, emu)
        board.write(ROWS)
        yield _photos(board)
        assert emu.violations == []


def _photos(board: Board) -> Board:
    folder = board.root / "uploads" / "ยะลา"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(5):
        upload(folder / f"p{i}.jpg", jpeg(10 * i))
    return board


def upload(path: Path, content: bytes) -> None:
    """A photo uploaded on 10 Nov 2565 (the local folder's upload time is the file's mtime)."""
    path.write_bytes(content)
    when = (AS_OF - timedelta(days=2)).timestamp()
    os.utime(path, (when, when))


def response_key(board: Board, who: str) -> str:
    return str(board.row("responses", **{"ชื่อ-นามสกุล": who})["review_key"])


def file_row(board: Board, name: str) -> dict:
    return board.row("files", name=name)


def decisions(board: Board) -> dict[str, Decision]:
    state = StateStore(board.root / "state.sqlite")
    try:
        return load_decisions(state)
    finally:
        state.close()


def test_decision_text_takes_the_two_words_however_spaced():
    assert decision_text(" ไม่ ผ่าน ") == FAIL and decision_text("ผ่าน\n") == PASS
    assert decision_text(" ok ") == "ok"


def test_merge_keeps_unseen_keys_and_the_first_time_and_drops_cleared_ones():
    t0, t1 = AS_OF - timedelta(days=2), AS_OF - timedelta(days=1)
    known = {"a": Decision("a", "files", FAIL, "เบลอ", t0), "b": Decision("b", "files", PASS, "", t0),
             "gone": Decision("gone", "responses", FAIL, "", t0)}
    read = {"files": {"a": (FAIL, "เบลอ"), "b": ("", ""), "c": (PASS, "")}}
    merged = merge_decisions(known, read, t1)
    assert merged["a"].at == t0 and "b" not in merged and merged["c"].at == t1 and merged["gone"] == known["gone"]
    assert merge_decisions(merged, {"files": {"a": (FAIL, "ไม่ใช่ภาพกลุ่ม")}}, t1)["a"].reason == "ไม่ใช่ภาพกลุ่ม"


def test_rejected_items_stop_counting_with_the_coordinators_reason(board):
    board.sync()
    assert board.tracking("95")[QUESTIONNAIRE] == "2/2" and board.tracking("95")[PHOTOS] == "5/5"
    board.type("responses", response_key(board, "ผู้ตอบ ก"), FAIL, "ไม่ใช่ผู้เข้าร่วมสนทนากลุ่ม")
    board.type("files", str(file_row(board, "p3.jpg")["review_key"]), FAIL, "ไม่ใช่ภาพการสนทนากลุ่ม")
    board.sync()
    row = board.tracking("95")
    assert row[QUESTIONNAIRE] == "1/2" and row[PHOTOS] == "4/5"
    assert "แบบสอบถาม: ไม่ผ่านการตรวจ: ไม่ใช่ผู้เข้าร่วมสนทนากลุ่ม" in row[REASONS]
    assert "ภาพถ่าย: ไม่ผ่านการตรวจ: ไม่ใช่ภาพการสนทนากลุ่ม" in row[REASONS]
    response = board.row("responses", **{"ชื่อ-นามสกุล": "ผู้ตอบ ก"})
    assert response["counted"] in (False, "FALSE") and response["review_th"] == "ไม่ผ่าน: ไม่นับ"
    # The coordinator's cells are as typed.
    assert (response["ผลตรวจ (ผ่าน/ไม่ผ่าน)"], response["เหตุผลของผู้ตรวจ"]) == (FAIL, "ไม่ใช่ผู้เข้าร่วมสนทนากลุ่ม")


def test_decisions_in_the_warehouse_count_in_the_first_run_of_a_new_state(board):
    """The state file lost, or the job moved to a new server: the spreadsheet still holds what the
    coordinators decided, and the first run of a fresh state applies it (the Sheets warehouse used to
    skip the read while it had no memory of the spreadsheet, and counted the rejected item for a run)."""
    board.sync()
    board.type("responses", response_key(board, "ผู้ตอบ ก"), FAIL, "ไม่ใช่ผู้เข้าร่วมสนทนากลุ่ม")
    for path in board.root.glob("*state.sqlite*"):
        path.unlink() if path.is_file() else shutil.rmtree(path)
    board.sync()
    row = board.tracking("95")
    assert row[QUESTIONNAIRE] == "1/2"
    assert "แบบสอบถาม: ไม่ผ่านการตรวจ: ไม่ใช่ผู้เข้าร่วมสนทนากลุ่ม" in row[REASONS]
    response = board.row("responses", **{"ชื่อ-นามสกุล": "ผู้ตอบ ก"})
    assert response["counted"] in (False, "FALSE") and response["review_th"] == "ไม่ผ่าน: ไม่นับ"


def test_pass_on_an_item_tidtam_rejected_counts_it_and_the_tracking_row_says_so(board):
    board.sync()
    assert board.tracking("70")[QUESTIONNAIRE] == "1/2"
    assert "ส่งก่อนวันเปิดรับ" in board.tracking("70")[REASONS]
    board.type("responses", response_key(board, "ผู้ตอบ ง"), PASS, "ผู้ตอบจริง ส่งล่วงหน้า")
    board.sync()
    row = board.tracking("70")
    assert row[QUESTIONNAIRE] == "2/2"
    assert row[REASONS] == "แบบสอบถาม: ผ่านการตรวจของผู้ประสานงาน (เดิม: ส่งก่อนวันเปิดรับ (อาจเป็นการทดสอบ))"
    assert board.row("responses", **{"ชื่อ-นามสกุล": "ผู้ตอบ ง"})["counted"] in (True, "TRUE")


def test_decisions_stay_with_their_rows_when_rows_are_added_removed_and_reordered(board):
    board.sync()
    kept = response_key(board, "ผู้ตอบ ค")
    photo = str(file_row(board, "p4.jpg")["review_key"])
    board.type("responses", kept, FAIL, "ตอบไม่ครบ")
    board.type("files", photo, FAIL, "ภาพซ้ำมุมเดิม")
    board.sync()
    # A response that sorts first shifts every row down; a removed photo shifts the later ones up.
    board.write([EARLY, *ROWS])
    (board.root / "uploads" / "ยะลา" / "p1.jpg").unlink()
    board.sync()
    response = board.row("responses", review_key=kept)
    assert (response["ผลตรวจ (ผ่าน/ไม่ผ่าน)"], response["เหตุผลของผู้ตรวจ"]) == (FAIL, "ตอบไม่ครบ")
    assert board.row("files", review_key=photo)["เหตุผลของผู้ตรวจ"] == "ภาพซ้ำมุมเดิม"
    typed = [r for r in board.records("responses") + board.records("files") if r["ผลตรวจ (ผ่าน/ไม่ผ่าน)"]]
    assert len(typed) == 2  # nothing copied into a neighbour's row
    assert board.tracking("70")[QUESTIONNAIRE] == "0/2" and board.tracking("95")[PHOTOS] == "3/5"


def test_a_new_version_of_a_file_awaits_review_and_the_old_decision_stays_with_the_old_version(board):
    board.sync()
    old = str(file_row(board, "p2.jpg")["review_key"])
    board.type("files", old, FAIL, "ภาพมืด")
    board.sync()
    assert board.tracking("95")[PHOTOS] == "4/5"
    upload(board.root / "uploads" / "ยะลา" / "p2.jpg", jpeg(250))  # uploaded again, brighter
    board.sync()
    row = file_row(board, "p2.jpg")
    assert row["review_key"] != old and str(row["review_key"]).startswith("ยะลา/p2.jpg@")
    assert row["ผลตรวจ (ผ่าน/ไม่ผ่าน)"] == "" and row["review_th"] == "ฉบับใหม่ รอตรวจ (ฉบับก่อนหน้า: ไม่ผ่าน)"
    assert board.tracking("95")[PHOTOS] == "5/5"
    assert decisions(board)[old].reason == "ภาพมืด"


def test_a_cleared_decision_is_forgotten(board):
    board.sync()
    key = response_key(board, "ผู้ตอบ ข")
    board.type("responses", key, FAIL, "")
    board.sync()
    assert board.tracking("95")[QUESTIONNAIRE] == "1/2" and key in decisions(board)
    board.type("responses", key, "", "")
    board.sync()
    assert board.tracking("95")[QUESTIONNAIRE] == "2/2" and key not in decisions(board)


def test_a_value_outside_the_list_is_shown_and_not_applied(board):
    board.sync()
    board.type("responses", response_key(board, "ผู้ตอบ ก"), "ไม่แน่ใจ", "")
    board.sync()
    assert board.tracking("95")[QUESTIONNAIRE] == "2/2"
    assert board.row("responses", **{"ชื่อ-นามสกุล": "ผู้ตอบ ก"})["review_th"].startswith("ค่า 'ไม่แน่ใจ' ไม่ใช่")


def test_the_decision_column_has_the_dropdown(board):
    board.sync()
    if isinstance(board, XlsxBoard):
        from openpyxl import load_workbook

        sheet = load_workbook(board.root / "warehouse.xlsx")["files"]
        (validation,) = sheet.data_validations.dataValidation
        header = [c.value for c in sheet[1]]
        letter = chr(ord("A") + header.index("ผลตรวจ (ผ่าน/ไม่ผ่าน)"))
        assert validation.type == "list" and validation.formula1 == f'"{PASS},{FAIL}"'
        assert str(validation.sqref).startswith(f"{letter}2:{letter}")
    else:
        assert isinstance(board, SheetsBoard)
        rules = [f for f in board.emu.sheets.formats(board.spreadsheet_id, "files")
                 if f["type"] == "setDataValidation" and "rule" in f]
        (rule,) = rules
        header = board.values("files")[0]
        column = header.index("ผลตรวจ (ผ่าน/ไม่ผ่าน)")
        assert rule["range"]["startColumnIndex"] == column and rule["range"]["startRowIndex"] == 1
        assert rule["rule"]["condition"] == {"type": "ONE_OF_LIST",
                                             "values": [{"userEnteredValue": PASS}, {"userEnteredValue": FAIL}]}


def test_a_decision_typed_between_two_syncs_into_the_xlsx_is_applied(tmp_path):
    board = _photos(XlsxBoard(tmp_path))
    board.write(ROWS)
    board.sync()
    board.type("files", str(file_row(board, "p0.jpg")["review_key"]), FAIL, "ภาพไม่ชัด")
    board.write([EARLY, *ROWS])  # the next sync also moves every response row
    board.sync()
    assert board.tracking("95")[PHOTOS] == "4/5"
    assert file_row(board, "p0.jpg")["เหตุผลของผู้ตรวจ"] == "ภาพไม่ชัด"


def test_a_decision_typed_in_the_sheet_during_a_sync_is_neither_lost_nor_written_over(tmp_path):
    with Emulator() as emu:
        board = _photos(SheetsBoard(tmp_path, emu))
        board.write(ROWS)
        board.sync()
        late = response_key(board, "ผู้ตอบ ข")

        # 1. Typed after tidtam's first read, before it writes rows that all move down by one.
        def type_during_the_run() -> None:
            board.type("responses", late, FAIL, "พิมพ์ระหว่างซิงก์")

        emu.before("sheets.spreadsheets.values.batchGet", lambda: emu.before(
            "sheets.spreadsheets.values.batchGet", type_during_the_run))
        board.write([EARLY, *ROWS])
        board.sync()
        row = board.row("responses", review_key=late)
        assert (row["ผลตรวจ (ผ่าน/ไม่ผ่าน)"], row["เหตุผลของผู้ตรวจ"]) == (FAIL, "พิมพ์ระหว่างซิงก์")
        board.sync()  # read now, applied now
        assert board.tracking("95")[QUESTIONNAIRE] == "1/2"

        # 2. Typed in the instant before the write, into a row the write changes but does not move.
        early = response_key(board, "ผู้ตอบ ง")
        board.type("responses", early, PASS, "")
        index, key_col = board._where("responses", early)
        emu.before("sheets.spreadsheets.values.batchUpdate",
                   lambda: board.type_at("responses", index, key_col + 2, "ยืนยันกับจังหวัดแล้ว"))
        board.sync()
        assert board.tracking("70")[QUESTIONNAIRE] == "2/2"  # the PASS applied: the row was rewritten
        row = board.row("responses", review_key=early)
        assert (row["ผลตรวจ (ผ่าน/ไม่ผ่าน)"], row["เหตุผลของผู้ตรวจ"]) == (PASS, "ยืนยันกับจังหวัดแล้ว")
        board.sync()
        assert decisions(board)[early].reason == "ยืนยันกับจังหวัดแล้ว"
        assert emu.violations == []


def test_a_no_change_sync_reads_the_decisions_once_and_writes_no_data_tab(tmp_path):
    with Emulator() as emu:
        board = _photos(SheetsBoard(tmp_path, emu))
        board.write(ROWS)
        board.sync()
        board.type("files", str(file_row(board, "p1.jpg")["review_key"]), FAIL, "เบลอ")
        board.sync()  # the decision is read, applied and its row written once
        emu.reset_counts()
        board.sync()
        calls = {k: v for k, v in emu.counts.items() if k != "oauth2.token"}
        assert calls == {"sheets.spreadsheets.values.batchGet": 1, "sheets.spreadsheets.values.batchUpdate": 1}
        (read,) = emu.calls("sheets.spreadsheets.values.batchGet")
        # files holds a decision: its keys are read with it; responses holds none: its review columns alone.
        assert sorted(read.query["ranges"]) == [_columns(board, "files"), _columns(board, "responses", keys=False)]
        (write,) = emu.calls("sheets.spreadsheets.values.batchUpdate")
        assert {d["range"].split("!")[0] for d in write.body["data"]} <= {"'tracking'", "'runs'"}


def _columns(board, tab: str, *, keys: bool = True) -> str:
    key = board.values(tab)[0].index("review_key")
    return f"'{tab}'!{column_letters(key if keys else key + 1)}:{column_letters(key + 2)}"


def test_until_a_first_decision_is_typed_no_key_is_read_and_the_first_one_is_read_with_its_keys(tmp_path):
    """A tab no decision was ever read from has its review columns read alone: blank below their header,
    they are a few cells, not a key per row. The first decision typed there makes the same run read
    the keys too (a second read), and the decision counts."""
    with Emulator() as emu:
        board = _photos(SheetsBoard(tmp_path, emu))
        board.write(ROWS)
        board.sync()
        emu.reset_counts()
        board.sync()
        (read,) = emu.calls("sheets.spreadsheets.values.batchGet")
        assert sorted(read.query["ranges"]) == [_columns(board, t, keys=False) for t in ("files", "responses")]

        board.type("files", str(file_row(board, "p1.jpg")["review_key"]), FAIL, "เบลอ")
        emu.reset_counts()
        board.sync()
        first, second = emu.calls("sheets.spreadsheets.values.batchGet")[:2]
        assert second.query["ranges"] == [_columns(board, "files")]
        assert decisions(board)[str(file_row(board, "p1.jpg")["review_key"])].reason == "เบลอ"
        assert board.tracking("95")[PHOTOS] == "4/5"
        assert emu.violations == []


def test_a_state_that_lost_the_spreadsheet_reads_the_review_columns_found_under_their_headers(tmp_path):
    """A state that does not know where the review columns are (lost, or made on a new server, or after a
    write that failed) finds them from the tabs' header rows and reads those columns, not every cell of
    every tab (at 7,436 sub-districts a sync peaked at 866-877 MB reading them, 648 MB without); the
    decisions typed there still count."""
    with Emulator() as emu:
        board = _photos(SheetsBoard(tmp_path, emu))
        board.write(ROWS)
        board.sync()
        board.type("files", str(file_row(board, "p1.jpg")["review_key"]), FAIL, "เบลอ")
        for lost in tmp_path.glob("*state.sqlite*"):
            shutil.rmtree(lost) if lost.is_dir() else lost.unlink()
        emu.reset_counts()
        board.sync()
        reads = [sorted(r.query["ranges"]) for r in emu.calls("sheets.spreadsheets.values.batchGet")]
        assert reads[:2] == [["'files'!1:3", "'responses'!1:3"], [_columns(board, "files"), _columns(board, "responses")]]
        assert all("!" in r for read in reads for r in read)  # no tab read whole
        assert decisions(board)[str(file_row(board, "p1.jpg")["review_key"])].reason == "เบลอ"
        assert board.tracking("95")[PHOTOS] == "4/5"
        assert emu.violations == []


def test_rows_that_move_in_a_tab_with_no_decision_are_written_without_reading_its_keys(tmp_path):
    """Before rows move, the write reads the tab's review columns again (`_keep_edits`). In a tab where
    tidtam carries no decision and the sheet shows none, that read is the review columns alone, not a key
    per row, and every row lands where a run from scratch puts it, its review cells blank."""
    with Emulator() as emu:
        board = _photos(SheetsBoard(tmp_path, emu))
        board.write(ROWS)
        board.sync()
        board.write([EARLY, *ROWS])  # every response row moves down by one
        emu.reset_counts()
        board.sync()
        reads = emu.calls("sheets.spreadsheets.values.batchGet")
        assert [sorted(r.query["ranges"]) for r in reads] == [
            [_columns(board, t, keys=False) for t in ("files", "responses")], [_columns(board, "responses", keys=False)]]
        shown = board.values("responses")
        header = shown[0]
        who, decision = header.index("ชื่อ-นามสกุล"), header.index("ผลตรวจ (ผ่าน/ไม่ผ่าน)")
        assert [row[who] for row in shown[1:]] == ["ผู้ตอบ ง", "ผู้ตอบ จ", "ผู้ตอบ ก", "ผู้ตอบ ข", "ผู้ตอบ ค"]
        assert all(decision >= len(row) or row[decision] == "" for row in shown[1:])
        assert emu.violations == []


def smtp_mail(port: int) -> dict:
    return {"backend": "smtp", "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5},
            "sender": "ทีมติดตาม <tidtam@example.go.th>", "reply_to": "cdi@example.go.th",
            "coordinators": ["cdi@example.go.th"],
            "alerts": {"stages": [-3, -1, 1], "digest_at": "08:00"}}


def test_each_rejected_item_is_mailed_to_its_unit_once_and_the_digest_lists_the_decisions(board):
    with smtp_server() as (inbox, port):
        board.write(ROWS, mail=smtp_mail(port))
        board.sync(email=True)
        first = len(inbox.messages())
        board.type("responses", response_key(board, "ผู้ตอบ ก"), FAIL, "ไม่ใช่ผู้เข้าร่วมสนทนากลุ่ม")
        board.type("files", str(file_row(board, "p3.jpg")["review_key"]), FAIL, "")
        board.type("responses", response_key(board, "ผู้ตอบ ง"), PASS, "")
        next_day = AS_OF + timedelta(days=1)
        board.sync(next_day, email=True)
        board.sync(next_day + timedelta(hours=1), email=True)  # nothing is sent twice
        messages = inbox.messages()[first:]
    reviews = [m for m in messages if str(m["X-Tidtam-Stage"]).endswith("=review")]
    assert sorted(m["X-Tidtam-Stage"] for m in reviews) == ["photos=review", "questionnaire=review"]
    assert all(m["To"] == "cdd95@example.go.th" and m["X-Tidtam-Unit"] == "95" for m in reviews)
    texts = {m["X-Tidtam-Stage"]: m.get_body(("plain",)).get_content() for m in reviews}
    assert "เหตุผล: ไม่ใช่ผู้เข้าร่วมสนทนากลุ่ม" in texts["questionnaire=review"]
    assert "https://forms.gle/EXAMPLE" in texts["questionnaire=review"]
    assert "ที่ส่งมา: p3.jpg" in texts["photos=review"]
    assert "https://drive.google.com/drive/folders/EXAMPLE" in texts["photos=review"]
    (digest,) = [m for m in messages if m["X-Tidtam-Stage"] == "digest"]
    text = digest.get_body(("plain",)).get_content()
    assert "ผลการตรวจของผู้ประสานงานตั้งแต่สรุปครั้งก่อน: 3 รายการ" in text
    assert "ยะลา / ภาพถ่าย / p3.jpg: ไม่ผ่าน" in text and "ราชบุรี / แบบสอบถาม /" in text
    assert ": ผ่าน" in text.split("ราชบุรี / แบบสอบถาม /")[1].splitlines()[0]


def test_file_keys_name_the_version():
    assert file_key("F1", "ab" * 32) == "F1@" + "ab" * 8 and file_key("F1", "") == "F1"


def test_status_and_export_count_the_decisions_the_last_sync_read(board):
    """`tidtam status` (and export, through the same stored decisions) shows what the sync showed."""
    from ingest.jobs import status_job

    board.sync()
    board.type("files", str(file_row(board, "p3.jpg")["review_key"]), FAIL, "ไม่ใช่ภาพการสนทนากลุ่ม")
    report = board.sync()
    _, evaluation = status_job(board.config, AS_OF)
    assert evaluation.units == report.evaluation.units
    assert evaluation.units[[u.code for u in evaluation.units].index("95")].deliverables["photos"].received == 4
