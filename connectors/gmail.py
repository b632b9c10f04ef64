"""Gmail API `users.messages.send` as a Mailer (a service account sending as a Workspace mailbox).

Failures keep the error tree's split: a message Gmail rejects as malformed (a bad address: 400) is a
PermanentRecipientError, so the alert log marks that one mail failed and the others still go; not
being allowed to send as that mailbox is a FatalSourceError; 429/5xx after retries is a
RetryableSourceError, worth sending later.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from typing import Any

from googleapiclient.http import MediaIoBaseUpload

from connectors.google_api import GoogleApi, GoogleApiError, open_google_api
from connectors.google_auth import SCOPES
from ingest.errors import PermanentRecipientError

# A `raw` JSON body is fine for ordinary mail; larger messages (attachments) go as a media upload.
RAW_LIMIT = 4 * 1024 * 1024


class GmailMailer:
    def __init__(self, api: GoogleApi, *, sender: str | None = None, user_id: str = "me") -> None:
        self.api = api
        self.sender = sender
        self.user_id = user_id

    def send(self, message: EmailMessage) -> None:
        if self.sender and "From" not in message:
            message["From"] = self.sender
        raw = message.as_bytes(policy=policy.SMTP)
        to = message.get("To") or message.get("Bcc") or "(no recipient)"
        what = f"e-mail {message.get('Subject', '')!r} to {to}"
        denied = (f"{self.api.principal} may not send mail as {self.sender or self.user_id}: authorise the "
                  f"service account's client id {self.api.client_id} for the gmail.send scope "
                  "(Admin console → Security → API controls → Domain-wide delegation)")
        messages = self.api.service("gmail", "v1", SCOPES["gmail"]).users().messages()
        request: Any
        if len(raw) <= RAW_LIMIT:
            request = messages.send(userId=self.user_id,
                                    body={"raw": base64.urlsafe_b64encode(raw).decode("ascii")})
        else:
            media = MediaIoBaseUpload(io.BytesIO(raw), mimetype="message/rfc822", resumable=True)
            request = messages.send(userId=self.user_id, media_body=media)
        try:
            self.api.execute(request, what=what, denied=denied)
        except GoogleApiError as exc:
            if exc.status != 400:
                raise
            # Gmail checks the whole message at once: every recipient of this one mail is refused.
            recipients = [a for h in ("To", "Cc", "Bcc") for a in (message.get_all(h) or [])] or ["(none)"]
            raise PermanentRecipientError(str(exc), refused={str(a): (400, exc.reason) for a in recipients},
                                          source=what) from exc


def gmail_mailer(mail: Mapping[str, Any], google: Mapping[str, Any]) -> GmailMailer:
    """The mailer for `mail: {backend: gmail, sender: …}`; the service account acts as `sender`."""
    sender = mail.get("sender") or google.get("subject")
    return GmailMailer(open_google_api(google, subject=sender), sender=sender)


# The constructor `build_mailer` maps the mail backend name "gmail" to: GMAIL(campaign.mail, campaign.google).
GMAIL = gmail_mailer
