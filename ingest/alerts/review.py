"""The review stage: one e-mail to a unit for each item a coordinator marked `ไม่ผ่าน`, once only.

Like Google Classroom's "return with a note": the unit learns which upload was not accepted, the
coordinator's reason, and where to send a new one. Each mail holds its own stage in the alert log
(`review:<item key>` on the deliverable's deadline), so it goes out at most once, whatever later
runs see; it is sent after the reminders, with what is left of the day's recipient budget, and
not in quiet hours (the next run outside them sends it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from connectors.base import Mailer
from ingest.alerts.addresses import address_problem, has_control
from ingest.alerts.channel import EmailChannel, Outgoing
from ingest.alerts.compose import Templates, _common, _safe_link, build_message, message_id
from ingest.alerts.log import AlertLog, Intent
from ingest.alerts.plan import StageKey
from ingest.alerts.send import MailOutcome, _outcome, deliver_all, templates_for
from ingest.campaign import Campaign
from ingest.review import FAIL, ReviewLine
from ingest.state import StateStore
from ingest.thaidate import BANGKOK, format_thai_date

log = logging.getLogger(__name__)

REVIEW = "review"


def review_stage(line: ReviewLine) -> str:
    return f"{REVIEW}:{line.key}"


def send_review_mails(campaign: Campaign, rejections: Sequence[ReviewLine], state: StateStore,
                      mailer: Mailer | None, now: datetime, *, dry_run: bool = False,
                      templates: Templates | None = None,
                      token: Callable[[], str] = lambda: uuid.uuid4().hex[:12]) -> list[MailOutcome]:
    """Mail each rejected item's unit once (dry run: say what would go). Stops where the budget ends."""
    if not rejections or not campaign.mail:
        return []
    policy = campaign.mail
    dry_run = dry_run or mailer is None or not policy.enabled
    if policy.quiet_hours and policy.quiet_hours.contains(now):
        return []
    alert_log = AlertLog(state)
    already = alert_log.recorded_stages()
    used = alert_log.recipients_on(now.astimezone(BANGKOK).date())
    units = {u.code: u for u in campaign.units}
    templates = templates or templates_for(campaign, policy)
    batch: list[tuple[Intent, Outgoing]] = []
    for line in sorted(rejections, key=lambda r: (r.at, r.unit, r.key)):
        unit = units.get(line.unit)
        deliverable = next((d for d in campaign.deliverables if d.id == line.deliverable), None)
        if unit is None or deliverable is None or line.decision != FAIL:
            continue
        if line.arrived_at is not None and line.arrived_at > now:
            continue  # a replay of a time before the item came in: there is nothing to tell the unit yet
        key = StageKey(unit.code, deliverable.id, review_stage(line), deliverable.due_at)
        if key in already:
            continue
        to = tuple(dict.fromkeys(a for a in unit.emails if not address_problem(a)))
        cc = tuple(policy.coordinators) if policy.cc_coordinators else ()
        if not to:
            log.warning("review result for %s (unit %s) not mailed: the unit has no valid address", line.item, unit.code)
            continue
        if used + len(to) + len(cc) > policy.daily_budget:
            log.info("review mails over today's budget: the rest go on a later day")
            break
        msg_id = message_id(REVIEW, unit.code, now, token(), policy.sender)
        context = review_context(campaign, unit.code, unit.name, deliverable.title, deliverable.link, line, policy, now)
        if has_control(unit.name) or has_control(campaign.title):
            continue  # reminder_message reports such a unit; the review mail would break the same header
        subject, text = templates.render("review.txt.j2", context)
        _, html = templates.render("review.html.j2", context)
        message = build_message(subject=subject, text=text, html=html, sender=policy.sender, to=to, cc=cc,
                                reply_to=policy.reply_to, now=now, msg_id=msg_id,
                                extra={"X-Tidtam-Campaign": campaign.id, "X-Tidtam-Unit": unit.code,
                                       "X-Tidtam-Stage": f"{deliverable.id}={REVIEW}"})
        intent = Intent(msg_id, REVIEW, unit.code, unit.name, REVIEW, (key,), f"{deliverable.id}={REVIEW}",
                        line.item, to, cc, str(message["Subject"]), now)
        used += len(to) + len(cc)
        batch.append((intent, Outgoing(msg_id, intent.subject, message)))
    if dry_run:
        return [_outcome(intent, "planned") for intent, _ in batch]
    return deliver_all(alert_log, EmailChannel(campaign, policy, templates, mailer), batch, now)[0]


def review_context(campaign: Campaign, unit_code: str, unit_name: str, title: str, link: str | None,
                   line: ReviewLine, policy: Any, now: datetime) -> dict[str, Any]:
    return {
        **_common(campaign, policy, now),
        "unit": {"code": unit_code, "name": unit_name},
        "deliverable": {"title": title, "link": _safe_link(link)},
        "item": line.item, "reason": line.reason, "decided": format_thai_date(line.at, with_time=True),
    }

