"""Send what the alert plan says, each mail at most once: record the intent, send, record the outcome.

Why at most once, and not "at least once": a reminder lost to a crash is followed by the next
stage; a duplicate is what people complain about. So an intent whose outcome was never recorded
(the run died mid-send) is settled on the next run by asking the mailer whether it went out when
the mailer can tell (the outbox can), and otherwise marked `unknown` and never sent again; it shows
in the `alerts` tab and the coordinators' digest so a person can check. A send the server may have
taken without confirming it (SMTP connection lost after DATA; Gmail 5xx, timeout or lost answer)
raises DeliveryUnknownError and is marked `unknown` the same way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from connectors.base import DeliveryProbe, Mailer
from ingest.alerts.compose import Templates, digest_message, message_id, reminder_message
from ingest.alerts.log import AlertLog, Intent, breach_payload
from ingest.alerts.plan import (
    DIGEST,
    AlertPlan,
    Digest,
    MailProblem,
    Reminder,
    SourceWarning,
    plan_alerts,
    plan_digest,
)
from ingest.alerts.policy import AlertPolicy, alert_policy_from_config, clock_time
from ingest.campaign import Campaign
from ingest.errors import (
    ConfigError,
    DeliveryUnknownError,
    FatalSourceError,
    PermanentRecipientError,
    RetryableSourceError,
)
from ingest.state import StateStore
from ingest.status import Evaluation
from ingest.thaidate import BANGKOK

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailOutcome:
    kind: str  # reminder | digest
    unit: str
    stage: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    status: str  # planned (dry run) | sent | partial | failed | deferred | unknown | skipped | invalid
    message_id: str = ""
    detail: str = ""


@dataclass
class AlertReport:
    as_of: datetime
    dry_run: bool
    plan: AlertPlan
    digest: Digest | None
    outcomes: list[MailOutcome] = field(default_factory=list)
    settled: dict[str, str] = field(default_factory=dict)  # message id of a crashed run → what it became
    stopped: str = ""  # why sending stopped before the end of the plan (the rest goes on a later run)
    budget_used: int = 0  # recipients today, before this run
    withheld: tuple[str, ...] = ()  # deliverables no reminder mentions in this run (their source was not read)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        counts["queued"] = len(self.plan.queued)
        counts["held"] = len(self.plan.held)
        counts["no_address"] = len(self.plan.no_address)
        return counts


def policy_of(campaign: Campaign) -> AlertPolicy:
    """The campaign's alert policy (its `mail:` section); ConfigError listing every problem."""
    problems: list[str] = []
    policy = alert_policy_from_config(campaign.mail, problems)
    if problems:
        raise ConfigError(problems)
    return policy


def _folder(campaign: Campaign, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(campaign.base_dir) / path


def _token() -> str:
    return uuid.uuid4().hex[:12]


def send_alerts(campaign: Campaign, evaluation: Evaluation, state: StateStore, mailer: Mailer | None,
                now: datetime, *, dry_run: bool = False, policy: AlertPolicy | None = None,
                templates: Templates | None = None, token: Callable[[], str] = _token,
                warnings: Sequence[SourceWarning] = (), decisions: Sequence[Any] = ()) -> AlertReport:
    """Plan reminders and the digest at `now` and send them by the policy, each at most once.

    With `dry_run` (or no mailer, or `mail.alerts.enabled: false`) nothing is sent or recorded: the
    report says what would be sent and why. Sending stops at the first transient failure (the rest
    is planned again by the next run); a recipient refused for good does not stop the others.
    The deliverables of a source in `warnings` are in no reminder; the digest opens with the warning.
    """
    withheld = tuple(dict.fromkeys(i for w in warnings for i in w.deliverables))
    policy = policy or policy_of(campaign)
    if policy.digest_at is None and campaign.schedule and campaign.schedule.digest_at:
        policy = replace(policy, digest_at=clock_time(campaign.schedule.digest_at))
    dry_run = dry_run or mailer is None or not policy.enabled
    alert_log = AlertLog(state)
    settled = {} if dry_run else _settle(alert_log, mailer, now)
    already = alert_log.recorded_stages()
    used = alert_log.recipients_on(now.astimezone(BANGKOK).date())
    first = plan_alerts(campaign, evaluation, policy, already, now, budget_used=used, withheld=withheld)
    last_day, last_as_of, reported = alert_log.last_digest()
    digest = plan_digest(campaign, evaluation, policy, now, last_day=last_day, reported=reported,
                         mail_problems=_mail_problems(campaign, alert_log, last_as_of, first),
                         reminders_sent=_reminders_since(alert_log, last_as_of), warnings=warnings)
    if digest and decisions:  # ingest.review.ReviewLine: those first read since the last digest
        digest = replace(digest, decisions=tuple(d for d in decisions if last_as_of is None or d.at >= last_as_of))
    if digest and used + digest.recipients > policy.daily_budget:
        digest = None  # over today's budget: tomorrow's digest covers the same ground
    reserved = digest.recipients if digest else 0
    plan = plan_alerts(campaign, evaluation, policy, already, now, budget_used=used + reserved,
                       withheld=withheld) if digest else first
    templates = templates or Templates(_folder(campaign, policy.templates) if policy.templates else None)

    # Everything is rendered before anything is recorded: a broken edited template stops the run clean.
    batch: list[tuple[Intent, EmailMessage]] = []
    if digest:
        batch.append(_digest_intent(campaign, digest, policy, now, templates, token()))
    report = AlertReport(now, dry_run, plan, digest, settled=settled, budget_used=used, withheld=withheld)
    for reminder in plan.send:
        try:
            batch.append(_reminder_intent(campaign, reminder, policy, now, templates, token()))
        except ValueError as exc:  # a unit's data would break a header: reported, never sent
            log.error("%s", exc)
            report.outcomes.append(MailOutcome("reminder", reminder.unit.code, reminder.stage.name, reminder.to,
                                               reminder.cc, "", "invalid", detail=str(exc)))
    if dry_run:
        report.outcomes += [_outcome(intent, "planned") for intent, _ in batch]
        return report
    for intent, message in batch:
        if not alert_log.record_intent(intent):
            report.outcomes.append(_outcome(intent, "skipped", "another run recorded this stage first"))
            continue
        status, detail = _deliver(alert_log, mailer, intent, message, now)
        report.outcomes.append(_outcome(intent, status, detail))
        if status in ("deferred", "unknown"):
            report.stopped = detail
            break
    return report


def _deliver(alert_log: AlertLog, mailer: Mailer, intent: Intent, message: EmailMessage,
             now: datetime) -> tuple[str, str]:
    try:
        mailer.send(message)
    except PermanentRecipientError as exc:
        status = "partial" if exc.accepted else "failed"
        log.warning("%s %s for unit %s: %s", intent.kind, status, intent.unit, exc)
        alert_log.finish(intent.message_id, status, now, refused=exc.refused, error=str(exc))
        return status, str(exc)
    except DeliveryUnknownError as exc:
        log.error("%s for unit %s: outcome unknown, not resent: %s", intent.kind, intent.unit, exc)
        alert_log.finish(intent.message_id, "unknown", now, error=str(exc))
        return "unknown", str(exc)
    except (RetryableSourceError, FatalSourceError) as exc:
        # Nothing was delivered: free the stages so a later run (after the fix, for a fatal one) sends them.
        log.warning("%s for unit %s deferred: %s", intent.kind, intent.unit, exc)
        alert_log.finish(intent.message_id, "deferred", now, error=str(exc))
        return "deferred", str(exc)
    alert_log.finish(intent.message_id, "sent", now)
    return "sent", ""


def _settle(alert_log: AlertLog, mailer: Mailer | None, now: datetime) -> dict[str, str]:
    """Intents a crashed run left pending: confirmed, released, or marked unknown (never resent)."""
    probe = mailer if isinstance(mailer, DeliveryProbe) else None  # mailers that can tell (the outbox)
    settled = {}
    for pending in alert_log.pending():
        found = probe.delivered(pending) if probe else None
        if found is True:
            alert_log.finish(pending, "sent", now, error="confirmed by the mailer after a crashed run")
            settled[pending] = "sent"
        elif found is False:
            alert_log.finish(pending, "not_sent", now, error="a crashed run recorded it but never sent it")
            settled[pending] = "not_sent"
        else:
            log.warning("message %s: a run died while sending it; it is not sent again", pending)
            alert_log.finish(pending, "unknown", now, error="a run died while sending it; not sent again")
            settled[pending] = "unknown"
    return settled


def _reminder_intent(campaign: Campaign, reminder: Reminder, policy: AlertPolicy, now: datetime,
                     templates: Templates, token: str) -> tuple[Intent, EmailMessage]:
    msg_id = message_id("reminder", reminder.unit.code, now, token, policy.sender)
    message = reminder_message(campaign, reminder, policy, now, msg_id=msg_id, templates=templates)
    intent = Intent(
        msg_id, "reminder", reminder.unit.code, reminder.unit.name, reminder.stage.name, reminder.keys,
        "; ".join(f"{t.deliverable}={t.stage.name}" for t in reminder.triggers),
        "; ".join(f"{line.deliverable.id} {line.status.received}/{line.status.expected}" for line in reminder.lines),
        reminder.to, reminder.cc, str(message["Subject"]), now)
    return intent, message


def _digest_intent(campaign: Campaign, digest: Digest, policy: AlertPolicy, now: datetime,
                   templates: Templates, token: str) -> tuple[Intent, EmailMessage]:
    msg_id = message_id(DIGEST, "all", now, token, policy.sender)
    message = digest_message(campaign, digest, policy, now, msg_id=msg_id, templates=templates)
    summary = (f"missing {len(digest.missing)}; overdue {len(digest.overdue)}; "
               f"new rule breaks {len(digest.new_breaches)}")
    intent = Intent(msg_id, DIGEST, digest.key.unit, "", DIGEST, (digest.key,), DIGEST, summary, digest.to, (),
                    str(message["Subject"]), now, breach_payload(b.key for b in digest.breaches))
    return intent, message


def _outcome(intent: Intent, status: str, detail: str = "") -> MailOutcome:
    return MailOutcome(intent.kind, intent.unit, intent.stage, intent.to, intent.cc, intent.subject, status,
                       intent.message_id, detail)


def _mail_problems(campaign: Campaign, alert_log: AlertLog, since: datetime | None,
                   plan: AlertPlan) -> list[MailProblem]:
    """What the coordinators must fix: refused or unknown reminders since the last digest, bad addresses."""
    names = {u.code: u.name for u in campaign.units}
    problems = []
    for row in alert_log.messages(kind="reminder", since=since):
        name = row["unit_name"] or row["unit"]
        for address, (code, reply) in row["refused"].items():
            problems.append(MailProblem(name, address, f"เซิร์ฟเวอร์อีเมลปฏิเสธ ({code} {reply})"))
        if row["status"] == "unknown":
            problems.append(MailProblem(name, ", ".join(row["recipients"]["to"]),
                                        "ไม่ทราบผลการส่ง (การส่งขาดตอนก่อนได้รับการยืนยัน) จึงไม่ส่งซ้ำ โปรดตรวจสอบ"))
    for problem in plan.address_problems:
        problems.append(MailProblem(names.get(problem.unit, problem.unit), problem.address,
                                    "ที่อยู่อีเมลไม่ถูกต้อง จึงไม่ได้ส่งถึงที่อยู่นี้"))
    for reminder in plan.no_address:
        problems.append(MailProblem(reminder.unit.name, "-", "ไม่มีที่อยู่อีเมลที่ใช้ได้ จึงไม่ได้ส่งแจ้งเตือน"))
    return problems


def _reminders_since(alert_log: AlertLog, since: datetime | None) -> int:
    return sum(row["status"] in ("sent", "partial") for row in alert_log.messages(kind="reminder", since=since))
