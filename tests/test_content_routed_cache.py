"""A file routed only by its content (no suffix or folder names its deliverable) is inspected once.

Its facts are saved under the key it is looked up by, so a second sync finds them: no second download
(on Drive, no second `files.get`, which costs quota every sync), no second inspection, and the same
facts and route as the first sync gave.
"""

from __future__ import annotations

from pathlib import Path

from connectors.base import UploadedFile
from connectors.google_drive import DriveSource
from connectors.local_folder import LocalFolderSource
from ingest.collect import collect
from ingest.collected import Collected
from ingest.config import campaign_from_mapping
from ingest.state import StateStore
from tests.docx_corpus import image_bytes, valid_record
from tests.emulator import Emulator
from tests.google_workspace import google_api

RECORD = valid_record(province="ยะลา")
PNG = image_bytes("PNG", 64, 48)
# No suffix: "scan" and "IMG_0001" say nothing about what they are; their bytes do (ingest.routing).
BY_CONTENT = {"scan": RECORD, "IMG_0001": PNG}
CONFIG = {
    "campaign": {"id": "cache", "title": "ทดสอบ"},
    "units": {"registry": "province"},
    "sources": {"uploads": {"backend": "local_folder", "path": "uploads"}},
    "deliverables": [
        {"id": "record", "title": "แบบบันทึก", "source": "uploads", "kind": "document", "due": "15 พ.ย. 2565"},
        {"id": "photos", "title": "ภาพถ่าย", "source": "uploads", "kind": "photo", "due": "15 พ.ย. 2565",
         "rules": {"min_width": 32}},
    ],
    "warehouse": {"backend": "xlsx", "path": "warehouse.xlsx"},
}


class CountingFolder:
    """A local folder that counts the files it hands out (each read is a download on Drive)."""

    def __init__(self, root: Path) -> None:
        self.inner = LocalFolderSource(root)
        self.reads: list[str] = []

    def files(self, since: str | None = None):
        return self.inner.files(since)

    def read(self, file: UploadedFile) -> bytes:
        self.reads.append(file.name)
        return self.inner.read(file)


def _sync(campaign, source, state: StateStore) -> Collected:
    collected = collect(campaign, {}, {"uploads": source}, state, workers=2)
    state.save_cursors(collected.cursors)
    return collected


def _same_outcome(first: Collected, second: Collected) -> None:
    assert second.facts == first.facts
    assert second.routes == first.routes
    assert second.problems == first.problems


def test_a_file_routed_by_its_content_is_not_read_again_on_the_next_sync(tmp_path):
    for name, data in BY_CONTENT.items():
        (tmp_path / "uploads" / "ยะลา").mkdir(parents=True, exist_ok=True)
        (tmp_path / "uploads" / "ยะลา" / name).write_bytes(data)
    campaign = campaign_from_mapping(CONFIG, base_dir=tmp_path)
    source = CountingFolder(tmp_path / "uploads")
    state = StateStore(str(tmp_path / "state.sqlite"))
    try:
        first = _sync(campaign, source, state)
        assert first.inspected == 2 and sorted(source.reads) == sorted(BY_CONTENT)
        assert sorted(first.routes.values()) == ["photos", "record"]  # routed, and by content only
        source.reads.clear()
        second = _sync(campaign, source, state)
    finally:
        state.close()
    assert source.reads == [] and second.inspected == 0
    _same_outcome(first, second)


def test_a_drive_file_routed_by_its_content_costs_no_download_on_a_no_change_sync(tmp_path):
    campaign = campaign_from_mapping(CONFIG, base_dir=tmp_path)
    with Emulator() as emu:
        root = emu.drive.add_folder("ถอดบทเรียน", None)
        province = emu.drive.add_folder("ยะลา", root)
        for name, data in BY_CONTENT.items():  # as a phone or scanner uploads them: no suffix, no type
            emu.drive.add_file(name, province, data, "application/octet-stream")
        source = DriveSource(google_api(emu, tmp_path), root)
        state = StateStore(str(tmp_path / "state.sqlite"))
        try:
            emu.reset_counts()
            first = _sync(campaign, source, state)
            first_gets = emu.counts["drive.files.get"]
            emu.reset_counts()
            second = _sync(campaign, source, state)
            second_gets = emu.counts["drive.files.get"]
        finally:
            state.close()
    assert first.inspected == 2 and first_gets >= 2 and sorted(first.routes.values()) == ["photos", "record"]
    assert second.inspected == 0 and second_gets == 0, dict(emu.counts)
    _same_outcome(first, second)
