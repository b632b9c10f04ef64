"""One function per command, as the CLI and the scheduler run them: load the campaign, lock what must
be locked, run, return what the command prints. Nothing here prints."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.campaign import Campaign
from ingest.collect import Progress, collect_from_state
from ingest.config import load_campaign
from ingest.health import warnings_of_run
from ingest.lock import sync_lock
from ingest.normalize import normalize
from ingest.state import StateStore, state_errors
from ingest.status import Evaluation, evaluate
from ingest.thaidate import BANGKOK

if TYPE_CHECKING:
    from connectors.base import Mailer
    from ingest.alerts.send import AlertReport
    from ingest.demo import DemoWorkspace
    from ingest.doctor import Finding
    from ingest.export.run import ExportReport
    from ingest.pipeline import RunReport

# What only some jobs need (the backends and the Google client, the pipeline, the mail templates, the
# demo's generators) is imported inside them: `tidtam status` never loads openpyxl, jinja2 or googleapiclient.

log = logging.getLogger(__name__)


def needs_full_sync(campaign: Campaign, state: StateStore, now: datetime) -> bool:
    """True when no successful full re-read happened within `schedule.full_every` (default 24 h)."""
    every = campaign.schedule.full_every if campaign.schedule else timedelta(hours=24)
    for run in reversed(state.runs()):
        if run["outcome"] in ("ok", "partial", "degraded") and json.loads(run["counts"] or "{}").get("full"):
            return now - datetime.fromisoformat(run["started_at"]) >= every
    return True


def sync_job(config: str | Path, *, as_of: datetime | None = None, full: bool | None = None,
             wait_seconds: float = 0.0, progress: Progress | None = None,
             command: str = "sync", email: bool | None = None) -> tuple[Campaign, RunReport]:
    """One locked run. `full=None` lets the reconciliation schedule decide. `email=None` sends the
    alerts that are due unless `as_of` replays another time (then they are only planned)."""
    from ingest.backends import build_backends
    from ingest.pipeline import run_once

    campaign = load_campaign(config)
    backends = build_backends(campaign, email=as_of is None if email is None else email)
    try:
        with sync_lock(campaign.state_path, command=command, wait_seconds=wait_seconds), \
                state_errors(campaign.state_path):
            state = StateStore(campaign.state_path, check=True)
            ended_well = False
            try:
                now = datetime.now(UTC)
                if full is None:
                    full = needs_full_sync(campaign, state, now)
                if full and not state.checked:
                    state.check_in_background()  # a full sync (the daily reconciliation) always reads every page
                report = run_once(campaign, backends, state, as_of or now, full=full, progress=progress)
                ended_well = True  # the state file was read and written without an error
            finally:
                state.close(seal=ended_well)
    finally:
        backends.close()
    log.info("run %s: %s (%s)", report.run_id, report.outcome, "full" if full else "incremental")
    return campaign, report


def demo_job(directory: Path, *, as_of: datetime | None = None,
             progress: Progress | None = None) -> tuple[DemoWorkspace, Campaign, RunReport]:
    """Write the demo workspace and sync it as of its day (or `as_of`), mailing into its outbox."""
    from ingest.demo import write_demo

    workspace = write_demo(directory)
    campaign, report = sync_job(workspace.config, as_of=as_of or workspace.as_of, wait_seconds=30,
                                progress=progress, email=True)
    return workspace, campaign, report


def evaluate_stored(campaign: Campaign, state: StateStore, as_of: datetime) -> Evaluation:
    """Each unit's status at `as_of` from what the last sync stored: steps 2 and 3 without asking a source,
    with the coordinators' review decisions the last sync read (ingest.review), as the sync applies them."""
    from ingest.review import apply_decisions, load_decisions

    reviewed = apply_decisions(campaign, normalize(campaign, collect_from_state(campaign, state)), load_decisions(state))
    return evaluate(campaign, reviewed.tables.items, as_of)


def status_job(config: str | Path, as_of: datetime | None = None) -> tuple[Campaign, Evaluation]:
    """`tidtam status`: the stored state evaluated at `as_of` (default now); reads no source, takes no lock."""
    campaign = load_campaign(config)
    with state_errors(campaign.state_path):
        state = StateStore(campaign.state_path, check=True)
        try:
            return campaign, evaluate_stored(campaign, state, as_of or _now())
        finally:
            state.close()


def alerts_job(config: str | Path, as_of: datetime | None = None, *, dry_run: bool = False) -> AlertReport:
    """`tidtam alerts`: the reminders and digest due at `as_of` (default now) from the stored state.
    A dry run plans without a mailer or the lock; otherwise it holds the sync lock while it sends."""
    from connectors.base import Closeable
    from ingest.backends import build_mailer

    campaign = load_campaign(config)
    as_of = as_of or _now()
    if dry_run:
        return _alerts_on_state(campaign, None, as_of)
    mailer = build_mailer(campaign)
    try:
        with sync_lock(campaign.state_path, command="alerts"):
            return _alerts_on_state(campaign, mailer, as_of)
    finally:
        if isinstance(mailer, Closeable):
            mailer.close()


def _alerts_on_state(campaign: Campaign, mailer: Mailer | None, as_of: datetime) -> AlertReport:
    from ingest.alerts.send import send_alerts

    with state_errors(campaign.state_path):
        state = StateStore(campaign.state_path, check=True)
        try:
            evaluation = evaluate_stored(campaign, state, as_of)
            # What the last sync could not read, it could not count: the same deliverables are withheld here.
            runs = state.runs()
            warnings = warnings_of_run(campaign, json.loads(runs[-1]["counts"] or "{}")) if runs else []
            return send_alerts(campaign, evaluation, state, mailer, as_of, dry_run=mailer is None,
                               warnings=warnings)
        finally:
            state.close()


def doctor_job(config: str | Path) -> list[Finding]:
    """`tidtam doctor`: the campaign's Google key, scopes and access to each configured resource."""
    from ingest.doctor import diagnose

    return diagnose(load_campaign(config))


def _now() -> datetime:
    return datetime.now(UTC).astimezone(BANGKOK)


def export_job(config: str | Path, out: Path, *, as_of: datetime | None = None, pseudonymise: bool = False,
               progress: Progress | None = None) -> ExportReport:
    """`tidtam export`: the analysts' files from the stored state (default as-of: the last sync's)."""
    from ingest.export.run import export

    return export(load_campaign(config), out, as_of=as_of, pseudonymised=pseudonymise, progress=progress)
