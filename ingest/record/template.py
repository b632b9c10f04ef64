"""Build focus-group record .docx files as provinces type them, in several real template styles.

Used by the demo workspace and by the tests' corpus; the questions and parts are this campaign's
(seed 001/003: 3 parts, 10 + 5 + 5 questions).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph
from PIL import Image

from ingest.campaign import RecordPart

FOCUS_GROUP_PARTS = (
    RecordPart(1, "ปัจจัยที่ส่งผลต่อการดำเนินโครงการ", 10),
    RecordPart(2, "ความสำเร็จของการดำเนินโครงการ", 5),
    RecordPart(3, "การดำเนินงานในพื้นที่ ปัญหาอุปสรรคและข้อเสนอแนะ", 5),
)
FOCUS_GROUP_QUESTIONS: tuple[tuple[str, ...], ...] = (
    (
        "ผู้นำและทีมงานระดับอำเภอมีบทบาทต่อการดำเนินโครงการอย่างไร",
        "การบูรณาการระหว่างส่วนราชการและภาคีเครือข่ายในพื้นที่เป็นอย่างไร",
        "การใช้ข้อมูล TPMAP หรือ ThaiQM ในการกำหนดปัญหาและกลุ่มเป้าหมายเป็นอย่างไร",
        "ประชาชนมีส่วนร่วมในการดำเนินโครงการอย่างไร",
        "งบประมาณและทรัพยากรที่ใช้เพียงพอหรือไม่ อย่างไร",
        "การจัดทำแผนพัฒนาพื้นที่ (One Plan) ส่งผลต่อโครงการอย่างไร",
        "การสื่อสารและประชาสัมพันธ์โครงการเป็นอย่างไร",
        "การติดตามและประเมินผลระหว่างดำเนินโครงการทำอย่างไร",
        "การพัฒนานักขับเคลื่อนยุทธศาสตร์ (CAST) ส่งผลต่อโครงการอย่างไร",
        "ปัจจัยอื่น ๆ ที่ส่งผลต่อการดำเนินโครงการมีอะไรบ้าง",
    ),
    (
        "โครงการบรรลุวัตถุประสงค์ที่ตั้งไว้มากน้อยเพียงใด",
        "ประชาชนในพื้นที่ได้รับประโยชน์จากโครงการอย่างไร",
        "ความทุกข์ของประชาชนลดลงและความสุขเพิ่มขึ้นอย่างไร",
        "ผลสำเร็จที่เป็นรูปธรรมของโครงการมีอะไรบ้าง",
        "ความสำเร็จของโครงการจะยั่งยืนหรือไม่ อย่างไร",
    ),
    (
        "พื้นที่ดำเนินงานตามขั้นตอนของโครงการอย่างไร",
        "ปัญหาและอุปสรรคในการดำเนินโครงการมีอะไรบ้าง",
        "พื้นที่แก้ไขปัญหาและอุปสรรคดังกล่าวอย่างไร",
        "ข้อเสนอแนะต่อการขยายผลโครงการในพื้นที่อื่นมีอะไรบ้าง",
        "ข้อเสนอแนะเพิ่มเติมต่อกรมการพัฒนาชุมชนและกระทรวงมหาดไทย",
    ),
)
CONSENT_TEXT = ("การรับรอง: ผู้เข้าร่วมสนทนากลุ่มทุกคนได้รับทราบวัตถุประสงค์ของการศึกษา "
                "และให้ความยินยอมเข้าร่วมให้ข้อมูลในการวิจัยแล้ว")
CONSENT_PATTERN = r"ยินยอม"
STYLES = ("paragraphs", "thai_digits", "kho", "paren", "autonum", "autonum_continuous", "no_headings",
          "table", "table_marked")

_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_LIST_NUMBER_NUM_ID = 5  # python-docx's default template: style "List Number" uses numId 5


def default_answers(province_name: str) -> list[list[str]]:
    """Plausible answers, different per province and question, about 150 characters each."""
    return [[(f"จากการสนทนากลุ่มของจังหวัด{province_name} ผู้เข้าร่วมเห็นว่าประเด็นที่ {part}.{n} "
              f"เกิดจากการทำงานร่วมกันของอำเภอ ท้องถิ่น และภาคประชาชน โดยใช้ข้อมูลในพื้นที่ "
              f"เป็นฐานในการวางแผนและติดตามผลอย่างต่อเนื่อง")
             for n in range(1, len(questions) + 1)]
            for part, questions in enumerate(FOCUS_GROUP_QUESTIONS, start=1)]


def _answer(answers: Sequence[Sequence[str | None]], part: int, index: int) -> str | None:
    if part >= len(answers) or index >= len(answers[part]):
        return None
    return answers[part][index]


def _marker(style: str, n: int) -> str:
    if style == "thai_digits":
        return f"{str(n).translate(_THAI_DIGITS)}. "
    if style == "kho":
        return f"ข้อ {n} "
    if style == "paren":
        return f"{n}) "
    if style in ("paragraphs", "no_headings"):
        return f"{n}. "
    return ""


def _restart_numbering(document: DocumentObject) -> int:
    """A new list instance of "List Number" that starts again at 1 (Word's "restart numbering")."""
    numbering = document.part.numbering_part.element
    abstract_id = numbering.num_having_numId(_LIST_NUMBER_NUM_ID).abstractNumId.val
    num = numbering.add_num(abstract_id)
    num.add_lvlOverride(ilvl=0).add_startOverride(1)
    return num.numId


def _set_num(paragraph: Paragraph, num_id: int) -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    num_pr = OxmlElement("w:numPr")
    for tag, value in (("w:ilvl", 0), ("w:numId", num_id)):
        child = OxmlElement(tag)
        child.set(qn("w:val"), str(value))
        num_pr.append(child)
    p_pr.append(num_pr)


def _png(width: int = 32, height: int = 24) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def _header(document: DocumentObject, province_name: str, district: str, date_text: str, consent: bool) -> None:
    document.add_heading("แบบบันทึกประเด็นสนทนากลุ่ม (Focus Group)", level=1)
    document.add_paragraph(f"จังหวัด {province_name}    อำเภอ {district}")
    document.add_paragraph(f"วันที่ {date_text}")
    document.add_paragraph("ผู้ดำเนินการสนทนา นางสาวสมใจ ใจดี")
    document.add_paragraph("ผู้เข้าร่วมสนทนากลุ่ม จำนวน 10 คน")
    if consent:
        document.add_paragraph(CONSENT_TEXT)


def _paragraph_style(document: DocumentObject, style: str, answers: Sequence[Sequence[str | None]]) -> None:
    offset = 0
    for part, (info, questions) in enumerate(zip(FOCUS_GROUP_PARTS, FOCUS_GROUP_QUESTIONS, strict=True)):
        if style != "no_headings":
            document.add_paragraph(f"ส่วนที่ {info.number} {info.title}").runs[0].bold = True
        num_id = _restart_numbering(document) if style == "autonum" else 0
        for i, question in enumerate(questions):
            answer = _answer(answers, part, i)
            if answer is None:
                continue
            shown = i + 1 + (offset if style == "no_headings" else 0)
            if style == "autonum_continuous":  # numbering from the paragraph style, running 1–20
                paragraph = document.add_paragraph(question, style="List Number")
            else:
                paragraph = document.add_paragraph(f"{_marker(style, shown)}{question}")
            if style == "autonum":
                _set_num(paragraph, num_id)
            document.add_paragraph(f"ตอบ {answer}" if answer else "ตอบ ......................................")
        offset += info.questions


def _table_style(document: DocumentObject, style: str, answers: Sequence[Sequence[str | None]]) -> None:
    if style == "table_marked":
        table = document.add_table(rows=1, cols=2)
        table.style = "Table Grid"
        table.rows[0].cells[0].text, table.rows[0].cells[1].text = "ประเด็นคำถาม", "คำตอบ"
    for part, (info, questions) in enumerate(zip(FOCUS_GROUP_PARTS, FOCUS_GROUP_QUESTIONS, strict=True)):
        if style == "table":
            document.add_paragraph(f"ส่วนที่ {info.number} {info.title}")
            table = document.add_table(rows=1, cols=3)
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, ("ข้อ", "ประเด็นคำถาม", "ผลการสนทนา"), strict=True):
                cell.text = text
        else:
            heading = table.add_row().cells
            merged = heading[0].merge(heading[1])
            merged.text = f"ส่วนที่ {info.number} {info.title}"
        for i, question in enumerate(questions):
            answer = _answer(answers, part, i)
            if answer is None:
                continue
            cells = table.add_row().cells
            if style == "table":
                cells[0].text, cells[1].text, cells[2].text = str(i + 1), question, answer
            else:
                cells[0].text, cells[1].text = f"{i + 1}. {question}", answer


def make_record_docx(province_name: str, answers: Sequence[Sequence[str | None]] | None = None,
                     style: str = "paragraphs", consent: bool = True, picture: bool = False, *,
                     district: str | None = None, date_text: str = "9 พฤศจิกายน 2565") -> bytes:
    """A focus-group record for one province as .docx bytes.

    `answers[part][i]`: the answer text; "" leaves the question unanswered (dotted line), None leaves
    the question out; a short list leaves the rest out. `picture` puts a photo in the body (a rule break).
    """
    if style not in STYLES:
        raise ValueError(f"style {style!r} is not one of {', '.join(STYLES)}")
    answers = default_answers(province_name) if answers is None else answers
    document = Document()
    document.styles["Normal"].font.name = "TH Sarabun New"
    document.styles["Normal"].font.size = Pt(16)
    _header(document, province_name, district or f"เมือง{province_name}", date_text, consent)
    if style.startswith("table"):
        _table_style(document, style, answers)
    else:
        _paragraph_style(document, style, answers)
    if picture:
        document.add_paragraph("ภาพกิจกรรม")
        document.add_picture(_png())
    document.add_paragraph("ลงชื่อ ........................................ ผู้บันทึก")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
