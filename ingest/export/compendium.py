"""The compendium รวมแบบบันทึกสนทนากลุ่ม.docx: every unit's counted focus-group record, side by side.

Parts and questions are headings (Heading 1, Heading 2), each unit's answer sits under its name
(Heading 3) in unit-code order, so Word's navigation pane and the table of contents follow the
questionnaire. Thai official documents use TH Sarabun New at 16 pt (the Cabinet's resolution of
2010 on the government's national fonts; Office of the Prime Minister's rules on official documents).
Fallback: the font table's `w:altName` lists the names a reader without TH Sarabun New tries next
(ECMA-376 Part 1, 17.8.3.1: "a comma-delimited list ... use the first font for which it locates a
match"): TH SarabunPSK (the same design's older release) and Laksaman (its libre version in TLWG).
The table of contents and page numbers are Word fields (ECMA-376 Part 1, 17.16: fldChar begin,
instrText, separate, end), and settings' `w:updateFields` (17.15.1.90) asks Word to fill them on open.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph
from lxml import etree

from ingest.export.package import pin_package
from ingest.export.private import NAMED_PEOPLE
from ingest.export.snapshot import Snapshot
from ingest.facts import RecordReading
from ingest.status import STATUS_TH
from ingest.thaidate import format_thai_date

FILE_NAME = "รวมแบบบันทึกสนทนากลุ่ม.docx"
FONT = "TH Sarabun New"
FALLBACK_FONTS = "TH SarabunPSK,Laksaman"
BODY_PT = 16
HEADING_PT = {"Title": 26, "Heading 1": 20, "Heading 2": 18, "Heading 3": 16}
HEADER_FIELDS_TH = {"district": "อำเภอ", "date": "วันที่จัดสนทนากลุ่ม", "facilitator": "ผู้ดำเนินการสนทนา",
                    "recorder": "ผู้บันทึก", "participants": "จำนวนผู้เข้าร่วม (คน)"}


@dataclass(frozen=True)
class CountedRecord:
    unit_code: str
    unit_name: str
    file_id: str
    record: RecordReading


def counted_records(snapshot: Snapshot) -> tuple[str, list[CountedRecord]]:
    """(deliverable id, records) of the first document deliverable whose counted files hold answers.

    One record per unit, in unit-code order: its latest counted file (a team that sends a corrected
    record means the new one to stand)."""
    files = snapshot.tables.files
    names = {u.code: u.name for u in snapshot.campaign.units}
    for deliverable in snapshot.campaign.deliverables:
        if deliverable.kind != "document" or not len(files):
            continue
        counted = files[(files["deliverable"] == deliverable.id) & files["counted"].astype(bool)]
        latest = counted.sort_values(["arrived_at", "file_id"]).groupby("unit_code").tail(1)
        records = []
        for row in latest.sort_values("unit_code").itertuples(index=False):
            fact = snapshot.facts.get(row.file_id)
            if fact is not None and fact.record is not None and fact.record.answers:
                records.append(CountedRecord(row.unit_code, names.get(row.unit_code, row.unit_name), row.file_id,
                                             fact.record))
        if records:
            return deliverable.id, records
    return "", []


def _fonts(run_properties) -> None:
    """Latin, complex-script (Thai) and East-Asian slots all set: Thai text is laid out with w:cs."""
    fonts = run_properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        run_properties.insert(0, fonts)
    for attribute in list(fonts.attrib):
        if attribute.endswith("Theme"):  # a theme font would win over the names
            del fonts.attrib[attribute]
    for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(slot), FONT)


def _style_fonts(document: DocumentObject) -> None:
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Table Grid"):
        style = document.styles[name]
        size = HEADING_PT.get(name, BODY_PT)
        style.font.size = Pt(size)
        if name != "Normal" and name != "Table Grid":
            style.font.bold = True
            style.font.color.rgb = RGBColor(0, 0, 0)
        properties = style.element.get_or_add_rPr()
        _fonts(properties)
        complex_size = properties.find(qn("w:szCs"))
        if complex_size is None:
            complex_size = OxmlElement("w:szCs")
            properties.append(complex_size)
        complex_size.set(qn("w:val"), str(size * 2))  # half-points; Thai text takes its size from szCs
    _font_table(document)


def _font_table(document: DocumentObject) -> None:
    """Declare the font with its fallbacks in word/fontTable.xml (python-docx's template has that part)."""
    for rel in document.part.rels.values():
        if rel.reltype.endswith("/fontTable"):
            fonts = rel.target_part
            root = etree.fromstring(fonts.blob)
            entry = etree.SubElement(root, qn("w:font"))
            entry.set(qn("w:name"), FONT)
            for tag, value in (("w:altName", FALLBACK_FONTS), ("w:charset", "DE"), ("w:family", "swiss"),
                               ("w:pitch", "variable")):
                child = etree.SubElement(entry, qn(tag))
                child.set(qn("w:val"), value)
            fonts._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            return


def _field(paragraph: Paragraph, instruction: str, placeholder: str = "") -> None:
    for kind, text in (("begin", None), ("instr", instruction), ("separate", None), ("text", placeholder),
                       ("end", None)):
        run = paragraph.add_run()
        if kind == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {text} "
            run._r.append(element)
        elif kind == "text":
            run.text = text or ""
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
            if kind == "begin":
                element.set(qn("w:dirty"), "true")  # stale until Word computes it
            run._r.append(element)


def _update_fields_on_open(document: DocumentObject) -> None:
    settings = document.settings.element
    element = OxmlElement("w:updateFields")
    element.set(qn("w:val"), "true")
    settings.append(element)


def _page_numbers(document: DocumentObject) -> None:
    footer = document.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("หน้า ")
    _field(footer, "PAGE", "1")


def _cover(document: DocumentObject, snapshot: Snapshot, counted: int) -> None:
    title = document.add_paragraph(snapshot.campaign.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text in ("รวมแบบบันทึกประเด็นสนทนากลุ่ม (Focus Group)",
                 f"ข้อมูล ณ วันที่ {format_thai_date(snapshot.as_of, with_time=True)}",
                 f"แบบบันทึกที่นับได้ {counted} จาก {len(snapshot.campaign.units)} หน่วยงาน"):
        document.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph("สารบัญ", style="Title")
    _field(document.add_paragraph(), 'TOC \\o "1-3" \\h \\z \\u',
           "คลิกขวาแล้วเลือก “อัปเดตเขตข้อมูล” (Update Field) เพื่อแสดงสารบัญ")
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


class _Writer:
    """Appends paragraphs straight before the body's section properties: python-docx's add_heading looks
    the style up by name and searches the body for sectPr on every call (seconds for 2,000 headings)."""

    def __init__(self, document: DocumentObject) -> None:
        self.document = document
        self.anchor = document.element.body.sectPr
        self.ids = {name: document.styles[name].style_id for name in HEADING_PT}

    def add(self, text: str, style: str | None = None) -> Paragraph:
        p = OxmlElement("w:p")
        self.anchor.addprevious(p)
        paragraph = Paragraph(p, self.document._body)
        if style:
            p.style = self.ids[style]
        if text:
            paragraph.add_run(text)
        return paragraph


def question_texts(records: list[CountedRecord]) -> dict[tuple[int, int], str]:
    """(part, number) → the question as most records word it (the earliest unit's wording on a tie)."""
    votes: dict[tuple[int, int], Counter[str]] = {}
    for record in records:
        for answer in record.record.answers:
            votes.setdefault((answer.part, answer.number), Counter())[answer.question.strip()] += 1
    return {key: max(counter.items(), key=lambda kv: kv[1])[0] for key, counter in sorted(votes.items())}


def _record_details(document: DocumentObject, records: list[CountedRecord], pseudonymised: bool) -> None:
    fields = [f for f in HEADER_FIELDS_TH if not (pseudonymised and f in NAMED_PEOPLE)]
    document.add_heading("ข้อมูลการสนทนากลุ่มของแต่ละหน่วยงาน", level=1)
    table = document.add_table(rows=1, cols=2 + len(fields))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ["รหัส", "หน่วยงาน", *(HEADER_FIELDS_TH[f] for f in fields)],
                          strict=True):
        cell.text = text
    for record in records:
        values = [record.unit_code, record.unit_name, *(record.record.header.get(f, "") for f in fields)]
        for cell, text in zip(table.add_row().cells, values, strict=True):
            cell.text = text


def _appendix(document: DocumentObject, snapshot: Snapshot, deliverable: str, records: list[CountedRecord]) -> None:
    document.add_heading("ภาคผนวก หน่วยงานที่ไม่มีแบบบันทึกที่นับได้", level=1)
    have = {r.unit_code for r in records}
    rows = missing_units(snapshot, deliverable, have)
    if not rows:
        document.add_paragraph("ทุกหน่วยงานมีแบบบันทึกที่นับได้")
        return
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("รหัส", "หน่วยงาน", "เหตุผล"), strict=True):
        cell.text = text
    for code, name, reason in rows:
        for cell, text in zip(table.add_row().cells, (code, name, reason), strict=True):
            cell.text = text


def missing_units(snapshot: Snapshot, deliverable: str, have: set[str]) -> list[tuple[str, str, str]]:
    """(code, name, Thai reason) of every unit without a counted record, in code order."""
    rows = []
    for unit in sorted(snapshot.evaluation.units, key=lambda u: u.code):
        if unit.code in have:
            continue
        cell = unit.deliverables.get(deliverable) if deliverable else None
        if cell is None:
            reason = "ไม่มีรายการแบบบันทึกในการตั้งค่า"
        elif cell.status == "excused":
            reason = f"{STATUS_TH['excused']}: {cell.note}" if cell.note else STATUS_TH["excused"]
        elif cell.reasons:
            reason = "ไม่นับ: " + "; ".join(cell.reasons)
        elif cell.received:
            reason = "อ่านคำตอบในไฟล์ไม่ได้ (ไม่พบข้อคำถามตามแบบบันทึก)"
        else:
            reason = STATUS_TH[cell.status]
        rows.append((unit.code, unit.name, reason))
    return rows


def build_compendium(snapshot: Snapshot, *, pseudonymised: bool) -> tuple[bytes, int]:
    """The .docx bytes and how many records it holds."""
    deliverable, records = counted_records(snapshot)
    document = Document()
    _style_fonts(document)
    _update_fields_on_open(document)
    _page_numbers(document)
    properties = document.core_properties
    properties.title = f"รวมแบบบันทึกสนทนากลุ่ม: {snapshot.campaign.title}"
    properties.author = "tidtam"
    properties.last_modified_by = "tidtam"
    properties.revision = 1
    # Both pinned to the as-of again in the package (pin_package), whatever python-docx writes here.
    properties.created = properties.modified = snapshot.as_of.astimezone(UTC).replace(tzinfo=None)
    _cover(document, snapshot, len(records))
    if records:
        _record_details(document, records, pseudonymised)
    texts = question_texts(records)
    by_unit: Mapping[str, dict[tuple[int, int], str]] = {
        r.unit_code: {(a.part, a.number): a.answer for a in r.record.answers} for r in records}
    part_titles = _part_titles(snapshot, deliverable)
    writer = _Writer(document)
    current_part = None
    for (part, number), question in texts.items():
        if part != current_part:
            writer.add(f"ส่วนที่ {part}" + (f" {part_titles[part]}" if part_titles.get(part) else ""), "Heading 1")
            current_part = part
        writer.add(f"ข้อ {number} {question}", "Heading 2")
        for record in records:
            answer = by_unit[record.unit_code].get((part, number))
            if answer is None:
                continue
            writer.add(f"{record.unit_code} {record.unit_name}", "Heading 3")
            for line in (answer or "(ไม่ได้ตอบ)").split("\n"):
                writer.add(line)
    _appendix(document, snapshot, deliverable, records)
    buffer = io.BytesIO()
    document.save(buffer)
    return pin_package(buffer.getvalue(), snapshot.as_of), len(records)


def _part_titles(snapshot: Snapshot, deliverable: str) -> dict[int, str]:
    if not deliverable:
        return {}
    return {p.number: p.title for p in snapshot.campaign.deliverable(deliverable).document_rules.record_parts}
