"""Reading the focus-group record: every template style gives the same 20 answers and header."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn
from docx_corpus import docx_from_lines, valid_record, with_body_xml

from ingest.campaign import RecordPart
from ingest.facts import FileFacts, RecordReading
from ingest.normalize import focus_group_table
from ingest.record.document import read_document, read_header
from ingest.record.safety import open_package
from ingest.record.template import (
    FOCUS_GROUP_PARTS,
    FOCUS_GROUP_QUESTIONS,
    STYLES,
    default_answers,
    make_record_docx,
)
from ingest.record.word_parts import word_parts

SMALL = (RecordPart(1, "ปัจจัย", 3), RecordPart(2, "ความสำเร็จ", 2))
HEADER = {"province": "ยะลา", "district": "เมืองยะลา", "date": "9 พฤศจิกายน 2565", "date_iso": "2022-11-09",
          "facilitator": "นางสาวสมใจ ใจดี", "participants": "10"}


def read(docx: bytes, parts: tuple[RecordPart, ...] = FOCUS_GROUP_PARTS) -> RecordReading:
    return read_document(word_parts(open_package(docx)), parts).record


def expected_rows(province: str = "ยะลา") -> list[tuple[int, int, str, str]]:
    answers = default_answers(province)
    return [(p, n, question, answers[p - 1][n - 1])
            for p, questions in enumerate(FOCUS_GROUP_QUESTIONS, start=1)
            for n, question in enumerate(questions, start=1)]


@pytest.mark.parametrize("style", STYLES)
def test_every_template_style_reads_the_same_twenty_answers(style: str) -> None:
    record = read(valid_record(style))
    assert [(a.part, a.number, a.question, a.answer) for a in record.answers] == expected_rows()
    assert record.header == HEADER
    assert (record.missing, record.unanswered) == ((), ())


CASES = [
    pytest.param(["ส่วนที่ 1", "1. คำถามหนึ่ง", "ตอบ มีการประชุม 3 ครั้ง", "1) ครั้งแรก", "2) ครั้งที่สอง",
                  "2. คำถามสอง", "ข้อคิดเห็น", "1. ประเด็นย่อย", "3. คำถามสาม", "ตอบ ดี",
                  "ส่วนที่ 2", "1. คำถามสี่", "ตอบ ดี", "2. คำถามห้า", "ตอบ ดี"],
                 [(1, 1, "คำถามหนึ่ง", "มีการประชุม 3 ครั้ง\n1) ครั้งแรก\n2) ครั้งที่สอง"),
                  (1, 2, "คำถามสอง", "ข้อคิดเห็น\n1. ประเด็นย่อย"), (1, 3, "คำถามสาม", "ดี"),
                  (2, 1, "คำถามสี่", "ดี"), (2, 2, "คำถามห้า", "ดี")], (), (), id="lists_inside_answers"),
    pytest.param(["รายชื่อผู้ร่วมประชุม", "1. นาย ก", "2. นาง ข", "ส่วนที่ 1", "1. ถาม ตอบ: หนึ่ง", "2. ถาม? สอง",
                  "3. ถาม\nสาม", "ส่วนที่ 2", "1. ถาม", "ตอบ ..............", "2) ถาม", "ตอบ ห้า"],
                 [(1, 1, "ถาม", "หนึ่ง"), (1, 2, "ถาม?", "สอง"), (1, 3, "ถาม", "สาม"), (2, 1, "ถาม", "2) ถาม\nห้า")],
                 ("ส่วนที่ 2 ข้อ 2",), (), id="participants_before_headings_inline_answers_style_switch"),
    pytest.param(["ส่วนที่ ๑", "๑. ก", "ตอบ ๑", "๒. ข", "ตอบ ๒", "๓. ค", "ตอบ ๓",
                  "ส่วนที่ ๒", "๔. ง", "ตอบ ๔", "๕. จ", "ตอบ ๕"],
                 [(1, 1, "ก", "๑"), (1, 2, "ข", "๒"), (1, 3, "ค", "๓"), (2, 1, "ง", "๔"), (2, 2, "จ", "๕")],
                 (), (), id="thai_digits_numbering_runs_on_across_parts"),
    pytest.param(["ข้อ 1 ก", "หนึ่ง", "ข้อ 2 ข", "สอง", "ข้อ 3 ค", "สาม", "ข้อ 1 ง", "สี่", "ข้อ 2 จ", "ห้า"],
                 [(1, 1, "ก", "หนึ่ง"), (1, 2, "ข", "สอง"), (1, 3, "ค", "สาม"), (2, 1, "ง", "สี่"), (2, 2, "จ", "ห้า")],
                 (), (), id="no_headings_numbering_restarts"),
    pytest.param(["ส่วนที่หนึ่ง", "1. ก", "ตอบ", "3. ค", "สาม", "ตอนที่ 2", "1. ง", "สี่",
                  "ลงชื่อ ..... ผู้บันทึก", "2. ไม่ใช่คำถาม"],
                 [(1, 1, "ก", ""), (1, 3, "ค", "สาม"), (2, 1, "ง", "สี่")],
                 ("ส่วนที่ 1 ข้อ 2", "ส่วนที่ 2 ข้อ 2"), ("ส่วนที่ 1 ข้อ 1",), id="missing_unanswered_and_signature"),
    pytest.param(["ส่วน\u200bที่ 1", "1.\u200bก", "ตอบ\u200b หนึ่ง", "2. ข", "สอง", "3. ค", "สาม"],
                 [(1, 1, "ก", "หนึ่ง"), (1, 2, "ข", "สอง"), (1, 3, "ค", "สาม")],
                 ("ส่วนที่ 2 ข้อ 1", "ส่วนที่ 2 ข้อ 2"), (), id="zero_width_spaces"),
    pytest.param(["1.1 หัวข้อย่อย", "2565 ปีงบประมาณ", "1. ก", "หนึ่ง"], [(1, 1, "ก", "หนึ่ง")],
                 ("ส่วนที่ 1 ข้อ 2", "ส่วนที่ 1 ข้อ 3", "ส่วนที่ 2 ข้อ 1", "ส่วนที่ 2 ข้อ 2"), (),
                 id="sub_numbers_and_years_are_not_questions"),
]


@pytest.mark.parametrize(("lines", "answers", "missing", "unanswered"), CASES)
def test_paragraph_layouts(lines, answers, missing, unanswered) -> None:
    record = read(docx_from_lines(lines), SMALL)
    assert [(a.part, a.number, a.question, a.answer) for a in record.answers] == answers
    assert (record.missing, record.unanswered) == (missing, unanswered)


def test_word_auto_numbering_with_bullets_and_a_second_level_inside_answers() -> None:
    lines = ["ส่วนที่ 1", "ก", "ตอบ หนึ่ง", "ข", "ตอบ สอง", "ค", "ตอบ สาม"]
    docx = docx_from_lines(lines, list_number=(1, 3, 5))
    bullets = ('<w:p><w:pPr><w:pStyle w:val="ListBullet"/></w:pPr><w:r><w:t>จุดย่อย</w:t></w:r></w:p>'
               '<w:p><w:pPr><w:pStyle w:val="ListNumber2"/></w:pPr><w:r><w:t>ลำดับย่อย</w:t></w:r></w:p>')
    docx = with_body_xml(docx, bullets)  # after the last answer: bullets and level-2 numbers are answer text
    record = read(docx, SMALL)
    assert [(a.part, a.number, a.answer) for a in record.answers] == [
        (1, 1, "หนึ่ง"), (1, 2, "สอง"), (1, 3, "สาม\nจุดย่อย\nลำดับย่อย")]


def test_questions_inside_a_content_control_are_read() -> None:
    sdt = ('<w:sdt><w:sdtPr><w:alias w:val="แบบฟอร์ม"/></w:sdtPr><w:sdtContent>'
           '<w:p><w:r><w:t>ส่วนที่ 2</w:t></w:r></w:p><w:p><w:r><w:t>1. ง</w:t></w:r></w:p>'
           '<w:p><w:r><w:t>ตอบ สี่</w:t></w:r><w:del w:id="1" w:author="x"><w:r><w:delText>ลบแล้ว</w:delText></w:r></w:del>'
           '</w:p></w:sdtContent></w:sdt>')
    record = read(with_body_xml(docx_from_lines(["ส่วนที่ 1", "1. ก", "หนึ่ง"]), sdt), SMALL)
    assert [(a.part, a.number, a.answer) for a in record.answers] == [(1, 1, "หนึ่ง"), (2, 1, "สี่")]


@pytest.mark.parametrize(("lines", "header"), [
    pytest.param(["แบบบันทึก โครงการอำเภอนำร่อง ทีมถอดบทเรียนจังหวัด", "จังหวัด: ราชบุรี อำเภอ: ปากท่อ",
                  "วันศุกร์ที่ ๑๑ พฤศจิกายน ๒๕๖๕", "ผู้ดำเนินรายการ นายสมชาย ดีมาก", "ผู้เข้าร่วม 12 คน"],
                 {"province": "ราชบุรี", "district": "ปากท่อ", "date": "11 พฤศจิกายน 2565", "date_iso": "2022-11-11",
                  "facilitator": "นายสมชาย ดีมาก", "participants": "12"}, id="colons_thai_digits_title_words"),
    pytest.param(["จังหวัด......ยะลา.......อำเภอ.......เมืองยะลา......", "วันที่ 10/11/2565"],
                 {"province": "ยะลา", "district": "เมืองยะลา", "date": "10/11/2565", "date_iso": "2022-11-10"},
                 id="dotted_leaders"),
    pytest.param(["จังหวัด\tสตูล", "อำเภอ\tละงู", "วันที่\t9 พ.ย. 65"],
                 {"province": "สตูล", "district": "ละงู", "date": "9 พ.ย. 65", "date_iso": "2022-11-09"},
                 id="label_value_table_rows"),
])
def test_header_fields(lines: list[str], header: dict[str, str]) -> None:
    assert read_header(lines) == header


def test_focus_group_rows_for_the_warehouse() -> None:
    record = read(make_record_docx("สตูล", answers=[["ดีมาก"]]))
    files = pd.DataFrame([{"file_id": "file-1", "unit_code": "91"}])
    facts = {"file-1": FileFacts("", 0, "docx", record=record)}
    rows = focus_group_table(files, facts, {"91": "สตูล"}).to_dict("records")
    assert rows == [
        {"unit_code": "91", "unit_name": "สตูล", "file_id": "file-1", "part": 1, "number": 1,
         "question": FOCUS_GROUP_QUESTIONS[0][0], "answer": "ดีมาก"}]
    assert len(record.missing) == 19


def test_without_configured_parts_headings_still_split_parts() -> None:
    record = read(docx_from_lines(["ส่วนที่ 1", "1. ก", "หนึ่ง", "ส่วนที่ 2", "1. ข", "สอง"]), ())
    assert [(a.part, a.number, a.answer) for a in record.answers] == [(1, 1, "หนึ่ง"), (2, 1, "สอง")]
    assert record.missing == ()


def test_a_numbered_table_of_participants_is_not_read_as_questions() -> None:
    document = Document(io.BytesIO(docx_from_lines(["รายชื่อผู้ร่วมสนทนา"])))
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(table.rows, [("ลำดับ", "ชื่อ-สกุล", "ตำแหน่ง"), ("1", "นาย ก", "ผู้ใหญ่บ้าน"),
                                        ("2", "นาง ข", "อสม.")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    for line in ["1. ก", "หนึ่ง", "2. ข", "สอง", "3. ค", "สาม", "1. ง", "สี่", "2. จ", "ห้า"]:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    record = read(buffer.getvalue(), SMALL)
    assert [(a.part, a.number, a.answer) for a in record.answers] == [
        (1, 1, "หนึ่ง"), (1, 2, "สอง"), (1, 3, "สาม"), (2, 1, "สี่"), (2, 2, "ห้า")]


def test_a_form_framed_in_a_one_cell_table_keeps_its_auto_numbering() -> None:
    inner = docx_from_lines(["ส่วนที่ 1", "ก", "ตอบ หนึ่ง", "ข", "ตอบ สอง", "ค", "ตอบ สาม"], list_number=(1, 3, 5))
    document = Document(io.BytesIO(inner))
    body = document.element.body
    frame = document.add_table(rows=1, cols=1)
    cell = frame.rows[0].cells[0]._tc
    for p in list(body.iterchildren("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p")):
        cell.append(p)  # move every paragraph into the frame
    buffer = io.BytesIO()
    document.save(buffer)
    record = read(buffer.getvalue(), SMALL)
    assert [(a.part, a.number, a.answer) for a in record.answers] == [(1, 1, "หนึ่ง"), (1, 2, "สอง"), (1, 3, "สาม")]


def _control(text: str, flag: str) -> str:
    return (f'<w:sdt><w:sdtPr><w:alias w:val="คำตอบ"/>{flag}<w:text/></w:sdtPr><w:sdtContent>'
            f"<w:r><w:t>{text}</w:t></w:r></w:sdtContent></w:sdt>")


@pytest.mark.parametrize(("flag", "answer"), [
    pytest.param("<w:showingPlcHdr/>", "", id="prompt_showing"),
    pytest.param('<w:showingPlcHdr w:val="0"/>', "มีการประชุมทุกเดือน", id="flag_off"),
    pytest.param("", "มีการประชุมทุกเดือน", id="filled_in"),
])
def test_a_content_control_still_showing_its_prompt_is_not_an_answer(flag: str, answer: str) -> None:
    text = "มีการประชุมทุกเดือน" if answer else "คลิกหรือแตะที่นี่เพื่อใส่ข้อความ"
    body = ('<w:p><w:r><w:t>ส่วนที่ 1</w:t></w:r></w:p><w:p><w:r><w:t>1. ก</w:t></w:r></w:p>'
            f"<w:p>{_control(text, flag)}</w:p>")
    record = read(with_body_xml(docx_from_lines([]), body), SMALL)
    assert [(a.part, a.number, a.answer) for a in record.answers] == [(1, 1, answer)]


def test_part_headings_numbered_by_a_list_linked_to_the_heading_style() -> None:
    """Word's multilevel list linked to Heading 2 (and Writer's chapter numbering) shows "ส่วนที่ 1"
    from the level's lvlText; no w:t holds it."""
    document = Document(io.BytesIO(docx_from_lines([])))
    numbering = document.part.numbering_part.element
    abstract = numbering.makeelement(qn("w:abstractNum"), {qn("w:abstractNumId"): "40"})
    lvl = numbering.makeelement(qn("w:lvl"), {qn("w:ilvl"): "0"})
    for tag, value in (("w:start", "1"), ("w:numFmt", "decimal"), ("w:lvlText", "ส่วนที่ %1 ")):
        lvl.append(numbering.makeelement(qn(tag), {qn("w:val"): value}))
    abstract.append(lvl)
    numbering.insert(0, abstract)
    num = numbering.add_num(40)
    for title, lines in (("ปัจจัย", ["1. ก", "หนึ่ง", "2. ข", "สอง", "3. ค", "สาม"]), ("ความสำเร็จ", ["1. ง", "สี่", "2. จ", "ห้า"])):
        heading = document.add_paragraph(title, style="Heading 2")
        num_pr = heading._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = num.numId
        for line in lines:
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    record = read(buffer.getvalue(), SMALL)
    assert [(a.part, a.number, a.answer) for a in record.answers] == [
        (1, 1, "หนึ่ง"), (1, 2, "สอง"), (1, 3, "สาม"), (2, 1, "สี่"), (2, 2, "ห้า")]
    assert record.missing == ()
