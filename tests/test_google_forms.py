"""The Forms API and linked-sheet responses sources on the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.forms_export import FormsExportSource
from connectors.google_forms import FormsApiSource, FormsSheetSource
from ingest.demo import write_demo
from ingest.demo_forms import read_forms_download
from ingest.errors import FatalSourceError
from ingest.forms_time import parse_forms_timestamp, spreadsheet_zone
from tests.emulator import Emulator
from tests.emulator.sheets import Cell, serial_number
from tests.google_workspace import google_api

T0 = datetime(2022, 11, 3, 2, 0, tzinfo=UTC)
FORM = "1FAIpQLSeverykind"


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


def every_kind_form(emu: Emulator) -> None:
    emu.forms.add_form(FORM, "ทุกแบบ", [
        ("q1", "จังหวัด", "dropdown", ["น่าน", "ลำปาง"]),
        ("q2", "ชื่อ-นามสกุล", "text"),
        ("q3", "กิจกรรมที่เข้าร่วม", "checkbox", ["อบรม", "ศึกษาดูงาน"]),
        ("q4", "วันที่จัดสนทนากลุ่ม", "date"),
        ("q5", "ความพึงพอใจ", "scale"),
        ("q6", "แบบบันทึก", "file_upload"),
        ("q7", "ข้อเสนอแนะ", "paragraph"),
    ])
    emu.forms.add_grid(FORM, "ความคิดเห็น", [("g1", "ด้านวิทยากร"), ("g2", "ด้านสถานที่")], ["มาก", "น้อย"])
    emu.forms.add_response(FORM, "ACYDB1", T0, {
        "q1": "น่าน", "q2": "สมชาย ใจดี", "q3": ["อบรม", "ศึกษาดูงาน"], "q4": "2022-11-02", "q5": "4",
        "g1": "มาก", "g2": "น้อย", "q7": "=HYPERLINK(\"x\")"}, respondent_email="p@example.com",
        file_uploads={"q6": [("1FileA", "บันทึก.docx", "application/msword"), ("1FileB", "ภาพ.jpg", "image/jpeg")]})


def test_every_answer_kind_is_keyed_by_question_title(emu, tmp_path):
    every_kind_form(emu)
    batch = FormsApiSource(google_api(emu, tmp_path), FORM).responses()
    assert batch.complete and batch.cursor
    (response,) = batch.responses
    assert response.answers == {
        "จังหวัด": "น่าน", "ชื่อ-นามสกุล": "สมชาย ใจดี", "กิจกรรมที่เข้าร่วม": ("อบรม", "ศึกษาดูงาน"),
        "วันที่จัดสนทนากลุ่ม": "2022-11-02", "ความพึงพอใจ": "4", "แบบบันทึก": ("บันทึก.docx", "ภาพ.jpg"),
        "ข้อเสนอแนะ": "=HYPERLINK(\"x\")", "ความคิดเห็น [ด้านวิทยากร]": "มาก", "ความคิดเห็น [ด้านสถานที่]": "น้อย"}
    assert response.file_ids == ("1FileA", "1FileB")
    assert response.respondent_email == "p@example.com" and response.created_at == T0
    assert response.origin == f"form {FORM} response ACYDB1"


def test_incremental_reads_overlap_and_deduplicate(emu, tmp_path):
    every_kind_form(emu)
    source = FormsApiSource(google_api(emu, tmp_path), FORM)
    first = source.responses()
    emu.reset_counts()
    again = source.responses(first.cursor)
    # Only what was submitted since the cursor, minus a small overlap: the same response comes back.
    assert not again.complete and [r.response_id for r in again.responses] == ["ACYDB1"]
    (call,) = emu.calls("forms.forms.responses.list")
    assert call.query["filter"] == ["timestamp >= 2022-11-03T01:55:00Z"]
    assert call.query["pageSize"] == ["5000"] and "forms.forms.get" not in emu.counts
    emu.forms.add_response(FORM, "ACYDB2", T0 + timedelta(hours=3), {"q1": "ลำปาง"})
    emu.forms.edit_response(FORM, "ACYDB1", {"q2": "สมชาย ใจดีมาก"}, submitted_time=T0 + timedelta(hours=4))
    third = source.responses(again.cursor)
    assert {r.response_id: r.answers.get("ชื่อ-นามสกุล") for r in third.responses} == {
        "ACYDB1": "สมชาย ใจดีมาก", "ACYDB2": None}
    edited = next(r for r in third.responses if r.response_id == "ACYDB1")
    assert edited.created_at == T0 and edited.last_submitted_at == T0 + timedelta(hours=4)
    # The cursor follows createTime (the newest response's), never an edit's lastSubmittedTime.
    assert json.loads(third.cursor)["after"].startswith("2022-11-03T05:00")


def two_responses(emu: Emulator) -> None:
    emu.forms.add_form(FORM, "แบบสอบถาม", [("q1", "จังหวัด", "text"), ("q2", "ชื่อ-นามสกุล", "text")])
    emu.forms.add_response(FORM, "R-A", T0, {"q1": "น่าน", "q2": "สมชาย"})
    emu.forms.add_response(FORM, "R-B", T0 + timedelta(hours=4), {"q1": "ลำปาง", "q2": "สมหญิง"})


@pytest.mark.parametrize("compared", ["createTime", "lastSubmittedTime"])
def test_an_edit_does_not_move_the_cursor_past_a_response_listed_late(emu, tmp_path, compared):
    """Whichever time Google's filter compares, a response created before an edit but listed after the
    read that saw the edit is still read: the cursor is the latest createTime, not lastSubmittedTime."""
    emu.forms.filter_field = compared
    two_responses(emu)
    source = FormsApiSource(google_api(emu, tmp_path), FORM)
    first = source.responses()
    emu.forms.edit_response(FORM, "R-B", {"q2": "สมหญิง ใจงาม"}, submitted_time=T0 + timedelta(hours=6))
    second = source.responses(first.cursor)
    assert {r.response_id: r.answers["ชื่อ-นามสกุล"] for r in second.responses}["R-B"] == "สมหญิง ใจงาม"
    # Submitted at +5 h (before the edit), listed only now: the list shows responses a little late.
    emu.forms.add_response(FORM, "R-C", T0 + timedelta(hours=5), {"q1": "แพร่"})
    third = source.responses(second.cursor)
    assert "R-C" in {r.response_id for r in third.responses}
    call = emu.calls("forms.forms.responses.list")[-1]
    assert call.query["filter"] == ["timestamp >= 2022-11-03T05:55:00Z"]


def test_an_edited_response_keeps_its_arrival_and_the_full_read_catches_the_edit(emu, tmp_path):
    """Compared on createTime (the emulator's reading of the reference), an incremental read does not
    return an older response edited since; the daily full read does, with createTime still its arrival."""
    two_responses(emu)
    source = FormsApiSource(google_api(emu, tmp_path), FORM)
    first = source.responses()
    emu.forms.edit_response(FORM, "R-A", {"q2": "สมชาย ใจดี"}, submitted_time=T0 + timedelta(days=2))
    incremental = source.responses(first.cursor)
    assert [r.response_id for r in incremental.responses] == ["R-B"] and not incremental.complete
    full = source.responses()
    edited = next(r for r in full.responses if r.response_id == "R-A")
    assert full.complete and edited.answers["ชื่อ-นามสกุล"] == "สมชาย ใจดี"
    assert edited.created_at == T0 and edited.last_submitted_at == T0 + timedelta(days=2)


def test_a_cursor_from_before_the_createtime_rule_means_one_full_read(emu, tmp_path):
    two_responses(emu)
    source = FormsApiSource(google_api(emu, tmp_path), FORM)
    old = json.dumps({"form": FORM, "after": (T0 + timedelta(days=3)).isoformat(), "questions": {"q1": "จังหวัด"}})
    batch = source.responses(old)
    assert batch.complete and len(batch.responses) == 2 and json.loads(batch.cursor)["by"] == "createTime"


def test_a_new_question_rereads_the_form(emu, tmp_path):
    every_kind_form(emu)
    source = FormsApiSource(google_api(emu, tmp_path), FORM)
    cursor = source.responses().cursor
    emu.forms.add_question(FORM, "q9", "เบอร์โทร", "text")
    emu.forms.add_response(FORM, "ACYDB3", T0 + timedelta(days=1), {"q9": "0812345678"})
    batch = source.responses(cursor)
    assert next(r for r in batch.responses if r.response_id == "ACYDB3").answers == {"เบอร์โทร": "0812345678"}
    assert emu.counts["forms.forms.get"] == 2


def test_a_new_question_and_a_renamed_one_give_every_response_the_new_titles(emu, tmp_path):
    """Responses are converted page by page as they come; when the form gained a question since the last
    full read (and renamed one), the read is listed again under the titles read anew, so that every
    response of it takes the form's titles as they are now, not some the old titles and some the new."""
    every_kind_form(emu)
    source = FormsApiSource(google_api(emu, tmp_path), FORM)
    cursor = source.responses().cursor
    emu.forms.rename_question(FORM, "q2", "ชื่อและนามสกุล")
    emu.forms.add_question(FORM, "q9", "เบอร์โทร", "text")
    emu.forms.add_response(FORM, "ACYDB3", T0 + timedelta(minutes=1), {"q2": "สมหญิง", "q9": "0812345678"})
    emu.reset_counts()
    batch = source.responses(cursor)
    answers = {r.response_id: r.answers for r in batch.responses}
    # ACYDB1 is in the read's overlap: it answers only questions the cursor knew, but under their new titles.
    assert answers["ACYDB1"]["ชื่อและนามสกุล"] == "สมชาย ใจดี" and "ชื่อ-นามสกุล" not in answers["ACYDB1"]
    assert answers["ACYDB3"] == {"ชื่อและนามสกุล": "สมหญิง", "เบอร์โทร": "0812345678"}
    assert [r.response_id for r in batch.responses] == ["ACYDB1", "ACYDB3"]
    assert emu.counts["forms.forms.get"] == 1 and emu.counts["forms.forms.responses.list"] == 2
    assert json.loads(batch.cursor)["questions"]["q2"] == "ชื่อและนามสกุล"


def test_every_page_is_read(emu, tmp_path):
    emu.forms.add_form(FORM, "ใหญ่", [("q1", "จังหวัด", "text")])
    for i in range(5003):
        emu.forms.add_response(FORM, f"R{i:05d}", T0 + timedelta(seconds=i), {"q1": "น่าน"})
    batch = FormsApiSource(google_api(emu, tmp_path), FORM).responses()
    assert len({r.response_id for r in batch.responses}) == 5003
    assert emu.counts["forms.forms.responses.list"] == 2


def test_a_later_page_that_fails_once_is_retried_and_one_that_keeps_failing_fails_the_read(emu, tmp_path):
    """A read of three pages: a page that fails once is asked for again; one that keeps failing fails
    the whole read (a read missing pages would make units look missing)."""
    emu.forms.add_form(FORM, "ใหญ่", [("q1", "จังหวัด", "text")])
    for i in range(10_003):
        emu.forms.add_response(FORM, f"R{i:05d}", T0 + timedelta(seconds=i), {"q1": "น่าน"})
    emu.faults.add("forms.forms.responses.list", status=503, times=1, match={"query_contains": "pageToken"})
    batch = FormsApiSource(google_api(emu, tmp_path), FORM).responses()
    assert [r.response_id for r in batch.responses] == [f"R{i:05d}" for i in range(10_003)]
    assert emu.counts["forms.forms.responses.list"] == 4  # three pages, one of them twice
    emu.faults.add("forms.forms.responses.list", status=404, reason="notFound", match={"query_contains": "pageToken"})
    with pytest.raises(FatalSourceError):
        FormsApiSource(google_api(emu, tmp_path), FORM).responses()


def test_a_form_not_shared_is_fatal_with_the_fix(emu, tmp_path):
    from ingest.errors import FatalSourceError

    with pytest.raises(FatalSourceError, match="Google Form 1Missing was not found, or is not shared with"):
        FormsApiSource(google_api(emu, tmp_path), "1Missing").responses()


def seed_linked_sheet(emu: Emulator, export, *, tabs=("สรุป", "การตอบแบบฟอร์ม 1"), zone="Asia/Bangkok",
                      pattern="d/M/yyyy, H:mm:ss") -> str:
    """A linked response sheet as Forms fills it: the timestamp column holds date-time serial numbers
    (wall time in the spreadsheet's zone) shown through the locale's pattern; answers are text."""
    header, rows = read_forms_download(export.read_bytes())
    book = emu.sheets.create(tabs=tabs)
    emu.sheets.book(book).locale, emu.sheets.book(book).time_zone = "th_TH", zone
    sheet = emu.sheets.sheet(book, "การตอบแบบฟอร์ม 1")
    sheet.rows = len(rows) + 10
    for c, title in enumerate(header):
        sheet.cells[(0, c)] = Cell(title)
    for r, row in enumerate(rows, start=1):
        wall = parse_forms_timestamp(row[0]).astimezone(spreadsheet_zone(zone)).replace(tzinfo=None)
        sheet.cells[(r, 0)] = Cell(serial_number(wall), date_pattern=pattern)
        for c, value in enumerate(row[1:], start=1):
            if value:
                sheet.cells[(r, c)] = Cell(value)
    return book


def test_the_linked_response_sheet_reads_like_the_download(emu, tmp_path):
    demo = write_demo(tmp_path / "demo")
    book = seed_linked_sheet(emu, demo.export)
    source = FormsSheetSource(google_api(emu, tmp_path), book)
    batch = source.responses()
    expected = FormsExportSource(demo.export).responses()
    assert not batch.problems and len(batch.responses) == len(expected.responses) > 600
    assert [(r.response_id, r.created_at, r.answers, r.respondent_email) for r in batch.responses] == [
        (r.response_id, r.created_at, r.answers, r.respondent_email) for r in expected.responses]
    # The responses are on the second tab: found by their header, not by their place.
    assert batch.responses[0].origin == f"sheet {book} tab การตอบแบบฟอร์ม 1 row 2"
    (stamps,) = [c for c in emu.calls("sheets.spreadsheets.values.get")
                 if c.query.get("valueRenderOption") == ["UNFORMATTED_VALUE"]]
    assert stamps.query["dateTimeRenderOption"] == ["SERIAL_NUMBER"]
    emu.reset_counts()
    source.responses(batch.cursor)  # the tab and the zone are remembered
    assert dict(emu.counts) == {"sheets.spreadsheets.values.get": 2}


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "GMT-04:00"])
def test_serial_numbers_are_read_in_the_spreadsheets_own_zone(emu, tmp_path, zone):
    """A sheet kept in another zone (or a custom "GMT-04:00" one) holds other wall times for the same
    instants; read in its own zone, every arrival time is the one the form recorded."""
    demo = write_demo(tmp_path / "demo")
    book = seed_linked_sheet(emu, demo.export, zone=zone, pattern="M/d/yyyy h:mm:ss AM/PM")
    batch = FormsSheetSource(google_api(emu, tmp_path), book).responses()
    expected = FormsExportSource(demo.export).responses()
    assert len(expected.responses) > 600 and not batch.problems
    assert [r.created_at for r in batch.responses] == [r.created_at for r in expected.responses]


def test_the_timestamp_column_is_found_by_its_values_under_an_unknown_name(emu, tmp_path):
    book = emu.sheets.create(tabs=("Réponses au formulaire 1",))
    sheet = emu.sheets.sheet(book, "Réponses au formulaire 1")
    sheet.cells.update({(0, 0): Cell("Submitted"), (0, 1): Cell("จังหวัด"),
                        (1, 0): Cell(serial_number(datetime(2022, 11, 7, 23, 59, 59, tzinfo=UTC)), date_pattern="d/M/yyyy, H:mm:ss"),
                        (1, 1): Cell("น่าน")})
    (response,) = FormsSheetSource(google_api(emu, tmp_path), book).responses().responses
    assert response.created_at == datetime(2022, 11, 7, 16, 59, 59, tzinfo=UTC)  # 23:59:59 in Bangkok
    assert response.answers == {"จังหวัด": "น่าน"}
