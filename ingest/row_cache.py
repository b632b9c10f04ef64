"""Every response's and file's table row, kept from the last run, so that a run whose inputs changed
decodes and normalizes only the records that changed (issue 17: work in proportion to the change).

A row (`ingest.normalize.ResponseRow`, `FileRow`) is a function of the campaign and of its record as
the state stores it (a file's: with its stored facts). Kept rows are known by a digest of those
stored texts and used only under the campaign digest they were made under. The rows are compared
with each other (repeat respondents, copies of one file, column order) only in
`ingest.normalize.assemble`, over every row on every run, so tables made from kept rows are the ones
a run from scratch makes.

A file whose facts this run's inspection gave (a new version, or one that could not be read) has
its row made from them; it is kept only when the stored facts a later run would read give the same
row (its version's facts are stored, and route it to the same deliverable).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from connectors.base import UploadedFile
from ingest.campaign import Campaign, Deliverable
from ingest.collect import facts_are_current, stored_reading, stored_route
from ingest.collected import Collected, Problem
from ingest.facts import FileFacts
from ingest.normalize import FileRow, ResponseRow, file_row, response_row, unit_matcher, unit_names
from ingest.state import StateStore
from ingest.state_codec import file_from_json, response_from_json
from ingest.units import UnitMatcher

# Part of what kept rows are valid under: a tidtam that makes rows differently never uses an older one's.
ROWS_VERSION = "1"


@dataclass
class KeptRows:
    """The rows of one run, by record, each with the digest of the stored texts it was made from."""

    campaign: str = ""  # ROWS_VERSION and the campaign digest they were made under
    responses: dict[tuple[str, str], tuple[bytes, ResponseRow]] = field(default_factory=dict)  # (deliverable, id)
    files: dict[tuple[str, str], tuple[bytes, FileRow]] = field(default_factory=dict)  # (source, file id)
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


class _Maker:
    """What making a row needs, made only if some row must be made (the unit matcher takes 0.5 s to
    build at 7,436 units)."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign

    @cached_property
    def matcher(self) -> UnitMatcher:
        return unit_matcher(self.campaign)

    @cached_property
    def names(self) -> dict[str, str]:
        return unit_names(self.campaign)


def current_rows(campaign: Campaign, state: StateStore, collected: Collected, kept: KeptRows | None) -> CurrentRows:
    """Each stored record's row: kept from `kept` where its stored texts are unchanged, else made.
    Files no run has inspected yet get a problem in `collected.problems`, as `ingest.collect.load_rows`
    gives them (unless `collected` holds the source's files: then it has them already)."""
    key = campaign_key(campaign)
    if kept is None or kept.campaign != key:
        kept = KeptRows(key)
    maker = _Maker(campaign)
    out = CurrentRows({}, {}, KeptRows(key))
    for name, spec in campaign.sources.items():
        if spec.role == "responses":
            _response_rows(campaign, name, state, kept, maker, out)
        else:
            _file_rows(campaign, name, state, collected, kept, maker, out)
    return out


def _digest(*texts: str) -> bytes:
    joined = "\x00".join(texts)
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _response_rows(campaign: Campaign, source: str, state: StateStore, kept: KeptRows, maker: _Maker,
                   out: CurrentRows) -> None:
    deliverables = [d for d in campaign.deliverables if d.source == source and d.kind == "response"]
    for d in deliverables:
        out.responses[d.id] = []
    if not deliverables:
        return
    for response_id, text in state.response_texts(source):
        digest = _digest(text)
        response = None
        for d in deliverables:
            found = kept.responses.get((d.id, response_id))
            if found is None or found[0] != digest:
                response = response if response is not None else response_from_json(text)
                found = (digest, response_row(d, response, maker.matcher, maker.names))
                out.made += 1
            out.responses[d.id].append(found[1])
            out.kept.responses[(d.id, response_id)] = found  # the kept entry itself: KeptRows.since knows it


def _file_rows(campaign: Campaign, source: str, state: StateStore, collected: Collected, kept: KeptRows,
               maker: _Maker, out: CurrentRows) -> None:
    deliverables = [d for d in campaign.deliverables if d.source == source]
    listed = {f.file_id: f for f in collected.files.get(source, ())}  # this run's pass held them already
    rows = out.files[source] = []
    for file_id, text, found in state.file_texts(source):
        digest = _digest(text, *(found or ("\x01",)))
        hit = kept.files.get((source, file_id))
        if hit is None or hit[0] != digest or file_id in collected.read_now:
            file = listed.get(file_id) or file_from_json(text)
            row, keep = _file_row(campaign, source, file, found, deliverables, collected, maker)
            hit = (digest, row) if keep else None
            out.made += 1
        rows.append(row if hit is None else hit[1])
        if hit is not None:
            out.kept.files[(source, file_id)] = hit


def _file_row(campaign: Campaign, source: str, file: UploadedFile, found: tuple[str, str, str] | None,
              deliverables: list[Deliverable], collected: Collected, maker: _Maker) -> tuple[FileRow, bool]:
    """The file's row, and whether a later run reading the stored facts would make the same one."""
    if file.file_id in collected.facts:  # this run's pass looked at it: its facts and route stand
        facts: FileFacts | None = collected.facts[file.file_id]
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
