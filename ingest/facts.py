"""What tidtam learns from an uploaded file's bytes, and the verdict of a deliverable's rules.

Inspection (`ingest.file_checks`) turns bytes into these facts once per file version; the facts are
cached in the state database, so a file is downloaded and parsed again only when it changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Why a file that inspection gave up on is invalid: it ran out of the memory or time a worker is given
# (`ingest.workers`), or it is far beyond any real record's size inside (`ingest.record.safety`).
TOO_COMPLEX_TH = "ไฟล์ใหญ่หรือซับซ้อนเกินกว่าจะตรวจได้ กรุณาบันทึกไฟล์ใหม่แล้วอัปโหลดอีกครั้ง"
# What the bytes really are, whatever the file is called.
CONTENT_TYPES = ("docx", "doc", "pdf", "odt", "zip", "jpeg", "png", "heic", "webp", "gif", "text", "google_pointer",
                 "unknown")


@dataclass(frozen=True)
class RecordAnswer:
    """One question of the focus-group record with the answer typed under it."""

    part: int
    number: int
    question: str
    answer: str


@dataclass(frozen=True)
class RecordReading:
    """The focus-group record read out of a .docx."""

    header: dict[str, str] = field(default_factory=dict)  # province, district, date, facilitator, participants
    answers: tuple[RecordAnswer, ...] = ()
    missing: tuple[str, ...] = ()  # "ส่วนที่ 2 ข้อ 4" for each expected question not found
    unanswered: tuple[str, ...] = ()  # found, but with no answer text


@dataclass(frozen=True)
class Violation:
    """One broken rule: a stable code for analysts, a short Thai reason for people."""

    code: str  # e.g. "not_docx", "has_pictures", "no_consent", "too_short", "not_image", "duplicate"
    reason_th: str
    detail: str = ""  # English, for logs and the analyst's `files` tab


@dataclass(frozen=True)
class FileFacts:
    """Everything the rules need, computed from the bytes alone."""

    sha256: str
    size: int
    content_type: str  # one of CONTENT_TYPES
    width: int | None = None
    height: int | None = None
    text_chars: int | None = None
    consent_found: bool | None = None
    pictures: tuple[str, ...] = ()  # where pictures were found inside a document
    record: RecordReading | None = None
    violations: tuple[Violation, ...] = ()  # rule breaks found while inspecting
    md5: str = ""  # hex, comparable with Drive's md5Checksum to count one photo uploaded twice once

    @property
    def valid(self) -> bool:
        return not self.violations
