"""A run reads its sources in a child process (ingest.collect.collect_apart): it gets the tables and
statuses that reading in the run's own process gets, and counts the child's API calls as its own."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime

import pytest

from connectors.pandas_text import pd
from ingest import collect as collect_module
from ingest.apart import can_fork
from ingest.backends import build_backends
from ingest.collect import collect_apart
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.jobs import sync_job
from ingest.state import StateStore
from tests.emulator import Emulator
from tests.google_workspace import seed_demo

pytestmark = pytest.mark.skipif(not can_fork(), reason="reading apart forks on Linux only")

AS_OF = datetime(2022, 11, 12, 10, tzinfo=UTC)


def test_reading_in_a_child_gives_the_tables_and_statuses_reading_here_gives(tmp_path, monkeypatch):
    root = write_demo(tmp_path / "demo").root
    _, apart = sync_job(root / "config.yaml", as_of=AS_OF, email=False)
    tables = apart.tables
    # The same workspace again from nothing (same paths, so the same origins), read in this process.
    for leftover in root.glob("*state.sqlite*"):  # pathlib's glob takes the dot-files too (the memo)
        leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
    monkeypatch.setattr(collect_module, "can_fork", lambda: False)
    _, here = sync_job(root / "config.yaml", as_of=AS_OF, email=False)
    assert here.computed.rows_made == apart.computed.rows_made > 0  # both made every row afresh
    for name in ("responses", "files", "focus_group", "problems", "items"):
        pd.testing.assert_frame_equal(getattr(tables, name), getattr(here.tables, name), obj=name)
    assert apart.evaluation == here.evaluation
    assert apart.inspected_files == here.inspected_files > 0


def test_the_childs_api_calls_are_the_runs(tmp_path):
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path / "google")
        emu.reset_counts()
        sync_job(ws.config, as_of=AS_OF, email=False)
        served = {k: v for k, v in emu.counts.items() if k != "oauth2.token"}  # a token is not an API call
        assert emu.violations == []
    db = sqlite3.connect(ws.root / "tidtam-state-google.sqlite")
    try:
        recorded = json.loads(db.execute("SELECT api_calls FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()[0])
    finally:
        db.close()
    assert served["drive.files.get"] > 400  # read by the child: one per file downloaded
    assert recorded == served


def test_the_childs_progress_reaches_the_callback_here(tmp_path):
    root = write_demo(tmp_path / "demo").root
    seen: list[tuple[str, int, int]] = []
    _, report = sync_job(root / "config.yaml", as_of=AS_OF, email=False, progress=lambda *args: seen.append(args))
    assert report.inspected_files > 0
    checked = [done for _, done, _ in seen]
    assert checked == sorted(checked) and seen[-1][1] == seen[-1][2] == report.inspected_files  # all, in order


def test_a_system_that_refuses_the_child_process_reads_in_the_runs_own(tmp_path, monkeypatch, caplog):
    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")  # EAGAIN: the process limit reached

    monkeypatch.setattr(os, "fork", refuse)
    root = write_demo(tmp_path / "demo").root
    _, report = sync_job(root / "config.yaml", as_of=AS_OF, email=False)
    assert report.outcome == "ok" and report.inspected_files > 0
    assert "reading the sources: no child process ([Errno 11] Resource temporarily unavailable); " \
           "reading in this process" in caplog.text


def test_the_child_says_once_when_it_first_changes_a_stored_row_and_never_when_none_changed(tmp_path, monkeypatch):
    """`on_change` is called here, once, while the child reads on (the run then reads its kept rows
    ahead: ingest.memo); a reading that changes no stored row never calls it. Where there is no child,
    it is not called."""
    demo = write_demo(tmp_path / "demo")
    campaign = load_campaign(demo.root / "config.yaml")
    backends = build_backends(campaign, email=False)
    state = StateStore(campaign.resolve(campaign.state_path))
    try:
        calls: list[int] = []

        def changed() -> None:
            calls.append(os.getpid())

        first = collect_apart(campaign, backends, state, now=AS_OF, on_change=changed)
        assert first.inspected > 0 and calls == [os.getpid()]  # hundreds of rows stored: said once, here
        calls.clear()
        collect_apart(campaign, backends, state, now=AS_OF, on_change=changed)
        assert calls == []  # nothing new
        photos = next(p for p in (demo.root / "uploads").rglob("*") if p.is_dir() and any(p.glob("*.jpg")))
        shutil.copy(next(photos.glob("*.jpg")), photos / "IMG_late_arrival.jpg")
        again = collect_apart(campaign, backends, state, now=AS_OF, on_change=changed)
        assert again.inspected == 1 and calls == [os.getpid()]
        calls.clear()
        monkeypatch.setattr(collect_module, "can_fork", lambda: False)
        shutil.copy(next(photos.glob("*.jpg")), photos / "IMG_later_still.jpg")
        here = collect_apart(campaign, backends, state, now=AS_OF, on_change=changed)
        assert here.inspected == 1 and calls == []
    finally:
        state.close()
        backends.close()
