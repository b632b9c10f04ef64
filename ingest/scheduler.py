"""`tidtam serve`: APScheduler 3 running the sync job on the campaign's schedule, unattended, and
once a day at the digest time.

One job instance at a time, missed runs coalesced, a clean stop on SIGTERM/SIGINT: the run in
progress finishes (its writes are transactional either way) before the process exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ingest.campaign import Campaign, Schedule
from ingest.config import load_campaign
from ingest.errors import ConfigError, TidtamError, unexpected_traceback
from ingest.jobs import sync_job
from ingest.thaidate import BANGKOK

log = logging.getLogger(__name__)


def trigger_for(schedule: Schedule):
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=BANGKOK)
    return IntervalTrigger(seconds=schedule.interval.total_seconds(), timezone=BANGKOK)


def digest_trigger(campaign: Campaign) -> CronTrigger | None:
    """A daily run at the digest time (`mail.alerts.digest_at`, else `schedule.digest_at`), so the
    coordinators' digest goes out on fresh data at that time and not one interval later; None
    without e-mail or without a digest time (then the first sync of the day sends the digest)."""
    policy = campaign.mail
    if policy is None or not policy.enabled or not policy.digest or policy.digest_at is None:
        return None
    return CronTrigger(hour=policy.digest_at.hour, minute=policy.digest_at.minute, timezone=BANGKOK)


def serve(config: str | Path, *, max_runs: int | None = None, extra_jobs: Callable[[BlockingScheduler], None] | None = None,
          lock_wait_seconds: float = 60.0) -> dict[str, int]:
    """Run until SIGTERM/SIGINT (or `max_runs` sync runs, for tests). Returns counts of run outcomes."""
    campaign = load_campaign(config)
    if campaign.schedule is None:
        raise ConfigError(["schedule: is required for `tidtam serve` (e.g. `schedule: {every: 15m}`)"])
    outcomes = {"ok": 0, "partial": 0, "degraded": 0, "failed": 0, "missed": 0}
    scheduler = BlockingScheduler(timezone=BANGKOK, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": int(campaign.schedule.misfire_grace.total_seconds())})

    def run() -> str:
        try:
            _, report = sync_job(config, wait_seconds=lock_wait_seconds, command="serve")
            for sick in report.degraded:
                # The service keeps running (the next run may read fine); the journal says why this one is not ok.
                log.error("run %s degraded: %s", report.run_id, sick.summary())
            return report.outcome
        except TidtamError as exc:
            # Logged and recorded in the run log; the next scheduled run tries again.
            log.error("sync failed: %s", exc)
            return "failed"
        except Exception as exc:  # noqa: BLE001 - logged here, without its message, instead of by APScheduler
            # APScheduler would log the message, which may quote respondents' text; the run log has the rest.
            log.error("sync failed: %s", unexpected_traceback(exc))
            return "failed"

    def listen(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            outcomes["missed"] += 1
            return
        if event.job_id not in ("sync", "digest"):
            return
        outcome = "failed" if event.code == EVENT_JOB_ERROR else (event.retval or "ok")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if max_runs is not None and sum(outcomes[k] for k in ("ok", "partial", "degraded", "failed")) >= max_runs:
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": False}, daemon=True).start()

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    scheduler.add_job(run, trigger_for(campaign.schedule), id="sync", name="sync",
                      next_run_time=datetime.now(UTC).astimezone(BANGKOK))
    digest = digest_trigger(campaign)
    if digest is not None:
        # The same locked job: a sync, then the alerts it finds due (the digest among them).
        scheduler.add_job(run, digest, id="digest", name="daily digest")
    if extra_jobs:
        extra_jobs(scheduler)

    def stop(signum: int, _frame) -> None:
        log.warning("signal %s: stopping after the current run", signal.Signals(signum).name)
        # shutdown(wait=True) would block this handler; the scheduler's own exit waits for the executor.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        log.info("serving %s: %s", campaign.id, campaign.schedule)
        scheduler.start()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return outcomes
