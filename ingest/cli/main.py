"""The command line: each command calls one library function; errors become messages and exit codes here."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ingest.cli.alerts import alerts_command
from ingest.cli.doctor import doctor_command
from ingest.cli.export import export_command
from ingest.cli.options import as_of_option, config_option
from ingest.errors import TidtamError, unexpected_traceback

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from ingest.collect import Progress as ProgressCallback
    from ingest.pipeline import RunReport

# Commands import what they run when they run: `tidtam --help` and `tidtam status --help` must not pay
# for pandas, openpyxl or the Google client (tests/test_startup.py, bench/startup.py).

# `sync` read its sources but one rejected all, or too many, of its rows (ingest.health); 0-3 are taken.
EXIT_DEGRADED = 4


@cache
def _console() -> Console:
    from rich.console import Console

    return Console()


@cache
def _err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)  # paths in errors must stay copyable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what each step does.")
@click.version_option(package_name="tidtam")
def cli(verbose: bool) -> None:
    """tidtam (ติดตาม): collect what units submit, track who is late, chase them.

    Example: tidtam demo
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err_console = _err_console()
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True, disable=not err_console.is_terminal)


def _progress_callback(bar: Progress) -> ProgressCallback:
    """A `collect` progress callback drawing one bar per source."""
    tasks: dict[str, int] = {}

    def progress(source: str, done: int, total: int) -> None:
        if source not in tasks:
            tasks[source] = bar.add_task(f"checking files in {source}", total=total)
        bar.update(tasks[source], completed=done)

    return progress


def _print_alerts(report: RunReport) -> None:
    console, err_console = _console(), _err_console()
    if report.alert_error:
        err_console.print(f"[red]{report.alert_error}[/]")
    if report.alerts is None:
        return
    counts = {k: v for k, v in report.alerts.counts().items() if v}
    verb = "planned (not sent)" if report.alerts.dry_run else "mail"
    console.print(f"{verb}: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "nothing due"))
    if report.alerts.withheld:
        console.print("no reminders about: " + ", ".join(report.alerts.withheld) + " (their source was not read)")
    if report.alerts.stopped:
        err_console.print(f"[yellow]sending stopped:[/] {report.alerts.stopped}; a later run sends the rest")


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("tidtam-demo"), show_default=True,
              help="Where to write the demo workspace.")
@as_of_option("Evaluate at this time [default: 12 Nov 2565 17:00].")
def demo(directory: Path, as_of: datetime | None) -> None:
    """Write a demo workspace (76 provinces) and sync it.

    Example: tidtam demo --dir /tmp/demo --as-of 2022-11-16T09:00
    """
    from ingest.jobs import demo_job
    from ingest.report import print_summary

    with _progress() as bar:
        workspace, campaign, report = demo_job(directory, as_of=as_of, progress=_progress_callback(bar))
    console = _console()
    print_summary(console, campaign, report.evaluation, problems=report.computed.counts["problems"])
    _print_alerts(report)
    console.print(f"workbook: {campaign.warehouse.settings['path']}\noutbox:   {workspace.outbox}\nconfig:   {workspace.config}\n"
                  f"run {report.run_id}: {report.outcome}; {report.computed.counts['responses']} responses, "
                  f"{report.computed.counts['files']} files ({report.inspected_files} inspected this run)")
    console.print(f"next: tidtam status --config {workspace.config} --as-of 2022-11-16T09:00")


@cli.command()
@config_option
@as_of_option()
@click.option("--full/--incremental", "full", default=None,
              help="Re-read every source from the start, or only what changed [default: full once a day].")
@click.option("--wait", type=float, default=0.0, show_default=True,
              help="Seconds to wait if another sync of this campaign is running.")
@click.option("--email/--no-email", "email", default=None,
              help="Send the reminders and digest that are due [default: send, except with --as-of, which only plans].")
def sync(config: Path, as_of: datetime | None, full: bool | None, wait: float, email: bool | None) -> None:
    """Read every source, update the warehouse and the tracking sheet.

    Exits 2 when a source failed, 4 when a source could not read all, or more than its
    max_rejected share, of its rows (the run is "degraded"); the warehouse is written either way.

    Example: tidtam sync --config config.yaml --as-of 2022-11-12T17:00
    """
    from ingest.jobs import sync_job
    from ingest.report import print_degraded, print_summary

    with _progress() as bar:
        campaign, report = sync_job(config, as_of=as_of, full=full, wait_seconds=wait,
                                    progress=_progress_callback(bar), email=email)
    err_console = _err_console()
    print_summary(_console(), campaign, report.evaluation, problems=report.computed.counts["problems"])
    _print_alerts(report)
    print_degraded(err_console, campaign, report.degraded)
    if report.failed_sources:
        for problem in report.tables.problems.itertuples():
            if problem.kind == "source_failed":
                err_console.print(f"[red]source {problem.source} failed:[/] {problem.detail}")
        sys.exit(2)
    if report.degraded:
        sys.exit(EXIT_DEGRADED)


@cli.command()
@config_option
@click.option("--max-runs", type=int, default=None, hidden=True, help="Stop after this many runs (for tests).")
def serve(config: Path, max_runs: int | None) -> None:
    """Sync on the config's schedule until stopped (SIGTERM/Ctrl-C finish the current run first).

    Example: tidtam serve --config /etc/tidtam/config.yaml
    """
    from ingest.scheduler import serve as run_scheduler

    outcomes = run_scheduler(config, max_runs=max_runs)
    _console().print("stopped; runs: " + ", ".join(f"{k} {v}" for k, v in outcomes.items()))


@cli.command()
@config_option
@as_of_option("Evaluate at this time instead of now.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def status(config: Path, as_of: datetime | None, fmt: str) -> None:
    """Show each unit's status from what the last sync stored (asks no source).

    Example: tidtam status --config config.yaml --as-of 2022-11-16T09:00 --format json
    """
    from ingest.jobs import status_job
    from ingest.report import evaluation_csv, evaluation_json, print_summary, print_units_table

    campaign, evaluation = status_job(config, as_of)
    if fmt == "json":
        click.echo(evaluation_json(campaign, evaluation))
    elif fmt == "csv":
        click.echo(evaluation_csv(campaign, evaluation), nl=False)
    else:
        print_units_table(_console(), campaign, evaluation)
        print_summary(_console(), campaign, evaluation)


cli.add_command(alerts_command)
cli.add_command(doctor_command)
cli.add_command(export_command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        _err_console().print("aborted")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except TidtamError as exc:
        _err_console().print(f"[red]error:[/] {exc}")
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the stack is logged, the message withheld (it may quote answers)
        logging.getLogger("tidtam").error("unexpected error\n%s", unexpected_traceback(exc))
        _err_console().print("[red]unexpected error[/] (details above); please report it with the command you ran")
        sys.exit(1)
