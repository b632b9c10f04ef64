"""One run of tidtam: collect → normalize → evaluate → alert → publish. Nothing else happens here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.alerts.log import AlertLog
from ingest.alerts.plan import SourceWarning
from ingest.alerts.review import send_review_mails
from ingest.alerts.send import AlertReport, send_alerts
from ingest.backends import Backends
from ingest.campaign import Campaign
from ingest.collect import Progress, collect_apart
from ingest.errors import TidtamError, unexpected
from ingest.gc_pause import paused_gc, run_scope
from ingest.health import SourceHealth, run_counts, source_health, source_warnings
from ingest.memo import Computed, compute, memo_of
from ingest.memo import saved as memo_saved
from ingest.normalize import Tables
from ingest.publish.tabs import TidyTabs, warehouse_tables
from ingest.review import Decision, read_decisions, rejections
from ingest.row_cache import RowMaker, campaign_key
from ingest.state import StateStore
from ingest.status import Evaluation

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    run_id: int
    evaluation: Evaluation
    computed: Computed
    failed_sources: list[str] = field(default_factory=list)
    inspected_files: int = 0
    alerts: AlertReport | None = None
    alert_error: str = ""
    health: list[SourceHealth] = field(default_factory=list)

    @property
    def tables(self) -> Tables:
        """The run's tidy tables (kept ones are loaded from the memo now: a no-change run never needs them)."""
        return self.computed.load()

    @property
    def degraded(self) -> list[SourceHealth]:
        """Sources that could not read all, or too many, of their rows in this run."""
        return [h for h in self.health if h.degraded]

    @property
    def outcome(self) -> str:
        return run_outcome(self.failed_sources, self.alert_error, self.degraded)


def run_outcome(failed_sources: list[str], alert_error: str, degraded: list[SourceHealth]) -> str:
    """`partial` when a source or the mail failed, `degraded` when a source read too little, else `ok`."""
    if failed_sources or alert_error:
        return "partial"
    return "degraded" if degraded else "ok"


@run_scope()  # the run's long-lived objects stay out of the collector's walks until it ends (ingest.gc_pause)
def run_once(campaign: Campaign, backends: Backends, state: StateStore, now: datetime, *,
             full: bool = False, progress: Progress | None = None, clock=lambda: datetime.now(UTC)) -> RunReport:
    """Sync every source, recompute every status as of `now`, rewrite the warehouse."""
    run_id = state.start_run(clock(), now)
    calls_before = backends.api_calls()
    memo, maker = memo_of(campaign), RowMaker(campaign)
    try:
        # Read in a child process: what reading leaves in the heap goes with it (ingest.apart). Meanwhile
        # this process reads the coordinators' decisions (one read, so that the run applies what they
        # decided) and, where rows are kept, builds what making the others needs: both wait on the
        # network. Once the child has changed a stored row, the run will compute: the memo's kept rows
        # are read while the child reads on.
        decisions: dict[str, Decision] = {}

        def meanwhile() -> None:
            if memo.keeps_rows():  # else every row is made after the reading: the matcher is built then,
                maker.prepare_meanwhile()  # not held beside the reading child (a first sync's peak, 8.5 MB)
            decisions.update(read_decisions(backends.warehouse, state, clock()))
        collected = collect_apart(campaign, backends, state, full=full, progress=progress, now=now,
                                  alongside=meanwhile,
                                  on_change=lambda: memo.read_rows_ahead(campaign_key(campaign)))
        computed = compute(campaign, state, collected, decisions, now, memo, maker)
        maker.let_go()  # its rows are made: the matcher (8.5 MB at 7,436 units) is not held through the write
        evaluation = computed.evaluation
        health = source_health(campaign, collected.reads)
        degraded = [h for h in health if h.degraded]
        failed = {p.source: p.detail for p in collected.problems if p.kind == "source_failed"}
        alerts, alert_error = _alert(campaign, evaluation, state, backends, now,
                                     source_warnings(campaign, health, failed), computed)
        counts = {**computed.counts, "inspected": collected.inspected, "full": full, **evaluation.counts(), **run_counts(health, failed),
                  **({f"mail_{k}": v for k, v in alerts.counts().items() if v} if alerts else {})}
        outcome = run_outcome(collected.failed_sources, alert_error, degraded)
        error = "; ".join([f"source {s} failed" for s in collected.failed_sources] + ([alert_error] if alert_error else [])
                          + [f"degraded: {h.summary()}" for h in degraded])
        finished = clock()
        state.finish_run(run_id, finished, outcome, counts=counts, error=error,
                         api_calls=dict(backends.api_calls() - calls_before))
        with paused_gc():  # the tabs' rows: as for the tables (ingest.gc_pause)
            backends.warehouse.write(warehouse_tables(
                campaign, TidyTabs(computed.key, computed.load, computed.links, computed.tab_keys,
                                   computed.pieces), evaluation, state.runs(), updated_at=clock(),
                alert_messages=AlertLog(state).messages() if campaign.mail else None,
                statuses=computed.statuses or None))
        if backends.api_calls() - calls_before:
            # The run row went out with the warehouse write; record that write's calls in the state too.
            state.finish_run(run_id, finished, outcome, counts=counts, error=error,
                             api_calls=dict(backends.api_calls() - calls_before))
        # Cursors move only after the warehouse holds what they cover.
        state.save_cursors(collected.cursors)
    except TidtamError as exc:
        state.finish_run(run_id, clock(), "failed", error=str(exc), api_calls=dict(backends.api_calls() - calls_before))
        raise
    except Exception as exc:
        state.finish_run(run_id, clock(), "failed", error=unexpected(exc),
                         api_calls=dict(backends.api_calls() - calls_before))
        raise
    finally:
        memo.let_go_rows()  # rows read meanwhile by a run that failed before it used them
        memo_saved(campaign)  # its summary is written while the warehouse is (ingest.memo.compute)
    return RunReport(run_id, evaluation, computed, collected.failed_sources, collected.inspected, alerts, alert_error,
                     health)


def _alert(campaign: Campaign, evaluation: Evaluation, state: StateStore, backends: Backends, now: datetime,
           warnings: list[SourceWarning], computed: Computed) -> tuple[AlertReport | None, str]:
    """Send the reminders and digest due at `now`. A source that failed or read too little can make a
    unit look missing, so its deliverables get no reminder (the others do) and the digest opens with
    it. A broken template must not keep the tracking sheet stale, so an alerting error is reported on
    the run and the run goes on."""
    if not campaign.mail:
        return None, ""
    try:
        report = send_alerts(campaign, evaluation, state, backends.mailer, now, warnings=warnings,
                             decisions=computed.lines)
        # After the reminders, within what is left of the day's budget: a review result is less urgent.
        report.outcomes += send_review_mails(campaign, rejections(computed.lines), state, backends.mailer, now,
                                             dry_run=report.dry_run)
        return report, ""
    except TidtamError as exc:
        log.error("alerts not sent: %s", exc)
        return None, f"alerts not sent: {exc}"
