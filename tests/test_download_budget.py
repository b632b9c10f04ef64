"""Downloads run on many threads, but what they hold at once is capped by bytes (ingest.collect's
BytesInFlight), and the facts read are kept in the state in batches that a failure does not lose."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from connectors.base import UploadedFile
from connectors.google_drive import DriveSource
from connectors.local_folder import LocalFolderSource
from connectors.pacing import Pacer
from ingest import collect as collect_module
from ingest.collect import BytesInFlight, collect
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.state import StateStore
from tests.emulator import Emulator
from tests.google_workspace import google_api, seed_demo


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    return write_demo(tmp_path_factory.mktemp("demo")).root


class CountingFolder:
    """A local folder that records how many bytes its reads hold at once (a read holds its file's
    size from the moment it starts until a little after it returns, like a slow network read)."""

    def __init__(self, root: Path, fail_after: int | None = None) -> None:
        self.inner = LocalFolderSource(root)
        self.fail_after = fail_after
        self.held = self.peak = self.reads = 0
        self._lock = threading.Lock()

    def files(self, since: str | None = None):
        return self.inner.files(since)

    def read(self, file: UploadedFile) -> bytes:
        with self._lock:
            self.reads += 1
            if self.fail_after is not None and self.reads > self.fail_after:
                raise RuntimeError("the disk went away")  # not an ItemError: the pass itself fails
            self.held += file.size or 0
            self.peak = max(self.peak, self.held)
        try:
            time.sleep(0.002)
            return self.inner.read(file)
        finally:
            with self._lock:
                self.held -= file.size or 0


def test_the_budget_holds_no_more_than_its_limit_and_lets_an_oversized_item_go_alone():
    budget = BytesInFlight(100)
    seen: list[int] = []
    lock = threading.Lock()

    def hold(size: int) -> None:
        budget.take(size)
        with lock:
            seen.append(budget.held)
        time.sleep(0.005)
        budget.give_back(size)

    sizes = [30] * 20 + [250] + [30] * 20
    threads = [threading.Thread(target=hold, args=(size,)) for size in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert budget.held == 0
    assert max(seen) == 250  # the oversized item, alone
    assert all(held <= 100 for held in seen if held != 250)
    assert budget.peak == 250 and seen.count(250) == 1


def test_many_download_threads_hold_no_more_bytes_than_the_budget(tmp_path, demo_root, monkeypatch):
    campaign = load_campaign(demo_root / "config.yaml")
    files = LocalFolderSource(demo_root / "uploads").files(None).files
    sizes = sorted(f.size for f in files if f.size)
    limit = sum(sizes[-3:])  # about three of the largest files at once
    monkeypatch.setattr(collect_module, "DOWNLOAD_BYTES", limit)
    source = CountingFolder(demo_root / "uploads")
    state = StateStore(str(tmp_path / "state.sqlite"))
    try:
        collected = collect(campaign, {}, {"uploads": source}, state, full=True, workers=32)
    finally:
        state.close()
    assert collected.inspected == len(files) > 300
    assert 0 < source.peak <= limit


def test_facts_read_before_a_failure_are_kept_for_the_next_run(tmp_path, demo_root):
    campaign = load_campaign(demo_root / "config.yaml")
    state = StateStore(str(tmp_path / "state.sqlite"))
    try:
        with pytest.raises(RuntimeError, match="the disk went away"):
            collect(campaign, {}, {"uploads": CountingFolder(demo_root / "uploads", fail_after=120)}, state,
                    full=True, workers=1)
        kept = state.stored_facts("uploads")
        assert 100 <= len(kept) <= 120  # every file settled before the failure; fewer than one batch
        again = CountingFolder(demo_root / "uploads")
        collected = collect(campaign, {}, {"uploads": again}, state, full=True, workers=4)
        assert again.reads == collected.inspected == len(collected.facts) - len(kept)  # the kept ones not read again
        assert len(state.stored_facts("uploads")) == len(collected.facts)
    finally:
        state.close()


def test_drive_requests_paced_to_a_configured_quota_stay_within_it(tmp_path):
    """A project on Drive's older quota (12,000 queries a minute) sets `google.drive_requests_per_minute`:
    every Drive request of a sync, downloads on 32 threads included, waits for its turn; other APIs are
    not paced by it."""
    clock = FakeClock()
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path / "ws")
        api = google_api(emu, tmp_path, sleep=clock.sleep, drive_requests_per_minute=50)
        api.pacers["drive"].clock = clock.now  # the pacer's minutes pass when it sleeps, not in real time
        campaign = load_campaign(ws.demo.config)
        state = StateStore(str(tmp_path / "state.sqlite"))
        try:
            collected = collect(campaign, {}, {"uploads": DriveSource(api, ws.folder_id)}, state, full=True, workers=32)
        finally:
            state.close()
        drive_calls = sum(n for method, n in emu.counts.items() if method.startswith("drive."))
    assert collected.inspected == len(collected.files["uploads"]) > 300
    assert set(api.pacers) == {"drive"}
    assert drive_calls > 400 and api.pacers["drive"].waited >= 60 * ((drive_calls - 1) // 50)


def test_the_pacer_keeps_every_minute_within_its_quota_across_threads():
    clock = FakeClock()
    pacer = Pacer(5, clock=clock.now, sleep=clock.sleep)
    sent: list[float] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(5):
            at = pacer.wait()
            with lock:
                sent.append(at)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(sent) == 40
    assert all(sum(t <= s < t + 60 for s in sent) <= 5 for t in sent)
    assert max(sent) == 60 * 7  # eight minutes of five: no more waiting than the quota needs


class FakeClock:
    """time.monotonic and time.sleep for a pacer: sleeping moves the clock, nothing really waits."""

    def __init__(self) -> None:
        self.time = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.time

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.time += seconds
