"""Pictures hidden in content imported through w:altChunk (HTML, XHTML, MHT, RTF, a nested .docx) are
found like any other; text-only imports are not taken for pictures (or for XML attacks)."""

from __future__ import annotations

import re

import pytest
from altchunk_corpus import ALT_CHUNK_CASES, DOCX_MAIN, nested, with_chunk
from docx_corpus import RULES, Case, image_bytes

from ingest.file_checks import inspect_document
from ingest.record.pictures import describe_th, find_pictures
from ingest.record.safety import open_package

THAI = re.compile(r"[\u0E00-\u0E7F]")


@pytest.mark.parametrize("case", ALT_CHUNK_CASES, ids=[c.name for c in ALT_CHUNK_CASES])
def test_altchunk_record_gets_exactly_its_violations(case: Case) -> None:
    facts = inspect_document(case.build(), case.rules)
    assert tuple(v.code for v in facts.violations) == case.codes
    for violation in facts.violations:
        assert THAI.search(violation.reason_th) and violation.detail


def test_a_picture_in_a_nested_record_is_named_by_its_path_through_the_packages() -> None:
    findings = find_pictures(open_package(nested(2, picture=True)))
    parts = {f.part for f in findings}
    assert "word/chunk.docx!word/chunk.docx!word/document.xml" in parts
    assert "รูปภาพในเนื้อหา" in describe_th(findings)


def test_a_nested_record_typed_as_the_main_part_is_searched_too() -> None:
    # python-docx cannot load such a package (it parses the nested zip as XML): the record is also
    # unreadable, but the picture is what is reported first.
    facts = inspect_document(nested(1, picture=True, content_type=DOCX_MAIN), RULES)
    assert facts.violations[0].code == "has_pictures"
    assert "word/chunk.docx!word/document.xml" in facts.violations[0].detail


def test_an_altchunk_that_is_an_image_is_a_picture() -> None:
    record = with_chunk(image_bytes("JPEG"), "word/chunk.bin", "application/octet-stream")
    facts = inspect_document(record, RULES)
    assert [v.code for v in facts.violations] == ["has_pictures"]


def test_nested_documents_are_opened_as_safely_as_the_record() -> None:
    from docx_corpus import billion_laughs

    record = with_chunk(billion_laughs(), "word/chunk.docx", DOCX_MAIN)
    assert [v.code for v in inspect_document(record, RULES).violations] == ["unsafe_file"]
