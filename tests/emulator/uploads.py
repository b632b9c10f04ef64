"""Upload bodies: simple (`uploadType=media`), multipart/related, and resumable sessions."""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .errors import ApiError


@dataclass
class Upload:
    metadata: dict[str, Any] | None
    media: bytes
    media_type: str


def parse_upload(upload_type: str | None, content_type: str, body: bytes) -> Upload:
    """Split an upload request into JSON metadata and media bytes."""
    if upload_type == "multipart" or content_type.lower().startswith("multipart/"):
        msg = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        parts = list(msg.iter_parts()) if msg.is_multipart() else []
        if len(parts) != 2:
            raise ApiError(400, "Multipart upload must have exactly two parts: metadata and media.")
        meta_raw = parts[0].get_payload(decode=True) or b"{}"
        try:
            metadata = json.loads(meta_raw)
        except ValueError as exc:
            raise ApiError(400, "Invalid JSON in the multipart metadata part.") from exc
        media = parts[1].get_payload(decode=True) or b""
        return Upload(metadata, media, parts[1].get_content_type())
    return Upload(None, body, content_type.split(";")[0].strip() or "application/octet-stream")


@dataclass
class ResumableSession:
    upload_id: str
    method_id: str
    path_params: dict[str, str]
    query: dict[str, list[str]]
    metadata: dict[str, Any] | None
    media_type: str
    data: bytearray = field(default_factory=bytearray)


class ResumableSessions:
    def __init__(self) -> None:
        self._sessions: dict[str, ResumableSession] = {}
        self._lock = threading.Lock()

    def open(
        self,
        method_id: str,
        path_params: dict[str, str],
        query: dict[str, list[str]],
        metadata: dict[str, Any] | None,
        media_type: str,
    ) -> ResumableSession:
        session = ResumableSession(
            secrets.token_urlsafe(12), method_id, path_params, query, metadata, media_type
        )
        with self._lock:
            self._sessions[session.upload_id] = session
        return session

    def get(self, upload_id: str) -> ResumableSession | None:
        with self._lock:
            return self._sessions.get(upload_id)

    def close(self, upload_id: str) -> None:
        with self._lock:
            self._sessions.pop(upload_id, None)


_CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")


def add_chunk(session: ResumableSession, content_range: str | None, chunk: bytes) -> bool:
    """Append a chunk; True when the upload is complete."""
    if not content_range:
        session.data.extend(chunk)
        return True
    m = _CONTENT_RANGE.fullmatch(content_range.strip())
    if not m:
        raise ApiError(400, f"Invalid Content-Range header: {content_range}")
    if m.group(1) is not None:
        start = int(m.group(1))
        if start != len(session.data):
            raise ApiError(400, f"Chunk starts at {start}, expected {len(session.data)}")
        session.data.extend(chunk)
    total = m.group(3)
    return total != "*" and len(session.data) >= int(total)
