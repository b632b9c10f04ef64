"""The Gmail API mailer on the emulator: raw MIME, big messages, permanent vs. transient failures."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from connectors.gmail import GMAIL, GmailMailer
from ingest.errors import FatalSourceError, PermanentRecipientError, RetryableSourceError
from tests.emulator import Emulator
from tests.google_workspace import google_api


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


def message(to: str | None = "cdd50@example.go.th", body: str = "เรียน สพจ.เชียงใหม่") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "แจ้งเตือน: ยังไม่ได้ส่งแบบบันทึก"
    if to:
        msg["To"] = to
    msg.set_content(body)
    return msg


def test_sends_raw_mime_as_the_delegated_mailbox(emu, tmp_path):
    api = google_api(emu, tmp_path, subject="tidtam@example.go.th")
    GmailMailer(api, sender="tidtam@example.go.th").send(message())
    (sent,) = emu.gmail.sent
    received = sent.message()
    assert received["To"] == "cdd50@example.go.th" and received["From"] == "tidtam@example.go.th"
    assert "เรียน สพจ.เชียงใหม่" in received.get_content()
    (grant,) = [g for g in emu.auth.grants if "https://www.googleapis.com/auth/gmail.send" in g.scopes]
    assert grant.scopes == ("https://www.googleapis.com/auth/gmail.send",) and grant.subject == "tidtam@example.go.th"


def test_a_big_message_goes_as_an_upload(emu, tmp_path):
    msg = message()
    msg.add_attachment(b"x" * (5 * 1024 * 1024), maintype="application", subtype="octet-stream", filename="a.bin")
    GmailMailer(google_api(emu, tmp_path)).send(msg)
    assert len(emu.gmail.sent) == 1 and emu.counts["gmail.users.messages.send"] >= 1


def test_a_refused_message_is_permanent_and_an_outage_is_transient(emu, tmp_path):
    mailer = GmailMailer(google_api(emu, tmp_path, max_attempts=2, max_retry_seconds=0.5), sender="tidtam@example.go.th")
    with pytest.raises(FatalSourceError) as refused:
        mailer.send(message(to=None))  # no recipient: Gmail answers 400
    assert not isinstance(refused.value, RetryableSourceError)
    with pytest.raises(PermanentRecipientError) as bad_address:
        mailer.send(message(to="สพจ.น่าน <nan.cdd.go.th>"))
    assert "Invalid To header" in str(bad_address.value) and list(bad_address.value.refused.values()) == [
        (400, "invalidArgument")]
    emu.faults.add("gmail.users.messages.send", status=403, times=1)
    with pytest.raises(FatalSourceError, match="may not send mail as tidtam@example.go.th: authorise"):
        mailer.send(message())
    emu.faults.add("gmail.users.messages.send", status=503)
    with pytest.raises(RetryableSourceError):
        mailer.send(message())
    assert emu.gmail.sent == []


def test_the_constructor_for_the_mail_mapping(emu, tmp_path):
    google_api(emu, tmp_path)  # writes the key file
    google = {"credentials": str(tmp_path / "service-account.json"), "api_base_url": emu.base_url}
    mailer = GMAIL({"backend": "gmail", "sender": "tidtam@example.go.th"}, google)
    mailer.send(message())
    assert emu.gmail.sent[0].message()["From"] == "tidtam@example.go.th"
