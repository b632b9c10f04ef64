"""Every response's and file's table row, kept from the last run, so that a run whose inputs changed
decodes and normalizes only the records that changed (issue 17: work in proportion to the change).

A row (`ingest.normalize.ResponseRow`, `FileRow`) is a function of the campaign and of its record as
the state stores it (a file's: with its stored facts). Kept rows are known by the stamps of those
stored texts (`StateStore.response_stamps`, `file_stamps`: new whenever a text is written), so only
the changed records' texts are read, and used only under the campaign digest they were made under. The rows are compared
with each other (repeat respondents, copies of one file, column order) only in
`ingest.normalize.assemble`, over every row on every run, so tables made from kept rows are the ones
a run from scratch makes.

A file whose facts this run's inspection gave (a new version, or one that could not be read) has
its row made from them; it is kept only when the stored facts a later run would read give the same
row (its version's facts are stored, and route it to the same deliverable).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from connectors.base import UploadedFile
from ingest.campaign import Campaign, Deliverable
from ingest.collect import facts_are_current, stored_reading, stored_route
from ingest.collected import Collected, Problem
from ingest.facts import FileFacts
from ingest.normalize import FileRow, ResponseRow, file_row, response_row, unit_matcher, unit_names
from ingest.state import StateStore
from ingest.state_codec import facts_from_json, file_from_json, response_from_json
from ingest.units import UnitMatcher

T = TypeVar("T")

# Records whose stored texts are read at once when their rows must be made (`_pieces`).
_TEXTS_AT_ONCE = 2_000
# Part of what kept rows are valid under: a tidtam that makes rows differently never uses an older one's.
ROWS_VERSION = "3"  # 2: rows known by the stored texts' stamps (state schema 3), not digests; 3: rows as tuples


@dataclass
class KeptRows:
    """The rows of one run, by record, each with the stamps of the stored texts it was made from."""

    campaign: str = ""  # ROWS_VERSION and the campaign digest they were made under
    responses: dict[tuple[str, str], tuple[int, ResponseRow]] = field(default_factory=dict)  # (deliverable, id)
    files: dict[tuple[str, str], tuple[tuple[int, int | None], FileRow]] = field(default_factory=dict)  # (source, id)
    base: str = ""  # which kept rows these are, or were made on top of (ingest.memo keeps them in two files)

    @property
    def size(self) -> int:
        return len(self.responses) + len(self.files)

    def since(self, base: KeptRows) -> KeptRows:
        """The entries that are not `base`'s own (made after it), on top of it."""
        return KeptRows(self.campaign, {k: v for k, v in self.responses.items() if base.responses.get(k) is not v},
                        {k: v for k, v in self.files.items() if base.files.get(k) is not v}, base.base)

    def under(self, base: KeptRows) -> KeptRows:
        """`base` with these entries, made on top of it, in place of its own."""
        return KeptRows(base.campaign, {**base.responses, **self.responses}, {**base.files, **self.files}, base.base)


@dataclass
class CurrentRows:
    """Every stored record's row for this run: per response deliverable, per upload source."""

    responses: dict[str, list[ResponseRow]]
    files: dict[str, list[FileRow]]
    kept: KeptRows  # what the next run can reuse
    made: int = 0  # rows made afresh (the rest were kept)

    @property
    def count(self) -> int:
        return sum(map(len, self.responses.values())) + sum(map(len, self.files.values()))


def campaign_key(campaign: Campaign) -> str:
    return f"{ROWS_VERSION}:{campaign.digest}"


class RowMaker:
    """What making a row needs, made only if some row must be made (the unit matcher takes 0.2–0.3 s to
    build at 7,436 units), or beforehand on a thread (`prepare_meanwhile`)."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self._matcher: UnitMatcher | None = None
        self._preparing: threading.Thread | None = None

    def prepare_meanwhile(self) -> None:
        """Build the matcher now, on a thread: a run with kept rows calls this while it waits on the
        network (its reading child and the decisions' read), before it knows whether it will make any row
        (8.5 MB at 7,436 units, let go of by `let_go`). `matcher` waits for it. An error is not raised
        here: `matcher` builds it again and raises it."""
        if self._preparing is None and self._matcher is None:
            self._preparing = threading.Thread(target=self._build, name="unit-matcher", daemon=True)
            self._preparing.start()

    def _build(self) -> None:
        # An error is left for `matcher`: it builds the matcher again on the run's own thread, and raises it.
        with suppress(Exception):
            self._matcher = unit_matcher(self.campaign)

    @property
    def matcher(self) -> UnitMatcher:
        self._settle()
        if self._matcher is None:
            self._matcher = unit_matcher(self.campaign)
        return self._matcher

    @cached_property
    def names(self) -> dict[str, str]:
        return unit_names(self.campaign)

    def let_go(self) -> None:
        """Forget the matcher (waiting for one being built): a run that made its rows holds it no longer."""
        self._settle()
        self._matcher = None

    def _settle(self) -> None:
        """Wait for the matcher `prepare_meanwhile` is building, if any."""
        preparing, self._preparing = self._preparing, None
        if preparing is not None:
            preparing.join()


def current_rows(campaign: Campaign, state: StateStore, collected: Collected, kept: KeptRows | None,
                 maker: RowMaker | None = None) -> CurrentRows:
    """Each stored record's row: kept from `kept` where its stored texts are unchanged, else made (by
    `maker`, if given: one the run prepared, `RowMaker.prepare_meanwhile`).
    Files no run has inspected yet get a problem in `collected.problems`, as `ingest.collect.load_rows`
    gives them (unless `collected` holds the source's files: then it has them already)."""
    key = campaign_key(campaign)
    if kept is None or kept.campaign != key:
        kept = KeptRows(key)
    maker = maker if maker is not None else RowMaker(campaign)
    out = CurrentRows({}, {}, KeptRows(key))
    for name, spec in campaign.sources.items():
        if spec.role == "responses":
            _response_rows(campaign, name, state, kept, maker, out)
        else:
            _file_rows(campaign, name, state, collected, kept, maker, out)
    return out


def _response_rows(campaign: Campaign, source: str, state: StateStore, kept: KeptRows, maker: RowMaker,
                   out: CurrentRows) -> None:
    deliverables = [d for d in campaign.deliverables if d.source == source and d.kind == "response"]
    for d in deliverables:
        out.responses[d.id] = []
    if not deliverables:
        return
    for stamps in _pieces(state.response_stamps(source)):
        changed = state.response_texts(source, [rid for rid, stamp in stamps for d in deliverables
                                                if (found := kept.responses.get((d.id, rid))) is None
                                                or found[0] != stamp])
        _response_piece(deliverables, stamps, changed, kept, maker, out)


def _response_piece(deliverables: list[Deliverable], stamps: list[tuple[str, int]],
                    changed: dict[str, tuple[int, str]], kept: KeptRows, maker: RowMaker, out: CurrentRows) -> None:
    for response_id, stamp in stamps:
        response = None
        for d in deliverables:
            found = kept.responses.get((d.id, response_id))
            if found is None or found[0] != stamp:
                # The stamp read with the text: the one that says which text this row was made from.
                stamp, text = changed[response_id]
                response = response if response is not None else response_from_json(text)
                found = (stamp, response_row(d, response, maker.matcher, maker.names))
                out.made += 1
            out.responses[d.id].append(found[1])
            out.kept.responses[(d.id, response_id)] = found  # the kept entry itself: KeptRows.since knows it


def _file_rows(campaign: Campaign, source: str, state: StateStore, collected: Collected, kept: KeptRows,
               maker: RowMaker, out: CurrentRows) -> None:
    deliverables = [d for d in campaign.deliverables if d.source == source]
    listed = {f.file_id: f for f in collected.files.get(source, ())}  # this run's pass held them already
    rows = out.files[source] = []
    for stamps in _pieces(state.file_stamps(source)):
        changed = state.file_texts(source, [fid for fid, stamp in stamps if (hit := kept.files.get((source, fid))) is None
                                            or hit[0] != stamp or fid in collected.read_now])
        for file_id, stamp in stamps:
            hit = kept.files.get((source, file_id))
            if hit is None or hit[0] != stamp or file_id in collected.read_now:
                stamp, text, found = changed[file_id]
                file = listed.get(file_id) or file_from_json(text)
                row, keep = _file_row(campaign, source, file, found, deliverables, collected, maker)
                hit = (stamp, row) if keep else None
                out.made += 1
            rows.append(row if hit is None else hit[1])
            if hit is not None:
                out.kept.files[(source, file_id)] = hit


def _pieces(stamps: list[T]) -> Iterator[list[T]]:
    """The records' stamps `_TEXTS_AT_ONCE` at a time: the texts of the records whose rows must be made
    are read a piece at a time. Read at once, a first sync at 7,436 sub-districts held every response's
    JSON and every file's record and facts JSON together (about 240 MB) on top of what it had collected."""
    for start in range(0, len(stamps), _TEXTS_AT_ONCE):
        yield stamps[start:start + _TEXTS_AT_ONCE]


def _file_row(campaign: Campaign, source: str, file: UploadedFile, found: tuple[str, str, str] | None,
              deliverables: list[Deliverable], collected: Collected, maker: RowMaker) -> tuple[FileRow, bool]:
    """The file's row, and whether a later run reading the stored facts would make the same one."""
    if file.file_id in collected.facts or file.file_id in collected.in_state:
        # This run's pass looked at it: its facts (held, or in the state since: `Collected.let_go`) and
        # route stand.
        facts: FileFacts | None = collected.facts.get(file.file_id) or (facts_from_json(found[2]) if found else None)
        routed = collected.routes.get(file.file_id, "")
        later = stored_route(file, deliverables, facts)  # a later run's route, from the stored facts
        keep = facts_are_current(file, deliverables, found) and (later.id if later else "") == routed
    else:
        deliverable, _, _, facts = stored_reading(file, deliverables, found)
        routed = deliverable.id if deliverable is not None and facts is not None else ""
        keep = facts is not None
        if facts is None and source not in collected.files:  # else `load_rows` said so already
            collected.problems.append(Problem("file_unreadable", source, file.origin or file.file_id, file.name,
                                              "not inspected yet: run `tidtam sync`"))
    return file_row(campaign, source, file, facts, routed, maker.matcher, maker.names), keep
