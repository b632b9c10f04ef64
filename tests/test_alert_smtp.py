"""Reminders through a real SMTP server on loopback, with a real SQLite state: once, within budget, robust."""

from __future__ import annotations

import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import AuthResult
from alert_fixtures import COORDINATOR, at, campaign, delivered, items, mail_section, unit
from smtp_server import Inbox, LoopbackController, smtp_server

from connectors.outbox import OutboxMailer
from connectors.smtp import SmtpMailer
from ingest.alerts.log import AlertLog
from ingest.alerts.send import send_alerts
from ingest.publish.analyst import alerts_table
from ingest.state import StateStore
from ingest.status import evaluate

UNITS = [unit("95", "ยะลา"), unit("70", "ราชบุรี"), unit("33", "ศรีสะเกษ")]


class Crash(BaseException):
    """Stands for the process dying (SIGKILL, power loss): nothing in tidtam may catch it."""


class CrashingMailer:
    """Sends through `inner`, then dies at the n-th message, `after` or before handing it over."""

    def __init__(self, inner, *, at_message: int, after: bool) -> None:
        self.inner, self.at_message, self.after, self.count = inner, at_message, after, 0

    def send(self, message: EmailMessage) -> None:
        self.count += 1
        if self.count == self.at_message and not self.after:
            raise Crash
        self.inner.send(message)
        if self.count == self.at_message:
            raise Crash


def run(c, rows, state_path, mailer, now):
    """One run of a fresh process: open the state, evaluate, send, close."""
    state = StateStore(state_path)
    try:
        return send_alerts(c, evaluate(c, items(rows), now), state, mailer, now)
    finally:
        state.close()


def stages_by_unit(inbox: Inbox) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in inbox.messages():
        found.setdefault(message.get("X-Tidtam-Unit", "digest"), []).append(message["X-Tidtam-Stage"])
    return found


@pytest.fixture
def server():
    with smtp_server() as (inbox, port):
        yield inbox, SmtpMailer("127.0.0.1", port, security="none", timeout=5)


def test_right_units_right_stage_in_thai(server, tmp_path):
    inbox, mailer = server
    c = campaign(UNITS)
    rows = delivered("questionnaire", "33", 10, at(2)) + delivered("questionnaire", "95", 6, at(3))
    report = run(c, rows, tmp_path / "s.sqlite", mailer, at(4))
    assert [o.status for o in report.outcomes] == ["sent", "sent", "sent"]
    assert stages_by_unit(inbox) == {"digest": ["digest"], "70": ["questionnaire=before_3d"],
                                     "95": ["questionnaire=before_3d"]}
    yala = next(m for m in inbox.messages() if m.get("X-Tidtam-Unit") == "95")
    assert yala["Subject"] == "แจ้งเตือนกำหนดส่งข้อมูล: ยะลา ยังขาดแบบสอบถาม / แบบบันทึกสนทนากลุ่ม / ภาพถ่าย"
    text = yala.get_body(("plain",)).get_content()
    assert "แบบสอบถาม 6/10 ชุด — ขาดอีก 4 ชุด" in text and "ภายในวันที่ 7 พฤศจิกายน 2565 (อีก 3 วัน)" in text
    assert inbox.received[1].rcpt_tos == ["cdd70@example.go.th"] or inbox.received[2].rcpt_tos == ["cdd70@example.go.th"]
    assert inbox.received[0].rcpt_tos == [COORDINATOR]
    assert inbox.received[0].mail_from == "tidtam@example.go.th"


def test_nothing_is_sent_twice_across_restarts(server, tmp_path):
    inbox, mailer = server
    c = campaign(UNITS)
    for moment in (at(4, 9), at(4, 9), at(4, 17), at(5, 9)):
        run(c, [], tmp_path / "s.sqlite", mailer, moment)
    reminders = {u: s for u, s in stages_by_unit(inbox).items() if u != "digest"}
    assert reminders == {code: ["questionnaire=before_3d"] for code in ("95", "70", "33")}
    assert len(stages_by_unit(inbox)["digest"]) == 2  # one on 4 Nov, one on 5 Nov
    run(c, [], tmp_path / "s.sqlite", mailer, at(6, 9))
    assert [s for u, s in stages_by_unit(inbox).items() if u == "95"] == [
        ["questionnaire=before_3d", "questionnaire=before_1d"]]


def test_crash_between_send_and_record_sends_nothing_twice(server, tmp_path):
    inbox, mailer = server
    c = campaign(UNITS)
    with pytest.raises(Crash):
        run(c, [], tmp_path / "s.sqlite", CrashingMailer(mailer, at_message=2, after=True), at(4))
    assert len(inbox.received) == 2  # the digest and the first reminder went out; the run died before recording it
    report = run(c, [], tmp_path / "s.sqlite", mailer, at(4, 10))
    assert list(report.settled.values()) == ["unknown"]
    counts = {u: len(s) for u, s in stages_by_unit(inbox).items()}
    assert counts == {"digest": 1, "95": 1, "70": 1, "33": 1}
    statuses = {row[2]: row[12] for row in alerts_table(AlertLog(StateStore(tmp_path / "s.sqlite")).messages()).rows}
    assert sorted(statuses.values()) == ["sent", "sent", "sent", "unknown"]


def test_crash_before_handing_over_smtp_is_not_resent_outbox_is(server, tmp_path):
    inbox, mailer = server
    c = campaign(UNITS)
    with pytest.raises(Crash):
        run(c, [], tmp_path / "smtp.sqlite", CrashingMailer(mailer, at_message=2, after=False), at(4))
    run(c, [], tmp_path / "smtp.sqlite", mailer, at(4, 10))
    # SMTP cannot tell whether a message went out: at most once, so the unit at the crash waits for the next stage.
    assert sorted(stages_by_unit(inbox)) == ["70", "95", "digest"]  # 33 was first in line when it died

    outbox = OutboxMailer(tmp_path / "outbox")
    with pytest.raises(Crash):
        run(c, [], tmp_path / "outbox.sqlite", CrashingMailer(outbox, at_message=2, after=False), at(4))
    report = run(c, [], tmp_path / "outbox.sqlite", outbox, at(4, 10))
    assert list(report.settled.values()) == ["not_sent"]  # the outbox can tell: released and sent now
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 4


def test_the_daily_budget_holds_most_urgent_first(server, tmp_path):
    inbox, mailer = server
    units = UNITS + [unit("34", "อุบลราชธานี"), unit("41", "อุดรธานี")]
    c = campaign(units, mail=mail_section(daily_budget=3))
    rows = (delivered("questionnaire", "95", 10, at(2)) + delivered("questionnaire", "34", 10, at(2))
            + delivered("questionnaire", "70", 3, at(2)))
    report = run(c, rows, tmp_path / "s.sqlite", mailer, at(12))  # 33 and 41 missing, 70 overdue, 95/34 waiting
    assert [(o.kind, o.unit) for o in report.outcomes] == [("digest", "*"), ("reminder", "33"), ("reminder", "41")]
    assert [r.unit.code for r in report.plan.queued] == ["70", "34", "95"]
    run(c, rows, tmp_path / "s.sqlite", mailer, at(12, 18))
    assert len(inbox.received) == 3  # nothing more that day
    report = run(c, rows, tmp_path / "s.sqlite", mailer, at(13))
    assert [o.unit for o in report.outcomes] == ["*", "70", "34"]
    report = run(c, rows, tmp_path / "s.sqlite", mailer, at(14))
    # 14 Nov: 95 finally gets the current stage (before_1d), not the stale before_3d it was queued for.
    assert [(o.unit, o.stage) for o in report.outcomes][:2] == [("*", "digest"), ("33", "repeat_2")]
    for day in {r.message["Date"][:16] for r in inbox.received}:
        assert sum(len(r.rcpt_tos) for r in inbox.received if r.message["Date"][:16] == day) <= 3


def test_550_for_one_address_is_recorded_and_blocks_no_one(tmp_path):
    inbox = Inbox(refuse={"gone@example.go.th": "550 5.1.1 no such user", "cdd70@example.go.th": "550 5.1.1 nobody"})
    units = [unit("95", "ยะลา", "cdd95@example.go.th", "gone@example.go.th"), unit("70", "ราชบุรี"),
             unit("33", "ศรีสะเกษ")]
    c = campaign(units)
    with smtp_server(inbox) as (_, port):
        mailer = SmtpMailer("127.0.0.1", port, security="none", timeout=5)
        report = run(c, [], tmp_path / "s.sqlite", mailer, at(4))
        assert {o.unit: o.status for o in report.outcomes} == {"*": "sent", "95": "partial", "70": "failed",
                                                               "33": "sent"}
        assert [r.rcpt_tos for r in inbox.received if r.message.get("X-Tidtam-Unit") == "95"] == [
            ["cdd95@example.go.th"]]
        run(c, [], tmp_path / "s.sqlite", mailer, at(4, 15))  # refused for good: not tried again for this stage
        assert len(inbox.received) == 3
        run(c, [], tmp_path / "s.sqlite", mailer, at(5))
        digest = inbox.messages()[-1].get_body(("plain",)).get_content()
        assert "gone@example.go.th: เซิร์ฟเวอร์อีเมลปฏิเสธ (550 5.1.1 no such user)" in digest
    table = alerts_table(AlertLog(StateStore(tmp_path / "s.sqlite")).messages())
    refused = {row[2]: row[13] for row in table.rows if row[1] == "reminder"}
    assert refused["95"] == "gone@example.go.th 550 5.1.1 no such user"


def test_421_is_retried_on_a_later_run_then_sent_once(tmp_path):
    inbox = Inbox(data_replies=["421 4.7.0 Try again later"])
    c = campaign(UNITS)
    with smtp_server(inbox) as (_, port):
        mailer = SmtpMailer("127.0.0.1", port, security="none", timeout=5)
        report = run(c, [], tmp_path / "s.sqlite", mailer, at(4, 9))
        assert [o.status for o in report.outcomes] == ["deferred"]  # the first (the digest); the run stops there
        assert "421" in report.stopped and inbox.received == []
        report = run(c, [], tmp_path / "s.sqlite", mailer, at(4, 10))
        assert [o.status for o in report.outcomes] == ["sent"] * 4
        run(c, [], tmp_path / "s.sqlite", mailer, at(4, 11))
    assert {u: len(s) for u, s in stages_by_unit(inbox).items()} == {"digest": 1, "95": 1, "70": 1, "33": 1}


def test_connection_refused_is_retried_later(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    c = campaign(UNITS)
    report = run(c, [], tmp_path / "s.sqlite", SmtpMailer("127.0.0.1", closed_port, security="none", timeout=2), at(4))
    assert [o.status for o in report.outcomes] == ["deferred"] and "cannot be reached" in report.stopped
    with smtp_server() as (inbox, port):
        run(c, [], tmp_path / "s.sqlite", SmtpMailer("127.0.0.1", port, security="none", timeout=5), at(4, 10))
    assert len(inbox.received) == 4


def test_connection_lost_after_data_is_unknown_and_not_resent(tmp_path):
    inbox = Inbox(drop_after_data=1)
    c = campaign(UNITS)
    with smtp_server(inbox) as (_, port):
        mailer = SmtpMailer("127.0.0.1", port, security="none", timeout=5)
        report = run(c, [], tmp_path / "s.sqlite", mailer, at(4))
        assert [o.status for o in report.outcomes] == ["unknown"]
        run(c, [], tmp_path / "s.sqlite", mailer, at(4, 10))
    assert {u: len(s) for u, s in stages_by_unit(inbox).items()} == {"digest": 1, "95": 1, "70": 1, "33": 1}


def test_dry_run_sends_and_records_nothing(server, tmp_path):
    inbox, mailer = server
    c = campaign(UNITS)
    report = run(c, [], tmp_path / "s.sqlite", None, at(4))
    assert [o.status for o in report.outcomes] == ["planned"] * 4 and inbox.received == []
    assert alerts_table(AlertLog(StateStore(tmp_path / "s.sqlite")).messages()).rows == []


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1, and client and server TLS contexts built on it."""
    import ipaddress
    import ssl
    from datetime import UTC, datetime, timedelta

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    return ssl.create_default_context(cafile=str(cert_path)), server


def test_starttls_and_login(tmp_path):
    client_tls, server_tls = _self_signed(tmp_path)

    def authenticator(server, session, envelope, mechanism, auth_data):
        # handled=False: aiosmtpd then answers a failure with 535 itself.
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"tidtam", b"secret"), handled=False)

    inbox = Inbox()
    controller = LoopbackController(inbox, hostname="127.0.0.1", port=0, tls_context=server_tls,
                                    require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        c = campaign(UNITS[:1])
        wrong = SmtpMailer("127.0.0.1", controller.port, username="tidtam", password="wrong", ssl_context=client_tls,
                           timeout=5)
        report = run(c, [], tmp_path / "s.sqlite", wrong, at(4))
        assert [o.status for o in report.outcomes] == ["deferred"] and "refused the login" in report.stopped
        with SmtpMailer("127.0.0.1", controller.port, username="tidtam", password="secret", ssl_context=client_tls,
                        timeout=5) as right:
            report = run(c, [], tmp_path / "s.sqlite", right, at(4, 10))
        assert [o.status for o in report.outcomes] == ["sent", "sent"]
        assert len(inbox.received) == 2
    finally:
        controller.stop()


def test_implicit_tls(tmp_path):
    client_tls, server_tls = _self_signed(tmp_path)
    inbox = Inbox()
    controller = LoopbackController(inbox, hostname="127.0.0.1", port=0, ssl_context=server_tls)
    controller.start()
    try:
        with SmtpMailer("127.0.0.1", controller.port, security="ssl", ssl_context=client_tls, timeout=5) as mailer:
            report = run(campaign(UNITS[:1]), [], tmp_path / "s.sqlite", mailer, at(4))
        assert [o.status for o in report.outcomes] == ["sent", "sent"] and len(inbox.received) == 2
    finally:
        controller.stop()
