"""The upload rules for the focus-group record: one corpus file per rule break, each caught with its
code and a Thai reason, and no hostile or broken file ever raising."""

from __future__ import annotations

import io
import random
import re
import zipfile

import pytest
from docx_corpus import (
    RULE_CASES,
    RULES,
    Case,
    header_picture,
    image_bytes,
    minimal_pdf,
    valid_record,
    with_body_xml,
)
from docx_editors import libreoffice_file

from ingest.campaign import DocumentRules
from ingest.facts import FileFacts
from ingest.file_checks import inspect_document, sniff
from ingest.record.template import make_record_docx

THAI = re.compile(r"[\u0E00-\u0E7F]")
KNOWN_CODES = {"not_docx", "encrypted", "unsafe_file", "unreadable", "has_pictures", "no_consent", "too_short",
               "incomplete_record", "google_doc", "too_large"}


@pytest.mark.parametrize("case", RULE_CASES, ids=[c.name for c in RULE_CASES])
def test_corpus_file_gets_exactly_its_violations(case: Case) -> None:
    facts = inspect_document(case.build(), case.rules, exported_from=case.exported_from)
    assert tuple(v.code for v in facts.violations) == case.codes
    assert facts.valid == (case.codes == ())
    for violation in facts.violations:
        assert THAI.search(violation.reason_th) and len(violation.reason_th) < 140
        assert violation.detail


@pytest.mark.parametrize(("build", "place"), [
    pytest.param(lambda: make_record_docx("ยะลา", picture=True), "ในเนื้อหา", id="body"),
    pytest.param(header_picture, "ในหัวกระดาษ", id="header"),
])
def test_the_reason_says_where_the_picture_is(build, place: str) -> None:
    facts = inspect_document(build(), RULES)
    assert place in facts.violations[0].reason_th
    assert any(p.startswith("word/media/") for p in facts.pictures)


def test_the_package_thumbnail_is_not_a_picture_in_the_record() -> None:
    docx = valid_record()
    assert "docProps/thumbnail.jpeg" in zipfile.ZipFile(io.BytesIO(docx)).namelist()
    assert inspect_document(docx, RULES).pictures == ()


def test_pictures_are_listed_but_allowed_when_the_rule_is_off() -> None:
    facts = inspect_document(make_record_docx("ยะลา", picture=True), DocumentRules(forbid_pictures=False))
    assert facts.violations == () and facts.pictures


def test_any_format_passes_when_docx_is_not_required() -> None:
    facts = inspect_document(minimal_pdf(), DocumentRules(require_docx=False))
    assert (facts.content_type, facts.violations) == ("pdf", ())


def test_a_valid_record_carries_its_reading_and_counts() -> None:
    facts = inspect_document(valid_record(), RULES)
    assert facts.consent_found is True and facts.text_chars > RULES.min_text_chars
    assert len(facts.record.answers) == 20 and facts.record.header["province"] == "ยะลา"
    assert facts.sha256 and facts.md5 and facts.size > 0


@pytest.mark.parametrize(("content", "kind"), [
    (b"%PDF-1.7", "pdf"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(8), "doc"), (b"PK\x03\x04junk", "zip"),
    (b"", "unknown"), (b"\x00\x00\x00\x18ftypheic" + bytes(8), "heic"),
])
def test_sniff_trusts_content_not_names(content: bytes, kind: str) -> None:
    assert sniff(content) == kind


def _mutations(seed: int, docx: bytes) -> bytes:
    rng = random.Random(seed)
    data = bytearray(docx)
    how = seed % 4
    if how == 0:
        return bytes(data[: rng.randrange(len(data))])
    if how == 1:
        for _ in range(rng.randrange(1, 40)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if how == 2:
        start = rng.randrange(len(data))
        return bytes(data[:start] + rng.randbytes(rng.randrange(1, 500)) + data[start:])
    start = rng.randrange(len(data) - 100)
    return bytes(data[:start] + data[start + rng.randrange(1, 100):])


@pytest.mark.parametrize("seed", range(120))
def test_damaged_uploads_never_raise(seed: int) -> None:
    source = valid_record() if seed % 3 else make_record_docx("ยะลา", picture=True, style="table")
    facts = inspect_document(_mutations(seed, source), RULES)
    assert isinstance(facts, FileFacts)
    assert {v.code for v in facts.violations} <= KNOWN_CODES


def test_a_record_full_of_images_inside_is_still_one_item() -> None:
    docx = make_record_docx("ยะลา", picture=True)
    extra = {f"word/media/extra{i}.png": image_bytes("PNG", 8, 8) for i in range(50)}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        for name, data in extra.items():
            dst.writestr(name, data)
    facts = inspect_document(out.getvalue(), RULES)
    assert [v.code for v in facts.violations] == ["has_pictures"]
    assert len(facts.violations[0].reason_th) < 140


def test_a_real_odt_from_libreoffice_is_not_a_docx() -> None:
    facts = inspect_document(libreoffice_file("odt/roundtrip-paragraphs.odt"), RULES)
    assert facts.content_type == "odt"
    assert [v.code for v in facts.violations] == ["not_docx"]


def test_word_horizontal_line_is_not_a_picture() -> None:
    line = ('<w:p><w:r><w:pict><v:rect id="hr1" style="width:0;height:1.5pt" o:hralign="center" o:hrstd="t" '
            'o:hr="t" fillcolor="#a0a0a0" stroked="f"/></w:pict></w:r></w:p>')
    assert inspect_document(with_body_xml(valid_record(), line), RULES).violations == ()


def test_a_part_read_by_its_prolog_alone_is_read_no_further_than_its_root() -> None:
    """styles.xml and the like are checked up to their root element (no DTD can come later, XML 1.0
    §2.8): what follows is never tokenized, however malformed, and a DTD before it is refused."""
    from ingest.record.safety import UnsafePackage, check_prolog

    head = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    check_prolog("word/styles.xml", head + b'<w:styles xmlns:w="urn:w"><w:style <<< not XML & never read')
    check_prolog("word/styles.xml", "<a/>".encode("utf-16"))  # a UTF-16 part, its BOM first
    refused = {
        "dtd": head + b'<!DOCTYPE w:styles [<!ENTITY a "b">]><w:styles/>',
        "external dtd": head + b'<!DOCTYPE w:styles SYSTEM "http://example.invalid/s.dtd"><w:styles/>',
        "no root": head,
        "garbage before the root": head + b"<<w:styles/>",
    }
    codes = {}
    for name, data in refused.items():
        with pytest.raises(UnsafePackage) as caught:
            check_prolog("word/styles.xml", data)
        codes[name] = caught.value.code
    assert codes == {"dtd": "unsafe_file", "external dtd": "unsafe_file", "no root": "unreadable",
                     "garbage before the root": "unreadable"}
