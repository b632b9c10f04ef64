"""Gmail API `users.messages.send` as a Mailer (a service account sending as a Workspace mailbox).

Failures keep the error tree's split: a message Gmail rejects as malformed (a bad address: 400
`invalidArgument` "Invalid To header") is a PermanentRecipientError, so the alert log marks that one
mail failed and the others still go; not being allowed to send as that mailbox is a FatalSourceError.

400 `failedPrecondition` is about the mailbox, not the message: it is never a recipient's fault.
"Mail service not enabled" means the sender has no Gmail (licence, service off for its organisational
unit): a FatalSourceError naming the fix. Any other failedPrecondition ("Precondition check failed.")
also comes and goes on healthy mailboxes (googleapis/google-api-php-client issue #2558,
googleapis/google-api-go-client issue #645, both succeeding on a later run): a RetryableSourceError,
so the run stops sending and the next run tries again. Either way nothing was sent.

messages.send has no idempotency key, so it is sent at most once (GoogleApi.execute(once=True)):
retried only after a 429/rate-limit refusal or a connection that never opened; after a 5xx, a timeout
or a lost answer it raises DeliveryUnknownError and the alert log marks the message `unknown`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from typing import Any

from googleapiclient.http import MediaIoBaseUpload

from connectors.google_api import GoogleApi, GoogleApiError, GoogleRetryableError, open_google_api
from connectors.google_auth import SCOPES
from connectors.google_settings import GoogleSettings
from ingest.errors import FatalSourceError, PermanentRecipientError

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
        messages = self.api.service("gmail", "v1", SCOPES["gmail"], single_shot=True).users().messages()
        request: Any
        if len(raw) <= RAW_LIMIT:
            request = messages.send(userId=self.user_id,
                                    body={"raw": base64.urlsafe_b64encode(raw).decode("ascii")})
        else:
            media = MediaIoBaseUpload(io.BytesIO(raw), mimetype="message/rfc822", resumable=True)
            request = messages.send(userId=self.user_id, media_body=media)
        try:
            self.api.execute(request, what=what, denied=denied, once=True)
        except GoogleApiError as exc:
            if exc.status != 400:
                raise
            if exc.reason in ("failedPrecondition", "FAILED_PRECONDITION"):
                raise self._mailbox_unusable(exc, what) from exc
            # Gmail checks the whole message at once: every recipient of this one mail is refused.
            recipients = [a for h in ("To", "Cc", "Bcc") for a in (message.get_all(h) or [])] or ["(none)"]
            raise PermanentRecipientError(str(exc), refused={str(a): (400, exc.reason) for a in recipients},
                                          source=what) from exc

    def api_calls(self) -> Mapping[str, int]:
        # The mailer acts as its own mailbox, so its calls are counted on its own GoogleApi.
        return self.api.counts

    def _mailbox_unusable(self, exc: GoogleApiError, what: str) -> FatalSourceError | GoogleRetryableError:
        mailbox = self.api.principal
        google = f"(Google: 400 failedPrecondition: {exc.google_message})"
        if "mail service not enabled" in exc.google_message.lower():
            return FatalSourceError(
                f"{what}: {mailbox} has no Gmail service, so nothing can be sent as it: give that user a licence "
                "that includes Gmail and turn Gmail on for its organisational unit (Admin console → Apps → "
                f"Google Workspace → Gmail), or set mail.sender to a mailbox that has it; a new account can take "
                f"up to a day {google}", source=what)
        return GoogleRetryableError(
            f"{what}: Gmail refused to send as {mailbox} for now; nothing was sent and the next run tries again. "
            "If this persists, check that the mailbox has Gmail and that domain-wide delegation covers the "
            f"gmail.send scope (run `tidtam doctor`) {google}", status=400, reason="failedPrecondition", source=what)


def gmail_mailer(sender: str | None, google: GoogleSettings) -> GmailMailer:
    """The mailer for `mail: {backend: gmail, sender: …}`; the service account acts as `sender`."""
    sender = sender or google.subject
    return GmailMailer(open_google_api(google, subject=sender), sender=sender)
