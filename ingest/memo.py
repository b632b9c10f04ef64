"""What the previous run computed, kept so that a run whose inputs did not change does no work per row.

A run's tables are a pure function of its inputs: the stored responses and files with their facts
(whose `StateStore.revision` numbers move whenever a stored row changes), the coordinators' review
decisions, the campaign's rules, and the problems this run's reads reported. Their digest is the
memo's `key`. When the key is the one the last run computed under:

- normalization and review are skipped: the tables are made only if something asks for their rows
  (a warehouse that does not hold them any more, `RunReport.tables`), from the rows of every record
  the last run kept (`ingest.row_cache`, `rows.bin`: `ingest.rows_file`), so nothing is normalized again;
- the statuses are the last run's, with only the units whose statuses the clock can have changed
  evaluated again: units with an item arriving or a deadline falling between the last run's moment
  and this one, inclusive (`ingest.status.time_boundaries`), found from the kept boundaries;
- the warehouse's big tabs carry a fingerprint made from the key, so a warehouse that remembers
  what it wrote (Google Sheets) writes nothing for them and converts no cell.

Any difference in the key makes the tables again, as a first run would, but from the kept rows: only
the records whose stored texts changed are normalized again (`ingest.row_cache`), and only the units
whose items changed, or whose boundaries the clock crossed, are evaluated again (`evaluate_since`);
the others keep the last run's statuses when those were evaluated under the same rules. Exactness
comes before speed. The files live beside the state file
(`.<state file name>.memo/`); losing them only costs one full computation.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import os
import pickle
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from connectors.base import RowPieces
from ingest.campaign import Campaign
from ingest.collected import Collected, Problem
from ingest.gc_pause import paused_gc
from ingest.heap import give_back
from ingest.normalize import FileRow, ResponseRow, Tables, assemble, files_in_order, responses_in_order
from ingest.publish import analyst
from ingest.publish.links import LinkTargets, link_targets
from ingest.publish.tabs import statuses_digest, tidy_pieces, unit_digests
from ingest.review import DECISIONS_KEY, Decision, ReviewLine, apply_decisions
from ingest.row_cache import CurrentRows, KeptRows, RowMaker, campaign_key, current_rows
from ingest.rows_file import read_rows, write_rows
from ingest.state import StateStore
from ingest.status import (
    Arrival,
    Evaluation,
    Groups,
    boundaries_of_items,
    evaluate_groups,
    item_groups,
    item_times,
    units_with_boundaries,
)

log = logging.getLogger(__name__)

# Part of the key: a tidtam that computes tables differently never reuses an older one's.
# 4: groups as plain tuples; 5: the summary says its rules, files key first and in pieces; 6: its units' digests
MEMO_VERSION = "6"
# Rows made since rows.bin was written are kept apart up to this many (or a fifth of all, if more).
_RECENT_ROWS = 1_000
_ROWS = ".bin"  # the kept rows' files (`ingest.rows_file`)
_PIECE = 1_000  # groups, statuses or moments pickled at a time in the summary's files (`RunMemo.save_summary`)


def memo_key(campaign: Campaign, revisions: Mapping[str, str], decisions: str, problems: Iterable[Problem]) -> str:
    """The digest of every input of the tables (see the module docstring)."""
    text = repr((MEMO_VERSION, campaign.digest, sorted(revisions.items()), decisions, list(problems)))
    return _sha1(text)


def tab_keys(campaign: Campaign, rows: CurrentRows, decisions: str) -> dict[str, str]:
    """A digest of what each of the responses, files and focus_group tabs is made from, narrower than
    the memo key: a sync where only photos arrived leaves the responses tab's key as it was, and one
    where no record changed the focus_group tab's, so the warehouse neither makes nor compares their
    rows (at 7,436 sub-districts the focus_group tab is 148k rows of answers, half of a changed sync's
    row digests). See `tab_orders`, which finds them with the tables' orders."""
    return tab_orders(campaign, rows, decisions)[0]


@dataclass
class TableOrder:
    """A tidy tab's rows in its table's order, as `assemble` puts them, before the table is made: each
    row's record id (checked against the table's own column once it is made) and, per piece of rows as
    `FrameRows` makes them, a digest of what those records' rows are known by (`tab_orders`)."""

    ids: list[str]
    known: list[str]


def tab_orders(campaign: Campaign, rows: CurrentRows, decisions: str
               ) -> tuple[dict[str, str], dict[str, TableOrder]]:
    """The tidy tabs' keys (`tab_keys`) and the responses and files tabs' `TableOrder`s, from one pass
    over the rows in their tables' order: the responses deliverable by deliverable in the campaign's
    order, the files source by source (`responses_in_order`, `files_in_order`).

    Each tab is a function of these alone (`ingest.normalize.assemble`, `ingest.review.apply_decisions`,
    `ingest.publish.tabs`): the responses tab of the response rows, in order, and the decisions; the
    files tab of the file rows, in order, and the decisions; the focus_group tab of the focus rows of
    the file rows. A row kept under the stamps of its stored texts is known by them, as
    `ingest.row_cache` knows it; a row that is not kept (a file whose facts this run read but the state
    would not give again) by a digest of its content. So a tab's key is a digest of its rows' ids and
    of what each is known by, with the rows of each deliverable or source counted (at 7,436
    sub-districts 0.30 s when the keys and the orders each looked up and printed every row's stamps).

    Only ids and one digest a piece are kept: the rows go before the tables are made. `rows`' lists are
    left sorted so, and `assemble`, sorting them again, finds them in order (sorting 126,000 rows twice
    cost 0.06 s at 7,436 sub-districts; a sorted list is sorted again in one pass)."""
    for deliverable in rows.responses:
        rows.responses[deliverable] = responses_in_order(rows.responses[deliverable])
    for source in rows.files:
        rows.files[source] = files_in_order(rows.files[source])
    kept_responses, kept_files = rows.kept.responses, rows.kept.files
    response_ids: list[str] = []
    response_known: list[Any] = []
    response_counts = []
    for d in campaign.deliverables:
        if d.kind == "response":
            made = rows.responses.get(d.id, [])
            response_counts.append((d.id, len(made)))
            response_ids.extend(r.response_id for r in made)
            response_known.extend(_known(kept_responses, (d.id, r.response_id), r) for r in made)
    file_ids: list[str] = []
    file_known: list[Any] = []
    file_counts, focus = [], []
    for source, made in rows.files.items():
        file_counts.append((source, len(made)))
        file_ids.extend(r.file_id for r in made)
        for r in made:
            known = _known(kept_files, (source, r.file_id), r)
            file_known.append(known)
            if r.focus:
                focus.append((source, r.file_id, known))
    orders = {"responses": _table_order(response_ids, response_known),
              "files": _table_order(file_ids, file_known)}
    base = (MEMO_VERSION, campaign_key(campaign))
    keys = {"responses": _sha1(repr((base, "responses", response_counts, _sha1("\0".join(response_ids)),
                                     orders["responses"].known, decisions))),
            "files": _sha1(repr((base, "files", file_counts, _sha1("\0".join(file_ids)), orders["files"].known,
                                 decisions))),
            "focus_group": _sha1(repr((base, "focus_group", focus)))}
    return keys, orders


def _table_order(ids: list[str], known: list[Any]) -> TableOrder:
    size = analyst.ROWS_AT_ONCE
    return TableOrder(ids, [_sha1(repr(known[start:start + size])) for start in range(0, len(known), size)])


def _known(kept: Mapping[tuple[str, str], tuple[Any, Any]], key: tuple[str, str], row: FileRow | ResponseRow) -> Any:
    """What a record's row is known by: the stamps it is kept under, or a digest of its content when it is
    not kept (a file whose facts this run read but the state would not give again)."""
    entry = kept.get(key)
    return entry[0] if entry is not None and entry[1] is row else _sha1(repr(row))


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class Summary:
    """What the pipeline reads of a run's tables besides their rows: small, loaded on every run."""

    key: str
    evaluation: Evaluation
    counts: dict[str, int]  # rows of responses, files, problems
    lines: list[ReviewLine]  # the review decisions on this run's items
    links: LinkTargets
    # The moments, over all units, at which some status can change with the clock (sorted).
    moments: list[datetime] = field(default_factory=list)
    tab_keys: dict[str, str] = field(default_factory=dict)  # `tab_keys`
    # MEMO_VERSION and the campaign digest the statuses were evaluated under (`evaluated_under`): a
    # run whose key differs keeps the statuses of the units whose items did not change (`evaluate_since`).
    campaign: str = ""
    # A digest of each unit's statuses, in order (`ingest.publish.tabs.unit_digests`): a unit whose statuses
    # the next run keeps keeps its digest.
    unit_digests: list[bytes] = field(default_factory=list)


def evaluated_under(campaign: Campaign) -> str:
    return f"{MEMO_VERSION}:{campaign.digest}"


# Summaries being written on a thread of their own (`RunMemo.save_summary_meanwhile`), by memo folder.
_writing: dict[Path, threading.Thread] = {}
_writing_lock = threading.Lock()


class RunMemo:
    """The memo files of one state file."""

    def __init__(self, state_path: str | Path) -> None:
        self.folder = self.folder_of(state_path)
        self._base: KeptRows | None = None  # the rows.bin `rows` read
        # What `read_rows_ahead` read: the campaign key it read under, and `_read_kept`'s answer.
        self._ahead: tuple[str | None, tuple[KeptRows | None, KeptRows | None]] | None = None
        self.settle()  # a summary still being written is on disk before any file here is read

    @staticmethod
    def folder_of(state_path: str | Path) -> Path:
        path = Path(state_path)
        return path.with_name(f".{path.name}.memo")

    def settle(self) -> None:
        """Wait for the summary `save_summary_meanwhile` is writing here, if any."""
        _settle(self.folder)

    def save_summary_meanwhile(self, summary: Summary, groups: PlainGroups) -> None:
        """`save_summary` on a thread, while the run goes on to its warehouse write, whose calls wait on
        the network (the summary and groups pickled at 7,436 sub-districts: 0.21-0.26 s of a changed sync).
        A memo opened on this folder (`RunMemo`), and `saved`, wait for it. A summary that cannot be
        written is logged and left out: the next run computes afresh, as it does when the memo is lost."""
        def write() -> None:
            try:
                self.save_summary(summary, groups)
            except Exception as exc:  # noqa: BLE001 - the memo only saves time; the run goes on without it
                log.warning("memo summary not saved in %s (%s): the next run computes afresh", self.folder, exc)
                self._forget("summary")

        thread = threading.Thread(target=write, name="memo-summary")
        self.settle()
        with _writing_lock:
            _writing[self.folder] = thread
        thread.start()

    def summary(self, key: str) -> Summary | None:
        """The last run's summary when it was computed under `key`, else None. The file starts with the
        key (`save_summary`), so a summary computed under another key is not even unpickled."""
        return self._load_summary("summary", key)

    def previous(self) -> Summary | None:
        """The summary `save_rows` set aside: the last run's, read by a run that computes only once its
        tables are made (`evaluate_since`), so that its statuses are not held beside them."""
        return self._load_summary("previous")

    def _load_summary(self, name: str, key: str | None = None) -> Summary | None:
        """A summary as `save_summary` wrote it: its key, then the summary without its units' statuses
        and moments, then those in pieces."""
        def read(handle: BinaryIO) -> Any:
            found = pickle.load(handle)  # noqa: S301 (a file tidtam wrote beside its own state)
            if not isinstance(found, str) or key not in (None, found):
                return None
            bare = pickle.load(handle)  # noqa: S301
            units, moments = _read_pieces(handle), _read_pieces(handle)
            if not isinstance(bare, Summary):
                return None
            evaluation = replace(bare.evaluation, units=tuple(units)) if bare.evaluation is not None else None
            return replace(bare, evaluation=evaluation, moments=moments)
        found = self._load(name, read)
        return found if isinstance(found, Summary) else None

    def groups(self, key: str) -> Groups | None:
        found = self.plain_groups(key)
        return None if found is None else {group: list(map(Arrival._make, items)) for group, items in found.items()}

    def plain_groups(self, key: str) -> PlainGroups | None:
        """The groups computed under `key` as `plain_groups` left them (each item a tuple)."""
        def read(handle: BinaryIO) -> Any:
            if pickle.load(handle) != key:  # noqa: S301 (a file tidtam wrote beside its own state)
                return None
            return dict(_read_pieces(handle))
        return self._load("groups", read)

    def rows(self, campaign: str | None = None) -> KeptRows | None:
        """Each record's row as the last run that made tables left them (ingest.row_cache): the rows of
        `rows.bin`, and those made since, kept apart in `rows-recent.bin` (see `save`). With
        `campaign` (`ingest.row_cache.campaign_key`), None unless they were made under it, told from the
        file's header before any row is read: rows made under other rules or by an older tidtam are never
        used, and a run that makes every row again held them beside its own (at 7,436 sub-districts the
        changed sync after an upgrade of the rows: 19.3 s and a peak of 970 MB with them, 17.4 s and 663 MB
        without)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == campaign:
            self._base, kept = ahead[1]
            return kept
        self._base, kept = self._read_kept(campaign)
        return kept

    def keeps_rows(self) -> bool:
        """Whether there are kept rows to read (the last run that computed wrote them)."""
        return (self.folder / f"rows{_ROWS}").is_file()

    def read_rows_ahead(self, campaign: str | None = None) -> None:
        """`rows(campaign)` read now, for `rows(campaign)` to take. A changed sync at 7,436 sub-districts
        read its kept rows for 0.70 s after its reading child had ended, while this process had waited
        0.4 s for that child with nothing to do: `ingest.collect.collect_apart`'s `on_change` calls this
        once a stored row has changed, while the child reads on (a sync that changes nothing reads no
        row, and holds none). Read on this process's own thread: read on a thread of their own, the
        rows' growing tables were left in that thread's malloc arena, and the sync peaked 11 MB higher.
        An error is logged and the rows are left to `rows`, which reads them again (and raises it)."""
        if self._ahead is not None:
            return
        try:
            self._ahead = (campaign, self._read_kept(campaign))
        except Exception as exc:  # noqa: BLE001 - read again by `rows`, where an error stops the run
            log.info("memo rows not read ahead (%s): read when asked", exc)

    def _read_kept(self, campaign: str | None) -> tuple[KeptRows | None, KeptRows | None]:
        """The rows of `rows.bin` (`_base`), and them with `rows-recent.bin`'s in place (`rows`)."""
        base = self._load_rows("rows", campaign)
        if base is None:
            return None, None
        recent = self._load_rows("rows-recent", campaign)
        if isinstance(recent, KeptRows) and (recent.base, recent.campaign) == (base.base, base.campaign):
            return base, recent.under(base)
        return base, base

    def save_rows(self, rows: KeptRows) -> None:
        """The kept rows, first of a run's files: the summary is set aside (`previous`; a new one is
        written last, by `save_summary`, so a summary is only there with its rows). The tables themselves
        are not kept: made from the kept rows they cost about what loading them did, and writing both was
        a third of a changed sync at 7,436 units.

        Rows made since the last full write of `rows.bin` go to `rows-recent.bin` alone, so a run
        that changed a few records writes a few rows; past a fifth of the kept rows, all are written again.
        The rows `rows` read are let go of here: a run that computes keeps no row past its tables."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._set_aside("summary", "previous")
        for older in ("tables", "rows", "rows-recent"):
            self._forget(older)  # pickles an older tidtam wrote (rows are `ingest.rows_file`'s now)
        base, self._base = self._base, None
        recent = rows.since(base) if base is not None and base.campaign == rows.campaign else None
        if recent is not None and recent.size <= max(_RECENT_ROWS, base.size // 5):
            self._dump_rows("rows-recent", recent)
        else:
            rows.base = uuid.uuid4().hex
            self._forget("rows-recent", _ROWS)
            self._dump_rows("rows", rows)

    def save_summary(self, summary: Summary, groups: PlainGroups) -> None:
        """The groups (as `plain_groups` makes them), then the summary: after `save_rows`, whose rows
        they were computed from. Each file starts with the key, so a run under another key reads no
        more of it, and the many small objects (126,000 items, 7,436 units' statuses and 68,000 moments
        at 7,436 sub-districts) go in pieces of `_PIECE`: a pickler keeps an entry for every object it
        wrote, and pickled whole the two files grew the process by 28 MB (offline, the bench's memo: the
        peak of a first sync and of a changed one, +16 MB there); in pieces, by nothing measurable."""
        self._dump("groups", summary.key, *_pieces(list(groups.items())))
        evaluation = summary.evaluation
        bare = replace(summary, evaluation=replace(evaluation, units=()) if evaluation is not None else None,
                       moments=[])
        self._dump("summary", summary.key, bare, *_pieces(list(evaluation.units) if evaluation is not None else []),
                   *_pieces(summary.moments))
        self._forget("previous")

    def let_go_rows(self) -> None:
        """Forget the rows `rows` read (a run that only makes tables, and saves nothing), and any that
        `read_rows_ahead` read (a run that failed, or found nothing to compute)."""
        self._ahead = None
        self._base = None

    def _load(self, name: str, read: Callable[[BinaryIO], Any] = pickle.load, suffix: str = ".pickle") -> Any:
        path = self.folder / f"{name}{suffix}"
        try:
            # Without the collector: the summary a no-change sync loads at 7,436 sub-districts (7,436
            # units' statuses, 68k moments) took 0.24 s with it and 0.12 s without; the groups 0.45 / 0.15 s.
            with path.open("rb") as handle, paused_gc():
                return read(handle)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError) as exc:
            # a damaged memo, or one an older tidtam wrote: compute afresh
            log.info("memo %s not used (%s)", path, exc)
            return None

    def _load_rows(self, name: str, campaign: str | None = None) -> KeptRows | None:
        """Kept rows as `_dump_rows` wrote them (`ingest.rows_file`), made under `campaign` if given."""
        return self._load(name, lambda handle: read_rows(handle, campaign), _ROWS)

    def _dump_rows(self, name: str, rows: KeptRows) -> None:
        """The rows in pieces (`ingest.rows_file`: one pickler over the 2.5 million objects of 7,436
        sub-districts' rows kept an entry for each in its memo, 290 MB above the rows' own)."""
        path = self.folder / f"{name}{_ROWS}"
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            write_rows(handle, rows)
        os.replace(temporary, path)

    def _dump(self, name: str, *values: Any) -> None:
        """The values one after the other, each read back by its own `pickle.load`."""
        path = self.folder / f"{name}.pickle"
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            for value in values:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)

    def _set_aside(self, name: str, aside: str) -> None:
        """`name`'s file becomes `aside`'s (an older `aside` goes), or `aside` goes when there is none."""
        try:
            os.replace(self.folder / f"{name}.pickle", self.folder / f"{aside}.pickle")
        except FileNotFoundError:
            self._forget(aside)

    def _forget(self, name: str, suffix: str = ".pickle") -> None:
        (self.folder / f"{name}{suffix}").unlink(missing_ok=True)


PlainGroups = dict[tuple[str, str], list[tuple[Any, ...]]]


def _pieces(values: list[Any]) -> list[Any]:
    """`values` as the pieces `_read_pieces` reads back: their count, then each piece."""
    pieces = [values[start:start + _PIECE] for start in range(0, len(values), _PIECE)]
    return [len(pieces), *pieces]


def _read_pieces(handle: BinaryIO) -> list[Any]:
    count = pickle.load(handle)  # noqa: S301 (a file tidtam wrote beside its own state)
    if not isinstance(count, int):
        raise ValueError("damaged memo: a count of pieces expected")
    return [value for _ in range(count) for value in pickle.load(handle)]  # noqa: S301


def plain_groups(groups: Groups) -> PlainGroups:
    """The groups with each item as a plain tuple of its fields: the pickler writes a tuple itself, where
    a named tuple (as each dataclass before it) takes a call into `copyreg` (126,000 items: 0.39 s pickled
    as dataclasses, 0.26 s so). Equal to the groups, item by item (`Arrival` is a tuple)."""
    return {group: list(map(tuple, items)) for group, items in groups.items()}


def crossed(moments: list[datetime], then: datetime, now: datetime) -> bool:
    """Whether a boundary lies between the two moments, both included, in either order."""
    low, high = min(then, now), max(then, now)
    i = bisect.bisect_left(moments, low)
    return i < len(moments) and moments[i] <= high


def reevaluate(campaign: Campaign, summary: Summary, now: datetime, groups: Callable[[], Groups | None]
               ) -> Evaluation | None:
    """The statuses at `now` from the kept ones: only units whose boundaries the clock crossed are
    evaluated again (their items come from `groups`). None when the groups are not there."""
    then = summary.evaluation.as_of
    if not crossed(summary.moments, then, now):
        return replace(summary.evaluation, as_of=now)
    grouped = groups()
    if grouped is None:
        return None
    recheck = crossed_units(campaign, grouped, summary.moments, then, now)
    return evaluate_groups(campaign, grouped, now, previous=summary.evaluation, recheck=recheck)


def crossed_units(campaign: Campaign, groups: Groups, moments: list[datetime], then: datetime, now: datetime
                  ) -> set[str]:
    """The units with a boundary between the two moments (`crossed`): the only ones the clock alone
    can have changed. `moments`: every unit's boundaries (`all_boundaries`); none of them between the two,
    no unit is looked at (a sync replayed at the same moment, as the bench's are)."""
    if not crossed(moments, then, now):
        return set()
    return units_with_boundaries(campaign, groups, min(then, now), max(then, now))


def evaluate_since(campaign: Campaign, groups: Groups, now: datetime, last: Summary | None, *,
                   moments: list[datetime], plain: PlainGroups,
                   plain_of: Callable[[str], PlainGroups | None]) -> Evaluation:
    """The statuses at `now` of a run whose inputs changed, from the last run's where that can be
    exact: a unit's statuses are a function of its items (`groups`), the campaign and the moment
    (`ingest.status.evaluate_groups`). So a unit whose items are the last run's, in the same order,
    keeps its statuses unless the clock crossed one of its boundaries (`moments`: this run's, as
    `all_boundaries` gives them; the units as `reevaluate` finds them);
    the others are evaluated again. The items are compared as `plain_groups` tuples, in C (`plain`:
    this run's groups so; `plain_of(key)`: the last run's, loaded only when needed); equal moments are
    also shown alike, as they all come from one tz-aware column (`item_groups`). At 7,436 sub-districts,
    74 units changed: 0.33-0.37 s to evaluate every unit, 0.19-0.22 s so (offline, on the bench's tables).

    Everything is evaluated when the last run's statuses were evaluated under other rules or by
    another tidtam (`Summary.campaign`), or its groups are not there."""
    if last is None or last.campaign != evaluated_under(campaign):
        return evaluate_groups(campaign, groups, now)
    before = plain_of(last.key)
    if before is None:
        return evaluate_groups(campaign, groups, now)
    then = last.evaluation.as_of
    changed = {key[0] for key in plain.keys() | before.keys() if plain.get(key) != before.get(key)}
    recheck = changed | crossed_units(campaign, groups, moments, then, now)
    log.info("statuses: %d units evaluated again (%d with changed items), the others' kept", len(recheck),
             len(changed))
    return evaluate_groups(campaign, groups, now, previous=last.evaluation, recheck=recheck)


@dataclass
class Computed:
    """A run's tables (by their key) and statuses, computed afresh or kept from the last run."""

    key: str
    evaluation: Evaluation
    counts: dict[str, int]
    lines: list[ReviewLine]
    links: LinkTargets
    load: Callable[[], Tables]  # the tables themselves, made or loaded when called
    reused: bool
    rows_made: int = 0  # records normalized afresh for the tables (the others' rows were kept: ingest.row_cache)
    tab_keys: dict[str, str] = field(default_factory=dict)  # what each tidy tab is made from (`tab_keys`)
    pieces: dict[str, RowPieces] = field(default_factory=dict)  # the tidy tabs' rows' keys by piece (`tab_orders`)
    statuses: str = ""  # `ingest.publish.tabs.statuses_digest` of the evaluation


def compute(campaign: Campaign, state: StateStore, collected: Collected, decisions: Mapping[str, Decision],
            now: datetime, memo: RunMemo | None = None, maker: RowMaker | None = None) -> Computed:
    """Normalize, review and evaluate, unless the last run did so on the same inputs (module docstring).
    `memo`: the campaign's (`memo_of`), perhaps with its rows read already (`RunMemo.read_rows_ahead`);
    `maker`: what makes the rows that are not kept, perhaps prepared (`RowMaker.prepare_meanwhile`)."""
    memo = memo if memo is not None else memo_of(campaign)
    revisions = {kind: state.revision(kind) for kind in ("responses", "uploads")}
    decided = state.value(DECISIONS_KEY) or ""  # the decisions' text: part of the key and of two tabs' keys
    key = memo_key(campaign, revisions, decided, collected.problems)
    summary = memo.summary(key)
    if summary is not None:
        evaluation = reevaluate(campaign, summary, now, lambda: memo.groups(key))
        if evaluation is not None:
            log.info("inputs unchanged since the last run: its tables and statuses are kept")
            memo.let_go_rows()  # any read meanwhile: `load` reads them again, if it is ever called

            @cache  # made at most once: `_tables` lets go of the collected rows it made them from
            def load() -> Tables:
                with _open(state) as readable:
                    return _tables(campaign, readable, collected, decisions, memo)[0]
            statuses = statuses_digest(campaign, evaluation,
                                       unit_digests(evaluation, summary.evaluation, summary.unit_digests))
            return Computed(key, evaluation, summary.counts, summary.lines, summary.links, load, reused=True,
                            tab_keys=summary.tab_keys, statuses=statuses)
    with paused_gc():  # millions of rows and cells made at once, none of them garbage (ingest.gc_pause)
        tables, lines, tabs, made, pieces = _tables(campaign, state, collected, decisions, memo, decided, maker)
        times = item_times(tables.items)  # each distinct arrival converted once, for the groups and the boundaries
        groups = item_groups(tables.items, times)
        moments = boundaries_of_items(campaign, tables.items, times)
        del times
        plain = plain_groups(groups)
        # The last run's statuses, set aside by `save_rows`: read now, not held beside the tables.
        last = memo.previous()
        evaluation = evaluate_since(campaign, groups, now, last, moments=moments, plain=plain,
                                    plain_of=memo.plain_groups)
        # A unit whose statuses `evaluate_since` kept keeps its digest.
        digests = unit_digests(evaluation, last.evaluation if last is not None else None,
                               last.unit_digests if last is not None else ())
        del groups, last
        counts = {"responses": len(tables.responses), "files": len(tables.files), "problems": len(tables.problems)}
        summary = Summary(key, evaluation, counts, lines, link_targets(tables), moments, tabs,
                          evaluated_under(campaign), digests)
        memo.save_summary_meanwhile(summary, plain)
    give_back()  # what making the tables freed, before the warehouse write makes its rows (ingest.heap)
    return Computed(key, evaluation, counts, lines, summary.links, lambda: tables, reused=False, rows_made=made,
                    tab_keys=tabs, pieces=pieces, statuses=statuses_digest(campaign, evaluation, digests))


def memo_of(campaign: Campaign) -> RunMemo:
    """The memo of `campaign`'s state file."""
    return RunMemo(campaign.resolve(campaign.state_path))


def saved(campaign: Campaign) -> None:
    """Wait for the memo summary this process is writing for `campaign`'s state (`compute`), if any: a
    run ends with it on disk, before its lock lets another run read the memo."""
    _settle(RunMemo.folder_of(campaign.resolve(campaign.state_path)))


def _settle(folder: Path) -> None:
    with _writing_lock:
        thread = _writing.pop(folder, None)
    if thread is not None:
        thread.join()


@contextmanager
def _open(state: StateStore) -> Iterator[StateStore]:
    """`state`, or the same file opened again for as long as the block lasts when the run that computed
    has closed it (a report's tables asked for after `ingest.jobs.sync_job` returned)."""
    try:
        state.db.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # closed
        again = StateStore(state.path)
        try:
            yield again
        finally:
            again.close()
        return
    yield state


def _tables(campaign: Campaign, state: StateStore, collected: Collected, decisions: Mapping[str, Decision],
            memo: RunMemo, decided: str | None = None, maker: RowMaker | None = None
            ) -> tuple[Tables, list[ReviewLine], dict[str, str], int, dict[str, RowPieces]]:
    """The tables from every stored record's row: the rows of records unchanged since the last run
    that made tables are kept (ingest.row_cache), the others made. Also the tidy tabs' keys and how many
    rows were made afresh.

    With `decided` (the decisions' text: a run that computes afresh), the tabs' keys are found and the
    rows saved to the memo before the tables are made, and no row is held once they are: the tables
    hold the rows' texts, and the rows' own objects (their tuples, moments and stamps: about 90 MB at
    7,436 sub-districts) are left for what the run makes next (its groups, statuses and warehouse rows)
    instead of lying under them. With `decided`, the responses and files tabs' rows' keys by piece too
    (`tab_orders`, `ingest.publish.tabs.tidy_pieces`), so that the write need not digest the rows of a
    piece it wrote before."""
    with paused_gc():  # also when a reused run's tables are asked for
        rows = current_rows(campaign, state, collected, memo.rows(campaign_key(campaign)), maker)
        log.info("tables from %d rows, %d of them made afresh", rows.count, rows.made)
        collected.release_rows()
        tabs: dict[str, str] = {}
        orders: dict[str, TableOrder] = {}
        if decided is None:
            memo.let_go_rows()
        else:
            tabs, orders = tab_orders(campaign, rows, decided)
            memo.save_rows(rows.kept)
        responses, files, made = rows.responses, rows.files, rows.made
        del rows  # the lists alone stay, until the tables are made from them
        tables = assemble(campaign, collected.problems, responses, files)
        del responses, files
        reviewed = apply_decisions(campaign, tables, decisions)
        scope = f"{MEMO_VERSION}:{campaign_key(campaign)}"
        pieces = {name: found for name, order in orders.items()
                  if (found := tidy_pieces(name, reviewed.tables, order.ids, order.known, scope)) is not None}
    return reviewed.tables, reviewed.lines, tabs, made, pieces
