"""`word_parts` opens a .docx from the package the safety layer unpacked: it must refuse exactly the
packages python-docx's `Document()` refuses (python-docx itself is the oracle here), read the same
record out of those it opens, and never mistake one styles part for another in its cache."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document
from docx_corpus import RULE_CASES, RULES, docx_from_lines, part, rezip, valid_record

from ingest.file_checks import inspect_document
from ingest.record import word_parts as word_parts_module
from ingest.record.document import read_document
from ingest.record.safety import UnsafePackage, open_package
from ingest.record.template import FOCUS_GROUP_PARTS, STYLES
from ingest.record.word_parts import word_parts

_REL = ('<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        '{kind}" Target="{target}"/>')


def _add_rel(docx: bytes, rels_part: str, rel: str) -> bytes:
    xml = part(docx, rels_part)
    return rezip(docx, replace={rels_part: xml.replace("</Relationships>", rel + "</Relationships>").encode()})


def _damaged() -> dict[str, bytes]:
    """Packages that pass the safety layer and that a careless reader could open anyway."""
    record = valid_record()
    settings = part(record, "word/settings.xml")
    types = part(record, "[Content_Types].xml")
    return {
        # A relationship to a part the zip does not hold (an upload cut short, a part deleted by hand).
        "dangling_relationship": _add_rel(record, "word/_rels/document.xml.rels",
                                          _REL.format(n=90, kind="header", target="header9.xml")),
        # A part with neither an Override nor a Default for its extension.
        "part_without_content_type": rezip(_add_rel(record, "word/_rels/document.xml.rels", _REL.format(
            n=91, kind="customXml", target="extra.bin")), add={"word/extra.bin": b"\x00\x01"}),
        "two_styles_relationships": _add_rel(record, "word/_rels/document.xml.rels",
                                             _REL.format(n=92, kind="styles", target="styles.xml")),
        # Malformed after its root: the safety layer reads settings.xml's prolog only; python-docx parses it.
        "settings_malformed_after_root": rezip(record, replace={
            "word/settings.xml": settings.replace("</w:settings>", "<w:zoom></w:settings>").encode()}),
        "no_main_document_relationship": rezip(record, replace={"_rels/.rels": re.sub(
            r'<Relationship [^>]*officeDocument"[^>]*/>', "", part(record, "_rels/.rels")).encode()}),
        # The main part's Override removed: by its extension it is then plain XML, not a Word document.
        "main_part_without_override": rezip(record, replace={"[Content_Types].xml": re.sub(
            r'<Override PartName="/word/document.xml"[^>]*/>', "", types).encode()}),
    }


def _python_docx_reads(docx: bytes) -> bool:
    """Whether python-docx opens the package and gives the reader its styles and numbering (what the
    reader asked of it before `word_parts`)."""
    return _refuses(lambda: _python_docx_parts(docx)) is None


def _refuses(read) -> Exception | None:
    try:
        read()
    except Exception as exc:  # noqa: BLE001 - whatever is raised, the package was refused
        return exc
    return None


@pytest.mark.parametrize("name", sorted(_damaged()))
def test_a_package_python_docx_refuses_is_refused(name):
    docx = _damaged()[name]
    package = open_package(docx)  # the safety layer lets every one of these through
    assert not _python_docx_reads(docx)
    # What python-docx raises (lxml's XMLSyntaxError is a SyntaxError); `_read_word` makes it "unreadable".
    assert isinstance(_refuses(lambda: word_parts(package)), (KeyError, ValueError, SyntaxError))
    assert [v.code for v in inspect_document(docx, RULES).violations] == ["unreadable"]


def test_every_corpus_record_python_docx_opens_reads_the_same():
    """Every record of the rules corpus and every template style that gets past the safety layer: opened
    by both or by neither, and where opened, the same text and record."""
    docs = {f"style {s}": valid_record(s) for s in STYLES}
    docs |= {f"case {c.name}": c.build() for c in RULE_CASES}
    docs["no styles part"] = rezip(valid_record("autonum"), drop=("word/styles.xml",))
    compared = 0
    for name, docx in docs.items():
        try:
            package = open_package(docx)
        except (UnsafePackage, MemoryError):
            continue
        if not _python_docx_reads(docx):
            assert _refuses(lambda: word_parts(package)) is not None, name  # noqa: B023 - called at once
            continue
        ours = read_document(word_parts(package), FOCUS_GROUP_PARTS)
        oracle = read_document(_python_docx_parts(docx), FOCUS_GROUP_PARTS)
        assert ours == oracle, name
        compared += 1
    assert compared >= len(STYLES) + 10


def _python_docx_parts(docx: bytes) -> word_parts_module.WordParts:
    """The same three things, as python-docx's `Document()` finds them."""
    document = Document(io.BytesIO(docx))
    numbering = next((rel.target_part.element for rel in document.part.rels.values()
                      if rel.reltype.endswith("/numbering") and not rel.is_external), None)
    return word_parts_module.WordParts(body=document.element.body,
                                       styles=word_parts_module.style_numbering(document.styles.element),
                                       numbering=numbering)


def test_styles_are_kept_by_content_not_mistaken_for_another_file(monkeypatch):
    """Two records that differ only in their styles part: one numbers its questions through the List
    Number style, the other's List Number numbers nothing. Read one after the other (the cache warm),
    each gets its own numbering."""
    monkeypatch.setattr(word_parts_module, "_styles_read", {})
    lines = ["ส่วนที่ 1", "คำถามแรก", "คำตอบแรก", "คำถามที่สอง", "คำตอบที่สอง"]
    numbered = docx_from_lines(lines, list_number=(1, 3))
    styles = part(numbered, "word/styles.xml")
    start = styles.index('w:styleId="ListNumber"')
    end = styles.index("</w:style>", start)
    unnumbered = rezip(numbered, replace={"word/styles.xml": (
        styles[:start] + re.sub(r"<w:numPr>.*?</w:numPr>", "", styles[start:end], flags=re.S) + styles[end:]).encode()})
    assert unnumbered != numbered
    for _ in range(2):
        for docx in (numbered, unnumbered):
            parts = word_parts(open_package(docx))
            assert parts.styles == _python_docx_parts(docx).styles
    assert word_parts(open_package(numbered)).styles["ListNumber"][0] is not None
    assert word_parts(open_package(unnumbered)).styles["ListNumber"][0] is None
    assert len(word_parts_module._styles_read) == 2


def test_the_styles_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(word_parts_module, "_styles_read", {})
    record = valid_record()
    styles = part(record, "word/styles.xml")
    for n in range(word_parts_module._STYLES_KEPT + 5):
        variant = styles.replace("</w:styles>", f"<!-- {n} --></w:styles>")
        word_parts(open_package(rezip(record, replace={"word/styles.xml": variant.encode()})))
    assert len(word_parts_module._styles_read) == word_parts_module._STYLES_KEPT
