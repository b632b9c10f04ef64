"""The `tidtam alerts` command (registered on the CLI group in ingest.cli.main): show, or send, reminders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from connectors.base import Mailer
from ingest.alerts.plan import Reminder
from ingest.alerts.send import AlertReport, build_mailer, send_alerts
from ingest.campaign import Campaign
from ingest.collect import collect_from_state
from ingest.config import load_campaign
from ingest.health import warnings_of_run
from ingest.lock import sync_lock
from ingest.normalize import normalize
from ingest.state import StateStore, state_errors
from ingest.status import evaluate
from ingest.thaidate import BANGKOK, DateParseError, format_thai_short, parse_datetime


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).astimezone(BANGKOK)
    try:
        return parse_datetime(value, end_of_day=True)
    except DateParseError as exc:
        raise click.BadParameter(f"{value!r} is not a date/time ({exc}); e.g. 2022-11-12T09:00 or "
                                 "'12/11/2565 09:00'") from None


@click.command("alerts")
@click.option("--config", "config", type=click.Path(path_type=Path), required=True, help="The campaign's config.yaml.")
@click.option("--as-of", "as_of", callback=_as_of, default=None, metavar="TIME",
              help="Plan as at this time instead of now (replays a past day; a bare date means its end).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent and why; send and record nothing.")
def alerts_command(config: Path, as_of: datetime, dry_run: bool) -> None:
    """Send the reminders and the daily digest that are due, from what the last sync stored.

    Each reminder stage goes to a unit at most once; over the daily budget the rest waits for
    tomorrow, most urgent first.

    Example: tidtam alerts --config config.yaml --as-of 2022-11-12T09:00 --dry-run
    """
    campaign = load_campaign(config)
    mailer = None if dry_run else build_mailer(campaign)
    try:
        if dry_run:
            report = _run(campaign, None, as_of, dry_run=True)
        else:
            with sync_lock(campaign.state_path, command="alerts"):
                report = _run(campaign, mailer, as_of, dry_run=False)
    finally:
        close = getattr(mailer, "close", None)
        if close:
            close()
    _show(report)
    if report.stopped:
        click.echo(f"sending stopped: {report.stopped}; the rest is sent by a later run", err=True)
        raise SystemExit(1)


def _run(campaign: Campaign, mailer: Mailer | None, as_of: datetime, *, dry_run: bool) -> AlertReport:
    with state_errors(campaign.state_path):
        return _run_on_state(campaign, mailer, as_of, dry_run=dry_run)


def _run_on_state(campaign: Campaign, mailer: Mailer | None, as_of: datetime, *, dry_run: bool) -> AlertReport:
    state = StateStore(campaign.state_path, check=True)
    try:
        evaluation = evaluate(campaign, normalize(campaign, collect_from_state(campaign, state)).items, as_of)
        # What the last sync could not read, it could not count: the same deliverables are withheld here.
        runs = state.runs()
        warnings = warnings_of_run(campaign, json.loads(runs[-1]["counts"] or "{}")) if runs else []
        return send_alerts(campaign, evaluation, state, mailer, as_of, dry_run=dry_run, warnings=warnings)
    finally:
        state.close()


def _show(report: AlertReport) -> None:
    """One line per mail (greppable, never wrapped): what, to whom, why, and what became of it."""
    click.echo(f"alerts as of {report.as_of:%Y-%m-%d %H:%M} (Asia/Bangkok)"
               + (" - dry run, nothing sent or recorded" if report.dry_run else ""))
    names = {r.unit.code: r for r in report.plan.reminders}
    for o in report.outcomes:
        reminder = names.get(o.unit)
        who = f"{o.unit} {reminder.unit.name}" if reminder else "coordinators"
        why = _triggers(reminder) if reminder else "daily summary"
        line = f"{o.status:<9} {o.kind:<8} {who} [{o.stage}] to {', '.join(o.to + o.cc)} - {why}"
        click.echo(line + (f" ({o.detail})" if o.detail else ""))
    notes = {"queued": "over today's budget, goes first tomorrow", "held": "quiet hours, goes on the next run",
             "no address": "the unit has no valid e-mail address"}
    for label, reminders in (("queued", report.plan.queued), ("held", report.plan.held),
                             ("no address", report.plan.no_address)):
        for r in reminders:
            click.echo(f"{label:<9} reminder {r.unit.code} {r.unit.name} [{r.stage.name}] - {_triggers(r)} "
                       f"({notes[label]})")
    for problem in report.plan.address_problems:
        click.echo(f"address   unit {problem.unit}: {problem.address!r} {problem.problem}; not sent to it")
    for message_id, became in report.settled.items():
        click.echo(f"settled   {message_id} (a run died while sending it): {became}")
    counts = ", ".join(f"{k} {v}" for k, v in report.counts().items() if v) or "nothing due"
    click.echo(f"{counts}; today's budget already used: {report.budget_used} recipients")


def _triggers(reminder: Reminder) -> str:
    return "; ".join(f"{t.deliverable} {t.stage.name} (deadline {format_thai_short(t.deadline)[:-6]})"
                     for t in reminder.triggers)
