"""Every warehouse tab of a run, in the order the workbook shows them."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from connectors.base import RowPieces, Table
from ingest.campaign import Campaign
from ingest.normalize import COMPARED_COLUMNS, FILE_COLUMNS, LINK_COLUMNS, RESPONSE_COLUMNS, Tables
from ingest.publish.analyst import alerts_table, frame_table, piece_keys, runs_table
from ingest.publish.links import LinkTargets, tracking_links
from ingest.publish.progress import day_of, progress_chart, progress_table, status_table
from ingest.publish.summary import summary_table
from ingest.publish.tracking import tracking_table
from ingest.review import reviewed_table
from ingest.rollup import has_groups
from ingest.status import Evaluation

if TYPE_CHECKING:
    from connectors.pandas_text import pd


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
    pieces: Mapping[str, RowPieces] = field(default_factory=dict)  # a tab's rows' keys by piece (`tidy_pieces`)

    def tables(self) -> list[Table]:
        load = cache(self.load)
        return [Table(name, [], fingerprint=hashlib.sha1(f"{self.tab_keys.get(name, self.key)}:{name}".encode()).hexdigest(),
                      loader=lambda name=name: replace(_tidy_tab(name, load()), pieces=self.pieces.get(name)))
                for name in TIDY_TABS]


TIDY_TABS = ("responses", "files", "focus_group", "problems")


def _tidy_tab(name: str, tables: Tables) -> Table:
    table = frame_table(name, tidy_frame(name, tables))
    return reviewed_table(table) if name in ("responses", "files") else table


def tidy_frame(name: str, tables: Tables) -> pd.DataFrame:
    """The frame a tidy tab shows: the table of that name, the files' link column left out."""
    frame = getattr(tables, name)
    return frame.drop(columns=LINK_COLUMNS, errors="ignore") if name == "files" else frame


def tidy_pieces(name: str, tables: Tables, ids: list[str], known: Sequence[str], scope: str) -> RowPieces | None:
    """The keys of the responses or files tab's rows by piece (`ingest.publish.analyst.piece_keys`):
    `ids`, the rows' record ids in the order the keys' maker found them (`ingest.memo.tab_orders`),
    and `known`, per piece a digest of what those records' rows are known by. None when the table's rows
    are not in that order. The columns that `assemble` fills by comparing rows, and any column that is
    not the record's own (the review's), are taken by value."""
    frame = tidy_frame(name, tables)
    if frame["response_id" if name == "responses" else "file_id"].tolist() != ids:
        return None
    own = set(RESPONSE_COLUMNS if name == "responses" else FILE_COLUMNS) - set(COMPARED_COLUMNS)
    by_value = [c for c in frame.columns if c not in own and not (name == "responses" and c.startswith("q:"))]
    return piece_keys(frame, known, by_value, f"{scope}:{name}")


def warehouse_tables(campaign: Campaign, tidy: TidyTabs, evaluation: Evaluation, runs: Sequence[dict[str, Any]],
                     *, updated_at: datetime, alert_messages: Iterable[Mapping[str, Any]] | None = None,
                     statuses: str | None = None) -> list[Table]:
    """`alert_messages`: the alert log's rows when the campaign sends mail (then an `alerts` tab follows);
    `statuses`: the evaluation's `statuses_digest`, if known already (ingest.memo keeps it)."""
    tracking = tracking_table(campaign, evaluation, updated_at=updated_at)
    tracking.links = tracking_links(campaign, tidy.links, evaluation)
    statuses = statuses or statuses_digest(campaign, evaluation)
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


def statuses_digest(campaign: Campaign, evaluation: Evaluation, digests: Sequence[bytes] | None = None) -> str:
    """Everything of the run the progress and summary tabs are made from, but as-of: the campaign (its
    rules and units) and every unit's statuses (`digests`: their `unit_digests`) and rates."""
    digests = digests if digests is not None else unit_digests(evaluation)
    rates = pickle.dumps((evaluation.rates, evaluation.rates_by_deliverable), protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.sha1(campaign.digest.encode() + b"".join(digests) + rates).hexdigest()


def unit_digests(evaluation: Evaluation, last: Evaluation | None = None, last_digests: Sequence[bytes] = ()
                 ) -> list[bytes]:
    """A digest of each unit's statuses, in order. A unit whose statuses are the `last` evaluation's own
    object (kept by `ingest.status.evaluate_groups`: its items did not change and the clock crossed
    none of its boundaries) keeps its digest from `last_digests` (pickling 7,436 units' statuses took
    0.08-0.10 s of every sync at 7,436 sub-districts)."""
    kept: dict[int, bytes] = {}
    if last is not None and last_digests and len(last_digests) == len(last.units):
        kept = {id(unit): digest for unit, digest in zip(last.units, last_digests, strict=True)}
    return [kept.get(id(unit)) or hashlib.sha1(pickle.dumps(unit, protocol=pickle.HIGHEST_PROTOCOL)).digest()
            for unit in evaluation.units]


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()
