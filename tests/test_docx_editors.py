"""The focus-group record from every editor people use: the 20 answers, the header and the rules read
the same from LibreOffice Writer (files written here by soffice), Google Docs' .docx export, WPS
Office, Word for Mac, and Word storing its main part as word/document2.xml (traits from real files,
see tests/docx_editors.py)."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile

import pytest
from docx_corpus import RULES, STRICT, part, rezip, valid_record
from docx_editors import EDITORS, WRITER_LAYOUTS, libreoffice_file, soft_break_at
from test_docx_record import HEADER, expected_rows

from ingest.campaign import DocumentRules
from ingest.facts import FileFacts
from ingest.file_checks import inspect_document, sniff
from ingest.record.template import STYLES, default_answers, make_record_docx


def rows(facts: FileFacts) -> list[tuple[int, int, str, str]]:
    assert facts.record is not None
    return [(a.part, a.number, a.question, a.answer) for a in facts.record.answers]


def application(docx: bytes) -> str | None:
    """The writer a package names in docProps/app.xml; None when it has none (Google Docs)."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        if "docProps/app.xml" not in archive.namelist():
            return None
        found = re.search(r"<Application>([^<]*)</Application>", archive.read("docProps/app.xml").decode())
        return found.group(1) if found else None


# --- LibreOffice Writer: files soffice wrote in this session ---------------------------------------

@pytest.mark.parametrize("how", ["roundtrip", "resave"])
@pytest.mark.parametrize("style", STYLES)
def test_a_record_written_by_libreoffice_reads_the_same(style: str, how: str) -> None:
    docx = libreoffice_file(f"{how}-{style}.docx")
    assert application(docx).startswith("LibreOffice/")
    facts = inspect_document(docx, RULES)
    assert facts.violations == ()
    assert rows(facts) == expected_rows()
    assert facts.record.header == HEADER


def writer_expected_rows() -> list[tuple[int, int, str, str]]:
    expected = expected_rows()
    p, n, question, answer = expected[1]  # answer 1.2 has a soft line break (Shift+Enter)
    cut = soft_break_at(answer)
    expected[1] = (p, n, question, f"{answer[:cut]}\n{answer[cut + 1:]}")
    return expected


@pytest.mark.parametrize("layout", [layout for layout in WRITER_LAYOUTS if layout != "placeholders"])
def test_a_record_typed_in_writer_reads_the_same(layout: str) -> None:
    """Writer's own numbered list (one per part) or tables, a date field, a bookmark, tabs, a soft line
    break, and an unaccepted tracked deletion and insertion; "outline": the "ส่วนที่ n" of each part
    heading shown by chapter numbering, not typed. The reader sees what Writer shows."""
    docx = libreoffice_file(f"writer-{layout}.docx")
    document = part(docx, "word/document.xml")
    if layout == "list":  # what Writer's export made of the constructs, so the test reads them
        for markup in ("<w:del ", "<w:ins ", "<w:delText>", "<w:br/>", "<w:tab/>", "<w:bookmarkStart",
                       'w:fldCharType="begin"', "<w:numPr>"):
            assert markup in document, markup
    if layout == "outline":
        assert "ส่วนที่" not in "".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", document))
        assert 'w:val="ส่วนที่ %2 "' in part(docx, "word/numbering.xml")
    facts = inspect_document(docx, RULES)
    assert facts.violations == ()
    assert rows(facts) == (expected_rows() if layout == "table" else writer_expected_rows())
    assert facts.record.header["date_iso"] == "2022-11-09"
    assert {k: v for k, v in facts.record.header.items() if not k.startswith("date")} == {
        k: v for k, v in HEADER.items() if not k.startswith("date")}
    assert "ข้อความที่ลบไปแล้ว" not in " ".join(a for *_, a in rows(facts))


def test_writer_placeholder_fields_left_unfilled_are_not_answers() -> None:
    """Writer exports a placeholder field as a content control still showing its prompt
    (w:sdt with w:showingPlcHdr); the prompt "<พิมพ์คำตอบที่นี่>" is not what the province typed."""
    docx = libreoffice_file("writer-placeholders.docx")
    assert "<w:showingPlcHdr/>" in part(docx, "word/document.xml")
    facts = inspect_document(docx, STRICT)
    assert len(facts.record.answers) == 20 and len(facts.record.unanswered) == 20
    assert [v.code for v in facts.violations] == ["too_short", "incomplete_record"]


# --- Google Docs, WPS Office, Word for Mac, document2.xml: traits from real files -------------------

PROVENANCE = {
    "google_docs": lambda docx: application(docx) is None and not any(
        n.startswith("docProps/") for n in zipfile.ZipFile(io.BytesIO(docx)).namelist()),
    "wps_office": lambda docx: application(docx).startswith("WPS Office_")
    and "KSOProductBuildVer" in part(docx, "docProps/custom.xml"),
    "word_for_mac": lambda docx: application(docx) == "Microsoft Macintosh Word",
    "apple_pages": lambda docx: application(docx) is None and "numStyleLink" in part(docx, "word/numbering.xml"),
    "main_part_renamed": lambda docx: "word/document.xml" not in zipfile.ZipFile(io.BytesIO(docx)).namelist(),
}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("editor", sorted(EDITORS))
def test_a_record_from_each_editor_reads_the_same(editor: str, style: str) -> None:
    docx = EDITORS[editor](valid_record(style))
    assert PROVENANCE[editor](docx)
    assert sniff(docx) == "docx"
    facts = inspect_document(docx, RULES)
    assert facts.violations == ()
    assert rows(facts) == expected_rows()
    assert facts.record.header == HEADER


def test_word_for_mac_a_tracked_move_keeps_the_answer_once_in_its_new_place() -> None:
    """Answer 1.4 typed under question 1.5 first, then moved up with Track Changes on: its old place
    still holds the text in w:moveFrom/w:r/w:t, which Word shows struck through, not as text."""
    docx = EDITORS["word_for_mac"](valid_record("paragraphs"))
    document = part(docx, "word/document.xml")
    assert "<w:moveFrom " in document and "<w:moveTo " in document
    answers = {(a.part, a.number): a.answer for a in inspect_document(docx, RULES).record.answers}
    expected = default_answers("ยะลา")[0]
    assert (answers[(1, 4)], answers[(1, 5)]) == (expected[3], expected[4])


RULE_BREAKS = [
    pytest.param(lambda: make_record_docx("ยะลา", consent=False), RULES, ("no_consent",), id="no_consent"),
    pytest.param(lambda: make_record_docx("ยะลา", picture=True), RULES, ("has_pictures",), id="picture"),
    pytest.param(lambda: make_record_docx("ยะลา", answers=[[""] * 10, [""] * 5, [""] * 5]), STRICT,
                 ("too_short", "incomplete_record"), id="blank_template"),
    pytest.param(lambda: make_record_docx("ยะลา", answers=[["ตอบแล้ว " * 20] * 10, ["ตอบ"] * 3]), STRICT,
                 ("incomplete_record",), id="missing_questions"),
]


@pytest.mark.parametrize(("build", "rules", "codes"), RULE_BREAKS)
@pytest.mark.parametrize("editor", sorted(EDITORS))
def test_each_editor_breaks_the_rules_the_same_way(editor: str, build, rules: DocumentRules, codes) -> None:
    facts = inspect_document(EDITORS[editor](build()), rules)
    assert tuple(v.code for v in facts.violations) == codes


def test_a_picture_in_a_record_with_its_main_part_renamed_is_found_in_the_body() -> None:
    facts = inspect_document(EDITORS["main_part_renamed"](make_record_docx("ยะลา", picture=True)), RULES)
    assert "ในเนื้อหา" in facts.violations[0].reason_th
    assert any(p.startswith("word/document2.xml") for p in facts.pictures)


def test_a_macro_enabled_file_with_its_main_part_renamed_is_still_named() -> None:
    docx = EDITORS["main_part_renamed"](valid_record())
    types = part(docx, "[Content_Types].xml").replace(
        "wordprocessingml.document.main+xml", "INVALID").replace(
        "application/vnd.openxmlformats-officedocument.INVALID", "application/vnd.ms-word.document.macroEnabled.main+xml")
    facts = inspect_document(rezip(docx, replace={"[Content_Types].xml": types.encode()}), RULES)
    assert [v.code for v in facts.violations] == ["not_docx"] and ".docm" in facts.violations[0].reason_th


def test_a_zip_whose_package_relationship_points_outside_word_is_not_a_docx() -> None:
    docx = EDITORS["main_part_renamed"](valid_record())
    rels = part(docx, "_rels/.rels").replace("/word/document2.xml", "/../../etc/passwd")
    assert sniff(rezip(docx, replace={"_rels/.rels": rels.encode()})) == "zip"


def test_a_google_doc_exported_by_drive_is_read_when_the_campaign_allows_google_docs() -> None:
    """The Drive backend exports a native Google Doc to .docx (files.export); with allow_google_docs
    the export is read like an uploaded record, otherwise it is named a Google Doc."""
    docx = EDITORS["google_docs"](valid_record("autonum"))
    allowed = dataclasses.replace(RULES, allow_google_docs=True)
    facts = inspect_document(docx, allowed, exported_from="application/vnd.google-apps.document")
    assert facts.violations == () and rows(facts) == expected_rows()
    refused = inspect_document(docx, RULES, exported_from="application/vnd.google-apps.document")
    assert [v.code for v in refused.violations] == ["google_doc"] and len(refused.record.answers) == 20
