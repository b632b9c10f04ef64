"""A run whose stored rows changed reads the memo's kept rows while its sources are still being read
(`RunMemo.read_rows_ahead`, started by `collect`'s `on_change`, passed on from the reading child by
`collect_apart`): the tables it makes are the ones it makes reading them afterwards."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from connectors.pandas_text import pd
from ingest import collect as collect_module
from ingest.backends import build_backends
from ingest.collect import collect, collect_from_state
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.jobs import sync_job
from ingest.memo import RunMemo
from ingest.normalize import normalize
from ingest.review import apply_decisions, load_decisions
from ingest.row_cache import campaign_key
from ingest.state import StateStore
from tests.emulator import Emulator
from tests.google_workspace import seed_demo

AS_OF = datetime(2022, 11, 12, 10, tzinfo=UTC)
AHEAD = "kept rows read while the sources were"


def _photo() -> bytes:
    photo = io.BytesIO()
    Image.new("RGB", (1280, 960), (30, 120, 200)).save(photo, "JPEG")
    return photo.getvalue()


def _photos_folder(ws) -> str:
    return next(fid for path, fid in ws.folders.items() if path.endswith("ภาพถ่าย"))


def test_collect_calls_on_change_once_as_the_first_change_is_kept_and_never_when_nothing_changed(tmp_path):
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path / "google")
        sync_job(ws.config, as_of=AS_OF, full=True)
        campaign = load_campaign(ws.config)
        backends = build_backends(campaign, email=False)
        state = StateStore(campaign.resolve(campaign.state_path))
        try:
            calls: list[dict[str, tuple[str, str, str]]] = []
            uploads = next(name for name, spec in campaign.sources.items() if spec.role != "responses")

            def changed() -> None:  # what the state holds of the new file at that moment
                calls.append(state.stored_facts(uploads, [new_id]))

            new_id = ""
            collect(campaign, backends.responses, backends.uploads, state, now=AS_OF, load=False, on_change=changed)
            assert calls == []  # nothing new: no call
            new_id = emu.drive.add_file("IMG_9001.jpg", _photos_folder(ws), _photo(), "image/jpeg",
                                        AS_OF - timedelta(hours=1))
            collected = collect(campaign, backends.responses, backends.uploads, state, now=AS_OF, load=False,
                                on_change=changed)
            # Once, though the listing and then the new file's facts each moved the revision; and before the
            # file was inspected (its facts were not stored yet), so what it starts overlaps the inspection.
            assert calls == [{}]
            assert new_id in state.stored_facts(uploads, [new_id])
            assert collected.inspected == 1
        finally:
            state.close()
        assert emu.violations == []


@pytest.mark.parametrize("apart", [True, False], ids=["read-in-a-child", "read-here"])
def test_a_changed_run_reads_the_kept_rows_while_it_reads_its_sources_and_makes_the_same_tables(
        tmp_path, monkeypatch, caplog, apart):
    if not apart:
        monkeypatch.setattr(collect_module, "can_fork", lambda: False)
    caplog.set_level(logging.INFO, logger="ingest.memo")
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path / "google")
        sync_job(ws.config, as_of=AS_OF, full=True)
        sync_job(ws.config, as_of=AS_OF + timedelta(minutes=5))
        caplog.clear()
        unchanged = sync_job(ws.config, as_of=AS_OF + timedelta(minutes=6))[1]
        assert unchanged.computed.reused and AHEAD not in caplog.text  # nothing changed: the rows stay unread
        emu.drive.add_file("IMG_9001.jpg", _photos_folder(ws), _photo(), "image/jpeg", AS_OF - timedelta(hours=1))
        changed = sync_job(ws.config, as_of=AS_OF + timedelta(minutes=10))[1]
        assert AHEAD in caplog.text  # the child's message reached this process (or the reading here called it)
        assert not changed.computed.reused and changed.computed.rows_made == 1  # the others' rows were kept
        campaign = load_campaign(ws.config)
        state = StateStore(campaign.resolve(campaign.state_path))
        try:
            expected = apply_decisions(campaign, normalize(campaign, collect_from_state(campaign, state)),
                                       load_decisions(state)).tables
        finally:
            state.close()
        for name in ("responses", "files", "focus_group", "problems", "items"):
            pd.testing.assert_frame_equal(getattr(changed.tables, name), getattr(expected, name), obj=name)
        assert emu.violations == []


def test_rows_read_ahead_are_the_rows_read_when_asked_and_only_under_their_campaign(tmp_path):
    config = write_demo(tmp_path / "demo").root / "config.yaml"
    sync_job(config, as_of=AS_OF)
    campaign = load_campaign(config)
    key = campaign_key(campaign)
    asked = RunMemo.of(campaign)
    expected = asked.rows(key)
    assert expected is not None and expected.size > 100

    ahead = RunMemo.of(campaign)
    ahead.read_rows_ahead(key)
    ahead.read_rows_ahead(key)  # a second call while the first reads: nothing more
    got = ahead.rows(key)
    assert (got.campaign, got.base, got.responses, got.files) == \
           (expected.campaign, expected.base, expected.responses, expected.files)
    assert ahead._base is not None and ahead._base.base == asked._base.base  # what `save_rows` splits on

    other = RunMemo.of(campaign)
    other.read_rows_ahead("another campaign's key")  # read under other rules: not what `rows(key)` asks for
    assert other.rows(key).responses == expected.responses
    assert other.rows("another campaign's key") is None

    dropped = RunMemo.of(campaign)
    dropped.read_rows_ahead(key)
    dropped.let_go_rows()
    assert dropped._ahead is None and dropped.rows(key).files == expected.files  # read again when asked
