"""What a handler receives (Call) and returns (Reply); kept free of any HTTP server detail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .discovery import MethodSpec
from .errors import ApiError


@dataclass
class Call:
    spec: MethodSpec
    path_params: dict[str, str]
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any = None
    base_url: str = ""
    upload: Any = None  # uploads.Upload for media/multipart uploads

    @property
    def method_id(self) -> str:
        return self.spec.method_id

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def params(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.param(name)
        return default if value is None else value.lower() == "true"

    def int_param(self, name: str, default: int) -> int:
        value = self.param(name)
        return default if value in (None, "") else int(value)

    def body_json(self) -> dict[str, Any]:
        if self.json is None:
            return {}
        if not isinstance(self.json, dict):
            raise ApiError(400, "Invalid JSON payload received. Expected an object.")
        return self.json


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    data: bytes | None = None  # raw bytes (media); json is ignored when set
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    default_fields: str | None = None  # Drive v3 answers a short default field set without `fields`


Handler = Callable[[Call], Reply]


def rfc3339(moment: datetime, digits: int = 3) -> str:
    """RFC 3339 in UTC with a 'Z' (Drive always prints milliseconds)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give the emulator timezone-aware datetimes")
    moment = moment.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 0:
        return base + "Z"
    frac = f"{moment.microsecond:06d}"[:digits]
    return f"{base}.{frac}Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse RFC 3339 as Google accepts it; ValueError when malformed or without an offset."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None or "T" not in text.upper():
        raise ValueError(f"not an RFC 3339 timestamp with offset: {text!r}")
    return moment


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give the emulator timezone-aware datetimes")
    return moment
