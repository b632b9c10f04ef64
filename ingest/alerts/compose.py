"""Reminders and the digest rendered from Jinja2 templates into UTF-8 EmailMessages (text + HTML).

Templates live in ingest/alerts/templates; a coordinator may put edited copies of any of them in the
folder named by `mail.templates`. The subject is the template's `{% set subject %}` block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from connectors.cells import clean_text
from ingest.alerts.addresses import has_control, mailbox, plain_address
from ingest.alerts.plan import Digest, OwedLine, Reminder, SourceWarning
from ingest.alerts.policy import AlertPolicy
from ingest.campaign import Campaign
from ingest.errors import ConfigError
from ingest.rollup import LEVEL_TH as GROUP_LEVEL_TH
from ingest.status import STATUS_TH, Rates
from ingest.thaidate import BANGKOK, format_thai_date

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_NAMES = ("reminder.txt.j2", "reminder.html.j2", "digest.txt.j2", "digest.html.j2")
LEVEL_TH = {"province": "จังหวัด", "district": "อำเภอ", "subdistrict": "ตำบล"}
# SMTP policy: CRLF line ends and RFC 2047 encoded headers, so any server takes it (no SMTPUTF8 needed).
MESSAGE_POLICY = email_policy.SMTP
_SLUG = re.compile(r"[^A-Za-z0-9]+")


class Templates:
    """The four templates, each from the coordinator's folder when it has a copy, else the built-in one."""

    def __init__(self, folder: str | Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if folder is not None:
            if not Path(folder).is_dir():
                raise ConfigError([f"mail.templates: {folder} is not a folder (copy ingest/alerts/templates there "
                                   "and edit the copies)"])
            loaders.append(jinja2.FileSystemLoader(str(folder)))
        loaders.append(jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES)))
        # Sandboxed and strict: an edited template can neither reach Python nor silently print nothing.
        self.env = SandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
            autoescape=lambda name: bool(name and ".html" in name),
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

    def render(self, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """(subject, body); the subject is '' when the template sets none."""
        try:
            template = self.env.get_template(name)
            # render() maps errors to template lines; the module is then only read for its subject.
            body = template.render(context)
            subject = str(getattr(template.make_module(dict(context)), "subject", ""))
        except jinja2.TemplateError as exc:
            line = _template_line(exc, name)
            where = f"{name}, line {line}" if line else name
            raise ConfigError([f"mail.templates: {where}: {exc}"]) from None
        # A subject may be wrapped over lines in the template; it is one line in the header.
        return " ".join(subject.split()), body


def _template_line(exc: jinja2.TemplateError, name: str) -> int | None:
    line = getattr(exc, "lineno", None)
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename.endswith(name):
            line = frame.tb_lineno
        frame = frame.tb_next
    return line


def message_id(kind: str, unit_code: str, day: datetime, token: str, sender: str) -> str:
    """<tidtam.reminder.95.20221112.3fa1c0@example.go.th>: codes only, never a unit's name."""
    domain = mailbox(sender).domain
    return f"<tidtam.{kind}.{_SLUG.sub('-', unit_code) or 'all'}.{day.astimezone(BANGKOK):%Y%m%d}.{token}@{domain}>"


def due_text(deadline: datetime) -> str:
    """'15 พฤศจิกายน 2565'; with the time when the deadline is not the end of a day."""
    local = deadline.astimezone(BANGKOK)
    end_of_day = (local.hour, local.minute) == (23, 59)
    return format_thai_date(local, with_time=not end_of_day)


def days_text(deadline: datetime, now: datetime) -> str:
    days = (deadline.astimezone(BANGKOK).date() - now.astimezone(BANGKOK).date()).days
    if days > 0:
        return f"อีก {days} วัน"
    if days == 0:
        return "วันนี้เป็นวันสุดท้าย" if now <= deadline else "เลยกำหนดแล้ว"
    return f"เลยกำหนดมาแล้ว {-days} วัน"


def _safe_link(link: str | None) -> str | None:
    # Only web links go into a mail: a javascript: or file: link from a mistyped config must not.
    if link and re.match(r"^https?://[^\s<>\"]+$", link):
        return link
    return None


def _line_context(line: OwedLine, now: datetime) -> dict[str, Any]:
    cell, deliverable = line.status, line.deliverable
    return {
        "id": deliverable.id, "title": deliverable.title, "unit_label": deliverable.unit_label,
        "received": cell.received, "expected": cell.expected, "owed": cell.owed, "invalid": cell.invalid,
        "progress": f"{cell.received}/{cell.expected} {deliverable.unit_label}",
        "status": cell.status, "status_th": STATUS_TH[cell.status],
        "due": due_text(cell.deadline), "when": days_text(cell.deadline, now), "overdue": now > cell.deadline,
        "link": _safe_link(deliverable.link), "reasons": list(cell.reasons), "new_stage": line.stage is not None,
    }


def _common(campaign: Campaign, policy: AlertPolicy, now: datetime) -> dict[str, Any]:
    sender = mailbox(policy.sender)
    return {
        "campaign": {"id": campaign.id, "title": campaign.title},
        "as_of": format_thai_date(now, with_time=True),
        "sender_name": sender.display_name or sender.addr_spec,
        "reply_to": policy.reply_to or sender.addr_spec,
        "coordinators": list(policy.coordinators),
        "level": LEVEL_TH.get(campaign.units[0].level, "หน่วยงาน") if campaign.units else "หน่วยงาน",
    }


def reminder_context(campaign: Campaign, reminder: Reminder, policy: AlertPolicy, now: datetime) -> dict[str, Any]:
    stage = reminder.stage
    return {
        **_common(campaign, policy, now),
        "unit": {"code": reminder.unit.code, "name": reminder.unit.name},
        "stage": {"name": stage.name, "offset": stage.offset, "after": stage.offset > 0},
        "items": [_line_context(line, now) for line in reminder.lines],
        "notes": [{"title": d.title, "reason": reason} for d, reason in reminder.notes],
    }


def _rates(rates: Rates) -> dict[str, Any]:
    return {"completeness": f"{rates.completeness:.0%}", "timeliness": f"{rates.timeliness:.0%}",
            "expected": rates.units_expected, "complete": rates.units_complete, "on_time": rates.units_on_time}


def digest_context(campaign: Campaign, digest: Digest, policy: AlertPolicy, now: datetime) -> dict[str, Any]:
    titles = {d.id: d.title for d in campaign.deliverables}
    names = {u.code: u.name for u in campaign.units}

    def shortfalls(rows) -> list[dict[str, Any]]:
        return [{"code": s.unit, "name": s.unit_name,
                 "lines": [{"title": d.title, "progress": f"{c.received}/{c.expected} {d.unit_label}",
                            "due": due_text(c.deadline)} for d, c in s.lines]} for s in rows]

    return {
        **_common(campaign, policy, now),
        "day": format_thai_date(digest.day),
        "rates": _rates(digest.rates),
        "by_deliverable": [{"title": titles[i], **_rates(r)} for i, r in digest.rates_by_deliverable.items()],
        "counts": [{"status_th": STATUS_TH[s], "count": n} for s, n in digest.counts.items() if n],
        "missing": shortfalls(digest.missing),
        "overdue": shortfalls(digest.overdue),
        "new_breaches": [{"unit": b.unit_name, "title": b.title, "reason": b.reason} for b in digest.new_breaches],
        "mail_problems": [{"unit": p.unit, "address": p.address, "problem": p.problem} for p in digest.mail_problems],
        "reminders_sent": digest.reminders_sent,
        "warnings": [_warning_context(w, titles) for w in digest.warnings],
        "by_group": _group_context(digest),
        "decisions": [{"unit": names.get(d.unit, d.unit) or "-", "title": titles.get(d.deliverable, d.deliverable),
                       "item": d.item, "decision": d.decision, "reason": d.reason}
                      for d in sorted(digest.decisions, key=lambda d: (d.at, d.unit, d.key))],
    }


def _group_context(digest: Digest) -> list[dict[str, Any]]:
    """The rates per parent unit or group (ingest.rollup), one line each; empty when the campaign has none."""
    return [{"level": GROUP_LEVEL_TH[g.level], "name": g.name, **_rates(g.rates)} for g in digest.by_group]


def _warning_context(warning: SourceWarning, titles: Mapping[str, str]) -> dict[str, Any]:
    """A source that was not read well enough, as the digest's opening says it (Thai)."""
    noun = "แถว" if warning.role == "responses" else "ไฟล์/โฟลเดอร์"
    if warning.failed:
        what = "อ่านแหล่งข้อมูลนี้ไม่ได้เลยในรอบนี้ (ใช้ข้อมูลที่อ่านได้ครั้งก่อน)"
    elif warning.rejected >= warning.read:
        what = f"อ่านไม่ได้ทั้งหมด {warning.rejected:,} {noun}"
    else:
        what = f"อ่านไม่ได้ {warning.rejected:,} จาก {warning.read:,} {noun}"
    return {"source": warning.source, "titles": ", ".join(titles[i] for i in warning.deliverables if i in titles),
            "what": what, "reasons": list(warning.reasons)}


def build_message(*, subject: str, text: str, html: str, sender: str, to: Sequence[str], cc: Sequence[str] = (),
                  reply_to: str | None = None, now: datetime, msg_id: str,
                  extra: Mapping[str, str] | None = None) -> EmailMessage:
    """A multipart/alternative message; ValueError when any header value could inject a header."""
    for name, value in [("Subject", subject), ("Message-ID", msg_id), *(extra or {}).items()]:
        if has_control(value):
            raise ValueError(f"header {name} would contain a line break: {value!r}")
    # A file or folder name with undecodable bytes (lone surrogates) or a config value with a stray
    # control character can reach a reminder; UTF-8 cannot encode the one, a mail should not carry the
    # other. Cleaned as for a warehouse cell (U+FFFD for a surrogate), never a failed run.
    subject, text, html = clean_text(subject), clean_text(text), clean_text(html)
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Subject"] = subject
    message["From"] = mailbox(sender)
    message["To"] = _addresses(to)
    if cc:
        message["Cc"] = _addresses(cc)
    if reply_to:
        message["Reply-To"] = mailbox(reply_to)
    message["Date"] = format_datetime(now.astimezone(BANGKOK))
    message["Message-ID"] = msg_id
    # RFC 3834: out-of-office robots must not answer an automatic reminder.
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (extra or {}).items():
        message[name] = value
    # base64 bodies: Thai text stays intact through any relay, 8BITMIME or not.
    message.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return message


def _addresses(addresses: Sequence[str]) -> tuple[Address, ...]:
    return tuple(plain_address(a) for a in addresses)


def reminder_message(campaign: Campaign, reminder: Reminder, policy: AlertPolicy, now: datetime, *,
                     msg_id: str, templates: Templates) -> EmailMessage:
    """ValueError when the unit's name could break a header (the subject carries it)."""
    if has_control(reminder.unit.name) or has_control(campaign.title):
        raise ValueError(f"unit {reminder.unit.code}: its name {reminder.unit.name!r} or the campaign title contains "
                         "a line break or control character; fix the units file")
    context = reminder_context(campaign, reminder, policy, now)
    subject, text = templates.render("reminder.txt.j2", context)
    _, html = templates.render("reminder.html.j2", context)
    stages = "; ".join(f"{t.deliverable}={t.stage.name}" for t in reminder.triggers)
    return build_message(subject=subject, text=text, html=html, sender=policy.sender, to=reminder.to,
                         cc=reminder.cc, reply_to=policy.reply_to, now=now, msg_id=msg_id,
                         extra={"X-Tidtam-Campaign": campaign.id, "X-Tidtam-Unit": reminder.unit.code,
                                "X-Tidtam-Stage": stages})


def digest_message(campaign: Campaign, digest: Digest, policy: AlertPolicy, now: datetime, *,
                   msg_id: str, templates: Templates) -> EmailMessage:
    context = digest_context(campaign, digest, policy, now)
    subject, text = templates.render("digest.txt.j2", context)
    _, html = templates.render("digest.html.j2", context)
    return build_message(subject=subject, text=text, html=html, sender=policy.sender, to=digest.to,
                         reply_to=policy.reply_to, now=now, msg_id=msg_id,
                         extra={"X-Tidtam-Campaign": campaign.id, "X-Tidtam-Stage": "digest"})
