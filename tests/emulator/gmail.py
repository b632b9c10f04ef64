"""Gmail v1: users.messages.send (JSON `raw` or /upload media), messages kept for inspection.

Who sends: the delegated subject of the token the emulator issued (userId "me"). Two refusals
Google gives as 400 with `status: FAILED_PRECONDITION`, `errors[].reason: failedPrecondition` — about
the mailbox, not the message or a recipient:
- a token with no subject (the service account acting as itself, no domain-wide delegation):
  "Precondition check failed." (shape quoted in googleapis/google-api-java-client issue #1648; cause
  explained by a Google maintainer in googleapis/google-api-nodejs-client issue #2361 and
  googleworkspace/python-samples issue #119);
- a mailbox without the Gmail service (no licence, Gmail turned off for its organisational unit, an
  account just created): "Mail service not enabled" (shape quoted in WPManageNinja/fluent-smtp issue
  #152; twentyhq/twenty pull request #12349 classifies it as a permission problem, not a transient one).
Error envelope: https://developers.google.com/gmail/api/guides/handle-errors (code, message, errors[],
status). The same 400 with "Precondition check failed." also comes and goes by itself on healthy
mailboxes (googleapis/google-api-php-client issue #2558, googleapis/google-api-go-client issue #645):
inject it with `emu.faults.add(..., status=400, reason="failedPrecondition", ...)` if a test needs that.
"""

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

from .auth import Auth
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


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, reason="failedPrecondition")  # status FAILED_PRECONDITION (errors.py)


class GmailState:
    def __init__(self, auth: Auth | None = None) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(0x18C0_0000_0000)
        self._auth = auth
        self.sent: list[SentMessage] = []
        self.disabled_mailboxes: set[str] = set()  # addresses without the Gmail service

    def _check_mailbox(self, call: Call) -> None:
        """Refuse, as Gmail does, a sender that has no usable mailbox (see the module docstring)."""
        authorization = call.headers.get("authorization", "")
        grant = self._auth.grant_for(authorization[7:].strip()) if self._auth and authorization[:7].lower() == "bearer " else None
        if grant is None:
            return  # a token the emulator did not issue: nobody to check
        if not grant.subject:
            raise failed_precondition("Precondition check failed.")
        if grant.subject.lower() in self.disabled_mailboxes:
            raise failed_precondition("Mail service not enabled")

    def handlers(self) -> dict[str, Handler]:
        return {"gmail.users.messages.send": self.h_send}

    def h_send(self, call: Call) -> Reply:
        user_id = call.path_params["userId"]
        self._check_mailbox(call)
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
