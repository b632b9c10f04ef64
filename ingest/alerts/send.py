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
from typing import Any

from connectors.base import DeliveryProbe, Mailer
from ingest.alerts.channel import Channel, EmailChannel, Outgoing
from ingest.alerts.compose import Templates
from ingest.alerts.log import AlertLog, Intent, breach_payload
from ingest.alerts.plan import DIGEST, AlertPlan, Digest, Reminder, SourceWarning, plan_run
from ingest.alerts.policy import AlertPolicy
from ingest.campaign import Campaign
from ingest.errors import (
    DeliveryUnknownError,
    FatalSourceError,
    PermanentRecipientError,
    RetryableSourceError,
)
from ingest.state import StateStore
from ingest.status import Evaluation

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


def _token() -> str:
    return uuid.uuid4().hex[:12]


def send_alerts(campaign: Campaign, evaluation: Evaluation, state: StateStore, mailer: Mailer | None,
                now: datetime, *, dry_run: bool = False, templates: Templates | None = None,
                token: Callable[[], str] = _token, warnings: Sequence[SourceWarning] = (),
                channel: Channel | None = None,
                decisions: Sequence[Any] = ()) -> AlertReport:
    """Plan reminders and the digest at `now` and send them by the policy, each at most once.

    In the order the work happens: the log is read, the plan made once, every message composed,
    then each one recorded, sent and its outcome recorded. With `dry_run` (or no mailer, or
    `mail.alerts.enabled: false`) nothing is sent or recorded: the report says what would be sent
    and why. Sending stops at the first transient failure (the rest is planned again by the next
    run); a recipient refused for good does not stop the others. The deliverables of a source in
    `warnings` are in no reminder; the digest opens with the warning. `channel` defaults to e-mail
    through `mailer`.
    """
    policy = campaign.mail or AlertPolicy()  # no `mail:` section: disabled, so only planned
    dry_run = dry_run or mailer is None or not policy.enabled
    alert_log = AlertLog(state)
    settled = {} if dry_run else _settle(alert_log, mailer, now)
    channel = channel or EmailChannel(campaign, policy, templates or templates_for(campaign, policy), mailer)
    history = alert_log.history(now)
    plan, digest = plan_run(campaign, evaluation, policy, history, now, warnings=warnings, reach=channel)
    if digest and decisions:  # ingest.review.ReviewLine: those first read since the last digest
        since = history.last_digest_at
        digest = replace(digest, decisions=tuple(d for d in decisions if (since is None or d.at >= since)
                                                 and (d.arrived_at is None or d.arrived_at <= now)))
    report = AlertReport(now, dry_run, plan, digest, settled=settled, budget_used=history.budget_used,
                         withheld=tuple(dict.fromkeys(i for w in warnings for i in w.deliverables)))
    # Everything is composed before anything is recorded: a broken edited template stops the run clean.
    batch = _compose(channel, plan, digest, now, token, report)
    if dry_run:
        report.outcomes += [_outcome(intent, "planned") for intent, _ in batch]
    else:
        _send(alert_log, channel, batch, now, report)
    return report


def templates_for(campaign: Campaign, policy: AlertPolicy) -> Templates:
    """The built-in templates, or the coordinator's edited copies in `mail.templates`."""
    return Templates(campaign.resolve(policy.templates) if policy.templates else None)


def _compose(channel: Channel, plan: AlertPlan, digest: Digest | None, now: datetime, token: Callable[[], str],
             report: AlertReport) -> list[tuple[Intent, Outgoing]]:
    """The digest first, then the reminders the plan sends; a unit whose data would break a message is
    reported as invalid, never sent."""
    batch = []
    if digest:
        outgoing = channel.digest(digest, now, token())
        batch.append((_digest_intent(digest, outgoing, now), outgoing))
    for reminder in plan.send:
        try:
            outgoing = channel.reminder(reminder, now, token())
            batch.append((_reminder_intent(reminder, outgoing, now), outgoing))
        except ValueError as exc:
            log.error("%s", exc)
            report.outcomes.append(MailOutcome("reminder", reminder.unit.code, reminder.stage.name, reminder.to,
                                               reminder.cc, "", "invalid", detail=str(exc)))
    return batch


def _send(alert_log: AlertLog, channel: Channel, batch: Sequence[tuple[Intent, Outgoing]], now: datetime,
          report: AlertReport) -> None:
    outcomes, report.stopped = deliver_all(alert_log, channel, batch, now)
    report.outcomes += outcomes


def deliver_all(alert_log: AlertLog, channel: Channel, batch: Sequence[tuple[Intent, Outgoing]],
                now: datetime) -> tuple[list[MailOutcome], str]:
    """Each message: its intent recorded, then delivered, then its outcome recorded. Stops at the first
    one that was deferred or whose outcome is unknown; returns the outcomes and why it stopped ("")."""
    outcomes = []
    for intent, outgoing in batch:
        if not alert_log.record_intent(intent):
            outcomes.append(_outcome(intent, "skipped", "another run recorded this stage first"))
            continue
        status, detail = _deliver(alert_log, channel, intent, outgoing, now)
        outcomes.append(_outcome(intent, status, detail))
        if status in ("deferred", "unknown"):
            return outcomes, detail
    return outcomes, ""


def _deliver(alert_log: AlertLog, channel: Channel, intent: Intent, outgoing: Outgoing,
             now: datetime) -> tuple[str, str]:
    try:
        channel.deliver(outgoing)
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


def _reminder_intent(reminder: Reminder, outgoing: Outgoing, now: datetime) -> Intent:
    return Intent(
        outgoing.message_id, "reminder", reminder.unit.code, reminder.unit.name, reminder.stage.name, reminder.keys,
        "; ".join(f"{t.deliverable}={t.stage.name}" for t in reminder.triggers),
        "; ".join(f"{line.deliverable.id} {line.status.received}/{line.status.expected}" for line in reminder.lines),
        reminder.to, reminder.cc, outgoing.subject, now)


def _digest_intent(digest: Digest, outgoing: Outgoing, now: datetime) -> Intent:
    summary = (f"missing {len(digest.missing)}; overdue {len(digest.overdue)}; "
               f"new rule breaks {len(digest.new_breaches)}")
    return Intent(outgoing.message_id, DIGEST, digest.key.unit, "", DIGEST, (digest.key,), DIGEST, summary, digest.to,
                  (), outgoing.subject, now, breach_payload(b.key for b in digest.breaches))


def _outcome(intent: Intent, status: str, detail: str = "") -> MailOutcome:
    return MailOutcome(intent.kind, intent.unit, intent.stage, intent.to, intent.cc, intent.subject, status,
                       intent.message_id, detail)
