"""What step 1 hands to step 2: everything the sources gave, and what went wrong reading them.

Its own module so that the pure normalization step depends on this data, not on the threaded I/O
of `ingest.collect` that produces it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from connectors.base import UploadedFile
from ingest.facts import FileFacts
from ingest.health import SourceRead


@dataclass(frozen=True)
class Problem:
    """Something a coordinator should look at; one row of the `problems` tab."""

    kind: str  # source_failed, row_unreadable, folder_unreadable, unit_unmatched, unit_ambiguous, file_unreadable, file_unrouted
    source: str
    origin: str  # file/row/response where a person finds it
    text: str = ""  # the raw text involved (e.g. what was typed for the province)
    detail: str = ""
    candidates: str = ""


@dataclass
class Collected:
    responses: dict[str, list] = field(default_factory=dict)  # source name → FormResponse list
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)
    facts: dict[str, FileFacts] = field(default_factory=dict)  # file id → facts
    routes: dict[str, str] = field(default_factory=dict)  # file id → deliverable id
    problems: list[Problem] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)
    reads: dict[str, SourceRead] = field(default_factory=dict)  # source name → this run's counts (failed: absent)
    cursors: dict[str, str] = field(default_factory=dict)  # to save once the warehouse is written
    inspected: int = 0  # files downloaded and inspected in this run
    read_now: set[str] = field(default_factory=set)  # ids of the files this run downloaded (read or not)
    # Ids of files whose facts this run's pass took, and the state now holds, but `facts` does not:
    # `let_go` (read them from the state, `StateStore.file_texts` or `stored_facts`).
    in_state: set[str] = field(default_factory=set)

    def let_go(self, file_ids: Iterable[str]) -> None:
        """Stop holding these files' facts: the state holds them. A first sync at 7,436 sub-districts held
        52,000 files' facts (140 MB, most of it the focus-group records' answers) from its downloads to its
        tables; a reconciliation held every file's cached facts. Their routes stay in `routes`."""
        for file_id in file_ids:
            if self.facts.pop(file_id, None) is not None:
                self.in_state.add(file_id)

    def without_listings(self) -> Collected:
        """This result without the files the sources listed (each source's list emptied, its name kept: a
        source whose listing was read still counts as read). The state holds every one of them, and
        `ingest.row_cache` reads a file's stored record where this run's pass did not hold it. What a
        child process hands back (`ingest.collect.collect_apart`): at 7,436 sub-districts the listings
        are 52,000 files, most of the 100 MB the parent otherwise holds from the reading to the rows."""
        self.files = {name: [] for name in self.files}
        return self

    def release_rows(self) -> None:
        """Let go of the rows, files and facts once the tables hold what they say: a first sync at 7,436
        sub-districts holds 74,360 responses, 52,161 files and their facts, which the warehouse write
        that follows does not need. `ingest.collect.load_rows` reads them from the state again if asked."""
        self.responses.clear()
        self.files.clear()
        self.facts.clear()
        self.routes.clear()
        self.read_now.clear()
        self.in_state.clear()
