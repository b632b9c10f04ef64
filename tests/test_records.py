"""State records survive the JSON round trip, and are stored exactly as dataclasses.asdict would give."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest

from connectors.base import FormResponse, UploadedFile
from ingest.facts import FileFacts, RecordAnswer, RecordReading, Violation
from ingest.state_codec import _default, facts_from_json, file_from_json, response_from_json, to_json
from ingest.thaidate import BANGKOK

T = datetime(2022, 11, 14, 9, 30, tzinfo=BANGKOK)
RECORDS = {
    "response": (FormResponse("ACYD1", T, {"จังหวัด": "ยะลา", "ช่องทาง": ("Line", "โทรศัพท์"), "ข้อ 3": None},
                              "form 1FAI response ACYD1", last_submitted_at=T, respondent_email="a@example.org",
                              file_ids=("1x", "1y")), response_from_json),
    "file": (UploadedFile("1abc", "บันทึก.docx", ("ยะลา", "ภาพถ่าย"), "application/pdf", T, size=10, md5="d41d",
                          version="3", modified_at=T, uploader_email="u@example.org", origin="Drive ยะลา/บันทึก.docx"),
             file_from_json),
    "facts with a record": (FileFacts(
        "sha", 31_000, "document", text_chars=5000, consent_found=True, pictures=("header",),
        record=RecordReading(header={"จังหวัด": "ยะลา"}, answers=(RecordAnswer(1, 1, "คำถาม", "คำตอบ"),),
                             missing=("ส่วนที่ 2 ข้อ 4",), unanswered=("ส่วนที่ 3 ข้อ 1",)),
        violations=(Violation("has_pictures", "แบบบันทึกมีรูปภาพอยู่ในไฟล์", "header"),)), facts_from_json),
    "photo facts": (FileFacts("sha2", 6000, "photo", width=640, height=480), facts_from_json),
}


@pytest.mark.parametrize(("record", "from_json"), RECORDS.values(), ids=RECORDS.keys())
def test_round_trip_and_the_stored_text_is_asdicts(record, from_json):
    text = to_json(record)
    assert from_json(text) == record
    assert text == json.dumps(dataclasses.asdict(record), default=_default, ensure_ascii=False, sort_keys=True)
