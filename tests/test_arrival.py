"""Arrival of an uploaded file: its creation time, unless it was moved into the upload tree later.

Drive keeps `createdTime` across a move, so the rule (ingest.arrival) uses the time of the change
that brought the file in (changes feed) or the listing that first saw it (full walk). Both paths run
the real Drive client against the emulator; the state keeps the answer so a replay gives it again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import UploadedFile
from connectors.google_drive import DriveSource
from ingest.arrival import arrival
from ingest.collect import collect
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.normalize import normalize
from ingest.record.template import make_record_docx
from ingest.state import StateStore
from ingest.status import evaluate
from tests.emulator import DOCX, Emulator
from tests.google_workspace import google_api

UPLOADED = datetime(2022, 11, 10, 3, 0, tzinfo=UTC)  # on time: the record is due 15 Nov 23:59 (UTC+7)
FIRST_SYNC = datetime(2022, 11, 12, 10, 0, tzinfo=UTC)
MOVED = datetime(2022, 11, 20, 2, 0, tzinfo=UTC)  # after the deadline
SECOND_SYNC = datetime(2022, 11, 21, 10, 0, tzinfo=UTC)
MOVED_AGAIN = datetime(2022, 11, 22, 2, 0, tzinfo=UTC)
FULL_SYNC = datetime(2022, 11, 23, 10, 0, tzinfo=UTC)


def _file(created: datetime, changed: datetime | None = None) -> UploadedFile:
    return UploadedFile("f1", "a.docx", ("จังหวัดน่าน",), DOCX, created, changed_at=changed)


@pytest.mark.parametrize(("case", "file", "known", "last_listed", "expected"), [
    ("known file keeps its arrival", _file(UPLOADED, MOVED), UPLOADED, FIRST_SYNC, UPLOADED),
    ("first listing trusts createdTime", _file(UPLOADED), None, None, UPLOADED),
    ("created since the last listing", _file(SECOND_SYNC, SECOND_SYNC), None, FIRST_SYNC, SECOND_SYNC),
    ("moved in: the change's time", _file(UPLOADED, MOVED), None, FIRST_SYNC, MOVED),
    ("moved in, full walk: the listing", _file(UPLOADED), None, FIRST_SYNC, FULL_SYNC),
    ("never before creation", _file(MOVED, UPLOADED), None, SECOND_SYNC, MOVED),
])
def test_arrival_rule(case, file, known, last_listed, expected):
    assert arrival(file, known=known, last_listed=last_listed, listed_at=FULL_SYNC) == expected, case


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    return load_campaign(write_demo(tmp_path_factory.mktemp("demo")).root / "config.yaml")


def _record_status(campaign, collected, now: datetime) -> str:
    evaluation = evaluate(campaign, normalize(campaign, collected).items, now)
    (nan,) = [u for u in evaluation.units if u.name == "น่าน"]
    return nan.deliverables["record"].status


def test_moved_into_the_tree_after_the_deadline_is_late_by_the_changes_feed_and_by_a_full_walk(
        campaign, tmp_path: Path):
    with Emulator() as emu:
        clock = [UPLOADED]
        emu.clock = lambda: clock[0]
        root = emu.drive.add_folder("ถอดบทเรียน 2565")
        nan = emu.drive.add_folder("จังหวัดน่าน", root)
        lampang = emu.drive.add_folder("จังหวัดลำปาง", root)
        elsewhere = emu.drive.add_folder("ไดรฟ์ของฉัน")  # the province's own folder, outside the tree
        record = make_record_docx("น่าน")
        moved = emu.drive.add_file("แบบบันทึก_น่าน.docx", elsewhere, record, DOCX, UPLOADED)
        moved_later = emu.drive.add_file("แบบบันทึก_ลำปาง.docx", elsewhere, make_record_docx("ลำปาง"), DOCX,
                                         UPLOADED)
        in_place = emu.drive.add_file("IMG_1.jpg", nan, b"\xff\xd8 not really", "image/jpeg", UPLOADED)
        source = DriveSource(google_api(emu, tmp_path), root)
        state = StateStore(tmp_path / "state.sqlite")

        def sync(now: datetime, *, full: bool = False):
            collected = collect(campaign, {}, {"uploads": source}, state, full=full, now=now, workers=1)
            state.save_cursors(collected.cursors)
            return collected

        sync(FIRST_SYNC)
        clock[0] = MOVED
        emu.drive.move(moved, nan)
        collected = sync(SECOND_SYNC)  # incremental: the changes feed
        arrivals = {f.file_id: f.arrived_at for f in state.files("uploads")}
        assert arrivals[in_place] == UPLOADED and arrivals[moved] == MOVED
        assert {f.file_id: f.created_at for f in state.files("uploads")}[moved] == UPLOADED  # createdTime kept
        assert _record_status(campaign, collected, SECOND_SYNC) == "late"

        clock[0] = MOVED_AGAIN
        emu.drive.move(moved_later, lampang)
        sync(FULL_SYNC, full=True)  # a full walk: first seen by this listing
        arrivals = {f.file_id: f.arrived_at for f in state.files("uploads")}
        assert arrivals[moved_later] == FULL_SYNC and arrivals[moved] == MOVED and arrivals[in_place] == UPLOADED

        # A replay as of an earlier moment reads the arrivals the state keeps: the same answer.
        replay = sync(SECOND_SYNC + timedelta(hours=1), full=True)
        assert {f.file_id: f.arrived_at for f in state.files("uploads")} == arrivals
        assert _record_status(campaign, replay, SECOND_SYNC + timedelta(hours=1)) == "late"
        state.close()
        assert emu.violations == []


def test_a_mirror_listing_is_not_live_so_a_late_listed_file_keeps_its_time(tmp_path: Path):
    from connectors.base import FileListing
    from ingest.arrival import settle

    state = StateStore(tmp_path / "state.sqlite")
    first = settle("uploads", FileListing([_file(UPLOADED)], live=False), state, FIRST_SYNC)
    state.merge_files("uploads", first.files, complete=True)
    # Drive for desktop downloaded this one only after the first sync, with the upload's time.
    late = UploadedFile("f2", "b.docx", ("จังหวัดน่าน",), DOCX, UPLOADED)
    second = settle("uploads", FileListing([_file(UPLOADED), late], live=False), state, SECOND_SYNC)
    assert [f.arrived_at for f in second.files] == [UPLOADED, UPLOADED]
    live = settle("drive", FileListing([late], live=True), state, FIRST_SYNC)
    state.merge_files("drive", live.files, complete=True)
    moved = UploadedFile("f3", "c.docx", ("จังหวัดน่าน",), DOCX, UPLOADED)
    assert settle("drive", FileListing([late, moved], live=True), state, SECOND_SYNC).files[1].arrived_at == SECOND_SYNC
    state.close()


def test_an_incremental_listing_reads_only_its_own_files_arrivals(tmp_path: Path):
    """The changes feed lists a few files: their stored arrivals are looked up by id (in pieces of 500
    ids, under SQLite's variable limit), not read for every file of the source — yet the answer is
    the one a read of all of them gives."""
    from connectors.base import FileListing
    from ingest.arrival import settle

    state = StateStore(tmp_path / "state.sqlite")
    stored = [UploadedFile(f"f{i}", f"{i}.jpg", ("จังหวัดน่าน",), "image/jpeg", UPLOADED + timedelta(minutes=i))
              for i in range(1_200)]
    state.merge_files("drive", settle("drive", FileListing(stored, live=True), state, FIRST_SYNC).files, complete=True)
    every = state.arrivals("drive")
    assert len(every) == 1_200
    wanted = [f"f{i}" for i in range(0, 1_200, 2)] + ["not-stored"]
    assert state.arrivals("drive", wanted) == {i: every[i] for i in wanted if i in every}
    assert state.arrivals("drive", []) == {}
    # A file moved since the first sync, seen in the feed: it keeps the arrival the state holds.
    moved = replace(stored[7], changed_at=MOVED)
    feed = settle("drive", FileListing([moved], complete=False, live=True), state, SECOND_SYNC)
    assert feed.files[0].arrived_at == every["f7"] == UPLOADED + timedelta(minutes=7)
    state.close()
