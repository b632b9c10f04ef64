"""The `tidtam alerts` command (registered on the CLI group in ingest.cli.main): show, or send, reminders."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ingest.cli.options import as_of_option, config_option
from ingest.thaidate import format_thai_short

if TYPE_CHECKING:
    from ingest.alerts.plan import Reminder
    from ingest.alerts.send import AlertReport


@click.command("alerts")
@config_option
@as_of_option("Plan as at this time instead of now (replays a past day; a bare date means its end).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent and why; send and record nothing.")
def alerts_command(config: Path, as_of: datetime | None, dry_run: bool) -> None:
    """Send the reminders and the daily digest that are due, from what the last sync stored.

    Each reminder stage goes to a unit at most once; over the daily budget the rest waits for
    tomorrow, most urgent first.

    Example: tidtam alerts --config config.yaml --as-of 2022-11-12T09:00 --dry-run
    """
    from ingest.jobs import alerts_job

    report = alerts_job(config, as_of, dry_run=dry_run)
    _show(report)
    if report.stopped:
        click.echo(f"sending stopped: {report.stopped}; the rest is sent by a later run", err=True)
        raise SystemExit(1)


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
