"""The channel seam: how a planned reminder or digest reaches people. E-mail is the one channel.

A channel says where it reaches a unit (its `Reach`, which planning uses), composes a planned reminder
or digest into something it can deliver, and delivers it. A second channel (LINE Messaging API, SMS)
is one new module with a class shaped like EmailChannel, passed to ingest.alerts.send.send_alerts;
planning, the at-most-once bookkeeping and the alert log stay as they are. Whatever the channel,
`deliver` reports failures with the delivery errors of ingest.errors: PermanentRecipientError
(refused for good), DeliveryUnknownError (may have gone out), RetryableSourceError and
FatalSourceError (nothing went out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from connectors.base import Mailer
from ingest.alerts.compose import Templates, digest_message, message_id, reminder_message
from ingest.alerts.plan import DIGEST, Digest, EmailReach, Reach, Reminder
from ingest.alerts.policy import AlertPolicy
from ingest.campaign import Campaign


@dataclass(frozen=True)
class Outgoing:
    """One composed message: the id and subject the alert log records, and what the channel delivers."""

    message_id: str
    subject: str
    body: Any  # the channel's own message: an EmailMessage for e-mail


class Channel(Reach, Protocol):
    def reminder(self, reminder: Reminder, now: datetime, token: str) -> Outgoing:
        """ValueError when the unit's data cannot be put in a message (it is reported, never sent)."""
        ...

    def digest(self, digest: Digest, now: datetime, token: str) -> Outgoing: ...

    def deliver(self, outgoing: Outgoing) -> None: ...


class EmailChannel(EmailReach):
    """E-mail: the templates render a multipart message (ingest.alerts.compose); a Mailer sends it
    (connectors: outbox, SMTP, Gmail API). No mailer: a dry run, which composes and never delivers."""

    def __init__(self, campaign: Campaign, policy: AlertPolicy, templates: Templates, mailer: Mailer | None) -> None:
        self.campaign, self.policy, self.templates, self.mailer = campaign, policy, templates, mailer

    def reminder(self, reminder: Reminder, now: datetime, token: str) -> Outgoing:
        msg_id = message_id("reminder", reminder.unit.code, now, token, self.policy.sender)
        message = reminder_message(self.campaign, reminder, self.policy, now, msg_id=msg_id, templates=self.templates)
        return Outgoing(msg_id, str(message["Subject"]), message)

    def digest(self, digest: Digest, now: datetime, token: str) -> Outgoing:
        msg_id = message_id(DIGEST, "all", now, token, self.policy.sender)
        message = digest_message(self.campaign, digest, self.policy, now, msg_id=msg_id, templates=self.templates)
        return Outgoing(msg_id, str(message["Subject"]), message)

    def deliver(self, outgoing: Outgoing) -> None:
        assert self.mailer is not None and isinstance(outgoing.body, EmailMessage), "a dry run delivers nothing"
        self.mailer.send(outgoing.body)
