"""Planning reminders and the coordinators' digest (pure): who is owed which stage mail at `now`.

Values in, values out: statuses, the policy and what the alert log holds (`History`: the stages
already recorded, the budget already used, the last digest) come in; one ordered plan and the day's
digest come out (`plan_run`). Composing, sending and recording come after, in ingest.alerts.send.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from ingest.alerts.addresses import address_problem
from ingest.alerts.policy import AlertPolicy, Stage
from ingest.campaign import Campaign, Deliverable, Unit
from ingest.rollup import GroupRates, rollups
from ingest.status import URGENCY, DeliverableStatus, Evaluation, Rates, UnitStatus
from ingest.thaidate import BANGKOK

OWED = ("missing", "overdue", "partial", "waiting")
DIGEST = "digest"
ANY = "*"  # the unit and deliverable of a digest's key


@dataclass(frozen=True)
class StageKey:
    """What is sent at most once: this stage of this deliverable's deadline, for this unit."""

    unit: str
    deliverable: str
    stage: str
    deadline: datetime  # a changed deadline (an extension) starts its stages afresh


@dataclass(frozen=True)
class Trigger:
    deliverable: str
    stage: Stage
    deadline: datetime

    @property
    def fires_on(self) -> date:
        return self.deadline.astimezone(BANGKOK).date() + timedelta(days=self.stage.offset)


@dataclass(frozen=True)
class OwedLine:
    """One deliverable a unit still owes, as its reminder lists it."""

    deliverable: Deliverable
    status: DeliverableStatus
    stage: Stage | None  # the stage this mail fulfils for it; None when it is listed only


@dataclass(frozen=True)
class Reminder:
    unit: Unit
    lines: tuple[OwedLine, ...]  # everything still owed, earliest deadline first
    triggers: tuple[Trigger, ...]
    notes: tuple[tuple[Deliverable, str], ...] = ()  # rule breaks in deliverables that are already complete
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[StageKey, ...]:
        return tuple(StageKey(self.unit.code, t.deliverable, t.stage.name, t.deadline) for t in self.triggers)

    @property
    def stage(self) -> Stage:
        """The headline stage: that of the most overdue deliverable in the mail."""
        return max(self.triggers, key=lambda t: (t.stage.offset, -t.deadline.timestamp())).stage

    @property
    def recipients(self) -> int:
        return len(self.to) + len(self.cc)

    @property
    def urgency(self) -> tuple:
        """Sort key, most urgent first: worst status, then earliest deadline, then longest waiting."""
        worst = min(URGENCY.index(line.status.status) for line in self.lines)
        return (worst, min(t.deadline for t in self.triggers), min(t.fires_on for t in self.triggers),
                self.unit.code)


@dataclass(frozen=True)
class AddressProblem:
    unit: str
    address: str
    problem: str


@dataclass(frozen=True)
class AlertPlan:
    as_of: datetime
    send: tuple[Reminder, ...] = ()
    queued: tuple[Reminder, ...] = ()  # over today's budget: planned again, most urgent first, tomorrow
    held: tuple[Reminder, ...] = ()  # inside quiet hours: planned again by the next run outside them
    no_address: tuple[Reminder, ...] = ()  # owed a mail, but the unit has no valid address
    address_problems: tuple[AddressProblem, ...] = ()
    budget_left: int = 0

    @property
    def reminders(self) -> tuple[Reminder, ...]:
        return self.send + self.queued + self.held + self.no_address


class Reach(Protocol):
    """Where a channel reaches a unit: the part of ingest.alerts.channel.Channel that planning uses."""

    def addresses(self, unit: Unit) -> tuple[str, ...]: ...

    def address_problem(self, address: str) -> str | None: ...


class EmailReach:
    """E-mail's reach: the unit's addresses from the units or contacts file, checked strictly."""

    def addresses(self, unit: Unit) -> tuple[str, ...]:
        return unit.emails

    def address_problem(self, address: str) -> str | None:
        return address_problem(address)


@dataclass(frozen=True)
class History:
    """What the alert log holds that planning needs (ingest.alerts.log.AlertLog.history), read once."""

    recorded: frozenset[StageKey]  # every stage held by a message (pending, sent, partial, failed, unknown)
    budget_used: int  # recipients today so far, whatever came of each attempt
    last_digest_day: date | None
    reported: frozenset[tuple[str, str, str]]  # every rule break a digest has reported
    since_digest: tuple[Mapping[str, Any], ...] = ()  # the log's reminder rows since the last digest
    last_digest_at: datetime | None = None  # the as-of of the last digest recorded


def due_stage(stages: Sequence[Stage], deadline: datetime, now: datetime) -> Stage | None:
    """The latest stage whose day (deadline's date + offset, Bangkok) has begun by `now`.

    Only the latest counts: a run that comes after a missed stage sends the current one, not both.
    """
    today = now.astimezone(BANGKOK).date()
    deadline_day = deadline.astimezone(BANGKOK).date()
    latest = None
    for stage in stages:
        if deadline_day + timedelta(days=stage.offset) <= today:
            latest = stage
    return latest


def plan_run(campaign: Campaign, evaluation: Evaluation, policy: AlertPolicy, history: History, now: datetime,
             *, warnings: Sequence[SourceWarning] = (), reach: Reach | None = None) -> tuple[AlertPlan, Digest | None]:
    """The reminders and today's digest, planned once: the digest (when it fits today's budget)
    reserves its recipients first, then the reminders share what is left, most urgent first.

    The deliverables of a source in `warnings` (it failed or could not read its rows in this run) are
    in no reminder: a unit may look as if it owed them only because its rows could not be read.
    """
    withheld = {i for w in warnings for i in w.deliverables}
    owed, problems = _owed(campaign, evaluation, policy, history.recorded, now, withheld, reach or EmailReach())
    no_address = tuple(r for r in owed if not r.to)
    digest = plan_digest(campaign, evaluation, policy, now, last_day=history.last_digest_day,
                         reported=history.reported, warnings=warnings,
                         mail_problems=_mail_problems(campaign, history.since_digest, problems, no_address),
                         reminders_sent=sum(row["status"] in ("sent", "partial") for row in history.since_digest))
    if digest and history.budget_used + digest.recipients > policy.daily_budget:
        digest = None  # over today's budget: tomorrow's digest covers the same ground
    used = history.budget_used + (digest.recipients if digest else 0)
    return _allot(owed, problems, policy, now, used), digest


def plan_alerts(campaign: Campaign, evaluation: Evaluation, policy: AlertPolicy, already: Collection[StageKey],
                now: datetime, *, budget_used: int = 0, withheld: Collection[str] = (),
                reach: Reach | None = None) -> AlertPlan:
    """Which units get a reminder now, and which wait for budget or for the end of quiet hours.

    `already` holds every stage recorded in the state (sent, failed, or of unknown outcome);
    `budget_used` counts today's recipients so far, the digest's included.
    """
    owed, problems = _owed(campaign, evaluation, policy, set(already), now, set(withheld), reach or EmailReach())
    return _allot(owed, problems, policy, now, budget_used)


def _owed(campaign: Campaign, evaluation: Evaluation, policy: AlertPolicy, recorded: Collection[StageKey],
          now: datetime, withheld: Collection[str], reach: Reach) -> tuple[list[Reminder], list[AddressProblem]]:
    """Every reminder due at `now` with its recipients, most urgent first, and the unusable addresses."""
    stages = policy.stages
    deliverables = {d.id: d for d in campaign.deliverables}
    units = {u.code: u for u in campaign.units}
    reminders, problems = [], []
    for status in evaluation.units:
        unit = units.get(status.code)
        if unit is None:
            continue
        reminder = _reminder(unit, status, deliverables, stages, recorded, now, withheld)
        if reminder is None:
            continue
        to = []
        for address in reach.addresses(unit):
            problem = reach.address_problem(address)
            if problem:
                problems.append(AddressProblem(unit.code, address, problem))
            else:
                to.append(address)
        cc = policy.coordinators if policy.cc_coordinators else ()
        reminders.append(_with_recipients(reminder, tuple(dict.fromkeys(to)), tuple(cc)))
    reminders.sort(key=lambda r: r.urgency)
    return reminders, problems


def _allot(reminders: Sequence[Reminder], problems: Sequence[AddressProblem], policy: AlertPolicy, now: datetime,
           budget_used: int) -> AlertPlan:
    """Today's budget and the quiet hours applied to the reminders, strictly in order of urgency."""
    no_address = tuple(r for r in reminders if not r.to)
    ready = [r for r in reminders if r.to]
    left = max(policy.daily_budget - budget_used, 0)
    if policy.quiet_hours and policy.quiet_hours.contains(now):
        return AlertPlan(now, held=tuple(ready), no_address=no_address, address_problems=tuple(problems),
                         budget_left=left)
    send: list[Reminder] = []
    queued: list[Reminder] = []
    for reminder in ready:
        # Strictly in order: once one does not fit, everything less urgent waits too.
        if not queued and reminder.recipients <= left:
            send.append(reminder)
            left -= reminder.recipients
        else:
            queued.append(reminder)
    return AlertPlan(now, tuple(send), tuple(queued), (), no_address, tuple(problems), left)


def _reminder(unit: Unit, status: UnitStatus, deliverables: dict[str, Deliverable], stages: Sequence[Stage],
              already: Collection[StageKey], now: datetime, withheld: Collection[str] = ()) -> Reminder | None:
    lines, triggers, notes = [], [], []
    for deliverable_id, cell in status.deliverables.items():
        if deliverable_id in withheld:
            continue
        deliverable = deliverables[deliverable_id]
        if cell.status not in OWED:
            if cell.status != "excused":
                notes += [(deliverable, reason) for reason in cell.reasons]
            continue
        stage = due_stage(stages, cell.deadline, now)
        opened = deliverable.opens_at is None or now >= deliverable.opens_at
        if stage and opened and StageKey(unit.code, deliverable_id, stage.name, cell.deadline) not in already:
            triggers.append(Trigger(deliverable_id, stage, cell.deadline))
        else:
            stage = None
        lines.append(OwedLine(deliverable, cell, stage))
    if not triggers:
        return None
    lines.sort(key=lambda line: (line.status.deadline, URGENCY.index(line.status.status)))
    return Reminder(unit, tuple(lines), tuple(triggers), tuple(notes))


def _with_recipients(reminder: Reminder, to: tuple[str, ...], cc: tuple[str, ...]) -> Reminder:
    return Reminder(reminder.unit, reminder.lines, reminder.triggers, reminder.notes, to, cc)


# -- the coordinators' digest ----------------------------------------------------------------

@dataclass(frozen=True)
class Breach:
    """A rule break as coordinators read it: which unit, which deliverable, the Thai reason."""

    unit: str
    unit_name: str
    deliverable: str
    title: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.unit, self.deliverable, self.reason)


@dataclass(frozen=True)
class UnitShortfall:
    unit: str
    unit_name: str
    lines: tuple[tuple[Deliverable, DeliverableStatus], ...]  # the deliverables in this state


@dataclass(frozen=True)
class MailProblem:
    """A reminder that did not reach someone: refused, invalid address, or unknown outcome."""

    unit: str
    address: str
    problem: str


@dataclass(frozen=True)
class SourceWarning:
    """A source whose deliverables' statuses cannot be trusted in this run: it failed, or it could not
    read all (or more than `max_rejected`) of its rows. The digest opens with it."""

    source: str
    deliverables: tuple[str, ...]  # ids, in campaign order
    failed: bool
    read: int = 0
    rejected: int = 0
    role: str = "responses"
    reasons: tuple[str, ...] = ()  # the first few, "where: what"


@dataclass(frozen=True)
class Digest:
    day: date
    as_of: datetime
    to: tuple[str, ...]
    rates: Rates
    rates_by_deliverable: dict[str, Rates]
    counts: dict[str, int]
    missing: tuple[UnitShortfall, ...]
    overdue: tuple[UnitShortfall, ...]
    new_breaches: tuple[Breach, ...]
    breaches: tuple[Breach, ...]  # all current ones, recorded so that tomorrow shows only newer ones
    mail_problems: tuple[MailProblem, ...] = ()
    reminders_sent: int = 0  # since the previous digest
    warnings: tuple[SourceWarning, ...] = ()
    by_group: tuple[GroupRates, ...] = ()  # rates per parent unit or group (ingest.rollup), when there are any
    decisions: tuple[Any, ...] = ()  # ingest.review.ReviewLine: coordinators' decisions read since the last digest

    @property
    def key(self) -> StageKey:
        return StageKey(ANY, ANY, DIGEST, datetime.combine(self.day, datetime.min.time(), tzinfo=BANGKOK))

    @property
    def recipients(self) -> int:
        return len(self.to)


def breaches(campaign: Campaign, evaluation: Evaluation) -> tuple[Breach, ...]:
    titles = {d.id: d.title for d in campaign.deliverables}
    found = []
    for unit in evaluation.units:
        for deliverable_id, cell in unit.deliverables.items():
            if cell.status == "excused":
                continue
            found += [Breach(unit.code, unit.name, deliverable_id, titles[deliverable_id], r) for r in cell.reasons]
    return tuple(found)


def plan_digest(campaign: Campaign, evaluation: Evaluation, policy: AlertPolicy, now: datetime, *,
                last_day: date | None, reported: Collection[tuple[str, str, str]],
                mail_problems: Sequence[MailProblem] = (), reminders_sent: int = 0,
                warnings: Sequence[SourceWarning] = ()) -> Digest | None:
    """Today's digest, or None: already sent today, too early, quiet hours, nobody to send to, or
    nothing left to say (every unit done, no new rule break, every source read). The deliverables of
    a source in `warnings` are left out of the missing and overdue lists: the warning explains why."""
    local = now.astimezone(BANGKOK)
    if not policy.digest or not policy.coordinators or last_day == local.date():
        return None
    if policy.digest_at and local.time() < policy.digest_at:
        return None
    if policy.quiet_hours and policy.quiet_hours.contains(now):
        return None
    current = breaches(campaign, evaluation)
    reported = set(reported)
    new = tuple(b for b in current if b.key not in reported)
    owed = any(c.status in OWED for u in evaluation.units for c in u.deliverables.values())
    if not owed and not new and not mail_problems and not warnings:
        return None
    deliverables = {d.id: d for d in campaign.deliverables}
    withheld = {i for w in warnings for i in w.deliverables}

    def shortfall(state: str) -> tuple[UnitShortfall, ...]:
        found = []
        for u in evaluation.units:
            lines = tuple((deliverables[i], c) for i, c in u.deliverables.items()
                          if c.status == state and i not in withheld)
            if lines:
                found.append(UnitShortfall(u.code, u.name, lines))
        return tuple(found)

    return Digest(local.date(), now, policy.coordinators, evaluation.rates, evaluation.rates_by_deliverable,
                  evaluation.counts(), shortfall("missing"), shortfall("overdue"), new, current,
                  tuple(mail_problems), reminders_sent, tuple(warnings), tuple(rollups(campaign, evaluation)))


def _mail_problems(campaign: Campaign, since_digest: Sequence[Mapping[str, Any]], address_problems: Sequence[AddressProblem],
                   no_address: Sequence[Reminder]) -> list[MailProblem]:
    """What the coordinators must fix: refused or unknown reminders since the last digest, bad addresses."""
    names = {u.code: u.name for u in campaign.units}
    problems = []
    for row in since_digest:
        name = row["unit_name"] or row["unit"]
        for address, (code, reply) in row["refused"].items():
            problems.append(MailProblem(name, address, f"เซิร์ฟเวอร์อีเมลปฏิเสธ ({code} {reply})"))
        if row["status"] == "unknown":
            problems.append(MailProblem(name, ", ".join(row["recipients"]["to"]),
                                        "ไม่ทราบผลการส่ง (การส่งขาดตอนก่อนได้รับการยืนยัน) จึงไม่ส่งซ้ำ โปรดตรวจสอบ"))
    for problem in address_problems:
        problems.append(MailProblem(names.get(problem.unit, problem.unit), problem.address,
                                    "ที่อยู่อีเมลไม่ถูกต้อง จึงไม่ได้ส่งถึงที่อยู่นี้"))
    for reminder in no_address:
        problems.append(MailProblem(reminder.unit.name, "-", "ไม่มีที่อยู่อีเมลที่ใช้ได้ จึงไม่ได้ส่งแจ้งเตือน"))
    return problems
