"""Gmail v1: users.messages.send (JSON `raw` or /upload media), messages kept for inspection."""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import itertools
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from .errors import ApiError
from .protocol import Call, Handler, Reply


@dataclass(frozen=True)
class SentMessage:
    id: str
    thread_id: str
    user_id: str
    raw: bytes  # the RFC 822 bytes exactly as received

    def message(self) -> EmailMessage:
        """Parsed with the modern policy, so headers like a Thai Subject come back decoded."""
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class GmailState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(0x18C0_0000_0000)
        self.sent: list[SentMessage] = []

    def handlers(self) -> dict[str, Handler]:
        return {"gmail.users.messages.send": self.h_send}

    def h_send(self, call: Call) -> Reply:
        user_id = call.path_params["userId"]
        if call.upload is not None:
            raw = call.upload.media
            thread_id = (call.upload.metadata or {}).get("threadId")
        else:
            body = call.body_json()
            encoded = body.get("raw")
            if not encoded:
                raise ApiError(
                    400,
                    "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
                    reason="invalidArgument",
                )
            try:
                raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError):
                raise ApiError(400, "Invalid value for ByteString: raw", reason="invalidArgument") from None
            thread_id = body.get("threadId")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        recipients = [a for h in ("to", "cc", "bcc") for a in (msg.get_all(h) or [])]
        if not recipients:
            raise ApiError(400, "Recipient address required", reason="invalidArgument")
        for header in ("to", "cc", "bcc"):
            for field in msg.get_all(header) or []:
                if any("@" not in a.addr_spec or " " in a.addr_spec for a in getattr(field, "addresses", ())):
                    raise ApiError(400, f"Invalid {header.capitalize()} header", reason="invalidArgument")
        with self._lock:
            mid = f"{next(self._ids):x}"
            sent = SentMessage(mid, thread_id or mid, user_id, raw)
            self.sent.append(sent)
        out: dict[str, Any] = {"id": sent.id, "threadId": sent.thread_id, "labelIds": ["SENT"]}
        return Reply(json=out)
