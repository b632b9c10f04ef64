"""Every warehouse tab of a run, in the order the workbook shows them."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from connectors.base import Table
from ingest.campaign import Campaign
from ingest.normalize import LINK_COLUMNS, Tables
from ingest.publish.analyst import alerts_table, frame_table, runs_table
from ingest.publish.links import LinkTargets, tracking_links
from ingest.publish.progress import day_of, progress_chart, progress_table, status_table
from ingest.publish.summary import summary_table
from ingest.publish.tracking import tracking_table
from ingest.review import reviewed_table
from ingest.rollup import has_groups
from ingest.status import Evaluation


@dataclass(frozen=True)
class TidyTabs:
    """The tidy tables' tabs (responses, files, focus_group, problems) known by their content's `key`
    (ingest.memo.memo_key): each becomes a table made from its fingerprint, whose rows are made only
    if the warehouse asks for them (`load` is called at most once). A tab with a narrower key of its
    own in `tab_keys` (ingest.memo.tab_keys) is known by that one: it keeps its fingerprint through
    syncs that changed only the other tabs' inputs."""

    key: str
    load: Callable[[], Tables]
    links: LinkTargets
    tab_keys: Mapping[str, str] = field(default_factory=dict)

    def tables(self) -> list[Table]:
        load = cache(self.load)
        return [Table(name, [], fingerprint=hashlib.sha1(f"{self.tab_keys.get(name, self.key)}:{name}".encode()).hexdigest(),
                      loader=lambda name=name: _tidy_tab(name, load())) for name in TIDY_TABS]


TIDY_TABS = ("responses", "files", "focus_group", "problems")


def _tidy_tab(name: str, tables: Tables) -> Table:
    frame = getattr(tables, name)
    table = frame_table(name, frame.drop(columns=LINK_COLUMNS, errors="ignore") if name == "files" else frame)
    return reviewed_table(table) if name in ("responses", "files") else table


def warehouse_tables(campaign: Campaign, tidy: TidyTabs, evaluation: Evaluation, runs: Sequence[dict[str, Any]],
                     *, updated_at: datetime, alert_messages: Iterable[Mapping[str, Any]] | None = None) -> list[Table]:
    """`alert_messages`: the alert log's rows when the campaign sends mail (then an `alerts` tab follows)."""
    tracking = tracking_table(campaign, evaluation, updated_at=updated_at)
    tracking.links = tracking_links(campaign, tidy.links, evaluation)
    statuses = _statuses_digest(campaign, evaluation)
    return [
        tracking,
        # Made from the statuses alone (the day of as-of for progress): by fingerprint, so a run whose
        # statuses did not change makes neither table and a warehouse holding them compares no row.
        Table("progress", [], charts=(progress_chart(campaign, evaluation),), fingerprint=_digest(
            "progress", statuses, day_of(evaluation.as_of)), loader=lambda: progress_table(campaign, evaluation)),
        # Its bar chart sits right of the tracking table, past the stale-sync formula's column.
        status_table(evaluation, beside=tracking.name, anchor_column=len(tracking.header) + 2),
    ] + ([Table("summary", [], fingerprint=_digest("summary", statuses),
                loader=lambda: summary_table(campaign, evaluation))] if has_groups(campaign) else []) + \
        tidy.tables() + [
        runs_table(runs),
    ] + ([alerts_table(alert_messages)] if alert_messages is not None else [])


def _statuses_digest(campaign: Campaign, evaluation: Evaluation) -> str:
    """Everything of the run the progress and summary tabs are made from, but as-of: the campaign (its
    rules and units) and every unit's statuses and rates."""
    statuses = pickle.dumps((evaluation.units, evaluation.rates, evaluation.rates_by_deliverable),
                            protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.sha1(campaign.digest.encode() + statuses).hexdigest()


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()
