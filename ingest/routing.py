"""Which deliverable an uploaded file is meant for, from its name, path and type (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatch
from pathlib import PurePosixPath

from connectors.base import UploadedFile
from ingest.campaign import Deliverable

DOCUMENT_SUFFIXES = {".docx", ".doc", ".pdf", ".odt", ".rtf", ".docm", ".pages", ".gdoc"}
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
DOCUMENT_TYPES = {"docx", "doc", "pdf", "odt"}
PHOTO_TYPES = {"jpeg", "png", "heic", "webp", "gif"}


def intended_kind(file: UploadedFile, content_type: str | None = None) -> str:
    """document / photo / other: what the uploader meant, by name first, then by what the bytes are."""
    suffix = PurePosixPath(file.name).suffix.lower()
    if suffix in DOCUMENT_SUFFIXES or file.mime_type.startswith("application/vnd.google-apps.document"):
        return "document"
    if suffix in PHOTO_SUFFIXES or file.mime_type.startswith("image/"):
        return "photo"
    if content_type in DOCUMENT_TYPES:
        return "document"
    if content_type in PHOTO_TYPES:
        return "photo"
    return "other"


def route(file: UploadedFile, deliverables: Sequence[Deliverable], content_type: str | None = None) -> Deliverable | None:
    """The deliverable a file counts for: a matching `file_pattern` first, else the one of its kind."""
    path = "/".join((*file.folders, file.name))
    for deliverable in deliverables:
        if deliverable.file_pattern and (fnmatch(file.name, deliverable.file_pattern) or fnmatch(path, deliverable.file_pattern)):
            return deliverable
    kind = intended_kind(file, content_type)
    for deliverable in deliverables:
        if not deliverable.file_pattern and deliverable.kind == kind:
            return deliverable
    return None
