"""Turn an uploaded file's bytes into FileFacts under a deliverable's rules (pure: bytes in, facts out).

The content decides what a file is, never its name: a .doc renamed .docx is still a .doc. No input
makes these functions raise: a hostile or broken file becomes one Violation with a Thai reason.
A document is checked in this order, each step only on what the previous one let through:
size cap → real .docx (magic, then zip parts) → zip and XML safety (`docx_safety`) → pictures
anywhere in the package (`docx_pictures`) → reading it (`word_parts`, `docx_record`) → consent,
length, and (when `require_all_answers`) completeness of the 20 questions.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence

from connectors.base import UploadedFile
from ingest.campaign import Deliverable, DocumentRules, PhotoRules
from ingest.facts import TOO_COMPLEX_TH, FileFacts, RecordReading, Violation
from ingest.photo_check import check_photo
from ingest.record.document import ReadDocument, clean_text, read_document
from ingest.record.pictures import describe_th, find_pictures
from ingest.record.safety import Package, UnsafePackage, ZipLimits, open_package
from ingest.record.word_parts import word_parts
from ingest.routing import route

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 .doc (and other OLE2 files)
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # a password-protected .docx is an OLE2 file
_HEIF_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"hevx", b"avif")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error,
               KeyError, NotImplementedError, RuntimeError, zlib.error)
_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": None,
    "application/vnd.ms-word.document.macroEnabled.main+xml": "เป็นไฟล์ Word ที่มีมาโคร (.docm) ต้องเป็นไฟล์ .docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":
        "เป็นไฟล์แม่แบบ Word (.dotx) ต้องบันทึกเป็นไฟล์ .docx",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml":
        "เป็นไฟล์แม่แบบ Word ที่มีมาโคร (.dotm) ต้องบันทึกเป็นไฟล์ .docx",
}
_GOOGLE_DOC = "application/vnd.google-apps.document"
_GOOGLE_DOC_REASON = "เป็น Google Docs ไม่ใช่ไฟล์ Word ที่อัปโหลด"  # exported on Drive or a pointer in a mirror alike
_GOOGLE_KINDS = {_GOOGLE_DOC: "Google Docs", "application/vnd.google-apps.spreadsheet": "Google Sheets",
                 "application/vnd.google-apps.presentation": "Google Slides",
                 "application/vnd.google-apps.form": "Google Forms"}
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_OFFICE_DOCUMENT = re.compile(rb'Type="[^"]*/officeDocument"')
_TARGET = re.compile(rb'Target="([^"]+)"')
_LIBXML_OUT_OF_MEMORY = ("Memory allocation failed", "unknown error")
_LEADERS = re.compile(r"[.…_\-–]{3,}|\s+")
ZIP_LIMITS = ZipLimits()
# Bump when inspection finds different facts in the same bytes, so facts cached under an older
# inspector are checked again (part of the cache key, beside the rules).
INSPECTOR_VERSION = 5  # 3: a mirror's Google pointer is a Google file; 4: records from every editor;
# 5: altChunk pictures, XML size caps, photo decode caps. Not bumped when styles and settings came to be
# checked by their prologs alone (safety.check_prolog): only a part malformed after its root reads
# otherwise, and an older inspector called that record unreadable, as python-docx now does (or, for a
# part nothing reads, stricter); checking every stored file again costs a first sync's downloads.


def sniff(content: bytes) -> str:
    """The real type of the bytes, from their magic numbers and (for zips) their parts."""
    head = content[:16]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(_OLE):
        return "doc"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if content[4:8] == b"ftyp" and content[8:12] in _HEIF_BRANDS:
        return "heic"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(content)
    return "unknown"


def _main_part_name(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """The main document part. OPC finds it through the package relationship, not by its name: Word
    has been seen storing it as word/document2.xml (jgm/pandoc test/docx/alternate_document_path.docx,
    app.xml "Microsoft Office Word" 00.0001). Read with a regex on a few bytes: the XML is not yet
    known to be safe to parse."""
    if "word/document.xml" in names:
        return "word/document.xml"
    if "_rels/.rels" not in names:
        return None
    with archive.open("_rels/.rels") as stream:
        rels = stream.read(1 << 16)
    for element in _RELATIONSHIP.findall(rels):
        if _OFFICE_DOCUMENT.search(element) and (target := _TARGET.search(element)):
            name = posixpath.normpath(target.group(1).decode("utf-8", "replace")).lstrip("/")
            return name if name in names and name.startswith("word/") else None
    return None


def _sniff_zip(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" in names and _main_part_name(archive, names) is not None:
                return "docx"
            if "mimetype" in names:
                with archive.open("mimetype") as stream:  # a few bytes only: the entry may be a bomb
                    if stream.read(64).startswith(b"application/vnd.oasis.opendocument.text"):
                        return "odt"
    except _ZIP_ERRORS:
        return "zip"  # zip magic but no readable directory: a damaged or truncated upload
    return "zip"


def _digests(content: bytes) -> dict[str, object]:
    return {"sha256": hashlib.sha256(content).hexdigest(), "md5": hashlib.md5(content, usedforsecurity=False).hexdigest(),
            "size": len(content)}


def _size_th(limit: int) -> str:
    return f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{limit / 1024:.0f} KB"


def _not_docx(content: bytes, kind: str) -> Violation:
    """Why this is not a .docx, in words that tell the province what to do."""
    if kind == "doc" and _ENCRYPTED in content[:1 << 20]:
        return Violation("encrypted", "ไฟล์ Word ถูกตั้งรหัสผ่าน กรุณาเอารหัสผ่านออกแล้วอัปโหลดใหม่",
                         "OLE2 container with EncryptedPackage")
    if kind == "zip":
        names = _zip_names(content)
        if names is None:
            if b"word/" in content[:1 << 16]:
                return Violation("unreadable", "ไฟล์ Word เสียหายหรืออัปโหลดไม่ครบ กรุณาอัปโหลดใหม่",
                                 "zip with word/ parts but no readable central directory")
            return Violation("unreadable", "ไฟล์เสียหาย เปิดอ่านไม่ได้", "zip magic, unreadable archive")
        if any(n.startswith("xl/") for n in names):
            return Violation("not_docx", "เป็นไฟล์ Excel ต้องเป็นไฟล์ Word (.docx)", "content is xlsx")
        if any(n.startswith("ppt/") for n in names):
            return Violation("not_docx", "เป็นไฟล์ PowerPoint ต้องเป็นไฟล์ Word (.docx)", "content is pptx")
    if kind == "unknown" and content.lstrip()[:5] == b"{\\rtf":
        return Violation("not_docx", "เป็นไฟล์ RTF ต้องเป็นไฟล์ Word (.docx)", "content is rtf")
    reason = {
        "doc": "เป็นไฟล์ Word รุ่นเก่า (.doc) ต้องเป็น .docx",
        "pdf": "เป็นไฟล์ PDF ต้องเป็นไฟล์ Word (.docx)",
        "odt": "เป็นไฟล์ OpenDocument (.odt) ต้องเป็นไฟล์ Word (.docx)",
        "zip": "เป็นไฟล์ zip ต้องเป็นไฟล์ Word (.docx)",
        "jpeg": "เป็นไฟล์ภาพ ต้องเป็นไฟล์ Word (.docx) ที่พิมพ์ข้อความ",
        "png": "เป็นไฟล์ภาพ ต้องเป็นไฟล์ Word (.docx) ที่พิมพ์ข้อความ",
        "heic": "เป็นไฟล์ภาพ ต้องเป็นไฟล์ Word (.docx) ที่พิมพ์ข้อความ",
        "webp": "เป็นไฟล์ภาพ ต้องเป็นไฟล์ Word (.docx) ที่พิมพ์ข้อความ",
    }.get(kind, "ไม่ใช่ไฟล์ Word (.docx)")
    return Violation("not_docx", reason, f"content is {kind}")


def _zip_names(content: bytes) -> list[str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return archive.namelist()
    except _ZIP_ERRORS:
        return None


def _main_part_problem(package: Package) -> str | None:
    """A .docm or .dotx renamed .docx: same zip layout, another main content type."""
    root = package.xml.get("[Content_Types].xml")
    if root is None:
        return None
    main = next((posixpath.normpath(rel.get("Target", "")).lstrip("/") for rel in package.xml.get("_rels/.rels", ())
                 if rel.get("Type", "").endswith("/officeDocument")), "word/document.xml")
    for node in root:
        if node.tag.endswith("Override") and node.get("PartName", "").lstrip("/") == main:
            ctype = node.get("ContentType", "")
            return _MAIN_TYPES.get(ctype, f"ไม่ใช่ไฟล์ Word (.docx) ({ctype[:60]})")
    return None


def count_text_chars(text: str) -> int:
    """Characters typed: no spaces, no dotted or underscored fill-in lines of the blank template."""
    return len(_LEADERS.sub("", text))


def _read_word(package: Package, rules: DocumentRules) -> ReadDocument | Violation:
    try:
        return read_document(word_parts(package), rules.record_parts)
    except MemoryError:
        raise  # the worker's memory cap: the whole inspection ends as "too large or too complex"
    except Exception as exc:  # noqa: BLE001 - python-docx's package reader and lxml raise many kinds
        # (KeyError, ValueError, XMLSyntaxError, ...) on a damaged package; one file must not stop the run.
        if type(exc).__name__ == "XMLSyntaxError" and str(exc).startswith(_LIBXML_OUT_OF_MEMORY):
            # Every part python-docx reads passed expat first (ingest.record.safety: whole, or up to its
            # root for styles and settings), so these words from lxml are libxml2 running out of the
            # worker's memory, not a damaged part: its words then, measured under a cap.
            raise MemoryError(str(exc)) from None
        return Violation("unreadable", "เปิดไฟล์ไม่ได้ ไฟล์อาจเสียหาย กรุณาบันทึกใหม่เป็น .docx",
                         f"{type(exc).__name__}: {exc}"[:300])


def _completeness(record: RecordReading) -> Violation | None:
    # In the order of the form, so "ส่วนที่ 1 ข้อ 3" comes before "ส่วนที่ 2 ข้อ 1" whatever its kind of gap.
    gaps = sorted((*record.missing, *record.unanswered), key=lambda g: [int(n) for n in re.findall(r"\d+", g)])
    if not gaps:
        return None
    shown = ", ".join(gaps[:5]) + (f" และอีก {len(gaps) - 5} ข้อ" if len(gaps) > 5 else "")
    return Violation("incomplete_record", f"แบบบันทึกตอบไม่ครบ {len(gaps)} ข้อ: {shown}",
                     f"missing {len(record.missing)}, unanswered {len(record.unanswered)}")


def inspect_document(content: bytes, rules: DocumentRules, *, exported_from: str | None = None) -> FileFacts:
    """Facts and violations of one uploaded focus-group record; never raises."""
    if exported_from and not content:
        return _google_pointer(exported_from, rules)
    base = _digests(content)
    if len(content) > rules.max_file_bytes:
        return FileFacts(**base, content_type=sniff(content[:16]), violations=(Violation(
            "too_large", f"ไฟล์ใหญ่เกิน {_size_th(rules.max_file_bytes)}",
            f"{len(content)} bytes > {rules.max_file_bytes}"),))
    kind = sniff(content)
    base["content_type"] = kind
    if kind != "docx":
        if not rules.require_docx:
            return FileFacts(**base)
        return FileFacts(**base, violations=(_not_docx(content, kind),))
    violations: list[Violation] = []
    if exported_from and not rules.allow_google_docs:
        violations.append(Violation("google_doc", _GOOGLE_DOC_REASON, f"exported from {exported_from}"))
    try:
        package = open_package(content, ZIP_LIMITS)
    except UnsafePackage as exc:
        return FileFacts(**base, violations=(*violations, Violation(exc.code, exc.reason_th, exc.detail)))
    if (problem := _main_part_problem(package)) is not None:
        return FileFacts(**base, violations=(*violations, Violation("not_docx", problem, "main part content type")))
    findings = find_pictures(package)
    pictures = tuple(str(f) for f in findings)
    if rules.forbid_pictures and findings:
        violations.append(Violation("has_pictures", f"แบบบันทึกมีรูปภาพอยู่ในไฟล์ ({describe_th(findings)})",
                                    "; ".join(pictures)[:500]))
    reading = _read_word(package, rules)
    if isinstance(reading, Violation):
        return FileFacts(**base, pictures=pictures, violations=(*violations, reading))
    text = clean_text(reading.text)
    text_chars = count_text_chars(text)
    consent = None
    if rules.consent_pattern:
        consent = re.search(rules.consent_pattern, re.sub(r"\s+", " ", text)) is not None
    if consent is False:
        violations.append(Violation("no_consent", "ไม่พบข้อความรับรองความยินยอมของผู้เข้าร่วม",
                                    f"pattern {rules.consent_pattern!r} not found"))
    if text_chars < rules.min_text_chars:
        violations.append(Violation("too_short", f"เนื้อหาสั้นเกินไป ({text_chars} ตัวอักษร ต้องอย่างน้อย "
                                    f"{rules.min_text_chars})", f"{text_chars} < {rules.min_text_chars} characters"))
    if rules.require_all_answers and (gap := _completeness(reading.record)) is not None:
        violations.append(gap)
    return FileFacts(**base, text_chars=text_chars, consent_found=consent, pictures=pictures,
                     record=reading.record, violations=tuple(violations))


def _google_pointer(exported_from: str, rules: DocumentRules) -> FileFacts:
    """A Google file seen through a Drive for desktop mirror: only a pointer, nothing to check inside.

    Same reason as the Drive backend gives for a Google Doc. No digest: pointers have no content of
    their own, so two of them must never look like the same upload twice.
    """
    kind = _GOOGLE_KINDS.get(exported_from, "ไฟล์ Google")
    if exported_from == _GOOGLE_DOC and not rules.allow_google_docs:
        violation = Violation("google_doc", _GOOGLE_DOC_REASON, f"mirror pointer to {exported_from}")
    elif exported_from == _GOOGLE_DOC:
        violation = Violation("google_doc_pointer", "เป็น Google Docs ที่ตรวจเนื้อหาจากโฟลเดอร์ซิงก์ไม่ได้ "
                              "(ให้ tidtam อ่านจาก Google Drive โดยตรง)", f"mirror pointer to {exported_from}")
    else:
        violation = Violation("not_docx", f"เป็น {kind} ต้องเป็นไฟล์ Word (.docx)", f"mirror pointer to {exported_from}")
    return FileFacts(sha256="", md5="", size=0, content_type="google_pointer", violations=(violation,))


def inspect_photo(content: bytes, rules: PhotoRules) -> FileFacts:
    """Facts of one uploaded photo: decodable JPEG/PNG/HEIC/WebP of the minimum size; never raises."""
    base = _digests(content)
    kind = sniff(content[:16]) if len(content) > rules.max_file_bytes else sniff(content)
    if len(content) > rules.max_file_bytes:
        return FileFacts(**base, content_type=kind, violations=(Violation(
            "too_large", f"ไฟล์ภาพใหญ่เกิน {_size_th(rules.max_file_bytes)}",
            f"{len(content)} bytes > {rules.max_file_bytes}"),))
    check = check_photo(content, kind, rules)
    return FileFacts(**base, content_type=kind, width=check.width, height=check.height,
                     violations=check.violations)


def unchecked_facts(content: bytes, detail: str) -> FileFacts:
    """A file whose inspection ran out of memory or time: one invalid item, kept under its version like
    any other facts, so it is not tried again until the province uploads a new version. Only what is
    cheap and safe to learn is filled in (digests, the type its first bytes claim)."""
    return FileFacts(**_digests(content), content_type=sniff(content[:16]), violations=(Violation(
        "too_complex", TOO_COMPLEX_TH, detail[:300]),))


def inspect_other(content: bytes) -> FileFacts:
    return FileFacts(**_digests(content), content_type=sniff(content))


def inspect_upload(content: bytes, file: UploadedFile, deliverable: Deliverable | None,
                   deliverables: Sequence[Deliverable]) -> tuple[Deliverable | None, FileFacts]:
    """Route a file its name did not route by what its bytes are, then inspect it under its deliverable's
    rules. Runs in a worker process (ingest.workers preloads this module, which imports no pandas):
    everything that parses the bytes happens here."""
    if deliverable is None:
        deliverable = route(file, deliverables, sniff(content))
    return deliverable, _facts_of(content, file, deliverable)


def _facts_of(content: bytes, file: UploadedFile, deliverable: Deliverable | None) -> FileFacts:
    if deliverable is None or deliverable.kind == "other":
        return inspect_other(content)
    if deliverable.kind == "document":
        return inspect_document(content, deliverable.document_rules, exported_from=file.exported_from)
    return inspect_photo(content, deliverable.photo_rules)
