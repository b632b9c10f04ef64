"""Forms responses files as people download them: the .csv.zip, its CSV in English and Thai, the
linked sheet's CSV and XLSX; a guarded zip; columns found by name or by content; broken rows."""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from connectors import forms_download
from connectors.forms_export import FormsExportSource
from ingest.demo_forms import forms_csv_bytes
from ingest.errors import InputError
from ingest.thaidate import BANGKOK
from tests.fixtures.real.forms import make_fixtures

REAL = Path(__file__).parent / "fixtures" / "real" / "forms"
# Each file of tests/fixtures/real/forms (provenance in its README.md) holds the same five responses.
FORMATS = {
    "Forms download, English UI": "forms-download-en.csv",
    "Forms download, Thai UI": "forms-download-th.csv",
    "Forms download as it arrives (.csv.zip)": "แบบสอบถาม.csv.zip",
    "linked sheet, CSV, th_TH locale": "linked-sheet-th_TH.csv",
    "linked sheet, XLSX": "linked-sheet-th_TH.xlsx",
}


@pytest.mark.parametrize("name", FORMATS.values(), ids=FORMATS.keys())
def test_every_real_format_reads_the_same_responses(name):
    batch = FormsExportSource(REAL / name).responses()
    assert not batch.problems and batch.complete
    assert [r.created_at for r in batch.responses] == make_fixtures.MOMENTS
    assert [r.respondent_email for r in batch.responses] == make_fixtures.EMAILS
    first = batch.responses[0].answers
    assert first == {"จังหวัด": "น่าน", "ชื่อ-นามสกุล": "สมชาย ใจดี", "ท่านได้รับความรู้จากการฝึกอบรม\n(เลือก 1 ข้อ)": "มาก",
                     "ข้อเสนอแนะ": "ควรจัดอบรมต่อเนื่อง, ทุกปี"}
    assert batch.responses[2].answers["ข้อเสนอแนะ"] == 'ใช้คำว่า "พอใช้" แทน'
    assert "ข้อเสนอแนะ" not in batch.responses[1].answers  # an empty answer is no answer


def test_the_same_response_has_the_same_id_in_every_format():
    ids = {name: [r.response_id for r in FormsExportSource(REAL / name).responses().responses]
           for name in FORMATS.values()}
    assert len({tuple(v) for v in ids.values()}) == 1


def test_the_fixtures_are_what_the_generator_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(make_fixtures, "HERE", tmp_path)
    make_fixtures.main()
    for name in FORMATS.values():
        if not name.endswith(".xlsx"):  # an .xlsx carries its writer's version: compared by content above
            assert (tmp_path / name).read_bytes() == (REAL / name).read_bytes(), name


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


CSV = forms_csv_bytes(["Timestamp", "จังหวัด"], [["2022/11/07 11:59:59 PM GMT+7", "ยะลา"]])
BAD_ZIPS = {
    "two CSVs": ({"a.csv": CSV, "b.csv": CSV}, "expected the one .csv"),
    "no CSV": ({"responses.xlsx": b"x"}, "expected the one .csv"),
    "a CSV and something else": ({"a.csv": CSV, "run.sh": b"rm -rf /"}, "expected the one .csv"),
    "empty archive": ({}, "found nothing"),
    "path outside the archive": ({"../../etc/responses.csv": CSV}, "points outside the archive"),
    "absolute path": ({"/tmp/responses.csv": CSV}, "points outside the archive"),
}


@pytest.mark.parametrize(("members", "message"), BAD_ZIPS.values(), ids=BAD_ZIPS.keys())
def test_a_bad_zip_is_an_input_error_naming_the_file(tmp_path, members, message):
    path = write_zip(tmp_path / "แบบสอบถาม.csv.zip", members)
    with pytest.raises(InputError, match=message) as caught:
        FormsExportSource(path).responses()
    assert str(path) in str(caught.value)


def test_a_zip_that_is_not_one(tmp_path):
    path = tmp_path / "responses.csv.zip"
    path.write_bytes(b"PK\x03\x04 cut short by a failed download")
    with pytest.raises(InputError, match=r"responses.csv.zip: not a readable \.zip"):
        FormsExportSource(path).responses()


def test_a_zip_that_unpacks_too_large_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(forms_download, "MAX_CSV_BYTES", 100_000)
    path = write_zip(tmp_path / "big.csv.zip", {"big.csv": CSV + b"\n" + b"0" * 1_000_000})
    assert path.stat().st_size < 10_000  # a megabyte of zeros deflates to almost nothing
    with pytest.raises(InputError, match="big.csv.zip: 'big.csv' would unpack to 1"):
        FormsExportSource(path).responses()


def test_a_zip_remade_on_a_mac_is_read(tmp_path):
    path = write_zip(tmp_path / "r.zip", {"r.csv": CSV, "__MACOSX/._r.csv": b"\x00\x05\x16\x07"})
    (response,) = FormsExportSource(path).responses().responses
    assert response.created_at == datetime(2022, 11, 7, 23, 59, 59, tzinfo=BANGKOK)


def test_a_renamed_zip_is_still_opened_as_one(tmp_path):
    path = write_zip(tmp_path / "responses.csv", {"r.csv": CSV})
    assert len(FormsExportSource(path).responses().responses) == 1


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, terminator: str = "\r\n") -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator).writerows([header, *rows])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


# The linked sheet downloaded as CSV shows the spreadsheet locale's format: th_TH "22/8/2026, 16:53:50"
# (a Thai sheet's gviz CSV, RAGS gloves dashboard), en_US month first (an importer's
# "%m/%d/%Y %H:%M:%S  # Google Sheets CSV export"). Day/month order is inferred from the column.
LOCALES = {
    "th_TH": (["ประทับเวลา", "จังหวัด"], ["13/11/2022, 9:05:00", "1/11/2022, 10:00:00"]),
    "th_TH, Buddhist-era year": (["ประทับเวลา", "จังหวัด"], ["13/11/2565, 9:05:00", "1/11/2565, 10:00:00"]),
    "en_US": (["Timestamp", "จังหวัด"], ["11/13/2022 9:05:00", "11/1/2022 10:00:00"]),
    "en_GB": (["Timestamp", "จังหวัด"], ["13/11/2022 09:05:00", "01/11/2022 10:00:00"]),
}


@pytest.mark.parametrize(("header", "stamps"), LOCALES.values(), ids=LOCALES.keys())
def test_linked_sheet_csv_locales(tmp_path, header, stamps):
    path = write_csv(tmp_path / "r.csv", header, [[s, "ยะลา"] for s in stamps])
    batch = FormsExportSource(path).responses()
    assert [r.created_at for r in batch.responses] == [
        datetime(2022, 11, 13, 9, 5, tzinfo=BANGKOK), datetime(2022, 11, 1, 10, 0, tzinfo=BANGKOK)]
    assert batch.responses[0].answers == {"จังหวัด": "ยะลา"}


HEADERS = {  # owner's UI language → Google's timestamp and e-mail column names (forms_columns.py)
    "es": ("Marca temporal", "Dirección de correo electrónico"),
    "fr": ("Horodateur", "Email Address"),
    "ru": ("Отметка времени", "Email Address"),
    "ko": ("타임스탬프", "Email Address"),
    "ja": ("タイムスタンプ", "Email Address"),
    "pt-BR": ("Carimbo de data/hora", "Endereço de e-mail"),
    "it": ("Informazioni cronologiche", "Indirizzo email"),
    "vi": ("Dấu thời gian", "Địa chỉ email"),
    "id": ("Cap waktu", "Email Address"),
    "verified e-mail collection": ("Timestamp", "Username"),
}


@pytest.mark.parametrize(("stamp_header", "email_header"), HEADERS.values(), ids=HEADERS.keys())
def test_google_column_names_in_other_languages(tmp_path, stamp_header, email_header, caplog):
    path = tmp_path / "r.csv"
    path.write_bytes(forms_csv_bytes([stamp_header, email_header, "จังหวัด"],
                                     [["2022/11/07 11:59:59 PM GMT+7", "a@example.com", "ยะลา"]]))
    with caplog.at_level(logging.INFO):
        (response,) = FormsExportSource(path).responses().responses
    assert response.respondent_email == "a@example.com" and response.answers == {"จังหวัด": "ยะลา"}
    assert f"r.csv: timestamp column 1 {stamp_header!r} (by its name)" in caplog.messages


def test_an_unknown_timestamp_name_is_found_by_its_values_and_said(tmp_path, caplog):
    path = tmp_path / "r.csv"
    path.write_bytes(forms_csv_bytes(["วันที่จัดสนทนากลุ่ม", "Časová značka", "จังหวัด"], [
        ["2022/11/02", "2022/11/07 11:59:59 PM GMT+7", "ยะลา"], ["2022/11/03", "2022/11/08 12:00:00 AM GMT+7", "ตาก"]]))
    with caplog.at_level(logging.INFO):  # what `tidtam -v sync` shows
        batch = FormsExportSource(path).responses()
    # A date question's answers have no time of day: not mistaken for the submission time.
    assert [r.created_at.isoformat() for r in batch.responses] == ["2022-11-07T23:59:59+07:00", "2022-11-08T00:00:00+07:00"]
    assert batch.responses[0].answers == {"วันที่จัดสนทนากลุ่ม": "2022/11/02", "จังหวัด": "ยะลา"}
    assert any("timestamp column 2 'Časová značka' (no known name" in m for m in caplog.messages)


def test_a_question_titled_username_is_an_answer_not_an_email(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(forms_csv_bytes(["Timestamp", "Username", "จังหวัด"],
                                     [["2022/11/07 11:59:59 PM GMT+7", "somchai_j", "ยะลา"]]))
    (response,) = FormsExportSource(path).responses().responses
    assert response.respondent_email is None and response.answers["Username"] == "somchai_j"


def test_bad_row_is_named_and_the_rest_read(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(forms_csv_bytes(["Timestamp", "จังหวัด"], [
        ["2022/11/01 10:00:00 AM GMT+7", "ยะลา"], ["yesterday", "ตาก"], ["2022/11/01 10:00:00 AM IST", "นราธิวาส"],
        ["2022/11/02 10:00:00 AM GMT+7", "น่าน"]]))
    batch = FormsExportSource(path).responses()
    assert len(batch.responses) == 2
    # The cell's shape, never its text: the message reaches logs and the `runs` tab.
    assert batch.problems == ["r.csv row 3: timestamp shaped 'aaaaaaaaa' is not a date; row skipped",
                              "r.csv row 4: timestamp shaped '9999/99/99 99:99:99 aa aaa' is not a date; row skipped"]


def test_ids_are_stable_across_reads():
    path = REAL / "forms-download-th.csv"
    assert [r.response_id for r in FormsExportSource(path).responses().responses] == \
        [r.response_id for r in FormsExportSource(path).responses().responses]


def test_not_a_forms_export(tmp_path):
    path = write_csv(tmp_path / "r.csv", ["name", "province"], [["a", "b"]])
    with pytest.raises(InputError, match="no timestamp column"):
        FormsExportSource(path).responses()


def test_a_file_in_another_encoding_is_named(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes("ประทับเวลา,จังหวัด\n".encode("cp874"))  # Excel "Save as CSV" on Thai Windows
    with pytest.raises(InputError, match="r.csv: not UTF-8 text"):
        FormsExportSource(path).responses()


def test_missing_export_says_how_to_get_it(tmp_path):
    with pytest.raises(InputError, match="Download responses"):
        FormsExportSource(tmp_path / "none.csv").responses()
