"""Read the focus-group record out of a .docx's parts (`ingest.record.word_parts`): header fields,
then the numbered questions with their answers, checked against the expected parts (`RecordPart`s).

What real templates do, and what is read:
- numbering typed as "1.", "๑.", "ข้อ 1", "1)", "(1)", or Word's automatic numbering (`w:numPr`, on the
  paragraph or its style), which never shows in the text;
- answers in the paragraphs under a question (an optional "ตอบ:" is dropped), or in table rows
  (number | question | answer, or "1. question" | answer);
- part headings "ส่วนที่ 1" / "ตอนที่ 1"; without them, numbering that restarts at 1 starts the next
  part, and numbering that runs on (1–20) is split by the parts' question counts.
Inside one part, only paragraphs numbered the same way as its first question are questions, and
only with a number above the last one: so a list "1. 2. 3." typed inside an answer stays answer text.
When the record has part headings, numbered lines before the first heading (a list of participants)
are never questions. Reading stops at the signature ("ลงชื่อ") or a final certification line.

Missing and unanswered questions are listed in the `RecordReading`; whether they make the file
invalid is the rules' decision (`DocumentRules.require_all_answers`, see `ingest.file_checks`).
Participants are kept as a count only: their names are personal data (PDPA) and not needed here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from lxml import etree

from ingest.campaign import RecordPart
from ingest.facts import RecordAnswer, RecordReading
from ingest.record.word_parts import W_NS, WordParts, child_val
from ingest.thaidate import DateParseError, parse_datetime, thai_digits_to_arabic

_W = W_NS
_NS = {"w": _W, "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006"}
# Text a reader sees. Not: text boxes (a rule break of their own), the VML fallback of a drawing, the
# old place of text moved with tracked changes (w:moveFrom keeps it in w:t, not w:delText: Word for Mac
# 2011 in jgm/pandoc test/docx/track_changes_move.docx @18ab864), and the prompt of a content control
# still showing its placeholder (w:showingPlcHdr: LibreOffice writes its placeholder fields so, e.g.
# "<พิมพ์คำตอบที่นี่>" left unfilled in a template; Word does the same for "Click or tap here…").
_TEXT_NODES = etree.XPath(
    "(.//w:r/w:t | .//w:r/w:tab | .//w:r/w:br | .//w:r/w:cr | .//w:r/w:noBreakHyphen)"
    "[not(ancestor::w:txbxContent) and not(ancestor::mc:Fallback) and not(ancestor::w:moveFrom)"
    " and not(ancestor::w:sdt[w:sdtPr/w:showingPlcHdr[not(@w:val='0' or @w:val='false' or @w:val='off')]])]",
    namespaces=_NS)
_BLOCK_CONTAINERS = {f"{{{_W}}}sdt", f"{{{_W}}}sdtContent", f"{{{_W}}}customXml"}
_P, _TBL, _TR, _TC = (f"{{{_W}}}{n}" for n in ("p", "tbl", "tr", "tc"))

# Thai text carries zero-width spaces as line-break hints; they must not split words for the regexes.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_MARKER = re.compile(
    r"^\s*(?:(?P<kho>ข้อ(?:ที่)?\s*(?P<n1>\d{1,2}))(?!\d)\s*[.):：]?"
    r"|\(?(?P<n2>\d{1,2})\s*\)"
    r"|(?P<n3>\d{1,2})\s*\.(?!\d))\s*")
_NUMBER_CELL = re.compile(r"^\s*(?:ข้อ(?:ที่)?\s*)?(\d{1,2})\s*[.)]?\s*$")
_THAI_ORDINALS = {"หนึ่ง": 1, "สอง": 2, "สาม": 3, "สี่": 4, "ห้า": 5, "หก": 6}
_PART = re.compile(r"^\s*(?:ส่วนที่|ตอนที่)\s*(\d{1,2}|หนึ่ง|สอง|สาม|สี่|ห้า|หก)")
_ANSWER_LABEL = re.compile(r"^\s*(?:คำตอบ|ตอบ)\s*[:：]?\s*")
_INLINE_ANSWER = re.compile(r"\s(?:คำตอบ|ตอบ)\s*[:：]\s*")
_LEADER = re.compile(r"[.…_\-–]{3,}")
_QA_HEADER = re.compile(r"คำถาม|ประเด็น|คำตอบ|ลำดับ|ผลการสนทนา|ความคิดเห็น")
# A numbered table of people (ลำดับ | ชื่อ-สกุล | ตำแหน่ง) looks like numbered questions; it is not.
_PEOPLE_HEADER = re.compile(r"ชื่อ|ตำแหน่ง|ลายมือ|หน่วยงาน|โทรศัพท์|ลงนาม")
_DEFAULT_STOP = r"^\s*\(?\s*ลงชื่อ|^\s*(?:ข้าพเจ้า\S*\s*)?(?:ขอ)?รับรอง(?:ว่า|การ)|^\s*รายชื่อผู้เข้าร่วม"

# Header labels as Thai templates write them; the value runs to the next label or the end of line.
_LABELS = {
    "province": r"จังหวัด",
    "district": r"อำเภอ|เขต",
    "date": r"วัน(?:จันทร์|อังคาร|พุธ|พฤหัสบดี|พฤหัส|ศุกร์|เสาร์|อาทิตย์)?ที่|วันเดือนปี",
    "facilitator": r"ผู้ดำเนินการสนทนา(?:กลุ่ม)?|ผู้ดำเนินรายการ|ผู้นำการสนทนา|วิทยากร(?:กระบวนการ)?",
    "recorder": r"ผู้บันทึก(?:ข้อมูล)?|ผู้จดบันทึก",
    "participants": r"(?:จำนวน)?ผู้เข้าร่วม(?:การ)?(?:สนทนา(?:กลุ่ม)?)?(?:\s*จำนวน)?",
}
_ANY_LABEL = "|".join(f"(?:{p})" for p in _LABELS.values())
_ONE_WORD = {"province", "district"}
_NOT_A_PLACE = ("นำร่อง",)  # "โครงการอำเภอนำร่อง" in the title is not a district


@dataclass(frozen=True)
class ReadDocument:
    """The body text (for the consent and length rules) and the record read from it."""

    text: str
    record: RecordReading


def clean_text(text: str) -> str:
    # One C scan per character, and usually none to remove: `str.translate` looks each character of a
    # Thai text up in a dict (110 us for 1,900 characters against 0.4 us; a record 14.4 -> 13.5 ms).
    for char in _INVISIBLE:
        if char in text:
            text = text.replace(char, "")
    return text


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


class _Numbering:
    """Word's automatic numbering, replayed in document order: which list a paragraph is in and the
    number Word shows for it."""

    def __init__(self, parts: WordParts) -> None:
        self._styles = parts.styles
        self._abstract_of: dict[str, str] = {}
        self._formats: dict[tuple[str, int], tuple[str, int, str]] = {}
        self._overrides: dict[tuple[str, int], int] = {}
        self._counters: dict[str, list[int | None]] = {}
        numbering = parts.numbering
        if numbering is None:
            return
        links: dict[str, str] = {}
        for abstract in numbering.iterfind(f"{{{_W}}}abstractNum"):
            abstract_id = abstract.get(f"{{{_W}}}abstractNumId", "")
            if (link := child_val(abstract, "numStyleLink")) is not None:
                links[abstract_id] = link
            for lvl in abstract.iterfind(f"{{{_W}}}lvl"):
                level = _int(lvl.get(f"{{{_W}}}ilvl"), 0)
                fmt = child_val(lvl, "numFmt") or "decimal"
                self._formats[(abstract_id, level)] = (fmt, _int(child_val(lvl, "start"), 1),
                                                       child_val(lvl, "lvlText") or "")
        for num in numbering.iterfind(f"{{{_W}}}num"):
            num_id = num.get(f"{{{_W}}}numId", "")
            self._abstract_of[num_id] = child_val(num, "abstractNumId") or ""
            for override in num.iterfind(f"{{{_W}}}lvlOverride"):
                start = child_val(override, "startOverride")
                if start is not None:
                    self._overrides[(num_id, _int(override.get(f"{{{_W}}}ilvl"), 0))] = _int(start, 1)
        # A list style: the abstractNum holds no levels, only w:numStyleLink to a numbering style whose
        # w:numId leads to the abstractNum that does (Word's list styles; Apple Pages numbers every
        # list so, ShayHill/docx2python tests/resources/created-in-pages-bulleted-lists.docx). Lists
        # through the link share its levels and its counter.
        for abstract_id, style_id in links.items():
            linked_num = self._styles.get(style_id, (None, None, None))[0]
            target = self._abstract_of.get(linked_num or "")
            if target is not None and target not in links:
                self._abstract_of.update({n: target for n, a in self._abstract_of.items() if a == abstract_id})

    def _num_pr(self, p: etree._Element) -> tuple[str | None, int]:
        num = p.find(f"{{{_W}}}pPr/{{{_W}}}numPr")
        num_id, ilvl = child_val(num, "numId"), child_val(num, "ilvl")
        style = p.find(f"{{{_W}}}pPr/{{{_W}}}pStyle")
        style_id = style.get(f"{{{_W}}}val") if style is not None else None
        seen = 0
        while num_id is None and style_id in self._styles and seen < 20:  # basedOn chains can loop
            num_id, style_ilvl, style_id = self._styles[style_id]
            ilvl = ilvl or style_ilvl
            seen += 1
        return num_id, _int(ilvl, 0)

    def number(self, p: etree._Element) -> tuple[str, int, str] | None:
        """(list key, shown number, label shown) for a numbered paragraph; None for bullets and plain text."""
        num_id, level = self._num_pr(p)
        if not num_id or num_id == "0" or num_id not in self._abstract_of or not 0 <= level < 9:
            return None
        abstract_id = self._abstract_of[num_id]
        fmt, start, text = self._formats.get((abstract_id, level), ("decimal", 1, ""))
        # Nums sharing an abstract numbering share its counter; a num's start override restarts it the
        # first time that num is used (LibreOffice writes one such num per "restart numbering").
        counters = self._counters.setdefault(abstract_id, [None] * 9)
        restart = self._overrides.pop((num_id, level), None)
        current = counters[level]
        counters[level] = restart if restart is not None else start if current is None else current + 1
        for deeper in range(level + 1, 9):
            counters[deeper] = None
        if fmt in ("bullet", "none"):
            return None
        label = re.sub(r"%([1-9])", lambda m: str(counters[int(m.group(1)) - 1] or 0), text)
        return f"{abstract_id}:{level}", counters[level] or 0, label


@dataclass
class _Block:
    """A paragraph (text, auto number) or a question|answer table row (row=True)."""

    text: str
    auto: tuple[str, int] | None = None
    row: bool = False
    number: int | None = None
    kind: str = ""
    answer: str = ""


def _paragraph_text(p: etree._Element) -> str:
    parts = []
    for node in _TEXT_NODES(p):
        tag = node.tag.rsplit("}", 1)[-1]
        if tag == "t":
            parts.append(node.text or "")
        elif tag == "tab":
            parts.append(" ")
        elif tag == "noBreakHyphen":
            parts.append("-")
        else:
            parts.append("\n")
    return clean_text("".join(parts))


def _children(element: etree._Element) -> Iterator[etree._Element]:
    """Block-level children, looking through content controls (w:sdt) that templates wrap forms in."""
    for child in element:
        if child.tag in _BLOCK_CONTAINERS:
            yield from _children(child)
        elif child.tag in (_P, _TBL):
            yield child


def _unique_cells(tr: etree._Element) -> list[etree._Element]:
    cells = []
    for child in tr:
        if child.tag == _TC:
            cells.append(child)
        elif child.tag in _BLOCK_CONTAINERS:  # a row-level content control wraps its cells
            cells.extend(c for c in child.iter(_TC))
    return cells


@dataclass
class _Cell:
    """A table cell: its text, the auto number of its first paragraph, and its own blocks in order."""

    text: str
    auto: tuple[str, int] | None
    blocks: list[_Block]


class _Walker:
    def __init__(self, numbering: _Numbering) -> None:
        self.numbering = numbering

    def paragraph(self, p: etree._Element) -> _Block:
        text, auto = _paragraph_text(p), self.numbering.number(p)
        if auto is None:
            return _Block(text)
        if _part_number(auto[2]) is not None:
            # A part heading numbered by the list itself: Writer's chapter numbering exports Heading 2
            # with lvlText "ส่วนที่ %2 " (written by soffice here); Word's multilevel lists linked to
            # headings do the same. The label never appears in w:t, so it is put back in front.
            return _Block(f"{auto[2]}{text}")
        return _Block(text, auto[:2])

    def cell(self, tc: etree._Element, depth: int) -> _Cell:
        blocks = list(self.blocks(tc, depth + 1))
        texts = [b.text if not b.row else f"{b.text} {b.answer}" for b in blocks]
        return _Cell("\n".join(t for t in texts if t.strip()), blocks[0].auto if blocks else None, blocks)

    def blocks(self, container: etree._Element, depth: int = 0) -> Iterator[_Block]:
        for child in _children(container):
            if child.tag == _P:
                yield self.paragraph(child)
            elif depth < 8:  # deeper nesting than any template: read no further
                yield from self.table(child, depth)

    def table(self, tbl: etree._Element, depth: int) -> Iterator[_Block]:
        # Every cell is read before any row is judged, so auto numbering is replayed in document order.
        rows = [[self.cell(tc, depth) for tc in _unique_cells(tr)] for tr in tbl.iterfind(f"{{{_W}}}tr")]
        qa = _is_question_table(rows)
        for cells in rows:
            joined = "  ".join(c.text for c in cells if c.text.strip())
            if qa and len(cells) >= 2:
                if not joined or _part_number(joined) is not None:
                    yield _Block(joined)  # a part heading typed in a row, or an empty row
                elif not _is_column_headings(cells):
                    yield _row_block(cells)
            elif len(cells) >= 2 and all("\n" not in c.text for c in cells):
                # A label | value row ("จังหวัด | ยะลา"): one line, so header labels find their value.
                yield _Block(joined)
            else:
                # A frame around the whole form, or a layout table: its paragraphs, as if untabled.
                for cell in cells:
                    yield from cell.blocks


def _is_question_table(rows: list[list[_Cell]]) -> bool:
    wide = [r for r in rows if len(r) >= 2]
    if len(wide) < 2 or any(len(c.text) < 30 and _PEOPLE_HEADER.search(c.text) for c in wide[0]):
        return False
    numbered = sum(1 for r in wide if _row_number(r)[0] is not None)
    headed = any(_QA_HEADER.search(" ".join(c.text for c in r)) for r in wide[:2])
    return numbered >= 2 or (headed and len(wide) >= 3)


def _is_column_headings(cells: Sequence[_Cell]) -> bool:
    """"ข้อ | ประเด็นคำถาม | คำตอบ": short cells, no number, a heading word."""
    return (_row_number(cells)[0] is None and all(len(c.text) < 40 for c in cells)
            and any(_QA_HEADER.search(c.text) for c in cells))


def _row_number(cells: Sequence[_Cell]) -> tuple[int | None, int, str]:
    """(number, index of the question cell, marker kind) of a table row."""
    digits = thai_digits_to_arabic(cells[0].text)
    if m := _NUMBER_CELL.match(digits):
        return int(m.group(1)), 1, "cell"
    if cells[0].auto is not None:
        return cells[0].auto[1], 0, f"auto:{cells[0].auto[0]}"
    if m := _MARKER.match(digits):
        return int(m.group("n1") or m.group("n2") or m.group("n3")), 0, _marker_kind(m)
    return None, 0, ""


def _row_block(cells: list[_Cell]) -> _Block:
    number, q_index, kind = _row_number(cells)
    question = cells[q_index].text if q_index < len(cells) else ""
    marker = _MARKER.match(thai_digits_to_arabic(question))
    if kind in ("kho", "paren", "dot") and marker:
        question = question[marker.end():]
    answer = "\n".join(c.text for c in cells[q_index + 1:])
    return _Block(question, row=True, number=number, kind=kind or "row", answer=answer)


def _marker_kind(m: re.Match[str]) -> str:
    return "kho" if m.group("n1") else "paren" if m.group("n2") else "dot"


def _part_number(text: str) -> int | None:
    m = _PART.match(thai_digits_to_arabic(text))
    if not m:
        return None
    word = m.group(1)
    return _THAI_ORDINALS.get(word) or _int(word, 0) or None


@dataclass
class _Question:
    part: int
    number: int
    question: str
    answer: list[str] = field(default_factory=list)


class _Assembler:
    """Questions and answers from the stream of blocks, under the expected structure."""

    def __init__(self, parts: Sequence[RecordPart], has_headings: bool, stop: re.Pattern[str]) -> None:
        self.parts = list(parts)
        self.has_headings = has_headings
        self.stop = stop
        self.part = parts[0].number if parts else 1
        self.in_parts = not has_headings  # with headings, questions start at the first one
        self.style: str | None = None
        self.last = 0
        self.questions: list[_Question] = []
        self.header: list[str] = []
        self.stopped = False

    def _count(self, part: int) -> int | None:
        return next((p.questions for p in self.parts if p.number == part), None)

    def _offset(self, part: int) -> int:
        total = 0
        for p in self.parts:
            if p.number == part:
                return total
            total += p.questions
        return total

    def _place(self, n: int, kind: str) -> tuple[int, int] | None:
        """(part, number) for a numbered line, or None when it is not the next question."""
        if self.style is not None and kind != self.style and kind != "row":
            return None
        if not self.parts:
            if n > self.last:
                return self.part, n
            return (self.part + 1, n) if not self.has_headings and self.questions and n == 1 else None
        count = self._count(self.part) or 0
        offset = self._offset(self.part)
        if self.last < n <= count:
            return self.part, n
        if offset and self.last < n - offset <= count:
            return self.part, n - offset  # numbering runs on across parts (part 2 is 11–15)
        if self.has_headings:
            return None
        index = next((i for i, p in enumerate(self.parts) if p.number == self.part), 0)
        if n <= self.last and n == 1 and index + 1 < len(self.parts) and self.questions:
            return self.parts[index + 1].number, n  # numbering restarted: the next part
        for p in self.parts[index + 1:]:
            if 0 < n - self._offset(p.number) <= p.questions:
                return p.number, n - self._offset(p.number)
        return None

    def _start(self, part: int, number: int, kind: str, question: str, answer: str) -> None:
        if part != self.part:
            self.part, self.style = part, None
        self.style = self.style or kind
        self.last = number
        self.questions.append(_Question(part, number, question, [answer] if answer else []))

    def feed(self, block: _Block) -> None:
        if self.stopped:
            return
        text = block.text
        heading = None if block.row else _part_number(text)
        if heading is not None and (not self.parts or self._count(heading) is not None) \
                and (not self.in_parts or heading >= self.part):
            self.part, self.style, self.last, self.in_parts = heading, None, 0, True
            return
        if self.questions and self.stop.search(text):
            self.stopped = True
            return
        if self.in_parts and self._question(block):
            return
        if self.questions:
            self.questions[-1].answer.append(text if not block.row else f"{text}\n{block.answer}")
        else:
            self.header.append(text)

    def _question(self, block: _Block) -> bool:
        if block.row:
            n = block.number if block.number is not None else self.last + 1
            placed = self._place(n, block.kind)
            if placed is None and block.number is None and not self.has_headings:
                placed = self._place(1, block.kind)  # an unnumbered row past a part's count
            if placed is None:
                return False
            self._start(*placed, block.kind, block.text.strip(), block.answer)
            return True
        digits = thai_digits_to_arabic(block.text)
        if block.auto is not None:
            kind, n, rest = f"auto:{block.auto[0]}", block.auto[1], block.text
        elif m := _MARKER.match(digits):
            kind, n, rest = _marker_kind(m), int(m.group("n1") or m.group("n2") or m.group("n3")), block.text[m.end():]
        else:
            return False
        placed = self._place(n, kind)
        if placed is None:
            return False
        question, answer = _split_question(rest)
        self._start(*placed, kind, question, answer)
        return True


def _split_question(text: str) -> tuple[str, str]:
    """A question line may carry its answer: after a line break, after "ตอบ:", or after a "?"."""
    if "\n" in text:
        question, answer = text.split("\n", 1)
        return question.strip(), answer
    if m := _INLINE_ANSWER.search(text):
        return text[:m.start()].strip(), text[m.end():]
    head, mark, tail = text.partition("?")
    if mark and re.search(r"\w", tail):
        return (head + mark).strip(), tail
    return _LEADER.sub(" ", text).strip(), ""


def clean_answer(lines: Sequence[str]) -> str:
    """Answer text without "ตอบ:" labels, dotted leaders and blank lines; "" when nothing was typed."""
    kept = []
    for line in lines:
        line = _LEADER.sub(" ", _ANSWER_LABEL.sub("", line))
        line = re.sub(r"[ \t]+", " ", line).strip()
        if re.search(r"\w", line):
            kept.append(line)
    return "\n".join(kept)


def read_header(lines: Sequence[str]) -> dict[str, str]:
    """Header fields from the lines before the first question, first good value per field."""
    header: dict[str, str] = {}
    for raw in lines:
        # Dotted fill-in lines become gaps, so "จังหวัด.....ยะลา.....อำเภอ....." splits like spaced text.
        line = _LEADER.sub("  ", thai_digits_to_arabic(raw))
        for field_name, label in _LABELS.items():
            if field_name in header:
                continue
            for m in re.finditer(rf"(?:^|(?<=\s))(?:{label})\s*[:：]?\s*(?P<value>.*?)\s*(?=(?:{_ANY_LABEL})\s*[:：]|$|\s{{2,}})", line):
                value = _LEADER.sub(" ", m.group("value")).strip(" :：\t")
                value = _field_value(field_name, value)
                if value:
                    header[field_name] = value
                    break
    if "date" in header:
        with contextlib.suppress(DateParseError):  # a date Thai readers understand but we cannot parse
            header["date_iso"] = parse_datetime(header["date"]).date().isoformat()
    return header


def _field_value(field_name: str, value: str) -> str:
    if field_name in _ONE_WORD:
        value = value.split()[0] if value.split() else ""
        if value.startswith(_NOT_A_PLACE):
            return ""
    if field_name == "participants":
        m = re.search(r"(\d{1,3})\s*(?:คน|ราย|ท่าน)?", value)
        return m.group(1) if m else ""
    if field_name == "date":
        m = re.search(r"\d{1,2}\s*\S+\s*(?:พ\.?\s*ศ\.?\s*)?\d{2,4}|\d{1,2}/\d{1,2}/\d{2,4}", value)
        return m.group(0) if m else ""
    return value[:80]


def expected_labels(parts: Sequence[RecordPart]) -> list[tuple[int, int]]:
    return [(p.number, n) for p in parts for n in range(1, p.questions + 1)]


def label_th(part: int, number: int) -> str:
    return f"ส่วนที่ {part} ข้อ {number}"


def read_document(document: WordParts, parts: Sequence[RecordPart] = (), *,
                  stop_pattern: str | None = None) -> ReadDocument:
    """The body text and the record; `stop_pattern` adds to the built-in end-of-record lines."""
    walker = _Walker(_Numbering(document))
    body = document.body
    blocks = list(walker.blocks(body)) if body is not None else []
    text = "\n".join(b.text if not b.row else f"{b.text}\n{b.answer}" for b in blocks)
    stop = _DEFAULT_STOP + (f"|{stop_pattern}" if stop_pattern else "")
    has_headings = any(not b.row and _part_number(b.text) is not None for b in blocks)
    assembler = _Assembler(parts, has_headings, re.compile(stop))
    for block in blocks:
        assembler.feed(block)
    answers = tuple(RecordAnswer(q.part, q.number, q.question, clean_answer(q.answer)) for q in assembler.questions)
    found = {(a.part, a.number) for a in answers}
    missing = tuple(label_th(p, n) for p, n in expected_labels(parts) if (p, n) not in found)
    unanswered = tuple(label_th(a.part, a.number) for a in answers if not a.answer)
    record = RecordReading(header=read_header(assembler.header), answers=answers, missing=missing,
                           unanswered=unanswered)
    return ReadDocument(text=text, record=record)

