"""Forms "Download responses" files: CSV and XLSX, Thai and US locales, broken rows."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from connectors.forms_export import FormsExportSource
from ingest.errors import InputError
from ingest.thaidate import BANGKOK


def write_csv(path, header, rows):
    pd.DataFrame(rows, columns=header).to_csv(path, index=False, encoding="utf-8-sig")
    return path


LOCALES = {
    "Thai locale, B.E.": (["ประทับเวลา", "จังหวัด"], ["13/11/2565, 9:05:00", "1/11/2565, 10:00:00"]),
    "UK order, C.E.": (["Timestamp", "จังหวัด"], ["13/11/2022 09:05:00", "01/11/2022 10:00:00"]),
    "US order": (["Timestamp", "จังหวัด"], ["11/13/2022 9:05:00", "11/1/2022 10:00:00"]),
    "ISO": (["Timestamp", "จังหวัด"], ["2022-11-13 09:05:00", "2022-11-01 10:00:00"]),
    "Thai digits": (["ประทับเวลา", "จังหวัด"], ["๑๓/๑๑/๒๕๖๕, ๙:๐๕:๐๐", "๑/๑๑/๒๕๖๕, ๑๐:๐๐:๐๐"]),
}


@pytest.mark.parametrize(("header", "stamps"), LOCALES.values(), ids=LOCALES.keys())
def test_timestamp_locales(tmp_path, header, stamps):
    path = write_csv(tmp_path / "r.csv", header, [[s, "ยะลา"] for s in stamps])
    batch = FormsExportSource(path).responses()
    assert [r.created_at for r in batch.responses] == [
        datetime(2022, 11, 13, 9, 5, tzinfo=BANGKOK), datetime(2022, 11, 1, 10, 0, tzinfo=BANGKOK)]
    assert batch.responses[0].answers == {"จังหวัด": "ยะลา"}
    assert batch.complete


def test_xlsx_export(tmp_path):
    path = tmp_path / "r.xlsx"
    naive = datetime(2022, 11, 2, 8, 0, tzinfo=BANGKOK).replace(tzinfo=None)  # Excel cells carry no zone
    pd.DataFrame({"Timestamp": [naive], "Email Address": ["a@example.com"],
                  "จังหวัด": ["ยะลา"], "อายุ": [45]}).to_excel(path, index=False)
    response = FormsExportSource(path).responses().responses[0]
    assert response.created_at == datetime(2022, 11, 2, 8, 0, tzinfo=BANGKOK)
    assert response.respondent_email == "a@example.com"
    assert response.answers == {"จังหวัด": "ยะลา", "อายุ": "45"}


def test_bad_row_is_named_and_the_rest_read(tmp_path):
    path = write_csv(tmp_path / "r.csv", ["Timestamp", "จังหวัด"],
                     [["2022-11-01 10:00:00", "ยะลา"], ["yesterday", "ตาก"], ["2022-11-02 10:00:00", "น่าน"]])
    batch = FormsExportSource(path).responses()
    assert len(batch.responses) == 2
    # The cell's shape, never its text: the message reaches logs and the `runs` tab.
    assert batch.problems == ["r.csv row 3: timestamp shaped 'aaaaaaaaa' is not a date; row skipped"]


def test_ids_are_stable_across_reads(tmp_path):
    path = write_csv(tmp_path / "r.csv", ["Timestamp", "จังหวัด"], [["2022-11-01 10:00:00", "ยะลา"]])
    assert FormsExportSource(path).responses().responses[0].response_id == \
        FormsExportSource(path).responses().responses[0].response_id


def test_not_a_forms_export(tmp_path):
    path = write_csv(tmp_path / "r.csv", ["name", "province"], [["a", "b"]])
    with pytest.raises(InputError, match="no timestamp column"):
        FormsExportSource(path).responses()


def test_missing_export_says_how_to_get_it(tmp_path):
    with pytest.raises(InputError, match="Download responses"):
        FormsExportSource(tmp_path / "none.csv").responses()
