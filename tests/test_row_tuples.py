"""Rows are kept as tuples in their table's column order (ingest.normalize: `ResponseRow.row`,
`FileRow.row`, the focus rows), where they were dicts by column name until 7 Dec 2026. The tables
made from them must be the ones made from the same values by column name, as pandas made them from
dicts: the same values, the same dtypes, a question a response did not answer missing (NaN)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import FormResponse, UploadedFile
from connectors.pandas_text import pd
from ingest.campaign import Deliverable
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.facts import FileFacts, RecordAnswer, RecordReading, Violation
from ingest.normalize import (
    FILE_COLUMNS,
    FOCUS_GROUP_COLUMNS,
    LINK_COLUMNS,
    RESPONSE_COLUMNS,
    bangkok_times,
    file_row,
    files_frame,
    response_row,
    responses_frame,
)
from ingest.units import UnitMatcher, registry_units

T0 = datetime(2022, 11, 2, 9, tzinfo=UTC)
QUESTIONS = ["ชื่อ-นามสกุล", "ตำแหน่ง", "ความพึงพอใจ", "ข้อ ๑", "หัวข้อที่ชอบ", "ข้อเสนอแนะ"]
MATCHER = UnitMatcher(registry_units("province", exclude=["10"]))
NAMES = {u.code: u.name for u in registry_units("province", exclude=["10"])}


def _by_name(columns: list[str], values: tuple[object, ...]) -> dict[str, object]:
    return dict(zip(columns, values, strict=False))


def _responses_by_name(deliverable: Deliverable, rows) -> pd.DataFrame:
    """The former construction: each row a dict by column name, the table made by pandas from them."""
    ordered = sorted(rows, key=lambda r: (r.created_at, r.response_id))
    questions: dict[str, None] = {}
    for r in ordered:
        for title in r.questions:
            questions.setdefault(title)
    first = len(RESPONSE_COLUMNS)
    records = []
    for r in ordered:
        record = {k: v for k, v in _by_name(RESPONSE_COLUMNS, r.row[:first]).items() if k != "submitted_at"}
        record.update({f"q:{title}": value for title, value in zip(r.questions, r.row[first:], strict=True)})
        records.append(record)
    frame = pd.DataFrame(records, columns=RESPONSE_COLUMNS + [f"q:{q}" for q in questions])
    if ordered:
        frame["submitted_at"] = bangkok_times([r.created_at for r in ordered])
    return frame


@pytest.mark.parametrize("seed", range(20))
def test_responses_that_answer_different_questions_in_different_orders_make_the_same_table(seed):
    rng = random.Random(seed)
    deliverable = Deliverable("q", "แบบสอบถาม", "form", "response", 10, T0 + timedelta(days=9),
                              opens_at=T0 if rng.random() < 0.5 else None, unit_question="จังหวัด")
    answers = {"ชื่อ-นามสกุล": lambda: rng.choice(["สมชาย ใจดี", "สมหญิง", "ann"]),
               "ตำแหน่ง": lambda: rng.choice(["นายอำเภอ", "ปลัด", ""]),
               "ความพึงพอใจ": lambda: rng.choice(["มาก", "มากที่สุด", "น้อย"]),  # Likert: ints
               "ข้อ ๑": lambda: rng.choice(["๑๒", "3", "๔.๕"]),  # Thai digits
               "หัวข้อที่ชอบ": lambda: tuple(rng.sample(["ก", "ข", "ค"], rng.randint(1, 3))),  # checkboxes
               "ข้อเสนอแนะ": lambda: rng.choice(["", "ดีมาก", "ควรปรับปรุง"])}
    responses = []
    for i in range(rng.randint(1, 40)):
        titles = rng.sample(QUESTIONS, rng.randint(0, len(QUESTIONS)))  # a subset, in any order
        given = {title: answers[title]() for title in titles}
        if rng.random() < 0.9:
            given = {"จังหวัด": rng.choice(["เชียงใหม่", "จ.ลำพูน", "ไม่รู้"]), **given}
        responses.append(FormResponse(f"r{i:03d}", T0 + timedelta(hours=rng.randint(-30, 200)), given, f"row {i}",
                                      respondent_email=rng.choice([None, f"p{i}@example.com"])))
    rows = [response_row(deliverable, r, MATCHER, NAMES) for r in responses]
    made, _ = responses_frame(deliverable, rows)
    expected = _responses_by_name(deliverable, rows)
    pd.testing.assert_frame_equal(made, expected)
    assert list(made.dtypes) == list(expected.dtypes)
    assert _types(made).equals(_types(expected))  # a missing answer is NaN, as before, not None


def _types(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).map(lambda v: type(v).__name__)


def _files_by_name(rows) -> pd.DataFrame:
    ordered = sorted(rows, key=lambda r: (r.created_at, r.file_id))
    first_copy: dict[tuple[str, str, str], str] = {}
    records = []
    for r in ordered:
        record = {k: v for k, v in _by_name(FILE_COLUMNS + LINK_COLUMNS, r.row).items()
                  if k not in ("created_at", "arrived_at")}
        duplicate_of = first_copy.setdefault(r.copy_key, r.file_id) if r.copy_key is not None else ""
        if duplicate_of and duplicate_of != r.file_id:
            reasons = [*r.reasons, "ไฟล์ซ้ำกับที่ส่งแล้ว (นับครั้งเดียว)"]
            record = {**record, "duplicate_of": duplicate_of, "reason_th": "; ".join(reasons), "counted": False}
        records.append(record)
    frame = pd.DataFrame(records, columns=FILE_COLUMNS + LINK_COLUMNS)
    if ordered:
        frame["created_at"] = bangkok_times([r.created_at for r in ordered])
        frame["arrived_at"] = bangkok_times([r.arrived_at for r in ordered])
    return frame


@pytest.fixture(scope="module")
def demo_campaign(tmp_path_factory):
    return load_campaign(write_demo(tmp_path_factory.mktemp("demo")).root / "config.yaml")


@pytest.mark.parametrize("seed", range(10))
def test_files_with_copies_broken_rules_and_records_make_the_same_tables(seed, demo_campaign):
    rng = random.Random(seed)
    kinds = {d.kind: d.id for d in demo_campaign.deliverables}
    rows = []
    for i in range(rng.randint(1, 30)):
        photo = rng.random() < 0.7
        folder = rng.choice(["เชียงใหม่", "ลำพูน", "ที่อื่น"])
        content = rng.choice(["a", "b", "c"])  # copies: the same digest in one unit and deliverable
        violations = (Violation("too_small", "ภาพเล็กเกินไป"),) if rng.random() < 0.2 else ()
        record = None if photo else RecordReading(answers=tuple(
            RecordAnswer(1, n, f"คำถาม {n}", f"คำตอบ {i} {n}") for n in range(1, rng.randint(1, 4))))
        facts = None if rng.random() < 0.1 else FileFacts(content * 64, 1000 + i, "jpeg" if photo else "docx",
                                                          record=record, violations=violations)
        file = UploadedFile(f"f{i:03d}", f"p{i}.jpg" if photo else f"บันทึก {i}.docx", (folder, "ภาพถ่าย")[:rng.randint(1, 2)],
                            "image/jpeg", T0 + timedelta(hours=rng.randint(0, 50)), size=1000 + i,
                            md5=rng.choice([None, content]), uploader_email=rng.choice([None, "a@example.com"]),
                            origin=f"drive {i}", folder_urls=("https://drive.google.com/drive/folders/x",))
        routed = rng.choice([kinds["photo" if photo else "document"], ""])
        rows.append(file_row(demo_campaign, "uploads", file, facts, routed, MATCHER, NAMES))
    made, _, focus = files_frame(rows)
    expected = _files_by_name(rows)
    pd.testing.assert_frame_equal(made, expected)
    assert list(made.dtypes) == list(expected.dtypes)
    by_name = [dict(zip(FOCUS_GROUP_COLUMNS, f, strict=True)) for f in focus]
    pd.testing.assert_frame_equal(pd.DataFrame(focus, columns=FOCUS_GROUP_COLUMNS),
                                  pd.DataFrame(by_name, columns=FOCUS_GROUP_COLUMNS))
