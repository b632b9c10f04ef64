"""A sync under inspection limits: a file that needs more memory or time than a worker is given is one
invalid item with the Thai reason, the others are checked as usual, and the file is not inspected
again until a new version of it is uploaded.

The limits are set small here (the defaults are for real records) so the hostile files stay small and
the tests fast.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from docx_corpus import bloated_record, png_bomb
from PIL import Image

from connectors.local_folder import LocalFolderSource
from ingest.campaign import PhotoRules
from ingest.collect import collect
from ingest.collected import Collected
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.facts import TOO_COMPLEX_TH
from ingest.file_checks import inspect_photo
from ingest.state import StateStore
from ingest.workers import MB, WorkerLimits

# A demo record is checked in ~5 MB over a fresh worker's own memory; a record with two 3 MB XML parts
# of short runs needs ~110 MB (measured: one 3.9 MB part, 73 MB), a 36-megapixel PNG ~180 MB.
SMALL_MEMORY = WorkerLimits(memory_bytes=64 * MB, seconds=60.0, processes=2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return write_demo(tmp_path_factory.mktemp("demo")).root


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def _complete_provinces(demo: Path) -> list[Path]:
    """Two demo provinces that uploaded a record and their photos."""
    folders = sorted(p for p in (demo / "uploads").iterdir()
                     if list(p.glob("*.docx")) and len(list(p.glob("ภาพถ่าย/*.jpg"))) >= 5
                     and not p.name.startswith(("72 ", "73 ")))
    return folders[:2]


def _uploads(demo: Path, root: Path) -> Path:
    """Two provinces as the demo has them, one with a bloated record, one with a huge photo."""
    for folder in _complete_provinces(demo):
        shutil.copytree(folder, root / folder.name)
    (root / "72 สุพรรณบุรี").mkdir(parents=True)
    (root / "72 สุพรรณบุรี" / "แบบบันทึกสนทนากลุ่ม_สุพรรณบุรี.docx").write_bytes(bloated_record(3 * MB, parts=2))
    (root / "73 นครปฐม" / "ภาพถ่าย").mkdir(parents=True)
    (root / "73 นครปฐม" / "ภาพถ่าย" / "กิจกรรม.png").write_bytes(_png(6000, 6000))
    return root


def _sync(demo: Path, uploads: Path, state_path: Path, limits: WorkerLimits) -> Collected:
    campaign = load_campaign(demo / "config.yaml")
    state = StateStore(str(state_path))
    try:
        return collect(campaign, {}, {"uploads": LocalFolderSource(uploads)}, state, full=True, limits=limits)
    finally:
        state.close()


def test_files_over_the_memory_cap_are_one_invalid_item_each_and_the_others_are_checked(demo, tmp_path):
    uploads = _uploads(demo, tmp_path / "uploads")
    collected = _sync(demo, uploads, tmp_path / "state.sqlite", SMALL_MEMORY)
    hostile = {"72 สุพรรณบุรี/แบบบันทึกสนทนากลุ่ม_สุพรรณบุรี.docx", "73 นครปฐม/ภาพถ่าย/กิจกรรม.png"}
    for file_id in hostile:
        facts = collected.facts[file_id]
        assert [(v.code, v.reason_th) for v in facts.violations] == [("too_complex", TOO_COMPLEX_TH)]
        assert facts.violations[0].detail.startswith("memory")
        assert facts.sha256 and facts.size == (uploads / file_id).stat().st_size
    # Every other file gets exactly the facts it gets without a tight cap (the demo has its own rule breaks).
    reference = _sync(demo, uploads, tmp_path / "reference.sqlite", WorkerLimits(processes=2))
    others = [f.file_id for f in collected.files["uploads"] if f.file_id not in hostile]
    assert len(others) >= 12  # two provinces' record and photos
    assert {i: collected.facts[i] for i in others} == {i: reference.facts[i] for i in others}
    assert all(reference.facts[i].valid for i in hostile)  # big, but within the default limits
    assert collected.routes == reference.routes
    assert not [p for p in collected.problems if p.kind == "file_unreadable"]
    assert collected.inspected == len(collected.files["uploads"])


def test_a_file_that_ended_its_worker_is_remembered_until_a_new_version_is_uploaded(demo, tmp_path):
    uploads = tmp_path / "uploads"
    for folder in _complete_provinces(demo):
        (uploads / folder.name).mkdir(parents=True)
        for record in folder.glob("*.docx"):
            shutil.copy(record, uploads / folder.name / record.name)
    # No record is read in a millisecond (python-docx alone takes longer to open one): each ends its worker.
    instant = WorkerLimits(memory_bytes=256 * MB, seconds=0.001, processes=2)
    state = tmp_path / "state.sqlite"
    first = _sync(demo, uploads, state, instant)
    assert first.inspected == 2
    assert all(f.violations[0].code == "too_complex" and f.violations[0].detail.startswith("time")
               for f in first.facts.values())

    again = _sync(demo, uploads, state, instant)
    assert again.inspected == 0  # remembered: not downloaded nor inspected again
    assert again.facts == first.facts

    changed = sorted(uploads.glob("*/*.docx"))[0]
    changed.write_bytes(changed.read_bytes() + b"\0")  # a new version (another size)
    third = _sync(demo, uploads, state, WorkerLimits(processes=2))
    assert third.inspected == 1
    assert "too_complex" not in {v.code for v in third.facts[changed.relative_to(uploads).as_posix()].violations}


def test_a_png_beyond_a_phones_pixels_is_refused_before_it_is_decoded():
    # 60 MP: under the declared cap (a 200 MP phone photo) but no phone writes a PNG, HEIC or WebP this
    # big, and decoding it whole would take ~300 MB. (Before, it was decoded and called damaged.)
    facts = inspect_photo(png_bomb(10_000, 6_000), PhotoRules(min_width=640, min_height=480))
    assert [v.code for v in facts.violations] == ["too_large"]
    assert "60 ล้านพิกเซล" in facts.violations[0].reason_th and (facts.width, facts.height) == (10_000, 6_000)
