"""Downloads run on many threads, but what they hold at once is capped by bytes (ingest.collect's
BytesInFlight), and the facts read are kept in the state in batches that a failure does not lose."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from connectors.base import UploadedFile
from connectors.local_folder import LocalFolderSource
from ingest import collect as collect_module
from ingest.collect import BytesInFlight, collect
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.state import StateStore


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
