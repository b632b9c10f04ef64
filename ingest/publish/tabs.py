"""Every warehouse tab of a run, in the order the workbook shows them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.base import Table
from ingest.campaign import Campaign
from ingest.normalize import LINK_COLUMNS, Tables
from ingest.publish.analyst import alerts_table, frame_table, runs_table
from ingest.publish.links import tracking_links
from ingest.publish.progress import progress_table, status_table
from ingest.publish.summary import summary_table
from ingest.publish.tracking import tracking_table
from ingest.review import reviewed_table
from ingest.rollup import has_groups
from ingest.status import Evaluation


def warehouse_tables(campaign: Campaign, tables: Tables, evaluation: Evaluation, runs: Sequence[dict[str, Any]],
                     *, updated_at: datetime, alert_messages: Iterable[Mapping[str, Any]] | None = None) -> list[Table]:
    """`alert_messages`: the alert log's rows when the campaign sends mail (then an `alerts` tab follows)."""
    tracking = tracking_table(campaign, evaluation, updated_at=updated_at)
    tracking.links = tracking_links(campaign, tables, evaluation)
    return [
        tracking,
        progress_table(campaign, evaluation),
        # Its bar chart sits right of the tracking table, past the stale-sync formula's column.
        status_table(evaluation, beside=tracking.name, anchor_column=len(tracking.header) + 2),
    ] + ([summary_table(campaign, evaluation)] if has_groups(campaign) else []) + [
        reviewed_table(frame_table("responses", tables.responses)),
        reviewed_table(frame_table("files", tables.files.drop(columns=LINK_COLUMNS, errors="ignore"))),
        frame_table("focus_group", tables.focus_group),
        frame_table("problems", tables.problems),
        runs_table(runs),
    ] + ([alerts_table(alert_messages)] if alert_messages is not None else [])
