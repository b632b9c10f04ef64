"""Step 1 of a run: ask every source for what is new, keep it in the state store, inspect new files.

A source that fails is reported and its last known data is used, so one broken source never stops
the others; a file that cannot be read is one problem, never a crashed run. Files whose facts are not
cached yet are downloaded on a few threads (a download is mostly waiting on the network) and inspected
in worker processes with a memory cap and a time limit (`ingest.workers`): a file that exceeds either
is one invalid item, remembered until its version changes. Results are kept in file order, so a run
does not depend on which finished first.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from connectors.base import FileListing, ResponseBatch, ResponsesSource, UploadedFile, UploadsSource
from ingest import arrival
from ingest.apart import CannotFork, can_fork, in_child
from ingest.artefacts import is_desktop_artefact
from ingest.campaign import Campaign, Deliverable
from ingest.collected import Collected, Problem
from ingest.errors import InputError, ItemError, SourceError
from ingest.facts import FileFacts, Violation
from ingest.file_checks import INSPECTOR_VERSION, inspect_upload, unchecked_facts
from ingest.gc_pause import keep_long_lived, paused_gc
from ingest.health import SourceRead, too_many_rejected
from ingest.routing import route
from ingest.state import StateStore, stored_order
from ingest.state_codec import facts_from_json
from ingest.workers import Exceeded, WorkerLimits, WorkerPool

if TYPE_CHECKING:
    from ingest.backends import Backends

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
StoredFacts = Mapping[str, tuple[str, str, str]]  # file id → (version, rules, facts JSON): StateStore.stored_facts
# Concurrent downloads per source. Drive's quota per minute per user per project is 325,000 quota
# units since May 2026; projects that used the API between November 2025 and April 2026 keep 12,000
# queries (Drive "Usage limits", https://developers.google.com/workspace/drive/api/guides/limits);
# beyond them Drive answers 403 userRateLimitExceeded / 429, which connectors/google_api.py retries
# with backoff. 32 threads, not the 8 of before: at 50 ms a request 8 threads were the first sync's
# bound (52,000 downloads at 160 a second: 326 s at 7,436 units; at 928 districts 8 threads took
# 55.6 s, 16 33.5 s, 32 26.9 s, measured 6 Dec). What they hold at once is capped by bytes
# (DOWNLOAD_BYTES), not by the number of threads.
DOWNLOAD_WORKERS = 32
# Downloaded bytes held at once, waiting for or in inspection: 32 small photos fly together, while
# 50 MB photos go five at a time (a file larger than the budget goes alone).
DOWNLOAD_BYTES = 256 * 1024 * 1024
_UNKNOWN_SIZE = 32 * 1024 * 1024  # a file listed without a size (a Google Docs export) counts as this
# Files whose facts are kept in the state in one transaction. A crash loses at most this many
# inspections (their files are downloaded again by the next run); each commit waits for a disk sync.
_FACTS_BATCH = 500


def collect(campaign: Campaign, responses_sources: Mapping[str, ResponsesSource],
            uploads_sources: Mapping[str, UploadsSource], state: StateStore, *,
            full: bool = False, progress: Progress | None = None, workers: int = DOWNLOAD_WORKERS,
            limits: WorkerLimits | None = None, now: datetime | None = None, load: bool = True) -> Collected:
    """`workers` download threads per source; `limits` caps each inspection (processes, memory, time).
    `now` is the run's moment: a file moved into the upload tree arrives no earlier than the listing
    that first saw it (ingest.arrival); without it, files keep their creation time.

    Files are looked at only when something may need inspecting: when no stored file or fact changed
    since a pass that left every file inspected (under the same rules), the pass is skipped. With
    `load=False` the stored rows are not read into the result unless a pass read them (a run that can
    reuse what the last run computed needs none); `load_rows` reads the rest."""
    collected = Collected()
    with ThreadPoolExecutor(max_workers=max(1, len(responses_sources) + len(uploads_sources)),
                            thread_name_prefix="read") as readers:
        # The reads' pages are long-lived and come at once (a first sync at 7,436 sub-districts: 74,000
        # responses and 52,000 listed files in about 25 s, during which 30 full collections walked the
        # growing heap, 5.6 s): no collection until the responses are kept and the first upload
        # source's listing is in, where its inspection starts (ingest.gc_pause).
        with paused_gc():
            # Every source is asked at once (a form's pages and a Drive walk wait on different servers,
            # and their quotas are separate): a full read takes the longest of them, not their sum. What
            # they give is then kept in the state one source at a time, in the config's order, as before.
            asked = {name: readers.submit(source.responses, since=None if full else state.cursor(name))
                     for name, source in responses_sources.items()}
            listed = {name: readers.submit(source.files, since=None if full else state.cursor(name))
                      for name, source in uploads_sources.items()}
            for name, answer in asked.items():
                _keep_responses(campaign, name, answer, state, collected)
            wait(list(listed.values())[:1])
        for name, listing in listed.items():
            _keep_uploads(campaign, name, uploads_sources[name], listing, state, collected, now=now, workers=workers,
                          limits=limits, progress=progress)
    if load:
        load_rows(campaign, state, collected)
    return collected


def collect_apart(campaign: Campaign, backends: Backends, state: StateStore, *, full: bool = False,
                  progress: Progress | None = None, now: datetime | None = None,
                  alongside: Callable[[], None] | None = None, on_change: Callable[[], None] | None = None
                  ) -> Collected:
    """`collect(..., load=False)` in a child process (ingest.apart) where the platform has `fork`, so
    that what reading leaves in the heap goes with the child; in this process elsewhere. `alongside()`
    runs in this process while the child reads (`in_child`), or before the reading where there is no child.
    `on_change()` is called here, once, as soon as the child's reading has changed a stored row (a
    revision moved: the run will compute its tables, ingest.memo), while the child reads on (its
    messages wait in the pipe meanwhile, as for `alongside`); where there is no child it is not called.

    The child keeps what it reads in the state file through a connection of its own, and hands back
    `Collected` without its listings (`without_listings`: the state holds them) and the API calls it made,
    counted here. The state's background check (`StateStore.check_in_background`) is awaited first:
    a thread inside SQLite at the moment of the fork could leave one of SQLite's own locks held in the
    child for ever, and the check must pass before anything is written anyway."""
    def read(into: StateStore, report: Progress | None) -> Collected:
        return collect(campaign, backends.responses, backends.uploads, into, full=full, progress=report, now=now,
                       load=False)

    def step(send: Callable[..., None]) -> tuple[Collected, Counter[str]]:
        before = backends.api_calls()
        own = StateStore(state.path)
        if on_change is not None:
            own.on_revision = _once(lambda _kind: send("changed"))
        try:
            # The progress goes to this process's `progress` (`in_child`'s messages): it draws the bar.
            collected = read(own, (lambda *args: send("progress", *args)) if progress is not None else None)
        finally:
            own.close()
        return collected.without_listings(), backends.api_calls() - before

    def passed_on(kind: str, *args: object) -> None:
        if kind == "progress" and progress is not None:
            progress(*args)
        elif kind == "changed" and on_change is not None:
            on_change()

    if can_fork():
        state.await_check()
        try:
            collected, calls = in_child(step, what="reading the sources", after_fork=[backends.after_fork],
                                        on_message=passed_on, alongside=alongside)
        except CannotFork as exc:
            log.warning("%s; reading in this process", exc)
        else:
            backends.add_api_calls(calls)
            return collected
    if alongside is not None:
        alongside()
    return read(state, progress)


def _once(call: Callable[[str], None]) -> Callable[[str], None]:
    """`call`, passed on the first time only (from whichever of the reading's threads comes first)."""
    lock, called = threading.Lock(), []

    def first(kind: str) -> None:
        with lock:
            if called:
                return
            called.append(kind)
        call(kind)
    return first


def _take_back(campaign: Campaign, state: StateStore, collected: Collected) -> None:
    """The facts `Collected.let_go` left in the state, held again (for `normalize`, which reads them
    from `collected`)."""
    for name, spec in campaign.sources.items():
        if spec.role != "responses" and collected.in_state:
            for file_id, (_, _, text) in state.stored_facts(name, sorted(collected.in_state)).items():
                collected.facts[file_id] = facts_from_json(text)
    collected.in_state.clear()


def _keep_responses(campaign: Campaign, name: str, answer: Future[ResponseBatch], state: StateStore,
                    collected: Collected) -> None:
    """Keep one form source's answer (`answer`: its read, running) in the state."""
    try:
        batch = answer.result()
        collected.problems.extend(Problem("row_unreadable", name, p.split(":")[0], detail=p) for p in batch.problems)
        read = collected.reads[name] = SourceRead(read=len(batch.responses) + len(batch.problems))
        for problem in batch.problems:
            read.reject(problem)
        if too_many_rejected(read, campaign.sources[name].max_rejected if name in campaign.sources else 0.2):
            # As for a failed source, the last good read stands: a broken export must not empty the state.
            log.info("source %s: %d of %d rows unreadable; its last good read is kept", name, read.rejected,
                     read.read)
        else:
            state.merge_responses(name, batch.responses, complete=batch.complete)
            if batch.cursor:
                collected.cursors[name] = batch.cursor
    except (SourceError, InputError) as exc:
        log.warning("source %s failed: %s", name, exc)
        collected.failed_sources.append(name)
        collected.problems.append(Problem("source_failed", name, name, detail=str(exc)))


def _keep_uploads(campaign: Campaign, name: str, source: UploadsSource, listing_read: Future[FileListing],
                  state: StateStore, collected: Collected, *, now: datetime | None, workers: int,
                  limits: WorkerLimits | None, progress: Progress | None) -> None:
    """Keep one upload source's listing (`listing_read`: its read, running) and inspect its new files.

    When the last pass left every stored file with its facts and nothing stored changed since, only
    the files this listing brings can need a look: the others are not read from the state at all."""
    inspected_before = state.value(_PASS_KEY + name) == f"{state.revision('uploads')}:{campaign.digest}"
    listed: list[UploadedFile] | None = None  # what this listing stored
    whole = False  # and whether that is every file the state now holds of the source
    try:
        listing = listing_read.result()
        # Owner files, folder metadata, partial downloads: never a submission, never a problem row.
        listing = replace(listing, files=[f for f in listing.files if not is_desktop_artefact(f.name, f.folders)])
        if now is not None:
            listing = arrival.settle(name, listing, state, now)
        state.merge_files(name, listing.files, complete=listing.complete, removed_ids=listing.removed_ids)
        keep_long_lived()  # the listing is held to the run's end (ingest.gc_pause)
        listed, whole = listing.files, listing.complete
        if listing.cursor:
            collected.cursors[name] = listing.cursor
        collected.problems.extend(Problem("folder_unreadable", name, p.split(":")[0], detail=p)
                                  for p in listing.problems)
        # A folder that cannot be listed counts as one rejected item: how many files it holds is unknown.
        read = collected.reads[name] = SourceRead(read=len(listing.problems))
        for problem in listing.problems:
            read.reject(problem)
    except (SourceError, InputError) as exc:
        log.warning("source %s failed: %s", name, exc)
        collected.failed_sources.append(name)
        collected.problems.append(Problem("source_failed", name, name, detail=str(exc)))
    if name in collected.reads:
        collected.reads[name].read += state.count_files(name)
    marker = f"{state.revision('uploads')}:{campaign.digest}"
    if state.value(_PASS_KEY + name) == marker:
        return
    if inspected_before and listed is not None:
        # What changed since a pass that left nothing to inspect: ingest.row_cache reads the rest.
        files = in_stored_order(listed)
    elif whole and listed is not None:
        files = collected.files[name] = in_stored_order(listed)  # as the state holds them, not decoded again
    else:
        files = collected.files[name] = state.files(name)
    deliverables = [d for d in campaign.deliverables if d.source == name]
    unreadable = len(collected.problems)
    _inspect_all(files, name, source, deliverables, state, collected, workers=workers, limits=limits,
                 progress=progress)
    if not any(p.kind == "file_unreadable" and p.source == name for p in collected.problems[unreadable:]):
        # Every file has its facts stored: until a stored file or fact changes, nothing needs a look.
        state.set_values({_PASS_KEY + name: f"{state.revision('uploads')}:{campaign.digest}"})


# Below this many files a pass asks the state for their facts by id, not for every file's of the source.
_FEW = 2_000

# kv key of the marker "every file of this source had its facts at uploads revision N under rules D".
_PASS_KEY = "inspected:"


def in_stored_order(files: Sequence[UploadedFile]) -> list[UploadedFile]:
    """The files as `StateStore.files` gives them back once merged: one per id (the last, as the merge
    keeps it), in the state's order of ids. Files are inspected, and their problems listed, in that
    order whichever way they were found, so a run's problems do not depend on how it listed the files."""
    latest = {f.file_id: f for f in files}
    return sorted(latest.values(), key=lambda f: stored_order(f.file_id))


def load_rows(campaign: Campaign, state: StateStore, collected: Collected) -> None:
    """Read into `collected` the stored rows `collect` left unread: every source's responses, and the
    files (with their cached facts) of sources whose inspection pass was skipped, and the facts the
    pass left in the state."""
    _take_back(campaign, state, collected)
    for name, spec in campaign.sources.items():
        if spec.role == "responses":
            if name not in collected.responses:
                collected.responses[name] = state.responses(name)
        elif name not in collected.files:
            files = state.files(name)
            collected.files[name] = files
            deliverables = [d for d in campaign.deliverables if d.source == name]
            stored = state.stored_facts(name)
            for file in files:
                if file.file_id not in collected.facts:  # else this run's pass looked at it already
                    _from_cache(file, name, deliverables, stored, collected)


def collect_from_state(campaign: Campaign, state: StateStore) -> Collected:
    """What the last syncs stored, without asking any source (for `tidtam status`)."""
    collected = Collected()
    for name, spec in campaign.sources.items():
        if spec.role == "responses":
            collected.responses[name] = state.responses(name)
            continue
        files = state.files(name)
        collected.files[name] = files
        deliverables = [d for d in campaign.deliverables if d.source == name]
        stored = state.stored_facts(name)
        for file in files:
            _from_cache(file, name, deliverables, stored, collected)
    return collected


@dataclass
class _Read:
    """What reading one file gave: its facts, or the per-file error that stopped the read."""

    deliverable: Deliverable | None
    rules: str
    facts: FileFacts | None = None
    error: ItemError | SourceError | None = None


def _inspect_all(files: Sequence[UploadedFile], source_name: str, source: UploadsSource,
                 deliverables: list[Deliverable], state: StateStore, collected: Collected, *, workers: int,
                 limits: WorkerLimits | None, progress: Progress | None = None) -> None:
    """Inspect every file: cached facts at once, the rest downloaded on `workers` threads, each queueing
    its bytes for a worker process and going on to the next download. Downloads hold at most
    `DOWNLOAD_BYTES` at a time, until inspected (by the sizes the listing gave: a source caps what it
    downloads on its own), results wait in a window of a few per thread and are kept strictly in file
    order, and facts go to the state `_FACTS_BATCH` at a time."""
    window = max(1, workers) * 4
    budget = BytesInFlight(DOWNLOAD_BYTES)
    stored = state.stored_facts(source_name, [f.file_id for f in files] if len(files) < _FEW else None)
    pending: deque[tuple[UploadedFile, str, Future[Future[_Read]] | None]] = deque()  # None: facts were cached
    unsaved: list[tuple[str, str, str, FileFacts]] = []  # facts read, kept in the state a batch at a time
    done = 0

    def settle() -> None:
        nonlocal done
        file, version, read = pending.popleft()
        if read is not None:
            _keep_read(file, source_name, version, read.result().result(), unsaved, collected)
            if len(unsaved) >= _FACTS_BATCH:
                state.save_many_facts(unsaved)
                collected.let_go(file_id for file_id, *_ in unsaved)
                unsaved.clear()
                keep_long_lived()  # the facts kept so far stay to the run's end: no collection walks them
        done += 1
        if progress:
            progress(source_name, done, len(files))

    # No process starts until a file needs inspecting (a no-change sync starts none). One thread per
    # worker process hands it files (`inspecting`), so a download thread never waits for a free worker:
    # at 928 districts download threads spent 21% of their time so (py-spy, 7 Dec). The pools close in
    # reverse order: downloads first, as they queue inspections.
    with WorkerPool(limits, preload=("ingest.file_checks",)) as processes, \
            ThreadPoolExecutor(max_workers=max(1, processes.limits.processes),
                               thread_name_prefix=f"inspect-{source_name}") as inspecting, \
            ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=f"read-{source_name}") as pool:
        try:
            for file in files:
                deliverable, version, rules = _cached(file, deliverables, stored, collected)
                if rules is None:  # its facts came from the state
                    collected.let_go((file.file_id,))
                read = None if rules is None else pool.submit(_read, source, file, deliverable, rules, deliverables,
                                                              processes, inspecting, budget)
                pending.append((file, version, read))
                while len(pending) > window or (pending and (pending[0][2] is None or _finished(pending[0][2]))):
                    settle()
            while pending:
                settle()
        finally:  # what was read before a failure is kept: the next run does not download it again
            if unsaved:
                state.save_many_facts(unsaved)
                collected.let_go(file_id for file_id, *_ in unsaved)


def _cached(file: UploadedFile, deliverables: list[Deliverable], stored: StoredFacts,
            collected: Collected) -> tuple[Deliverable | None, str, str | None]:
    """(deliverable, version, rules key); rules is None when the facts were cached (and kept already).
    `stored`: the source's stored facts (`StateStore.stored_facts`)."""
    deliverable, version, rules, cached = stored_reading(file, deliverables, stored.get(file.file_id))
    if cached is None:
        return deliverable, version, rules
    _keep(collected, file, deliverable, cached)
    return deliverable, version, None


def stored_reading(file: UploadedFile, deliverables: Sequence[Deliverable], found: tuple[str, str, str] | None
                   ) -> tuple[Deliverable | None, str, str, FileFacts | None]:
    """(deliverable, version, rules key, facts): the facts `found` in the state for this file when they
    are of its version and rules (else None), and the deliverable it counts for (by name, else by what
    the stored facts say it is)."""
    version, rules = file_version(file), rules_key(route(file, deliverables), deliverables)
    cached = facts_from_json(found[2]) if found is not None and found[:2] == (version, rules) else None
    return stored_route(file, deliverables, cached), version, rules, cached


def facts_are_current(file: UploadedFile, deliverables: Sequence[Deliverable], found: tuple[str, str, str] | None
                      ) -> bool:
    """Whether the facts `found` in the state for this file are of its version and rules
    (what `stored_reading` decodes), told without decoding them."""
    return found is not None and found[:2] == (file_version(file), rules_key(route(file, deliverables), deliverables))


def stored_route(file: UploadedFile, deliverables: Sequence[Deliverable], facts: FileFacts | None
                 ) -> Deliverable | None:
    """The deliverable a file counts for once its facts are known: by its name, else by what the facts
    say it is."""
    return route(file, deliverables) or (route(file, deliverables, facts.content_type) if facts else None)


def file_version(file: UploadedFile) -> str:
    """What tells one version of a file's bytes from another: facts are kept per version."""
    return file.md5 or file.version or (file.modified_at or file.created_at).isoformat()


class BytesInFlight:
    """A budget of bytes shared by the download threads: a download waits until its file's size fits
    beside what the others hold, so memory follows the bytes in flight, not the number of threads. A
    file larger than the whole budget waits until nothing else is held, then goes alone."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0  # the most held at once (tests, benches)
        self._changed = threading.Condition()

    def take(self, size: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.held == 0 or self.held + size <= self.limit)
            self.held += size
            self.peak = max(self.peak, self.held)

    def give_back(self, size: int) -> None:
        with self._changed:
            self.held -= size
            self._changed.notify_all()


def _read(source: UploadsSource, file: UploadedFile, deliverable: Deliverable | None, rules: str,
          deliverables: list[Deliverable], processes: WorkerPool, inspecting: ThreadPoolExecutor,
          budget: BytesInFlight) -> Future[_Read]:
    """Download one file once its size fits the budget of bytes in flight, and queue it for a worker
    process (runs on a download thread: no state, no shared writes). The bytes count against the budget
    until inspected."""
    size = min(file.size, budget.limit) if file.size else _UNKNOWN_SIZE
    budget.take(size)
    try:
        content = source.read(file)
        inspected = inspecting.submit(_inspect, content, file, deliverable, rules, deliverables, processes)
    except BaseException as exc:
        budget.give_back(size)
        if not isinstance(exc, ItemError | SourceError):
            raise
        inspected = Future()
        inspected.set_result(_Read(deliverable, rules, error=exc))
        return inspected
    inspected.add_done_callback(lambda _: budget.give_back(size))
    return inspected


def _finished(read: Future[Future[_Read]]) -> bool:
    """Downloaded and inspected (or failed)."""
    return read.done() and (read.exception() is not None or read.result().done())


def _inspect(content: bytes, file: UploadedFile, deliverable: Deliverable | None, rules: str,
             deliverables: list[Deliverable], processes: WorkerPool) -> _Read:
    """One downloaded file through a worker process (on one of the threads that feed them)."""
    outcome = processes.run(inspect_upload, content, file, deliverable, () if deliverable else tuple(deliverables))
    if isinstance(outcome, Exceeded):
        if outcome.limit == "error":  # a bug in inspection, not the file's fault: not remembered
            log.error("inspecting %s failed:\n%s", file.origin or file.file_id, outcome.detail)
            return _Read(deliverable, rules, error=ItemError(f"{file.origin or file.file_id}: inspection failed",
                                                            reason_th="ตรวจไฟล์ไม่สำเร็จ"))
        log.warning("%s: %s limit hit while inspecting (%s)", file.origin or file.file_id, outcome.limit,
                    outcome.detail)
        return _Read(deliverable, rules, unchecked_facts(content, f"{outcome.limit}: {outcome.detail}"))
    deliverable, facts = outcome
    # Saved under the key it was looked up by (`rules`), even when its bytes routed it: a key taken from
    # the routed deliverable is one the next sync cannot know before downloading, so it would never hit.
    return _Read(deliverable, rules, facts)


def _keep_read(file: UploadedFile, source_name: str, version: str, read: _Read,
               unsaved: list[tuple[str, str, str, FileFacts]], collected: Collected) -> None:
    collected.read_now.add(file.file_id)
    if read.error is not None or read.facts is None:
        exc = read.error
        collected.problems.append(Problem("file_unreadable", source_name, file.origin or file.file_id, file.name, str(exc)))
        if source_name in collected.reads:
            collected.reads[source_name].reject(str(exc))
        reason = getattr(exc, "reason_th", "") or "อ่านไฟล์ไม่ได้"
        _keep(collected, file, read.deliverable, FileFacts("", file.size or 0, "unknown",
                                                            violations=(Violation("unreadable", reason, str(exc)),)))
        return
    unsaved.append((file.file_id, version, read.rules, read.facts))
    collected.inspected += 1
    _keep(collected, file, read.deliverable, read.facts)


def _from_cache(file: UploadedFile, source_name: str, deliverables: list[Deliverable], stored: StoredFacts,
                collected: Collected) -> None:
    """One file's facts from the state cache (`stored`); a file no sync has inspected yet is a problem."""
    if _cached(file, deliverables, stored, collected)[2] is not None:
        collected.problems.append(Problem("file_unreadable", source_name, file.origin or file.file_id, file.name,
                                          "not inspected yet: run `tidtam sync`"))


def _keep(collected: Collected, file: UploadedFile, deliverable: Deliverable | None, facts: FileFacts) -> None:
    collected.facts[file.file_id] = facts
    if deliverable is not None:
        collected.routes[file.file_id] = deliverable.id


def rules_key(deliverable: Deliverable | None, deliverables: Sequence[Deliverable]) -> str:
    """The key a file's facts are cached under, known before its bytes are. Facts depend on the rules they
    were checked under: a changed rule re-checks every file. A file its name does not route is routed by
    its content, to any deliverable without a `file_pattern`: its key covers all of their rules."""
    if deliverable is None:
        by_content = ",".join(rules_key(d, ()) for d in deliverables if not d.file_pattern)
        return "by-content:" + hashlib.sha1(by_content.encode()).hexdigest()[:12]
    rules = deliverable.document_rules if deliverable.kind == "document" else deliverable.photo_rules
    # The inspector's version is part of the key: a better reader re-checks every file once.
    return hashlib.sha1(f"{deliverable.kind}:{rules!r}:{INSPECTOR_VERSION}".encode()).hexdigest()[:12]
