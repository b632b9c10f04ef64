"""The sync job as the CLI and the scheduler run it: lock, decide full or incremental, run once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.backends import build_backends
from ingest.campaign import Campaign
from ingest.collect import Progress
from ingest.config import load_campaign
from ingest.lock import sync_lock
from ingest.pipeline import RunReport, run_once
from ingest.state import StateStore, state_errors

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
    campaign = load_campaign(config)
    backends = build_backends(campaign, email=as_of is None if email is None else email)
    try:
        with sync_lock(campaign.state_path, command=command, wait_seconds=wait_seconds), \
                state_errors(campaign.state_path):
            state = StateStore(campaign.state_path, check=True)
            try:
                now = datetime.now(UTC)
                if full is None:
                    full = needs_full_sync(campaign, state, now)
                report = run_once(campaign, backends, state, as_of or now, full=full, progress=progress)
            finally:
                state.close()
    finally:
        backends.close()
    log.info("run %s: %s (%s)", report.run_id, report.outcome, "full" if full else "incremental")
    return campaign, report
