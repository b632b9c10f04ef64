"""The Gmail API mailer on the emulator: raw MIME, big messages, permanent vs. transient failures."""

from __future__ import annotations

import base64
import email
import json
import socket
import time
from dataclasses import replace
from datetime import datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from alert_fixtures import at, campaign, items, mail_section, unit
from google.auth.transport.requests import Request as AuthRequest
from googleapiclient.errors import HttpError

from connectors.gmail import GmailMailer, gmail_mailer
from connectors.google_auth import SCOPES
from connectors.google_settings import GoogleSettings
from ingest.alerts.log import AlertLog
from ingest.alerts.send import AlertReport, send_alerts
from ingest.backends import build_mailer
from ingest.errors import (
    DeliveryUnknownError,
    FatalSourceError,
    PermanentRecipientError,
    RetryableSourceError,
)
from ingest.publish.analyst import alerts_table
from ingest.state import StateStore
from ingest.status import evaluate
from tests.emulator import Emulator
from tests.google_workspace import SA_EMAIL, google_api

SENDER = "tidtam@example.go.th"
UNITS = [unit("95", "ยะลา"), unit("70", "ราชบุรี"), unit("33", "ศรีสะเกษ")]


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
    GmailMailer(google_api(emu, tmp_path, subject=SENDER)).send(msg)
    assert len(emu.gmail.sent) == 1 and emu.counts["gmail.users.messages.send"] >= 1


def test_a_refused_message_is_permanent(emu, tmp_path):
    mailer = GmailMailer(google_api(emu, tmp_path, subject=SENDER, max_attempts=2, max_retry_seconds=0.5),
                         sender=SENDER)
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
    assert emu.gmail.sent == []


def test_the_configured_mailer_acts_as_the_bare_sender_address(emu, tmp_path):
    """Bug 3 on the sending side: `mail.sender` with a display name; the token is asked for the bare
    address (the emulator refuses anything else) and the display name stays in From."""
    google_api(emu, tmp_path)  # writes the key file
    emu.auth.workspace_domains = {"example.go.th"}
    c = replace(campaign(UNITS, mail={**mail_section(), "backend": "gmail"}),
                google=GoogleSettings(credentials=str(tmp_path / "service-account.json"), api_base_url=emu.base_url))
    build_mailer(c).send(message())
    (sent,) = emu.gmail.sent
    # Decoded with email.header: the modern parser puts a space between the two encoded words the
    # long Thai name is folded into (RFC 2047 §6.2 says to join them), which is not in the message.
    raw_from = email.message_from_bytes(sent.raw)["From"]
    assert str(make_header(decode_header(raw_from))) == "ทีมติดตาม สถาบันการพัฒนาชุมชน <tidtam@example.go.th>"
    assert [g.subject for g in emu.auth.grants] == ["tidtam@example.go.th"]


# -- bug 4: failedPrecondition is the mailbox's problem, never the recipients' ----------------------

def test_a_mailbox_without_gmail_is_a_configuration_error_not_refused_recipients(emu, tmp_path):
    emu.gmail.disabled_mailboxes.add(SENDER)
    mailer = GmailMailer(google_api(emu, tmp_path, subject=SENDER), sender=SENDER)
    with pytest.raises(FatalSourceError) as error:
        mailer.send(message())
    assert not isinstance(error.value, PermanentRecipientError | RetryableSourceError)
    assert f"{SENDER} (through {SA_EMAIL}) has no Gmail service" in str(error.value)
    assert "Mail service not enabled" in str(error.value) and emu.gmail.sent == []


def test_precondition_check_failed_is_transient_and_nothing_is_sent(emu, tmp_path):
    # A token with no delegated subject: Gmail's "Precondition check failed." for the service account itself.
    mailer = GmailMailer(google_api(emu, tmp_path), sender=SENDER)
    with pytest.raises(RetryableSourceError, match="next run tries again") as error:
        mailer.send(message())
    assert not isinstance(error.value, PermanentRecipientError) and emu.counts["gmail.users.messages.send"] == 1


def test_failed_precondition_defers_the_run_and_blames_no_recipient(emu, tmp_path):
    emu.faults.add("gmail.users.messages.send", status=400, reason="failedPrecondition",
                   message="Precondition check failed.", times=1)
    state_path = tmp_path / "s.sqlite"
    report = alert_run(campaign(UNITS), state_path, gmail(emu, tmp_path), at(4))
    assert [o.status for o in report.outcomes] == ["deferred"] and "failedPrecondition" in report.stopped
    rows = alert_rows(state_path)
    assert [(r["status"], r["refused"]) for r in rows] == [("deferred", "")]
    # The next run sends everything, the deferred digest included, and reports no refused address.
    report = alert_run(campaign(UNITS), state_path, gmail(emu, tmp_path), at(4, 10))
    assert [o.status for o in report.outcomes] == ["sent"] * 4
    assert "เซิร์ฟเวอร์อีเมลปฏิเสธ" not in digest_text(emu)


# -- bug 5: a send that may have reached Google is never repeated ----------------------------------

@pytest.mark.parametrize("fault", [
    pytest.param({"status": 500}, id="500-after-accepting"),
    pytest.param({"status": 503, "retry_after": 0}, id="503-after-accepting"),
    pytest.param({"cut_connection": True}, id="connection-dropped-after-accepting"),
])
def test_a_send_google_may_have_accepted_is_unknown_and_never_resent(emu, tmp_path, fault):
    state_path = tmp_path / "s.sqlite"
    quiet = campaign(UNITS, mail=mail_section(digest=False))
    emu.faults.add("gmail.users.messages.send", after_handler=True, times=1, **fault)
    report = alert_run(quiet, state_path, gmail(emu, tmp_path), at(4))
    assert [o.status for o in report.outcomes] == ["unknown"]
    victim = report.outcomes[0].unit
    assert emu.counts["gmail.users.messages.send"] == 1 and sent_to_unit(emu, victim) == 1
    assert [(r["unit"], r["status"]) for r in alert_rows(state_path)] == [(victim, "unknown")]

    # The next run does not send it again, and the coordinators' digest says it is unknown.
    report = alert_run(campaign(UNITS), state_path, gmail(emu, tmp_path), at(5))
    assert sent_to_unit(emu, victim) == 1 and "unknown" not in [o.status for o in report.outcomes]
    assert "ไม่ทราบผลการส่ง" in digest_text(emu)
    table = alerts_table(AlertLog(StateStore(state_path)).messages())
    status = list(table.header).index("status")
    assert [row[status] for row in table.rows if row[2] == victim] == ["unknown"]


def test_a_send_that_times_out_is_unknown_and_not_retried(emu, tmp_path):
    # Gmail takes the message but answers after the client gave up waiting.
    emu.faults.add("gmail.users.messages.send", latency=1.5, times=1)
    sleeps = []
    api = google_api(emu, tmp_path, subject=SENDER, sleep=sleeps.append, timeout_seconds=0.5)
    with pytest.raises(DeliveryUnknownError, match="may have accepted it but did not confirm"):
        GmailMailer(api, sender=SENDER).send(message())
    assert emu.counts["gmail.users.messages.send"] == 1 and sleeps == []
    for _ in range(40):  # the emulator's handler finishes in its own thread, a second later
        if emu.gmail.sent:
            break
        time.sleep(0.05)
    assert len(emu.gmail.sent) == 1


@pytest.mark.parametrize("fault", [
    pytest.param({"status": 429, "retry_after": 0}, id="429"),
    pytest.param({"status": 403, "reason": "userRateLimitExceeded"}, id="403-userRateLimitExceeded"),
])
def test_a_refusal_that_proves_nothing_was_sent_is_retried(emu, tmp_path, fault):
    sleeps = []
    api = google_api(emu, tmp_path, subject=SENDER, sleep=sleeps.append)
    emu.faults.add("gmail.users.messages.send", times=1, **fault)
    GmailMailer(api, sender=SENDER).send(message())
    assert len(emu.gmail.sent) == 1 and emu.counts["gmail.users.messages.send"] == 2 and len(sleeps) == 1


def test_a_refused_connection_is_retried_then_deferred_and_nothing_is_sent(emu, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    sleeps = []
    api = google_api(emu, tmp_path, subject=SENDER, sleep=sleeps.append, max_attempts=3)
    api.credentials(SCOPES["gmail"]).refresh(AuthRequest())  # a token first: only the send meets the closed port
    api.base_url = f"http://127.0.0.1:{closed}"
    with pytest.raises(RetryableSourceError) as error:
        GmailMailer(api, sender=SENDER).send(message())
    assert not isinstance(error.value, DeliveryUnknownError) and len(sleeps) == 2 and emu.gmail.sent == []


def test_the_constructor_for_the_mail_mapping(emu, tmp_path):
    google_api(emu, tmp_path)  # writes the key file
    google = GoogleSettings(credentials=str(tmp_path / "service-account.json"), api_base_url=emu.base_url)
    mailer = gmail_mailer("tidtam@example.go.th", google)
    mailer.send(message())
    assert emu.gmail.sent[0].message()["From"] == "tidtam@example.go.th"


def gmail(emu: Emulator, key_dir: Path) -> GmailMailer:
    return GmailMailer(google_api(emu, key_dir, subject=SENDER), sender=SENDER)


def alert_run(c: Any, state_path: Path, mailer: GmailMailer, now: datetime) -> AlertReport:
    """One run of a fresh process: open the state, evaluate (nothing delivered yet), send, close."""
    state = StateStore(state_path)
    try:
        return send_alerts(c, evaluate(c, items([]), now), state, mailer, now)
    finally:
        state.close()


def alert_rows(state_path: Path) -> list[dict[str, Any]]:
    state = StateStore(state_path)
    try:
        return [{**row, "refused": "; ".join(row["refused"])} for row in AlertLog(state).messages()]
    finally:
        state.close()


def sent_to_unit(emu: Emulator, code: str) -> int:
    return sum(m.message().get("X-Tidtam-Unit") == code for m in emu.gmail.sent)


def digest_text(emu: Emulator) -> str:
    (digest,) = [m.message() for m in emu.gmail.sent if m.message().get("X-Tidtam-Stage") == "digest"]
    return digest.get_body(("plain",)).get_content()


def test_the_emulator_answers_failed_precondition_in_googles_shape(emu, tmp_path):
    """The error body, read with the real client: Google's envelope as quoted in the sources of
    tests/emulator/gmail.py (code 400, status FAILED_PRECONDITION, errors[].reason failedPrecondition)."""
    emu.gmail.disabled_mailboxes.add(SENDER)
    api = google_api(emu, tmp_path, subject=SENDER)
    request = api.service("gmail", "v1", SCOPES["gmail"]).users().messages().send(
        userId="me", body={"raw": base64.urlsafe_b64encode(message().as_bytes()).decode()})
    with pytest.raises(HttpError) as error:
        request.execute()
    body = json.loads(error.value.content)["error"]
    assert body["code"] == 400 and body["status"] == "FAILED_PRECONDITION"
    assert body["message"] == "Mail service not enabled"
    assert body["errors"] == [{"message": "Mail service not enabled", "domain": "global", "reason": "failedPrecondition"}]
