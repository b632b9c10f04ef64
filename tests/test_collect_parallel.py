"""Files are downloaded and inspected on a thread pool: the outcome must not depend on it.

Same facts, routes, problems and order as one file at a time; one failing download is one
file_unreadable problem and never stops the others; every Drive call made on a worker thread is
still counted, and the call counts match what the emulator saw.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from connectors.base import UploadedFile
from connectors.google_drive import DriveSource
from connectors.local_folder import LocalFolderSource
from ingest.collect import collect
from ingest.collected import Collected
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.errors import ItemError
from ingest.state import StateStore
from tests.emulator import Emulator
from tests.google_workspace import google_api, seed_demo


class SlowFolder:
    """A local folder whose reads take random, short times (so workers finish out of order)."""

    def __init__(self, root: Path, broken: str = "") -> None:
        self.inner = LocalFolderSource(root)
        self.broken = broken
        self.threads: set[str] = set()
        self._rng = random.Random(7)
        self._lock = threading.Lock()

    def files(self, since: str | None = None):
        return self.inner.files(since)

    def read(self, file: UploadedFile) -> bytes:
        with self._lock:
            self.threads.add(threading.current_thread().name)
            delay = self._rng.uniform(0, 0.01)
        time.sleep(delay)
        if self.broken and file.name == self.broken:
            raise ItemError(f"{file.origin}: cannot be read", reason_th="อ่านไฟล์ไม่ได้")
        return self.inner.read(file)


def _collect(tmp: Path, demo_root: Path, workers: int, broken: str = "") -> tuple[Collected, SlowFolder]:
    campaign = load_campaign(demo_root / "config.yaml")
    source = SlowFolder(demo_root / "uploads", broken)
    state = StateStore(str(tmp / f"state-{workers}.sqlite"))
    try:
        return collect(campaign, {}, {"uploads": source}, state, full=True, workers=workers), source
    finally:
        state.close()


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    return write_demo(tmp_path_factory.mktemp("demo")).root


def test_parallel_reads_give_the_same_outcome_in_the_same_order(tmp_path, demo_root):
    one, _ = _collect(tmp_path, demo_root, workers=1)
    many, source = _collect(tmp_path, demo_root, workers=8)
    assert len(source.threads) > 1  # really read on several threads
    assert many.inspected == one.inspected > 300
    assert list(many.facts) == list(one.facts)  # same order, not only the same set
    assert many.facts == one.facts
    assert many.routes == one.routes
    assert many.problems == one.problems


def test_a_failing_read_is_one_problem_and_the_others_are_inspected(tmp_path, demo_root):
    whole, _ = _collect(tmp_path, demo_root, workers=8)
    broken_name = next(f.name for f in whole.files["uploads"] if f.name.endswith(".docx"))
    broken_count = sum(f.name == broken_name for f in whole.files["uploads"])
    (tmp_path / "again").mkdir()
    collected, _ = _collect(tmp_path / "again", demo_root, workers=8, broken=broken_name)
    unreadable = [p for p in collected.problems if p.kind == "file_unreadable"]
    assert len(unreadable) == broken_count and all(p.text == broken_name for p in unreadable)
    assert collected.inspected == whole.inspected - broken_count
    assert set(collected.facts) == set(whole.facts)  # the broken file still has a row, as unreadable
    broken_ids = {f.file_id for f in whole.files["uploads"] if f.name == broken_name}
    assert all(collected.facts[i].violations[0].code == "unreadable" for i in broken_ids)


def test_drive_downloads_on_threads_are_all_counted_and_a_refused_file_stays_one_problem(tmp_path):
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path / "ws")
        emu.faults.add(None, latency=0.005)  # so several downloads are in flight together
        refused = next(fid for path, fid in sorted(ws.files.items()) if path.endswith(".jpg"))
        emu.faults.add("drive.files.get", status=404, reason="notFound", match={"path_contains": refused})
        api = google_api(emu, tmp_path, max_attempts=1)
        campaign = load_campaign(ws.demo.config)
        state = StateStore(str(tmp_path / "state.sqlite"))
        try:
            emu.reset_counts()
            collected = collect(campaign, {}, {"uploads": DriveSource(api, ws.folder_id)}, state, full=True)
        finally:
            state.close()
        files = collected.files["uploads"]
        assert collected.inspected == len(files) - 1
        assert [p.kind for p in collected.problems if p.kind == "file_unreadable"] == ["file_unreadable"]
        assert collected.facts[refused].violations[0].code == "unreadable"
        emulator_calls = {k: v for k, v in emu.counts.items() if k != "oauth2.token"}
        assert dict(api.counts) == emulator_calls
        assert api.counts["drive.files.get"] == len(files) + 1  # every download, and the root folder
        assert emu.violations == []
