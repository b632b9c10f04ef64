"""Incremental runs (issue 17, item 1): the state's revisions, the clock's boundaries, re-evaluation of
only the units the clock can have changed, and a no-change sync on Google backends that rebuilds no
tidy tab. The cell-by-cell comparison of incremental and from-scratch runs over random sequences is
tests/test_incremental_equality.py."""

from __future__ import annotations

import json
import pickle
import random
import shutil
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from connectors.base import FormResponse, UploadedFile
from ingest import memo as memo_module
from ingest.collect import collect_from_state
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.jobs import sync_job
from ingest.memo import (
    RunMemo,
    Summary,
    compute,
    crossed,
    crossed_units,
    evaluate_since,
    evaluated_under,
    plain_groups,
    reevaluate,
)
from ingest.normalize import bangkok_times, normalize
from ingest.publish.tabs import statuses_digest, unit_digests
from ingest.row_cache import KeptRows, campaign_key
from ingest.state import StateStore
from ingest.status import (
    Arrival,
    all_boundaries,
    boundaries_of_items,
    evaluate,
    evaluate_groups,
    item_groups,
    time_boundaries,
)
from tests.emulator import Emulator
from tests.google_workspace import seed_demo

T0 = datetime(2022, 11, 1, 9, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def _response(rid: str, text: str) -> FormResponse:
    return FormResponse(rid, T0, {"จังหวัด": text}, origin=f"row {rid}")


def _file(fid: str, name: str) -> UploadedFile:
    return UploadedFile(fid, name, ("ยะลา",), "image/jpeg", T0, size=10, md5=f"md5-{fid}")


def test_revisions_move_only_when_a_stored_row_changes(tmp_path):
    state = StateStore(tmp_path / "s.sqlite")
    assert state.revision("responses") == state.revision("uploads") == ""
    state.merge_responses("form", [_response("r1", "ยะลา"), _response("r2", "ตรัง")], complete=True)
    first = state.revision("responses")
    assert first and state.revision("uploads") == ""
    state.merge_responses("form", [_response("r1", "ยะลา"), _response("r2", "ตรัง")], complete=True)
    state.merge_responses("form", [_response("r2", "ตรัง")], complete=False)
    assert state.revision("responses") == first  # the same rows again, whole or in part: nothing moved
    state.merge_responses("form", [_response("r2", "สตูล")], complete=False)
    second = state.revision("responses")
    assert second != first  # an edited response
    state.merge_responses("form", [_response("r2", "สตูล")], complete=True)
    assert state.revision("responses") != second  # a complete read without r1 dropped it
    assert [r.response_id for r in state.responses("form")] == ["r2"]

    state.merge_files("up", [_file("f1", "a.jpg")], complete=True)
    files = state.revision("uploads")
    state.merge_files("up", [_file("f1", "a.jpg")], complete=True)
    assert state.revision("uploads") == files
    state.merge_files("up", [], complete=False, removed_ids=["f1"])
    assert state.revision("uploads") != files and state.files("up") == []
    state.close()


def test_a_boundary_is_crossed_when_it_lies_between_two_moments_inclusive():
    moments = [T0, T0 + timedelta(days=2)]
    assert not crossed(moments, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert crossed(moments, T0 + timedelta(days=1), T0 + timedelta(days=3))
    assert crossed(moments, T0 + timedelta(days=3), T0 + timedelta(days=1))  # a replay backwards
    assert crossed(moments, T0, T0 + timedelta(hours=1))  # the boundary itself counts
    assert not crossed(moments, T0 + timedelta(days=3), T0 + timedelta(days=4))
    assert not crossed([], T0, T0 + timedelta(days=9))


@pytest.fixture(scope="module")
def demo_items(demo_workspace, tmp_path_factory):
    root = tmp_path_factory.mktemp("memo") / "demo"
    shutil.copytree(demo_workspace[0], root)
    campaign = load_campaign(root / "config.yaml")
    state = StateStore(campaign.resolve(campaign.state_path))
    items = normalize(campaign, collect_from_state(campaign, state)).items
    state.close()
    return campaign, items


def test_reevaluating_the_crossed_units_equals_evaluating_all(demo_items):
    """300 random pairs of moments around the demo's deadlines: statuses kept from the first moment,
    with only the crossed units evaluated again, equal a from-scratch evaluation at the second."""
    campaign, items = demo_items
    groups = item_groups(items)
    moments, per_unit = all_boundaries(campaign, groups), time_boundaries(campaign, groups)
    assert moments == sorted({m for times in per_unit.values() for m in times})
    start, end = min(moments) - timedelta(days=3), max(moments) + timedelta(days=3)
    rng = random.Random(17)
    rechecked = []
    for _ in range(300):
        then = start + (end - start) * rng.random()
        # A sync's step (15 minutes to 10 days), forwards or backwards (a replay with --as-of).
        now = then + rng.choice([1, 1, 1, -1]) * rng.choice([timedelta(minutes=15), timedelta(hours=2),
                                                              timedelta(days=1), timedelta(days=10)])
        if rng.random() < 0.2:  # exactly on a boundary, where `<=` matters
            now = rng.choice(moments)
        summary = Summary("k", evaluate_groups(campaign, groups, then), {}, [], None, moments)
        kept = reevaluate(campaign, summary, now, lambda: groups)
        assert kept == evaluate(campaign, items, now), (then, now)
        by_definition = {unit for unit, times in per_unit.items() if crossed(times, then, now)}
        assert crossed_units(campaign, groups, moments, then, now) == by_definition, (then, now)
        rechecked.append(len(by_definition))
    # Short steps re-evaluate no unit or a part of the campaign; only long ones all of it.
    assert rechecked.count(0) > 30 and sum(0 < n < len(campaign.units) for n in rechecked) > 30, rechecked



def _changed(groups, rng, moments):
    """`groups` with a few units' items changed as syncs change them: an item added, one dropped, one
    turned invalid, one accepted by a coordinator, a unit's items reordered."""
    out = {key: list(items) for key, items in groups.items()}
    for key in rng.sample(sorted(out), k=rng.randint(0, 3)):
        items = out[key]
        change = rng.choice(["add", "drop", "invalid", "accepted", "reorder"])
        if change == "add" or not items:
            items.append(Arrival(rng.choice(moments), rng.random() < 0.8, "ภาพเบลอ"))
        elif change == "drop":
            items.pop(rng.randrange(len(items)))
        elif change == "invalid":
            i = rng.randrange(len(items))
            items[i] = items[i]._replace(valid=False, reason_th="ไม่ใช่ภาพการสนทนากลุ่ม")
        elif change == "accepted":
            i = rng.randrange(len(items))
            items[i] = items[i]._replace(accepted_th="ผ่าน (ผู้ประสานงาน)")
        else:
            items.reverse()
    return {key: items for key, items in out.items() if items}


def test_a_changed_run_evaluates_again_only_the_units_whose_items_or_boundaries_changed(demo_items):
    """300 steps of random item changes and clock moves (as `_changed` makes them, forwards, backwards
    and onto a boundary): statuses kept from the last step for every unit whose items are equal and
    whose boundaries the clock did not cross, the others evaluated again, equal a from-scratch
    evaluation at every step. Statuses evaluated under other rules are never kept."""
    campaign, items = demo_items
    groups = item_groups(items)
    moments = all_boundaries(campaign, groups)
    rng = random.Random(29)
    then = min(moments) - timedelta(days=3)
    last = Summary("k0", evaluate_groups(campaign, groups, then), {}, [], None, [], {}, evaluated_under(campaign))
    kept_some = 0
    for step in range(300):
        now = then + rng.choice([1, 1, 1, -1]) * rng.choice([timedelta(minutes=15), timedelta(hours=2),
                                                              timedelta(days=1), timedelta(days=10)])
        if rng.random() < 0.2:
            now = rng.choice(moments)
        new = _changed(groups, rng, moments)
        asked = []

        def plain_of(key, before=groups, asked=asked):
            asked.append(key)
            return plain_groups(before)

        evaluation = evaluate_since(campaign, new, now, last, moments=all_boundaries(campaign, new),
                                    plain=plain_groups(new), plain_of=plain_of)
        assert evaluation == evaluate_groups(campaign, new, now), step
        assert asked == [last.key]
        per_unit = time_boundaries(campaign, new)
        recheck = ({key[0] for key in new.keys() | groups.keys() if new.get(key) != groups.get(key)}
                   | {unit for unit, times in per_unit.items() if crossed(times, then, now)})
        same = [a is b for a, b in zip(evaluation.units, last.evaluation.units, strict=True)]
        assert all(same[i] for i, unit in enumerate(campaign.units) if unit.code not in recheck), step
        kept_some += any(same)
        groups, then = new, now
        last = Summary(f"k{step + 1}", evaluation, {}, [], None, [], {}, evaluated_under(campaign))
    assert kept_some > 200  # 239: a 10-day step or a move across a deadline re-evaluates many
    # Another campaign's (or another tidtam's) statuses: nothing kept, the groups not even loaded.
    other = replace(last, campaign="4:" + campaign.digest)
    far = then + timedelta(days=30)
    assert evaluate_since(campaign, groups, far, other, moments=all_boundaries(campaign, groups),
                          plain=plain_groups(groups), plain_of=lambda key: pytest.fail("loaded")
                          ) == evaluate_groups(campaign, groups, far)
    # Groups that are not there (a damaged memo): everything evaluated again.
    assert evaluate_since(campaign, groups, far, last, moments=all_boundaries(campaign, groups),
                          plain=plain_groups(groups), plain_of=lambda key: None) == evaluate_groups(campaign, groups, far)

def test_a_damaged_memo_is_computed_afresh(tmp_path):
    memo = RunMemo(tmp_path / "state.sqlite")
    memo.folder.mkdir()
    (memo.folder / "summary.pickle").write_bytes(b"not a pickle")
    assert memo.summary("any") is None
    (memo.folder / "summary.pickle").write_bytes(b"")
    assert memo.summary("any") is None


def test_computing_lets_go_of_the_collected_rows_and_the_tables_are_made_once(tmp_path):
    """The tables are what the rest of a run needs: the responses, files and facts they were made from
    are let go (a first sync at 7,436 sub-districts held them through the warehouse write). A run that
    reuses the last one's statuses makes its tables (from the kept rows, ingest.row_cache) at most once,
    however often they are asked for."""
    config = write_demo(tmp_path / "demo").root / "config.yaml"
    as_of = datetime(2022, 11, 12, 10, tzinfo=UTC)
    sync_job(config, as_of=as_of)
    campaign = load_campaign(config)
    state = StateStore(campaign.resolve(campaign.state_path))
    try:
        expected = normalize(campaign, collect_from_state(campaign, state))
        memo = RunMemo(campaign.resolve(campaign.state_path))
        shutil.rmtree(memo.folder)
        collected = collect_from_state(campaign, state)
        computed = compute(campaign, state, collected, {}, as_of)
        assert not computed.reused
        assert not (collected.responses or collected.files or collected.facts or collected.routes)
        made = computed.load()
        assert len(made.responses) == len(expected.responses) > 0 and len(made.files) == len(expected.files) > 0

        collected = collect_from_state(campaign, state)
        problems = len(collected.problems)
        again = compute(campaign, state, collected, {}, as_of)
        assert again.reused and again.load() is again.load()
        assert len(collected.problems) == problems  # the rows were not read, nor their problems counted, twice
        assert again.load().problems.equals(made.problems) and again.load().files.equals(made.files)
    finally:
        state.close()


@pytest.fixture(scope="module")
def google(tmp_path_factory):
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path_factory.mktemp("memo-google"))
        yield emu, ws
        assert emu.violations == []


def _written_tabs(emu: Emulator) -> set[str]:
    tabs = set()
    for record in emu.calls("sheets.spreadsheets.values.batchUpdate"):
        for data in (record.body or {}).get("data", []):
            tabs.add(data["range"].split("!")[0].strip("'"))
    return tabs


def test_a_no_change_sync_rebuilds_no_tidy_tab_and_a_change_does(google):
    emu, ws = google
    as_of = datetime(2022, 11, 12, 10, tzinfo=UTC)
    first = sync_job(ws.config, as_of=as_of, full=True)[1]
    assert not first.computed.reused
    tracking = emu.sheets.values(ws.spreadsheet_id, "tracking")

    emu.reset_counts()
    again = sync_job(ws.config, as_of=as_of + timedelta(minutes=15))[1]
    assert again.computed.reused and again.inspected_files == 0
    assert again.evaluation == replace(first.evaluation, as_of=again.evaluation.as_of)
    written = _written_tabs(emu)
    # Nor the tabs made from the statuses alone: they did not change.
    assert "runs" in written and not written & {"responses", "files", "focus_group", "problems", "progress",
                                                "summary"}, written
    progress = emu.sheets.values(ws.spreadsheet_id, "progress")
    assert emu.sheets.values(ws.spreadsheet_id, "tracking")[1:] == tracking[1:]  # the note holds the time
    # A report asked for its tables still gets them (from the memo).
    assert len(again.tables.files) == len(first.tables.files) > 100

    # Past the deadline of 13 Nov: statuses move with the clock alone, and equal a fresh evaluation.
    later = datetime(2022, 11, 20, 10, tzinfo=UTC)
    emu.reset_counts()
    moved = sync_job(ws.config, as_of=later)[1]
    assert "progress" in _written_tabs(emu)  # seven more days, and statuses that moved
    assert len(emu.sheets.values(ws.spreadsheet_id, "progress")) > len(progress)
    assert moved.computed.reused
    assert moved.evaluation == evaluate(load_campaign(ws.config), first.tables.items, later)
    assert moved.evaluation.counts() != first.evaluation.counts()

    # The memo gone: the same run computes everything again, to the same statuses.
    shutil.rmtree(RunMemo(Path(load_campaign(ws.config).resolve(load_campaign(ws.config).state_path))).folder)
    fresh = sync_job(ws.config, as_of=later)[1]
    assert not fresh.computed.reused and fresh.evaluation == moved.evaluation


def test_a_sync_of_new_responses_alone_neither_makes_nor_compares_the_file_tabs(tmp_path):
    """Each tidy tab is known by what it is made from (ingest.memo.tab_keys): new responses change
    the responses tab's key and leave the files' and focus_group's, whose rows are not made again."""
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path)
        as_of = datetime(2022, 11, 12, 10, tzinfo=UTC)
        first = sync_job(ws.config, as_of=as_of, full=True)[1]
        form = emu.forms.forms[ws.form_id]
        last = max(form.responses.values(), key=lambda r: r.create_time)
        emu.forms.add_response(ws.form_id, "ACYDBNjlate", last.create_time + timedelta(hours=1),
                               {q: list(v) for q, v in last.answers.items()})
        emu.reset_counts()
        again = sync_job(ws.config, as_of=as_of + timedelta(hours=2))[1]
        assert not again.computed.reused and again.computed.counts["responses"] == first.computed.counts["responses"] + 1
        assert again.computed.tab_keys["responses"] != first.computed.tab_keys["responses"]
        assert {t: again.computed.tab_keys[t] for t in ("files", "focus_group")} == \
            {t: first.computed.tab_keys[t] for t in ("files", "focus_group")}
        written = _written_tabs(emu)
        assert "responses" in written and not written & {"files", "focus_group"}, written
        assert len(emu.sheets.values(ws.spreadsheet_id, "responses")) == again.computed.counts["responses"] + 1
        assert emu.violations == []


# A sync in a fresh interpreter, as cron runs one: which heavy libraries did it import?
_PROBE = """
import json, sys
from datetime import datetime
from ingest.jobs import sync_job
report = sync_job(sys.argv[1], as_of=datetime.fromisoformat(sys.argv[2]))[1]
print(json.dumps([report.computed.reused, report.outcome, "pandas" in sys.modules, "numpy" in sys.modules]))
"""


def test_a_no_change_sync_never_imports_pandas(tmp_path_factory):
    """Its tables come from the memo and no frame is touched, so the 1.5 s import of pandas
    (connectors.pandas_text imports it on first use) is not paid; a sync with a change pays it."""
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path_factory.mktemp("memo-startup"))
        as_of = datetime(2022, 11, 12, 10, tzinfo=UTC)
        sync_job(ws.config, as_of=as_of, full=True)

        def fresh_process_sync(moment: datetime) -> list:
            done = subprocess.run([sys.executable, "-c", _PROBE, str(ws.config), moment.isoformat()],
                                  cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
            assert done.returncode == 0, done.stderr[-3000:]
            return json.loads(done.stdout.strip().splitlines()[-1])

        assert fresh_process_sync(as_of + timedelta(minutes=15)) == [True, "ok", False, False]
        # A new upload: the tables are computed again, and that needs pandas.
        folder = next(iter(ws.folders.values()))
        emu.drive.add_file("IMG_new.jpg", folder, b"\xff\xd8\xff not really a photo", "image/jpeg",
                           as_of + timedelta(minutes=20))
        reused, _, pandas, _ = fresh_process_sync(as_of + timedelta(minutes=30))
        assert not reused and pandas
        assert fresh_process_sync(as_of + timedelta(minutes=45)) == [True, "ok", False, False]
        assert emu.violations == []


def test_a_reconciliation_after_new_uploads_keeps_what_the_incremental_sync_computed(tmp_path):
    """A file the changes feed brought is stored as a full walk sees it (ingest.arrival drops the feed's
    `changed_at` once the arrival is set), so the daily reconciliation finds nothing changed."""
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path)
        as_of = datetime(2022, 11, 12, 10, tzinfo=UTC)
        sync_job(ws.config, as_of=as_of, full=True)
        folder = next(f for f in emu.drive.files.values() if f.mime_type == "image/jpeg").parents[0]
        emu.drive.add_file("IMG_new.jpg", folder, b"\xff\xd8 a new photo", "image/jpeg", T0)
        campaign = load_campaign(ws.config)

        incremental = sync_job(ws.config, as_of=as_of + timedelta(minutes=15))[1]
        assert not incremental.computed.reused and incremental.inspected_files == 1
        state = StateStore(campaign.resolve(campaign.state_path))
        try:
            stored = [f for source in campaign.sources for f in state.files(source)]
        finally:
            state.close()
        assert any(f.name == "IMG_new.jpg" for f in stored) and all(f.changed_at is None for f in stored)

        reconciled = sync_job(ws.config, as_of=as_of + timedelta(minutes=30), full=True)[1]
        assert reconciled.computed.reused, "a full walk stored the new file differently"
        assert reconciled.evaluation == replace(incremental.evaluation, as_of=reconciled.evaluation.as_of)
        assert emu.violations == []


def test_the_groups_are_kept_as_tuples_and_come_back_as_they_were(tmp_path):
    """ingest.memo.plain_groups keeps each item as a plain tuple (the pickler writes those itself), and
    the groups come back as Arrivals with every field."""
    at = datetime(2022, 11, 3, 10, 5, tzinfo=UTC)
    groups = {("10", "photos"): [Arrival(at, True), Arrival(at, False, "เล็กเกินไป")],
              ("11", "record"): [Arrival(at, False, "ไม่มีคำยินยอม", "ผ่านการตรวจ")]}
    plain = plain_groups(groups)
    assert {type(item) for items in plain.values() for item in items} == {tuple}
    assert plain == groups  # item by item: an Arrival is a tuple of its fields
    memo = RunMemo(tmp_path / "state.sqlite")
    memo.save_rows(KeptRows("c"))
    memo.save_summary(Summary("k", None, {}, [], None), plain)
    back = memo.groups("k")
    assert back == groups and {type(item) for items in back.values() for item in items} == {Arrival}
    assert back[("11", "record")][0].accepted_th == "ผ่านการตรวจ"
    assert memo.groups("other") is None


def test_a_run_that_computes_sets_the_last_summary_aside_until_its_own_is_saved(tmp_path):
    """save_rows sets the last run's summary aside (`previous`), read once the tables are made; the new
    summary replaces it. A summary is looked up by the key written before it."""
    memo = RunMemo(tmp_path / "state.sqlite")
    memo.save_rows(KeptRows("c"))
    assert memo.previous() is None
    memo.save_summary(Summary("k1", None, {}, [], None), {})
    assert memo.summary("k1").key == "k1" and memo.summary("k2") is None and memo.previous() is None
    memo.save_rows(KeptRows("c"))
    assert memo.summary("k1") is None and memo.previous().key == "k1"
    memo.save_summary(Summary("k2", None, {}, [], None), {})
    assert memo.summary("k2").key == "k2" and memo.previous() is None
    # A summary an older tidtam wrote (the summary alone, no key before it) is not used.
    (memo.folder / "summary.pickle").write_bytes(pickle.dumps(Summary("k2", None, {}, [], None)))
    assert memo.summary("k2") is None


def test_a_summary_written_meanwhile_is_on_disk_before_the_memo_is_read_again(tmp_path, monkeypatch):
    """compute writes the summary on a thread while the run writes its warehouse: any memo opened on the
    same folder afterwards, and `saved` (the end of a run), wait for it."""
    release = threading.Event()
    original = RunMemo.save_summary

    def slow(self, summary, groups):
        assert release.wait(10)  # held until the test lets it go: still writing when the memo is opened
        original(self, summary, groups)

    monkeypatch.setattr(RunMemo, "save_summary", slow)
    memo = RunMemo(tmp_path / "state.sqlite")
    memo.save_rows(KeptRows("c"))
    memo.save_summary_meanwhile(Summary("k1", None, {}, [], None), {})
    letting_go = threading.Timer(0.2, release.set)
    letting_go.start()
    again = RunMemo(tmp_path / "state.sqlite")  # waits for the write
    letting_go.join()
    assert again.summary("k1").key == "k1" and again.plain_groups("k1") == {}
    assert memo_module._writing == {}

    release.clear()
    memo.save_summary_meanwhile(Summary("k2", None, {}, [], None), {"g": []})
    letting_go = threading.Timer(0.2, release.set)
    letting_go.start()
    campaign = SimpleNamespace(state_path="state.sqlite", resolve=lambda path: tmp_path / path)
    memo_module.saved(campaign)  # what a run's end calls
    letting_go.join()
    assert RunMemo(tmp_path / "state.sqlite").summary("k2").key == "k2"


def test_a_summary_that_cannot_be_written_is_logged_and_the_next_run_computes_afresh(tmp_path, monkeypatch, caplog):
    memo = RunMemo(tmp_path / "state.sqlite")
    memo.save_rows(KeptRows("c"))
    memo.save_summary(Summary("k1", None, {}, [], None), {})

    def full(self, name, *values):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunMemo, "_dump", full)
    memo.save_rows(KeptRows("c"))
    memo.save_summary_meanwhile(Summary("k2", None, {}, [], None), {})
    memo.settle()
    assert "memo summary not saved" in caplog.text and "No space left" in caplog.text
    assert memo.summary("k2") is None and memo.summary("k1") is None  # nothing half-written is used


def test_the_summary_and_groups_come_back_equal_from_their_pieces(demo_items, tmp_path, monkeypatch):
    """save_summary writes the groups, the units' statuses and the moments in pieces (a pickler keeps
    an entry per object written: whole, the two files grew a process by 28 MB at 7,436 units); pieces of
    seven here, so that every part spans several."""
    monkeypatch.setattr("ingest.memo._PIECE", 7)
    campaign, items = demo_items
    groups = item_groups(items)
    moments = all_boundaries(campaign, groups)
    summary = Summary("k", evaluate_groups(campaign, groups, T0), {"responses": 3}, [], None, moments,
                      {"responses": "r"}, evaluated_under(campaign))
    assert len(campaign.units) > 7 * 3 and len(moments) > 7 * 3
    memo = RunMemo(tmp_path / "state.sqlite")
    memo.save_rows(KeptRows("c"))
    memo.save_summary(summary, plain_groups(groups))
    assert memo.summary("k") == summary and memo.groups("k") == groups
    assert memo.summary("other") is None and memo.groups("other") is None


def _synced_demo(tmp_path) -> tuple[Path, str]:
    config = write_demo(tmp_path / "demo").root / "config.yaml"
    sync_job(config, as_of=T0 + timedelta(days=11))
    campaign = load_campaign(config)
    return campaign.resolve(campaign.state_path), campaign_key(campaign)


def test_rows_read_ahead_are_the_rows_read_when_asked(tmp_path):
    """A changed run reads its kept rows while its child still reads the sources (RunMemo.read_rows_ahead);
    `rows` takes them, and they are the file's, with the base `save_rows` needs to write only what changed."""
    state_path, key = _synced_demo(tmp_path)
    direct = RunMemo(state_path)
    expected = direct.rows(key)
    assert expected is not None and expected.size > 100
    ahead = RunMemo(state_path)
    ahead.read_rows_ahead(key)
    read = ahead._ahead  # noqa: SLF001
    ahead.read_rows_ahead(key)  # read already: not again
    assert ahead._ahead is read  # noqa: SLF001
    got = ahead.rows(key)
    assert got == expected and ahead._base == direct._base  # noqa: SLF001 - save_rows' base
    assert ahead.rows(key) == expected  # asked again: read again, as before
    # Read under another campaign key than the one asked for: not used, the file is read under the right one.
    other = RunMemo(state_path)
    other.read_rows_ahead("another:key")
    assert other.rows(key) == expected
    assert other.rows("another:key") is None


def test_rows_read_ahead_and_never_asked_for_are_let_go(tmp_path):
    state_path, key = _synced_demo(tmp_path)
    memo = RunMemo(state_path)
    memo.read_rows_ahead(key)
    memo.let_go_rows()  # a run that failed, or found nothing to compute: keeps nothing
    assert memo._ahead is None and memo._base is None  # noqa: SLF001


def test_an_error_reading_rows_ahead_is_logged_and_raised_where_they_are_asked_for(tmp_path, monkeypatch, caplog):
    state_path, key = _synced_demo(tmp_path)

    def broken(self, campaign):
        raise MemoryError("no room for the rows")

    monkeypatch.setattr(RunMemo, "_read_kept", broken)
    memo = RunMemo(state_path)
    with caplog.at_level("INFO", logger="ingest.memo"):
        memo.read_rows_ahead(key)  # called while the child reads: never raises there
    assert "memo rows not read ahead (no room for the rows)" in caplog.text
    with pytest.raises(MemoryError, match="no room for the rows"):
        memo.rows(key)


def test_a_run_reads_its_kept_rows_ahead_only_once_a_stored_row_changed(tmp_path, monkeypatch):
    """The reading child says when it first changes a stored row (collect_apart's `on_change`): only
    then does the run read its kept rows ahead. A sync that changes nothing reads none, and holds none."""
    asked: list[str | None] = []
    original = RunMemo.read_rows_ahead

    def spied(self, campaign=None):
        asked.append(campaign)
        original(self, campaign)

    monkeypatch.setattr(RunMemo, "read_rows_ahead", spied)
    demo = write_demo(tmp_path / "demo")
    config = demo.root / "config.yaml"
    as_of = T0 + timedelta(days=11)
    first = sync_job(config, as_of=as_of)[1]
    campaign = load_campaign(config)
    assert asked == [campaign_key(campaign)] and not first.computed.reused  # nothing kept yet: found none
    asked.clear()
    same = sync_job(config, as_of=as_of + timedelta(minutes=15))[1]
    assert asked == [] and same.computed.reused
    photos = next(p for p in (demo.root / "uploads").rglob("*") if p.is_dir() and any(p.glob("*.jpg")))
    shutil.copy(next(photos.glob("*.jpg")), photos / "IMG_late_arrival.jpg")
    changed = sync_job(config, as_of=as_of + timedelta(minutes=30))[1]
    assert asked == [campaign_key(campaign)] and not changed.computed.reused
    assert 0 < changed.computed.rows_made < 10  # the kept rows, read ahead, were used


def _groups_one_by_one(items: pd.DataFrame) -> dict:
    """The items grouped with each arrival converted on its own (as `item_groups` did before)."""
    groups: dict = {}
    for unit, deliverable, at, valid, reason in zip(items["unit"], items["deliverable"], items["arrived_at"],
                                                    items["valid"], items["reason_th"], strict=True):
        groups.setdefault((unit, deliverable), []).append(Arrival(at.to_pydatetime(), bool(valid), reason))
    return groups


def test_boundaries_and_groups_from_the_items_table_are_the_ones_item_by_item(demo_items):
    """`boundaries_of_items` and `item_groups` convert each distinct arrival once: the moments and the
    items' datetimes are those converted one by one, zones included, on the demo and on random tables
    (repeated moments, units outside the campaign, arrivals at a deadline)."""
    campaign, items = demo_items
    tables = [items]
    rng = random.Random(8)
    codes = [u.code for u in campaign.units] + ["00"]
    deadlines = sorted({campaign.deadline_for(u.code, d) for u in campaign.units for d in campaign.deliverables})
    for _ in range(50):
        n = rng.randint(1, 40)
        moments = [rng.choice(deadlines) if rng.random() < 0.2 else T0 + timedelta(minutes=rng.choice([0, 0, 15, 90]))
                   for _ in range(n)]  # some at a deadline exactly: one moment for both
        tables.append(pd.DataFrame({
            "deliverable": [rng.choice(campaign.deliverables).id for _ in range(n)],
            "unit": [rng.choice(codes) for _ in range(n)], "item_id": [f"i{i}" for i in range(n)],
            "arrived_at": bangkok_times(moments), "valid": [rng.random() < 0.8 for _ in range(n)],
            "reason_th": [""] * n}))
    for table in tables:
        groups = item_groups(table)
        expected = _groups_one_by_one(table)
        assert groups == expected
        assert repr(groups) == repr(expected)  # the same zones, not only the same instants
        assert boundaries_of_items(campaign, table) == all_boundaries(campaign, groups)


def test_a_unit_whose_statuses_are_kept_keeps_its_digest_and_the_statuses_digest_is_the_whole_ones(demo_items):
    """ingest.publish.tabs.unit_digests: the units `evaluate_groups` keeps from the last evaluation keep
    their digests, the others get new ones, and the statuses' digest is the one made from every unit."""
    campaign, items = demo_items
    groups = item_groups(items)
    first = evaluate_groups(campaign, groups, T0 + timedelta(days=5))
    digests = unit_digests(first)
    assert len(set(digests)) > 1 and statuses_digest(campaign, first, digests) == statuses_digest(campaign, first)
    moved = campaign.units[0].code
    later = evaluate_groups(campaign, groups, T0 + timedelta(days=30), previous=first, recheck={moved})
    kept = [u is v for u, v in zip(later.units, first.units, strict=True)]
    assert sum(kept) == len(campaign.units) - 1  # all but the rechecked unit are the last evaluation's objects
    again = unit_digests(later, first, digests)
    assert [a for a, k in zip(again, kept, strict=True) if k] == [d for d, k in zip(digests, kept, strict=True) if k]
    assert again == unit_digests(later)  # as if every unit's digest were made afresh
    assert statuses_digest(campaign, later, again) == statuses_digest(campaign, later)
    assert statuses_digest(campaign, later) != statuses_digest(campaign, first)  # the deadline passed
    assert unit_digests(later, first, digests[:-1]) == again  # digests that do not fit are not used
