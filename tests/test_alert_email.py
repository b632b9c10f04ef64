"""Rendering: Thai text that decodes from the bytes, encoded headers, no header injection, editable templates."""

from __future__ import annotations

import base64
import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from alert_fixtures import COORDINATOR, SENDER, at, campaign, delivered, items, mail_section, unit

from connectors.outbox import OutboxMailer, eml_name
from ingest.alerts.addresses import address_problem, mailbox
from ingest.alerts.compose import (
    BUILTIN_TEMPLATES,
    Templates,
    build_message,
    digest_message,
    due_text,
    reminder_message,
)
from ingest.alerts.plan import plan_alerts, plan_digest
from ingest.alerts.policy import alert_policy_from_config
from ingest.alerts.send import send_alerts
from ingest.errors import ConfigError
from ingest.state import StateStore
from ingest.status import evaluate

POLICY = alert_policy_from_config(mail_section(), [])
YALA = unit("95", "ยะลา")


def yala_reminder(units=(YALA,), now=None):
    now = now or at(12)
    c = campaign(list(units))
    rows = (delivered("questionnaire", "95", 7, at(3)) + delivered("photos", "95", 3, at(9))
            + delivered("record", "95", 0, at(9), invalid=["แบบบันทึกมีรูปภาพอยู่ในไฟล์"]))
    evaluation = evaluate(c, items(rows), now)
    plan = plan_alerts(c, evaluation, POLICY, set(), now)
    return c, evaluation, plan.send[0]


def received(message) -> object:
    """The message as a mail client sees it: parsed back from the exact bytes sent."""
    return message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)


def test_reminder_in_thai_decodes_from_the_bytes():
    c, _, reminder = yala_reminder()
    message = reminder_message(c, reminder, POLICY, at(12), msg_id="<t1@example.go.th>", templates=Templates())
    raw = message.as_bytes(policy=policy.SMTP)
    raw.decode("ascii")  # 7-bit clean: no SMTPUTF8 or 8BITMIME needed on the way
    got = received(message)
    assert got["Subject"] == "ติดตามข้อมูลที่เลยกำหนดส่ง: ยะลา ยังขาดแบบสอบถาม / ภาพถ่าย / แบบบันทึกสนทนากลุ่ม"
    # The display name spans two encoded-words. CPython's headerregistry puts a space between them
    # (RFC 2047 §6.2 says to drop it); the RFC-conformant decoder, like mail clients, gets it right.
    raw_from = message_from_bytes(raw, policy=policy.compat32)["From"]
    assert "=?utf-8?b?" in raw_from
    assert str(make_header(decode_header(raw_from))) == SENDER
    assert got["From"].addresses[0].addr_spec == "tidtam@example.go.th"
    assert str(got["To"]) == "cdd95@example.go.th"
    assert got["Auto-Submitted"] == "auto-generated"
    text = got.get_body(("plain",)).get_content().replace("\r\n", "\n")  # MIME text is CRLF on the wire
    for expected in ("แบบสอบถาม 7/10 ชุด", "ภาพถ่าย 3/5 ภาพ", "แบบบันทึกสนทนากลุ่ม 0/1 ฉบับ",
                     "ไม่นับ เพราะแบบบันทึกมีรูปภาพอยู่ในไฟล์", "ภายในวันที่ 7 พฤศจิกายน 2565 (เลยกำหนดมาแล้ว 5 วัน)",
                     "ภายในวันที่ 15 พฤศจิกายน 2565 (อีก 3 วัน)", "https://forms.gle/EXAMPLE"):
        assert expected in text
    html = got.get_body(("html",)).get_content()
    assert "ภาพถ่าย" in html and "3/5 ภาพ" in html and 'href="https://forms.gle/EXAMPLE"' in html


def test_every_encoded_word_is_whole_utf8():
    # RFC 2047 §5: an encoded-word may not split a character; strict decoders show garbage otherwise.
    c, _, reminder = yala_reminder(units=[unit("95", "ยะลา" * 12)])
    message = reminder_message(c, reminder, POLICY, at(12), msg_id="<t2@example.go.th>", templates=Templates())
    head = message.as_bytes(policy=policy.SMTP).split(b"\r\n\r\n", 1)[0].decode("ascii")
    words = re.findall(r"=\?utf-8\?b\?([^?]*)\?=", head, flags=re.IGNORECASE)
    assert len(words) > 3
    for word in words:
        base64.b64decode(word).decode("utf-8")  # raises on a split character
    assert all(len(line) <= 78 for line in head.split("\r\n"))


@pytest.mark.parametrize("name", ["ยะลา\r\nBcc: evil@example.com", "ยะลา\nX-Injected: 1", "ยะลา\x00"])
def test_a_unit_name_cannot_inject_a_header(name):
    c, _, reminder = yala_reminder(units=[unit("95", name)])
    with pytest.raises(ValueError, match="line break"):
        reminder_message(c, reminder, POLICY, at(12), msg_id="<t3@example.go.th>", templates=Templates())


@pytest.mark.parametrize(("field", "value"), [("to", ["a@example.go.th\r\nBcc: evil@example.com"]),
                                              ("subject", "ok\r\nBcc: evil@example.com"),
                                              ("msg_id", "<a@b>\nBcc: evil@example.com")])
def test_build_message_rejects_line_breaks(field, value):
    args = {"subject": "ทดสอบ", "text": "t", "html": "<p>t</p>", "sender": SENDER, "to": ["a@example.go.th"],
            "now": at(1), "msg_id": "<a@example.go.th>", field: value}
    with pytest.raises(ValueError):
        build_message(**args)


def test_a_name_with_undecodable_bytes_is_mailed_with_a_replacement_character():
    # Found by tests/test_properties.py: a file named in TIS-620 (listed by Python as lone surrogates,
    # U+DC80-U+DCFF) reached the digest, and encoding the body as UTF-8 ended the run in a traceback.
    name = b"\xc2\xd0\xc5\xd2.docx".decode("utf-8", "surrogateescape")  # "ยะลา" in TIS-620
    message = build_message(subject=f"ทดสอบ {name}", text=f"ไฟล์ {name}", html=f"<p>ไฟล์ {name}</p>", sender=SENDER,
                            to=["a@example.go.th"], now=at(1), msg_id="<a@example.go.th>")
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert "\ufffd\ufffd\ufffd\ufffd.docx" in parsed["Subject"]
    assert "ไฟล์ \ufffd\ufffd\ufffd\ufffd.docx" in parsed.get_body(("plain",)).get_content()
    assert "<p>ไฟล์ \ufffd\ufffd\ufffd\ufffd.docx</p>" in parsed.get_body(("html",)).get_content()


def test_injected_unit_name_is_reported_and_the_others_still_go(tmp_path):
    c = campaign([unit("95", "ยะลา\r\nBcc: evil@example.com"), unit("70", "ราชบุรี")])
    evaluation = evaluate(c, items([]), at(4))
    state = StateStore(tmp_path / "state.sqlite")
    report = send_alerts(c, evaluation, state, OutboxMailer(tmp_path / "outbox"), at(4))
    by_unit = {o.unit: o.status for o in report.outcomes if o.kind == "reminder"}
    assert by_unit == {"95": "invalid", "70": "sent"}
    sent = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in (tmp_path / "outbox").glob("*.eml")]
    assert all("evil" not in str(m) for m in sent)


@pytest.mark.parametrize(("address", "ok"), [
    ("cdd95@example.go.th", True), ("first.last+tag@sub.example.co.th", True), ("no-at-sign", False),
    ("two@@example.com", False), ("a@localhost", False), ("a b@example.com", False),
    ("a@example.com\r\nBcc: x@example.com", False), ("ยะลา@example.go.th", False), ("a@example..com", False)])
def test_addresses_are_checked_strictly(address, ok):
    assert (address_problem(address) is None) is ok


def test_sender_with_thai_display_name():
    assert mailbox(SENDER).addr_spec == "tidtam@example.go.th"
    with pytest.raises(ValueError):
        mailbox("ทีมติดตาม <tidtam@example.go.th>\r\nBcc: x@example.com")


def test_html_escapes_what_units_typed():
    c, _, reminder = yala_reminder(units=[unit("95", '<script>alert("x")</script>')])
    message = reminder_message(c, reminder, POLICY, at(12), msg_id="<t4@example.go.th>", templates=Templates())
    html = received(message).get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_coordinator_edits_a_copy_of_one_template(tmp_path):
    (tmp_path / "reminder.txt.j2").write_text(
        "{% set subject %}ด่วน {{ unit.name }}{% endset %}ขาด {{ items | length }} รายการ\n", encoding="utf-8")
    c, _, reminder = yala_reminder()
    message = received(reminder_message(c, reminder, POLICY, at(12), msg_id="<t5@example.go.th>",
                                        templates=Templates(tmp_path)))
    assert message["Subject"] == "ด่วน ยะลา"
    assert message.get_body(("plain",)).get_content() == "ขาด 3 รายการ\r\n"
    assert "ภาพถ่าย" in message.get_body(("html",)).get_content()  # the built-in HTML part still applies


def test_a_broken_template_names_the_file_and_line(tmp_path):
    (tmp_path / "reminder.txt.j2").write_text("บรรทัดแรก\n{{ unit.nmae }}\n", encoding="utf-8")
    c, _, reminder = yala_reminder()
    with pytest.raises(ConfigError, match=r"reminder.txt.j2, line 2"):
        reminder_message(c, reminder, POLICY, at(12), msg_id="<t6@example.go.th>", templates=Templates(tmp_path))


def test_builtin_templates_are_all_there():
    assert sorted(p.name for p in BUILTIN_TEMPLATES.glob("*.j2")) == [
        "digest.html.j2", "digest.txt.j2", "reminder.html.j2", "reminder.txt.j2", "review.html.j2", "review.txt.j2"]


def test_digest_in_thai():
    c, evaluation, _ = yala_reminder(units=[YALA, unit("70", "ราชบุรี")], now=at(16))
    digest = plan_digest(c, evaluation, POLICY, at(16), last_day=None, reported=set())
    got = received(digest_message(c, digest, POLICY, at(16), msg_id="<d1@example.go.th>", templates=Templates()))
    assert got["Subject"] == "สรุปการติดตามข้อมูล วันที่ 16 พฤศจิกายน 2565: ส่งครบ 0% (0/2 จังหวัด)"
    assert str(got["To"]) == COORDINATOR
    text = got.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "ราชบุรี: แบบสอบถาม 0/10 ชุด (กำหนด 7 พฤศจิกายน 2565)" in text
    assert "ยะลา / แบบบันทึกสนทนากลุ่ม: แบบบันทึกมีรูปภาพอยู่ในไฟล์" in text


def test_due_text_shows_a_time_only_when_not_end_of_day():
    assert due_text(at(15, 23, 59)) == "15 พฤศจิกายน 2565"
    assert due_text(at(15, 12)) == "15 พฤศจิกายน 2565 เวลา 12.00 น."


def test_outbox_file_names_come_from_the_message_id_only(tmp_path):
    assert eml_name("<../../etc/passwd@x>") == "etc_passwd@x.eml"
    c, _, reminder = yala_reminder()
    message = reminder_message(c, reminder, POLICY, at(12), msg_id="<t7@example.go.th>", templates=Templates())
    outbox = OutboxMailer(tmp_path / "outbox")
    outbox.send(message)
    outbox.send(message)
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["t7@example.go.th.eml"]
    assert outbox.delivered("<t7@example.go.th>") and not outbox.delivered("<t8@example.go.th>")
    assert received(message)["Subject"] == message_from_bytes(
        Path(tmp_path / "outbox" / "t7@example.go.th.eml").read_bytes(), policy=policy.default)["Subject"]
