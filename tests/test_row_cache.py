"""Issue 17, item 1: a run normalizes only the records whose stored texts changed since the last run
that made tables (ingest.row_cache), and its tables equal a from-scratch normalization. The random
sequences of tests/test_incremental_equality*.py compare whole warehouses; these tests pin down what
is made afresh and what is kept."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from connectors.base import FormResponse, UploadedFile
from connectors.local_folder import LocalFolderSource
from connectors.pandas_text import pd
from ingest import row_cache, rows_file
from ingest.backends import build_backends
from ingest.collect import collect, collect_from_state, in_stored_order
from ingest.collected import Collected
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.errors import ItemError
from ingest.facts import FileFacts, Violation
from ingest.jobs import sync_job
from ingest.memo import RunMemo, compute, plain_groups, tab_keys
from ingest.normalize import FILE_COLUMNS, FOCUS_GROUP_COLUMNS, RESPONSE_COLUMNS, Tables, assemble, normalize
from ingest.review import apply_decisions, load_decisions
from ingest.row_cache import KeptRows, campaign_key, current_rows
from ingest.state import StateStore
from ingest.state_codec import facts_from_json
from ingest.status import evaluate
from tests.emulator import Emulator
from tests.google_workspace import seed_demo

AS_OF = datetime(2022, 11, 12, 10, tzinfo=UTC)


def _equal(made: Tables, expected: Tables) -> None:
    for name in ("responses", "files", "focus_group", "problems", "items"):
        pd.testing.assert_frame_equal(getattr(made, name), getattr(expected, name), obj=name)


def _tables(campaign, state, collected, kept) -> tuple[Tables, int, KeptRows]:
    rows = current_rows(campaign, state, collected, kept)
    return assemble(campaign, collected.problems, rows.responses, rows.files), rows.made, rows.kept


@pytest.fixture
def synced(tmp_path):
    config = write_demo(tmp_path / "demo").root / "config.yaml"
    sync_job(config, as_of=AS_OF)
    campaign = load_campaign(config)
    state = StateStore(campaign.resolve(campaign.state_path))
    yield campaign, state, RunMemo(campaign.resolve(campaign.state_path))
    state.close()


def _sources(campaign) -> tuple[str, str]:
    form = next(name for name, spec in campaign.sources.items() if spec.role == "responses")
    uploads = next(name for name, spec in campaign.sources.items() if spec.role != "responses")
    return form, uploads


def test_a_run_makes_rows_only_for_the_records_whose_stored_texts_changed(synced):
    campaign, state, memo = synced
    kept = memo.rows()
    assert kept is not None and kept.size > 1000
    made, count, _ = _tables(campaign, state, Collected(), kept)
    assert count == 0
    _equal(made, normalize(campaign, collect_from_state(campaign, state)))

    # An edited response, a copy of a counted photo under a new id, a file deleted.
    form, uploads = _sources(campaign)
    first = state.responses(form)[0]
    state.merge_responses(form, [replace(first, answers={**first.answers, "ข้อเสนอแนะ": "แก้ไขแล้ว"})], complete=False)
    files = {f.file_id: f for f in state.files(uploads)}
    counted = made.files[made.files["counted"] & (made.files["kind"] == "photo")]["file_id"].tolist()
    original, gone = files[counted[0]], counted[1]
    copy = replace(original, file_id=original.file_id + " (copy)", name="copy of " + original.name)
    version, rules, facts = state.stored_facts(uploads)[original.file_id]
    state.merge_files(uploads, [copy], complete=False, removed_ids=[gone])
    state.save_facts(copy.file_id, version, rules, facts_from_json(facts))

    made, count, _ = _tables(campaign, state, Collected(), kept)
    form_deliverables = sum(1 for d in campaign.deliverables if d.source == form and d.kind == "response")
    assert count == form_deliverables + 1  # the edited response (per deliverable of its form) and the copy
    _equal(made, normalize(campaign, collect_from_state(campaign, state)))
    # Rows are compared with each other over every row, kept or made: the copy counts once.
    row = made.files.set_index("file_id").loc[copy.file_id]
    assert row["duplicate_of"] == original.file_id and not row["counted"]
    assert gone not in set(made.files["file_id"])


class _CountingState(StateStore):
    """The state, noting how many records' texts each read asks for."""

    asked: list[int]

    def response_texts(self, source, response_ids):
        response_ids = list(response_ids)
        self.asked.append(len(response_ids))
        return super().response_texts(source, response_ids)

    def file_texts(self, source, file_ids):
        file_ids = list(file_ids)
        self.asked.append(len(file_ids))
        return super().file_texts(source, file_ids)


def test_the_texts_of_the_records_to_make_are_read_a_piece_at_a_time(synced, monkeypatch):
    """A first sync makes every row: the records' texts come a piece at a time, not all at once (at
    7,436 sub-districts every response's JSON and every file's record and facts JSON were about
    240 MB held together), and rows made across the pieces' edges are the ones made in one piece."""
    campaign, state, memo = synced
    monkeypatch.setattr(row_cache, "_TEXTS_AT_ONCE", 7)
    counting = _CountingState(state.path)
    counting.asked = []
    try:
        made, count, kept = _tables(campaign, counting, Collected(), None)
        records = sum(len(state.responses(name)) if spec.role == "responses" else len(state.files(name))
                      for name, spec in campaign.sources.items())
        assert count == records > 7 * 10
        assert counting.asked and max(counting.asked) <= 7
        assert sum(counting.asked) == records
        _equal(made, normalize(campaign, collect_from_state(campaign, state)))

        # Kept and changed rows mixed within and across pieces.
        form, _ = _sources(campaign)
        edited = [replace(r, answers={**r.answers, "ข้อเสนอแนะ": f"แก้ไข {i}"})
                  for i, r in enumerate(state.responses(form)[3:40:4])]
        counting.merge_responses(form, edited, complete=False)
        counting.asked = []
        made, count, _ = _tables(campaign, counting, Collected(), kept)
        assert count == len(edited) * sum(1 for d in campaign.deliverables if d.source == form and d.kind == "response")
        assert max(counting.asked) <= 7 and sum(counting.asked) == count
        _equal(made, normalize(campaign, collect_from_state(campaign, counting)))
    finally:
        counting.close()


def test_rows_made_from_records_decoded_one_by_one_share_the_texts_they_repeat(synced):
    """Each stored record is decoded on its own, so each brings its own copy of every question title and
    repeated answer. The rows hold one object per distinct text (and per sequence of titles): equal
    values, so equal tables, in a fraction of the memory, and the memo pickles each once."""
    campaign, state, _ = synced
    rows = current_rows(campaign, state, Collected(), None)
    responses = [r for made in rows.responses.values() for r in made]
    assert len({id(r.questions) for r in responses}) == len({r.questions for r in responses}) < len(responses)
    answers = [v for r in responses for v in r.row[len(RESPONSE_COLUMNS):] if type(v) is str]
    assert len({id(v) for v in answers}) == len(set(answers)) < len(answers)
    focus = [f for made in rows.files.values() for r in made for f in r.focus]
    questions = [f[FOCUS_GROUP_COLUMNS.index("question")] for f in focus]
    assert len({id(q) for q in questions}) == len(set(questions)) < len(questions)
    folders = [r.row[FILE_COLUMNS.index("folder")] for made in rows.files.values() for r in made]
    assert len({id(f) for f in folders}) == len(set(folders)) < len(folders)

    for column in ("unit_code", "unit_name", "deliverable"):
        values = [r.row[RESPONSE_COLUMNS.index(column)] for r in responses]
        assert len({id(v) for v in values}) == len(set(values)) < len(values), column


def test_rows_read_back_from_the_memo_share_their_repeated_texts_across_pieces(synced, monkeypatch):
    """The rows file (ingest.rows_file) keeps interned texts interned, so rows read back in another run,
    in many pieces, hold one object per unit code, unit name, deliverable, folder and question, as the
    run that made them did (pickle's rows shared a text only within one piece)."""
    campaign, state, memo = synced
    rows = current_rows(campaign, state, Collected(), None)
    monkeypatch.setattr(rows_file, "PIECE", 7)
    memo._dump_rows("rows", rows.kept)
    back = RunMemo(campaign.resolve(campaign.state_path))._load_rows("rows")
    responses = [entry[1] for entry in back.responses.values()]
    files = [entry[1] for entry in back.files.values()]
    assert len(responses) > 7 * 3 and len(files) > 7 * 3
    for made, columns in ((responses, RESPONSE_COLUMNS), (files, FILE_COLUMNS)):
        for column in ("unit_code", "unit_name", "deliverable", *(("folder", "kind") if columns is FILE_COLUMNS else ())):
            values = [r.row[columns.index(column)] for r in made]
            assert len({id(v) for v in values}) == len(set(values)) < len(values), column
    questions = [f[FOCUS_GROUP_COLUMNS.index("question")] for r in files for f in r.focus]
    assert len({id(q) for q in questions}) == len(set(questions)) < len(questions)


def test_rows_kept_under_another_campaign_are_not_used(synced):
    campaign, state, memo = synced
    kept = memo.rows()
    changed = replace(campaign, match_threshold=campaign.match_threshold - 5)
    made, count, again = _tables(changed, state, Collected(), kept)
    assert count == kept.size and again.campaign != kept.campaign
    _equal(made, normalize(changed, collect_from_state(changed, state)))
    # Asked for the rows of the changed campaign, the memo reads the file's header alone: none are kept.
    assert memo.rows(campaign_key(changed)) is None
    assert memo.rows(campaign_key(campaign)).size == kept.size


def test_a_file_this_run_could_not_read_takes_what_the_run_found_and_is_not_kept(synced):
    """A new version that could not be read has no stored facts of its version: its row says why this
    run could not read it, and a later run makes its row again (from what that run finds)."""
    campaign, state, memo = synced
    kept = memo.rows()
    _, uploads = _sources(campaign)
    file = state.files(uploads)[0]
    state.merge_files(uploads, [replace(file, md5="a-new-version", size=(file.size or 0) + 1)], complete=False)
    unreadable = FileFacts("", 1, "unknown", violations=(Violation("unreadable", "อ่านไฟล์ไม่ได้", "broken"),))
    collected = Collected(facts={file.file_id: unreadable}, read_now={file.file_id})
    made, count, again = _tables(campaign, state, collected, kept)
    assert count == 1 and (uploads, file.file_id) not in again.files
    assert made.files.set_index("file_id").loc[file.file_id, "reason_th"] == "อ่านไฟล์ไม่ได้"

    # A later run that finds nothing for it says it is not inspected yet.
    later = Collected()
    made, count, _ = _tables(campaign, state, later, again)
    assert count == 1 and [p.detail for p in later.problems] == ["not inspected yet: run `tidtam sync`"]
    _equal(made, normalize(campaign, collect_from_state(campaign, state)))


def test_the_memo_writes_only_the_rows_made_since_its_last_full_write(synced):
    campaign, state, memo = synced
    base = memo.folder / "rows.bin"
    written = base.stat().st_mtime_ns
    assert not (memo.folder / "rows-recent.bin").exists()
    form, _ = _sources(campaign)
    first = state.responses(form)[0]
    state.merge_responses(form, [replace(first, answers={**first.answers, "ข้อเสนอแนะ": "ฉบับที่สอง"})], complete=False)

    computed = compute(campaign, state, Collected(), load_decisions(state), AS_OF)
    assert not computed.reused and computed.rows_made == 1 and base.stat().st_mtime_ns == written
    again = RunMemo(campaign.resolve(campaign.state_path))
    kept = again.rows()
    recent = again._load_rows("rows-recent")
    assert recent.size == 1 and recent.base == kept.base == again._load_rows("rows").base
    assert kept.size == memo.rows().size

    # Past a fifth of all rows (and at least _RECENT_ROWS) the whole file is written again, the recent
    # rows let go.
    shifted = KeptRows(kept.campaign, {k: (b"x", v[1]) for k, v in kept.responses.items()},
                       {k: (b"x", v[1]) for k, v in kept.files.items()})
    summary = again._load_summary("summary")
    groups = again.groups(summary.key)
    again.save_rows(shifted)
    again.save_summary(summary, plain_groups(groups))
    assert base.stat().st_mtime_ns != written and not (memo.folder / "rows-recent.bin").exists()
    reread = RunMemo(campaign.resolve(campaign.state_path)).rows()
    assert reread.size == shifted.size and all(v[0] == b"x" for v in reread.responses.values())


def test_a_changed_drive_sync_downloads_reads_and_normalizes_only_the_new_file(tmp_path):
    with Emulator() as emu:
        ws = seed_demo(emu, tmp_path / "google")
        first = sync_job(ws.config, as_of=AS_OF, full=True)[1]
        assert first.inspected_files > 100
        sync_job(ws.config, as_of=AS_OF + timedelta(minutes=5))  # keeps the rows (the first pass read every file)
        folder = next(fid for path, fid in ws.folders.items() if path.endswith("ภาพถ่าย"))
        photo = io.BytesIO()
        Image.new("RGB", (1280, 960), (30, 120, 200)).save(photo, "JPEG")
        emu.drive.add_file("IMG_9001.jpg", folder, photo.getvalue(), "image/jpeg", AS_OF - timedelta(hours=1))
        changed = sync_job(ws.config, as_of=AS_OF + timedelta(minutes=10))[1]
        assert changed.inspected_files == 1 and not changed.computed.reused
        assert changed.computed.rows_made == 1
        campaign = load_campaign(ws.config)
        state = StateStore(campaign.resolve(campaign.state_path))
        try:
            expected = apply_decisions(campaign, normalize(campaign, collect_from_state(campaign, state)),
                                       load_decisions(state)).tables
            _equal(changed.tables, expected)
        finally:
            state.close()
        assert "IMG_9001.jpg" in set(changed.tables.files["name"])
        assert emu.violations == []


def test_files_found_by_a_listing_are_taken_in_the_order_the_state_gives_them(tmp_path):
    """A pass over the files a listing brought inspects them (and lists their problems) in the order a
    pass over the state's files would: one per id, text ids by code point, ids kept as bytes last."""
    ids = ["b", "a", "B", "ก", "z\udcff", "a/ข", "Z", "1", "é", "😀x", "a\udc80", "ๆ", "AA", "a a"]
    when = datetime(2022, 11, 1, tzinfo=UTC)
    listed = [UploadedFile(i, f"{i}.jpg", (), "image/jpeg", when) for i in ids]
    listed.append(replace(listed[0], name="newer.jpg"))  # the same id twice: the merge keeps the last
    state = StateStore(tmp_path / "s.sqlite")
    try:
        state.merge_files("uploads", listed, complete=True)
        assert in_stored_order(listed) == state.files("uploads")
    finally:
        state.close()


def test_a_stamp_is_new_whenever_a_stored_text_is_written_whatever_writes_it(synced):
    """Kept rows are known by stamps the state's triggers give every write (schema 3): a record written
    again with the same text keeps its stamp, any other write (an upsert, an UPDATE by hand, new facts)
    gets a new one, and rows are made for exactly those records."""
    campaign, state, memo = synced
    form, uploads = _sources(campaign)
    responses = dict(state.response_stamps(form))
    files = dict(state.file_stamps(uploads))
    assert len(set(responses.values())) == len(responses) > 100  # random, one per write
    assert all(stamps[1] is not None for stamps in files.values())  # every file's facts are stored
    stored = state.responses(form)
    state.merge_responses(form, stored, complete=True)  # the same texts again: nothing written
    assert dict(state.response_stamps(form)) == responses
    changed = replace(stored[0], answers={**stored[0].answers, "หมายเหตุ": "แก้ไขแล้ว"})
    state.merge_responses(form, [changed], complete=False)
    state.db.execute("UPDATE files SET record = json_set(record, '$.name', 'แก้ชื่อ.jpg') WHERE file_id = ?",
                     (sorted(files)[0],))
    again = dict(state.response_stamps(form))
    assert [rid for rid in responses if again[rid] != responses[rid]] == [changed.response_id]
    moved = dict(state.file_stamps(uploads))
    assert [fid for fid in files if moved[fid] != files[fid]] == [sorted(files)[0]]
    rows = current_rows(campaign, state, Collected(), memo.rows())
    deliverables = sum(d.source == form and d.kind == "response" for d in campaign.deliverables)
    assert rows.made == deliverables + 1


def test_an_older_state_file_is_stamped_when_it_is_migrated(tmp_path):
    """A state file of schema 2 (before stamps) gains them: every stored record and facts a random one,
    so rows kept from another copy of the file are never taken for these."""
    path = tmp_path / "old.sqlite"
    # back to schema 2: schema 4's indexes, then schema 3's triggers and stamp columns removed
    _stored_then_downgraded(path, 50, 2, [f"DROP INDEX {table}_stamps" for table in _STAMPED] + [
        f"DROP TRIGGER {table}_{event}" for table in _STAMPED for event in ("stamped", "restamped")] + [
        f"ALTER TABLE {table} DROP COLUMN stamp" for table in _STAMPED])
    state = StateStore(path)
    try:
        stamps = [stamp for _, stamp in state.response_stamps("form")]
        assert len(stamps) == 50 and 0 not in stamps and len(set(stamps)) == 50
        assert [r.response_id for r in state.responses("form")] == [f"r{i:03d}" for i in range(50)]
    finally:
        state.close()


def test_the_stamps_are_read_from_their_indexes_alone(tmp_path):
    """Schema 4: `response_stamps` and `file_stamps` read covering indexes, not the tables, whose rows
    hold each record's text before its stamp (a state of schema 3 gains them, its stamps kept)."""
    path = tmp_path / "three.sqlite"
    before = _stored_then_downgraded(path, 20, 3, [f"DROP INDEX {table}_stamps" for table in _STAMPED])
    state = StateStore(path)
    try:
        ran: list[str] = []  # the statements the two methods run, as SQLite saw them
        state.db.set_trace_callback(ran.append)
        assert state.response_stamps("form") == before
        state.file_stamps("form")
        state.db.set_trace_callback(None)
        plans = {name: [row[3] for row in state.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
                 for name, sql in zip(("responses", "files"), ran, strict=True)}
        assert plans == {"responses": ["SEARCH responses USING COVERING INDEX responses_stamps (source=?)"],
                         "files": ["SEARCH f USING COVERING INDEX files_stamps (source=?)",
                                   "SEARCH ff USING COVERING INDEX file_facts_stamps (file_id=?) LEFT-JOIN"]}
    finally:
        state.close()


_STAMPED = ("responses", "files", "file_facts")  # the tables schema 3 stamps


def _stored_then_downgraded(path: Path, responses: int, version: int, statements: list[str]) -> list[tuple[str, int]]:
    """A state file holding `responses` responses, taken back to schema `version` by `statements`; the
    response stamps it had before."""
    state = StateStore(path)
    state.merge_responses("form", [_response(i) for i in range(responses)], complete=True)
    stamps = state.response_stamps("form")
    state.close()
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
    db.close()
    return stamps


def _response(i: int) -> FormResponse:
    return FormResponse(f"r{i:03d}", datetime(2022, 11, 1, tzinfo=UTC) + timedelta(minutes=i), {"จังหวัด": "น่าน"},
                        f"test response {i}")


def test_a_tabs_key_moves_with_its_own_inputs_alone(synced):
    """ingest.memo.tab_keys: the same whether rows were kept or made; an edited response moves the
    responses tab's key alone, a decision the responses' and files'; a file this run read but the state
    would not give again is known by its row's content."""
    campaign, state, memo = synced
    form, uploads = _sources(campaign)
    kept = memo.rows()
    keys = tab_keys(campaign, current_rows(campaign, state, Collected(), kept), "")
    assert keys == tab_keys(campaign, current_rows(campaign, state, Collected(), None), "")  # all made afresh
    decided = tab_keys(campaign, current_rows(campaign, state, Collected(), kept), '{"row-1": "x"}')
    assert [decided[t] != keys[t] for t in ("responses", "files", "focus_group")] == [True, True, False]

    first = state.responses(form)[0]
    state.merge_responses(form, [replace(first, answers={**first.answers, "ข้อเสนอแนะ": "แก้ไขแล้ว"})], complete=False)
    edited = tab_keys(campaign, current_rows(campaign, state, Collected(), kept), "")
    assert [edited[t] != keys[t] for t in ("responses", "files", "focus_group")] == [True, False, False]

    file = state.files(uploads)[0]
    state.merge_files(uploads, [replace(file, md5="a-new-version", size=(file.size or 0) + 1)], complete=False)

    def unreadable(reason: str) -> dict[str, str]:
        facts = FileFacts("", 1, "unknown", violations=(Violation("unreadable", reason, "broken"),))
        rows = current_rows(campaign, state, Collected(facts={file.file_id: facts}, read_now={file.file_id}), kept)
        assert (uploads, file.file_id) not in rows.kept.files  # not kept: known by its content
        return tab_keys(campaign, rows, "")
    broken = unreadable("อ่านไฟล์ไม่ได้")
    assert broken == unreadable("อ่านไฟล์ไม่ได้") and broken["files"] != edited["files"]
    assert unreadable("ไฟล์ถูกตัดขาด")["files"] != broken["files"]  # another row: another key


class _OneBrokenFile(LocalFolderSource):
    """The demo's upload folder, one of whose files cannot be read."""

    def read(self, file):
        if file.name == "สมุทรปราการ_ภาพ1.jpg":
            raise ItemError(f"{file.origin}: cannot be read", reason_th="อ่านไฟล์ไม่ได้")
        return super().read(file)


def test_a_pass_holds_only_the_facts_the_state_does_not_and_the_rows_read_the_others_there(tmp_path):
    """A pass lets go of each inspected file's facts once the state holds them, and of the facts it took
    from the state (a first sync at 7,436 sub-districts held 140 MB of them until its tables were
    made). The rows made from them, and a `load=True` collect, are those of the facts held."""
    root = write_demo(tmp_path / "demo").root
    campaign = load_campaign(root / "config.yaml")
    backends = build_backends(campaign, email=False)
    form, uploads = _sources(campaign)
    state = StateStore(campaign.resolve(campaign.state_path))
    try:
        collected = collect(campaign, backends.responses, {uploads: _OneBrokenFile(root / "uploads")}, state,
                            full=True, load=False)
        assert [p.kind for p in collected.problems].count("file_unreadable") == 1
        assert len(collected.facts) == 1  # the one whose read failed: the state has no facts for it
        assert len(collected.in_state) == state.count_files(uploads) - 1 > 100
        made, count, _ = _tables(campaign, state, collected, None)
        assert count == state.count_files(uploads) + len(state.responses(form))
        again = collect(campaign, backends.responses, {uploads: _OneBrokenFile(root / "uploads")}, state,
                        full=True, load=True)
        assert not again.in_state and len(again.facts) == state.count_files(uploads)
        _equal(made, normalize(campaign, again))
        # A pass over files whose facts the state has (all but the broken one) holds none of them.
        later = collect(campaign, backends.responses, {uploads: LocalFolderSource(root / "uploads")}, state,
                        full=True, load=False)
        assert len(later.facts) == 0 and len(later.in_state) == state.count_files(uploads)
    finally:
        state.close()


def test_a_run_that_computes_keeps_the_statuses_of_the_units_whose_items_did_not_change(synced, caplog):
    """A response's comment edited: the tables are made again, but no unit's items changed, so no
    unit is evaluated again (the clock did not move) and the statuses are the ones a from-scratch
    evaluation gives. Then a response moved to another unit: those two units alone."""
    campaign, state, memo = synced
    form, _ = _sources(campaign)
    first = state.responses(form)[0]
    state.merge_responses(form, [replace(first, answers={**first.answers, "ข้อเสนอแนะ": "ฉบับที่สอง"})], complete=False)
    caplog.set_level("INFO", logger="ingest.memo")
    computed = compute(campaign, state, Collected(), load_decisions(state), AS_OF)
    assert not computed.reused and "statuses: 0 units evaluated again (0 with changed items)" in caplog.text
    assert computed.evaluation == _from_scratch(campaign, state, AS_OF)

    unit_question = next(d.unit_question for d in campaign.deliverables if d.source == form and d.unit_question)
    before = first.answers[unit_question]
    elsewhere = next(u for u in campaign.units if u.name not in before)
    state.merge_responses(form, [replace(first, answers={**first.answers, unit_question: elsewhere.name})],
                          complete=False)
    caplog.clear()
    later = AS_OF + timedelta(minutes=5)
    moved = compute(campaign, state, Collected(), load_decisions(state), later)
    assert "statuses: 2 units evaluated again (2 with changed items)" in caplog.text
    assert moved.evaluation == _from_scratch(campaign, state, later)


def _from_scratch(campaign, state, as_of):
    """The statuses from the stored records, normalized afresh with the coordinators' decisions."""
    tables = normalize(campaign, collect_from_state(campaign, state))
    return evaluate(campaign, apply_decisions(campaign, tables, load_decisions(state)).tables.items, as_of)


def test_a_matcher_prepared_meanwhile_is_the_one_a_row_would_build(synced):
    """A run builds the unit matcher on a thread while it waits on the network (RowMaker.prepare_meanwhile);
    the rows it makes are those a matcher built on the spot makes."""
    campaign, state, _ = synced
    prepared = row_cache.RowMaker(campaign)
    prepared.prepare_meanwhile()
    prepared.prepare_meanwhile()  # under way: nothing more is begun
    on_the_spot = row_cache.RowMaker(campaign)
    texts = [u.name for u in campaign.units[:5]] + ["จ. ไม่มีจริง", ""]
    assert [prepared.matcher.match(t) for t in texts] == [on_the_spot.matcher.match(t) for t in texts]
    rows = current_rows(campaign, state, Collected(), None, prepared)
    assert rows.made > 0 and rows.responses == current_rows(campaign, state, Collected(), None).responses


def test_a_matcher_that_fails_to_build_meanwhile_raises_on_the_runs_own_thread(synced, monkeypatch):
    campaign, _, _ = synced
    built = []

    def broken(given):
        built.append(given)
        raise ValueError("an alias names two units")

    monkeypatch.setattr(row_cache, "unit_matcher", broken)
    maker = row_cache.RowMaker(campaign)
    maker.prepare_meanwhile()
    with pytest.raises(ValueError, match="an alias names two units"):
        maker.matcher  # noqa: B018 - the property is what is tested
    assert len(built) == 2  # the thread's try, then the run's own, whose error is raised


def test_a_maker_let_go_of_holds_no_matcher_and_builds_one_again_if_asked(synced):
    campaign, _, _ = synced
    maker = row_cache.RowMaker(campaign)
    maker.prepare_meanwhile()
    first = maker.matcher
    maker.let_go()
    assert maker._matcher is None and maker._preparing is None  # noqa: SLF001
    assert maker.matcher is not first and maker.matcher.match(campaign.units[0].name) == first.match(campaign.units[0].name)


def test_a_run_prepares_the_matcher_meanwhile_only_where_rows_are_kept(tmp_path, monkeypatch):
    """A first sync makes every row after its reading: its matcher is built then, not held beside the
    reading child (the first sync's peak). A run with kept rows builds it while it waits on the network."""
    prepared: list[bool] = []
    original = row_cache.RowMaker.prepare_meanwhile

    def spied(self):
        prepared.append(True)
        original(self)

    monkeypatch.setattr(row_cache.RowMaker, "prepare_meanwhile", spied)
    config = write_demo(tmp_path / "demo").root / "config.yaml"
    campaign = load_campaign(config)
    memo = RunMemo(campaign.resolve(campaign.state_path))
    assert not memo.keeps_rows()
    sync_job(config, as_of=AS_OF)
    assert prepared == [] and memo.keeps_rows()
    sync_job(config, as_of=AS_OF + timedelta(minutes=15))
    assert prepared == [True]
