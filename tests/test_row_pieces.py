"""The tidy tabs' rows carry keys by piece (connectors.base.RowPieces): the Sheets writer keeps the digests
it wrote for a piece whose key is unchanged and makes and digests only the other pieces' rows; the keys
move whenever a piece's rows can differ (ingest.publish.analyst.piece_keys, ingest.memo._row_pieces)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import EditableColumns, RowPieces, Table
from connectors.edits import keep_edits
from connectors.google_sheets import GoogleSheetsWarehouse
from connectors.pandas_text import pd
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.jobs import sync_job
from ingest.memo import RunMemo
from ingest.publish import analyst
from ingest.publish.analyst import FrameRows, piece_keys
from tests.emulator import Emulator
from tests.google_workspace import google_api
from tests.test_google_sheets import DictMemo

AS_OF = datetime(2022, 11, 12, 10, tzinfo=UTC)


def _frame(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["response_id", "score", "ข้อเสนอแนะ"])


def _table(frame: pd.DataFrame, keys: list[str] | None) -> Table:
    return Table("responses", list(frame.columns), FrameRows(frame), row_width=len(frame.columns),
                 pieces=RowPieces(2, keys) if keys is not None else None)


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


def test_a_piece_whose_key_was_written_before_is_not_looked_at_again(emu, tmp_path, monkeypatch):
    monkeypatch.setattr(analyst, "ROWS_AT_ONCE", 2)
    book = emu.sheets.create(title="warehouse")
    memo = DictMemo()
    first = _frame([("r0", 1, "ก"), ("r1", 2, "ข"), ("r2", 3, "ค")])
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo).write([_table(first, ["a", "b"])])
    assert emu.sheets.values(book, "responses")[1:] == [["r0", "1", "ก"], ["r1", "2", "ข"], ["r2", "3", "ค"]]

    # Piece 0 keeps its key though its rows differ: the writer trusts the key and neither digests nor
    # writes them (what the key's maker promises never happens; here it shows the key is what counts).
    # Piece 1's key moved: its rows are digested, and the new row and the one after it are written.
    second = _frame([("r0", 9, "ฮ"), ("r1", 2, "ข"), ("r2", 3, "ค"), ("r3", 4, "ง")])
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo).write([_table(second, ["a", "c"])])
    assert emu.sheets.values(book, "responses")[1:] == [["r0", "1", "ก"], ["r1", "2", "ข"], ["r2", "3", "ค"],
                                                        ["r3", "4", "ง"]]
    # Without keys every row is digested: the first row, which changed, is written.
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo).write([_table(second, None)])
    assert emu.sheets.values(book, "responses")[1] == ["r0", "9", "ฮ"]


def test_keys_that_do_not_cover_the_rows_or_rows_made_from_a_list_are_not_trusted(emu, tmp_path, monkeypatch):
    monkeypatch.setattr(analyst, "ROWS_AT_ONCE", 2)
    book = emu.sheets.create(title="warehouse")
    memo = DictMemo()
    rows = [("r0", 1, "ก"), ("r1", 2, "ข")]
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo).write([_table(_frame(rows), ["a"])])
    changed = _frame([("r0", 5, "ก"), ("r1", 2, "ข")])
    too_few = replace(_table(changed, ["a"]), pieces=RowPieces(1, ["a"]))  # two pieces of one row, one key
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo).write([too_few])
    assert emu.sheets.values(book, "responses")[1] == ["r0", "5", "ก"]
    as_list = replace(_table(_frame(rows), ["a"]), rows=[list(r) for r in rows])
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo).write([as_list])
    assert emu.sheets.values(book, "responses")[1] == ["r0", "1", "ก"]


def test_rows_with_edits_put_back_drop_the_keys():
    frame = pd.DataFrame([("r0", "", "")], columns=["review_key", "ผลตรวจ", "เหตุผล"])
    table = replace(_table(frame, ["a"]), editable=EditableColumns(0, 2, ("ผ่าน", "ไม่ผ่าน")))
    kept = keep_edits(table, {"r0": ("ไม่ผ่าน", "ภาพไม่ชัด")})
    assert kept.pieces is None and kept.rows[0] == ["r0", "ไม่ผ่าน", "ภาพไม่ชัด"]


def test_a_piece_key_moves_with_its_rows_own_values_and_every_key_with_the_columns(monkeypatch):
    monkeypatch.setattr(analyst, "ROWS_AT_ONCE", 2)
    frame = pd.DataFrame({"response_id": ["r0", "r1", "r2", "r3", "r4"], "score": [1, 2, 3, 4, 5],
                          "counted": [True, True, True, True, False], "review_th": ["", "", "", "", ""]})
    known = ["k0", "k1", "k2"]
    keys = list(piece_keys(frame, known, ["counted", "review_th"], "scope").keys)
    assert len(keys) == 3 and len(set(keys)) == 3
    assert list(piece_keys(frame.copy(), list(known), ["counted", "review_th"], "scope").keys) == keys

    def changed(new_frame=frame, new_known=known, scope="scope") -> list[bool]:
        again = piece_keys(new_frame, new_known, ["counted", "review_th"], scope).keys
        return [a != b for a, b in zip(again, keys, strict=True)]

    repeat = frame.copy()
    repeat.loc[2, "counted"] = False  # a later response made row 2 a repeat: piece 1 only
    assert changed(repeat) == [False, True, False]
    reviewed = frame.copy()
    reviewed.loc[4, "review_th"] = "ไม่ผ่าน: ไม่นับ"  # a decision on row 4: piece 2 only
    assert changed(reviewed) == [False, False, True]
    assert changed(new_known=["k0", "other", "k2"]) == [False, True, False]  # a record of piece 1 changed
    floats = frame.copy()
    floats["score"] = floats["score"].astype(float)  # one missing answer elsewhere turns the column to floats
    assert changed(floats) == [True, True, True]
    assert changed(frame.rename(columns={"score": "คะแนน"})) == [True, True, True]
    assert changed(scope="another campaign") == [True, True, True]


def test_the_same_inputs_computed_again_give_the_same_keys(tmp_path, monkeypatch):
    """On the demo, pieces of 7 rows: computed afresh (the memo gone) from the same stored records, every
    key is as it was; the tables are in the order the keys were made in."""
    monkeypatch.setattr(analyst, "ROWS_AT_ONCE", 7)
    config = write_demo(tmp_path / "demo").root / "config.yaml"
    first = sync_job(config, as_of=AS_OF, email=False)[1]
    before = {name: list(p.keys) for name, p in first.computed.pieces.items()}
    assert set(before) == {"responses", "files"}
    assert len(before["responses"]) == -(-len(first.tables.responses) // 7) > 3
    assert len(before["files"]) == -(-len(first.tables.files) // 7) > 3
    campaign = load_campaign(config)
    shutil.rmtree(RunMemo(campaign.resolve(campaign.state_path)).folder)
    again = sync_job(config, as_of=AS_OF + timedelta(minutes=5), email=False)[1]
    assert not again.computed.reused
    assert {name: list(p.keys) for name, p in again.computed.pieces.items()} == before
