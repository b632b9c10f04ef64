"""The Google Sheets warehouse on the emulator: batched RAW writes, formats, the memo, the cell limit."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from connectors.a1 import quote_tab
from connectors.base import EditableColumns, SheetFormat, Table
from connectors.google_api import GoogleApiError
from connectors.google_sheets import (
    CELL_CHARS,
    PIECE_ROWS,
    REQUEST_BYTES,
    GoogleSheetsWarehouse,
    _json_bytes,
    _RowsOut,
    _value_requests,
    formats_only,
)
from connectors.pacing import Pacer
from ingest.errors import FatalSourceError
from tests.emulator import Emulator
from tests.google_workspace import SA_EMAIL, google_api

FORMULA = '=IF(NOW()-(DATE(2022,11,12)+TIME(17,0,0))>0.5/24,"⚠ ไม่เป็นปัจจุบัน","✓ เป็นปัจจุบัน")'
WHEN = datetime(2022, 11, 12, 10, 0, tzinfo=UTC)  # 17:00 in Bangkok


class DictMemo(dict):
    def value(self, key: str) -> str | None:
        return self.get(key)

    def set_values(self, values: dict[str, str]) -> None:
        self.update(values)


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


def tables(note: str = "ปรับปรุงเมื่อ 12 พ.ย. 65 17:00", statuses=("missing", "complete", None),
           answers=("=HYPERLINK(\"http://x\",\"y\")", "ขอบคุณ", "'0812")) -> list[Table]:
    colours = {"missing": "#F4C7C3", "complete": "#B7E1CD", None: None}
    tracking = Table("tracking", ["รหัส", "หน่วยงาน", "สถานะ"],
                     [[f"{50 + i}", f"จังหวัด{i}", s or "-"] for i, s in enumerate(statuses)],
                     SheetFormat(frozen_rows=1, row_colours=[colours[s] for s in statuses], column_widths=[8, 22, 20]),
                     note=note, note_formula=FORMULA)
    responses = Table("responses", ["response_id", "submitted_at", "counted", "score", "ข้อเสนอแนะ"],
                      [[f"r{i}", WHEN, i % 2 == 0, 4.5, a] for i, a in enumerate(answers)])
    return [tracking, responses]


def test_first_write_creates_tabs_in_one_batch_each(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo()).write(tables())
    assert emu.sheets.tabs(book) == ["Sheet1", "tracking", "responses"]
    calls = {k: v for k, v in emu.counts.items() if k != "oauth2.token"}
    assert calls == {"sheets.spreadsheets.get": 1, "sheets.spreadsheets.batchUpdate": 1,
                     "sheets.spreadsheets.values.batchUpdate": 1, "sheets.spreadsheets.values.update": 1}
    (values,) = emu.calls("sheets.spreadsheets.values.batchUpdate")
    assert values.body["valueInputOption"] == "RAW"
    (formula,) = emu.calls("sheets.spreadsheets.values.update")
    assert formula.query["valueInputOption"] == ["USER_ENTERED"] and formula.body["values"] == [[FORMULA]]
    assert emu.sheets.formula_cells(book) == [("tracking", "D1", FORMULA)]  # our formula, nothing else
    responses = emu.sheets.values(book, "responses", "UNFORMATTED_VALUE")
    assert [row[4] for row in responses[1:]] == ["=HYPERLINK(\"http://x\",\"y\")", "ขอบคุณ", "'0812"]
    assert responses[1][1] == pytest.approx(44877 + 17 / 24)  # a real date: 12 Nov 2022 17:00 Bangkok
    assert responses[1][2] is True and responses[1][3] == 4.5
    assert emu.sheets.format_at(book, "responses", "B2")["numberFormat"]["type"] == "DATE_TIME"


def test_tracking_colours_frozen_header_and_time_zone(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    emu.sheets.book(book).time_zone = "America/New_York"
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book).write(tables())
    assert emu.sheets.book(book).time_zone == "Asia/Bangkok"
    assert emu.sheets.frozen_rows(book, "tracking") == 2 and emu.sheets.frozen_rows(book, "responses") == 1
    assert emu.sheets.format_at(book, "tracking", "B3")["backgroundColor"]["red"] == pytest.approx(0xF4 / 255)
    assert emu.sheets.format_at(book, "tracking", "C4")["backgroundColor"]["green"] == pytest.approx(0xE1 / 255)
    assert "backgroundColor" not in emu.sheets.format_at(book, "tracking", "A5")
    assert emu.sheets.format_at(book, "tracking", "A2")["textFormat"] == {"bold": True}


def test_unchanged_tabs_are_not_written_again(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    memo = DictMemo()
    warehouse = GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo)
    warehouse.write(tables())
    emu.reset_counts()
    warehouse.write(tables())
    assert {k: v for k, v in emu.counts.items() if k != "oauth2.token"} == {}
    warehouse.write(tables(note="ปรับปรุงเมื่อ 12 พ.ย. 65 17:15"))
    (write,) = emu.calls("sheets.spreadsheets.values.batchUpdate")
    assert [d["range"] for d in write.body["data"]] == ["'tracking'!A1"]
    emu.reset_counts()
    warehouse.write(tables(statuses=("complete", "complete", None), answers=("ขอบคุณ",)))
    # One row changed colour and value; two responses went: one batchUpdate (formats), one values call.
    assert emu.counts["sheets.spreadsheets.batchUpdate"] == 1
    assert emu.counts["sheets.spreadsheets.values.batchUpdate"] == 1
    assert emu.sheets.values(book, "responses")[1:] == [["r0", "44877.70833333", "TRUE", "4.5", "ขอบคุณ"]]
    assert "backgroundColor" in emu.sheets.format_at(book, "tracking", "A3")
    assert emu.sheets.format_at(book, "tracking", "A3")["backgroundColor"]["green"] == pytest.approx(0xE1 / 255)


def _fills(emu, book: str, rows: int, cols: int = 3) -> list[list[object]]:
    """Every tracking data cell's fill as the emulator merged it (note and header rows skipped)."""
    return [[emu.sheets.format_at(book, "tracking", f"{'ABCD'[c]}{r}").get("backgroundColor") for c in range(cols)]
            for r in range(3, 3 + rows)]


def test_only_the_rows_whose_colour_changed_are_filled_again(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    warehouse = GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo())
    before = ("missing", "complete", "missing", "missing", "complete", "missing")
    warehouse.write(tables(statuses=before))
    after = ("missing", "missing", "missing", None, "complete")  # two changed, the last row gone
    emu.reset_counts()
    warehouse.write(tables(statuses=after))
    (update,) = emu.calls("sheets.spreadsheets.batchUpdate")
    fills = [r["repeatCell"] for r in update.body["requests"]
             if "repeatCell" in r and r["repeatCell"]["fields"] == "userEnteredFormat.backgroundColor"]
    # Rows 1 and 3 cleared as one run each and row 1 filled; the row past the end is cleared; no other row.
    touched = sorted({(f["range"]["startRowIndex"], f["range"].get("endRowIndex")) for f in fills})
    assert touched == [(3, 4), (5, 6), (7, 8)]
    assert len(fills) == 4
    # The fills the sheet shows are a fresh write's.
    fresh = emu.sheets.create(title="fresh")
    GoogleSheetsWarehouse(google_api(emu, tmp_path), fresh, memo=DictMemo()).write(tables(statuses=after))
    assert _fills(emu, book, 7) == _fills(emu, fresh, 7)
    assert _fills(emu, book, 7)[1][0]["red"] == pytest.approx(0xF4 / 255) and _fills(emu, book, 7)[3] == [None] * 3


def test_fills_and_links_go_while_the_values_are_written_and_the_sheet_is_a_fresh_writes(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    warehouse = GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo())
    warehouse.write(tables(statuses=("missing", "complete", "missing")))
    emu.reset_counts()
    held = 1.0
    emu.faults.add("sheets.spreadsheets.batchUpdate", latency=held)
    after = {"statuses": ("complete", "complete", "missing"), "answers": ("ก", "ข", "ค")}
    warehouse.write(tables(**after))
    (formats,) = emu.calls("sheets.spreadsheets.batchUpdate")
    (values,) = emu.calls("sheets.spreadsheets.values.batchUpdate")
    assert formats_only(formats.body["requests"])  # fills alone: no tab grows
    assert abs(values.at - formats.at) < held  # the values went while the formats' call was held
    fresh = emu.sheets.create(title="fresh")
    GoogleSheetsWarehouse(google_api(emu, tmp_path), fresh, memo=DictMemo()).write(tables(**after))
    assert _fills(emu, book, 3) == _fills(emu, fresh, 3)
    for tab in ("tracking", "responses"):
        assert emu.sheets.values(book, tab, "UNFORMATTED_VALUE") == emu.sheets.values(fresh, tab, "UNFORMATTED_VALUE")


def test_values_wait_for_a_tab_to_grow_before_they_are_written(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    warehouse = GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo())
    warehouse.write(tables())
    emu.reset_counts()
    held = 0.5
    emu.faults.add("sheets.spreadsheets.batchUpdate", latency=held)
    many = tuple(f"คำตอบ {i}" for i in range(300))  # past the tab's headroom of 100 rows
    warehouse.write(tables(answers=many))
    (structure,) = emu.calls("sheets.spreadsheets.batchUpdate")
    (values,) = emu.calls("sheets.spreadsheets.values.batchUpdate")
    assert any("appendDimension" in r for r in structure.body["requests"])
    assert values.at - structure.at >= held  # sent once the rows were there
    assert [row[4] for row in emu.sheets.values(book, "responses", "UNFORMATTED_VALUE")[1:]] == list(many)


def test_formats_only_tells_requests_that_leave_every_value_and_size_alone():
    fill = {"repeatCell": {"range": {"sheetId": 1}, "cell": {"userEnteredFormat": {}},
                           "fields": "userEnteredFormat.backgroundColor"}}
    header = {"repeatCell": {"range": {"sheetId": 1}, "cell": {"userEnteredFormat": {}},
                             "fields": "userEnteredFormat(textFormat,backgroundColor,wrapStrategy)"}}
    # Encoded as the writer encodes a link's request (`_link_requests`).
    link = _json_bytes({"repeatCell": {"range": {"sheetId": 1}, "cell": {"userEnteredFormat": {}},
                                       "fields": "userEnteredFormat.textFormat.link"}})
    frozen = {"updateSheetProperties": {"properties": {"sheetId": 1, "gridProperties": {"frozenRowCount": 2}},
                                        "fields": "gridProperties.frozenRowCount"}}
    widths = {"updateDimensionProperties": {"range": {"sheetId": 1, "dimension": "COLUMNS"},
                                            "properties": {"pixelSize": 70}, "fields": "pixelSize"}}
    assert formats_only([fill, header, link, frozen, widths, {"setDataValidation": {"range": {"sheetId": 1}}}])
    assert formats_only([])
    for changes in ({"appendDimension": {"sheetId": 1, "dimension": "ROWS", "length": 100}},
                    {"addSheet": {"properties": {"title": "tracking"}}},
                    {"updateSpreadsheetProperties": {"properties": {"timeZone": "Asia/Bangkok"}, "fields": "timeZone"}},
                    {"updateSheetProperties": {"properties": {"sheetId": 1, "gridProperties": {"rowCount": 9}},
                                               "fields": "gridProperties.rowCount"}},
                    {"repeatCell": {"range": {"sheetId": 1}, "cell": {"userEnteredValue": {"stringValue": "x"}},
                                    "fields": "userEnteredValue"}},
                    {"deleteDimension": {"range": {"sheetId": 1, "dimension": "ROWS"}}},
                    _json_bytes({"updateCells": {"fields": "userEnteredValue"}})):
        assert not formats_only([fill, changes]), changes


def test_fills_are_set_on_every_row_again_when_the_last_ones_are_not_known(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    memo = DictMemo()
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo).write(tables(statuses=("missing", "complete")))
    # A memo an older tidtam wrote: no fills remembered.
    data = json.loads(next(iter(memo.values())))
    for tab in data["tabs"].values():
        tab.pop("colours", None)
        tab.pop("colour_width", None)
    memo.update({key: json.dumps(data) for key in memo})
    emu.reset_counts()
    statuses = ("complete", "complete")
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo).write(tables(statuses=statuses))
    (update,) = emu.calls("sheets.spreadsheets.batchUpdate")
    fills = [r["repeatCell"]["range"] for r in update.body["requests"]
             if "repeatCell" in r and r["repeatCell"]["fields"] == "userEnteredFormat.backgroundColor"]
    assert fills[0] == {"sheetId": fills[0]["sheetId"], "startRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 3}
    assert _fills(emu, book, 2) == [[{"red": 0xB7 / 255, "green": 0xE1 / 255, "blue": 0xCD / 255}] * 3] * 2


def test_a_tab_deleted_by_hand_is_recreated(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    memo = DictMemo()
    warehouse = GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=memo, verify_every=3)
    warehouse.write(tables())
    sheets = emu.sheets.book(book).sheets
    sheets.remove(next(s for s in sheets if s.title == "responses"))
    # A write that touches the deleted tab fails, and is redone from what the spreadsheet holds.
    warehouse.write(tables(note="ใหม่", answers=("อื่น",)))
    assert emu.sheets.values(book, "responses")[1][4] == "อื่น"
    assert emu.sheets.values(book, "tracking")[0][0] == "ใหม่"
    # A write that does not touch it does not notice; every few writes the layout is checked.
    sheets = emu.sheets.book(book).sheets
    sheets.remove(next(s for s in sheets if s.title == "responses"))
    warehouse.write(tables(note="1", answers=("อื่น",)))
    assert "responses" not in emu.sheets.tabs(book)
    emu.reset_counts()
    warehouse.write(tables(note="2", answers=("อื่น",)))
    assert emu.counts["sheets.spreadsheets.get"] == 1
    assert emu.sheets.values(book, "responses")[1][4] == "อื่น"


def test_a_reviewed_tab_deleted_by_hand_does_not_stop_the_decisions_of_the_others(emu, tmp_path):
    """The coordinators' decisions are read at the start of every run, from the columns the last write
    remembers: a reviewed tab deleted or renamed by hand since made Google refuse that whole read, and
    every run failed until the layout was checked again (found in the dev loop: a state that outlived
    its spreadsheet's tabs)."""
    from tests.emulator.sheets import Cell

    book = emu.sheets.create(title="warehouse")
    warehouse = GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo())
    header = ["file_id", "review_key", "ผลตรวจ", "เหตุผล"]

    def reviewed(name: str) -> Table:
        return Table(name, header, [[f"{name}{i}", f"k{i}", "", ""] for i in range(3)],
                     editable=EditableColumns(1, 2, ("ผ่าน", "ไม่ผ่าน")))

    warehouse.write([*tables(), reviewed("files"), reviewed("photos")])
    emu.sheets.sheet(book, "photos").cells[(2, 2)] = Cell("ไม่ผ่าน")  # a decision on row k1
    sheets = emu.sheets.book(book).sheets
    sheets.remove(next(s for s in sheets if s.title == "files"))
    edits = warehouse.read_edits({"files": header[1:], "photos": header[1:]})
    assert edits == {"photos": {"k0": ("", ""), "k1": ("ไม่ผ่าน", ""), "k2": ("", "")}}
    warehouse.write([*tables(), reviewed("files"), reviewed("photos")])  # the deleted tab comes back
    assert emu.sheets.values(book, "files")[1][:2] == ["files0", "k0"]
    assert emu.sheets.values(book, "photos")[2][2] == "ไม่ผ่าน"  # and the decision stays


def test_old_content_of_an_existing_tab_is_cleared(emu, tmp_path):
    book = emu.sheets.create(title="warehouse", tabs=("tracking",))
    from tests.emulator.sheets import Cell

    emu.sheets.sheet(book, "tracking").cells[(40, 3)] = Cell("old")
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book).write(tables())
    assert len(emu.sheets.values(book, "tracking")) == 5


def test_a_very_long_answer_is_cut_to_googles_cell_limit(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book).write(tables(answers=("ก" * 60_000,)))
    assert len(emu.sheets.values(book, "responses")[1][4]) == CELL_CHARS


def test_a_spreadsheet_near_the_cell_limit_is_reported_not_corrupted(emu, tmp_path):
    book = emu.sheets.create(title="warehouse", tabs=("ข้อมูลเก่า",))
    emu.sheets.sheet(book, "ข้อมูลเก่า").rows = 384_600  # × 26 columns = 9,999,600 cells
    with pytest.raises(FatalSourceError) as caught:
        GoogleSheetsWarehouse(google_api(emu, tmp_path), book).write(tables())
    message = str(caught.value)
    assert book in message and "over Google's limit of 10,000,000" in message and "nothing was written" in message
    assert emu.sheets.tabs(book) == ["ข้อมูลเก่า"]
    assert emu.counts["sheets.spreadsheets.batchUpdate"] == 0


def test_a_spreadsheet_shared_as_viewer_says_so(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    emu.faults.add("sheets.spreadsheets.get", status=403)
    with pytest.raises(FatalSourceError, match=f"{book} is not shared with {SA_EMAIL}: share it as Editor"):
        GoogleSheetsWarehouse(google_api(emu, tmp_path), book).write(tables())


def test_a_big_table_is_split_into_requests_under_googles_size_advice(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    rows = [[f"r{i}", "ข้อความยาว " * 40] for i in range(3000)]
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book).write([Table("responses", ["id", "text"], rows)])
    writes = emu.calls("sheets.spreadsheets.values.batchUpdate")
    assert len(writes) > 1
    sizes = [w.body_bytes for w in writes]  # as sent: UTF-8 JSON, Thai text unescaped (3 bytes, not 6)
    assert all(size <= REQUEST_BYTES + 1000 for size in sizes)
    assert sizes == [len(json.dumps(w.body, ensure_ascii=False, separators=(",", ":")).encode()) for w in writes]
    assert len(writes) == math.ceil(sum(sizes) / REQUEST_BYTES)  # requests are packed full: no more than needed
    values = emu.sheets.values(book, "responses")
    assert len(values) == 3001 and values[-1][0] == "r2999"


def test_a_big_layout_is_split_into_batch_updates_under_googles_size_advice(emu, tmp_path):
    """A first write at 7,436 sub-districts asked for 29,805 layout requests in one batchUpdate (8.1 MB,
    the tracking tab's links); Google refuses a body over 10 MiB whole. They go in order, in pieces."""
    book = emu.sheets.create(title="warehouse")
    count = 2_600
    links = {(i, c): f"https://drive.google.com/drive/folders/1{i:032d}{c}" for i in range(count) for c in range(3)}
    table = Table("tracking", ["a", "b", "c"], [[f"u{i}", "x", "y"] for i in range(count)], links=links)
    GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo()).write([table])
    updates = emu.calls("sheets.spreadsheets.batchUpdate")
    sizes = [u.body_bytes for u in updates]
    assert len(updates) == 2 and all(size <= REQUEST_BYTES for size in sizes), sizes
    sent = [r for u in updates for r in u.body["requests"]]
    assert "addSheet" in sent[0]  # the tab before anything on it
    set_links = [r["repeatCell"] for r in sent if "repeatCell" in r
                 and r["repeatCell"].get("cell", {}).get("userEnteredFormat", {}).get("textFormat", {}).get("link")]
    assert len(set_links) == len(links)
    assert emu.sheets.format_at(book, "tracking", "C2600")["textFormat"]["link"]["uri"] == links[(2598, 2)]


def test_a_body_over_ten_mebibytes_is_refused_as_google_refuses_it(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    api = google_api(emu, tmp_path)
    requests = [{"repeatCell": {"range": {"sheetId": 0, "startRowIndex": i, "endRowIndex": i + 1},
                                "cell": {"userEnteredFormat": {"textFormat": {"link": {"uri": "https://x/" + "a" * 400}}}},
                                "fields": "userEnteredFormat.textFormat.link"}} for i in range(25_000)]
    with pytest.raises(GoogleApiError) as refused:
        api.call("sheets.spreadsheets.batchUpdate", lambda: GoogleSheetsWarehouse(api, book)._http.batch_update(
            book, body={"requests": requests}), what="the warehouse")
    assert refused.value.status == 400 and "Request payload size exceeds the limit: 10485760 bytes" in str(refused.value)


def test_a_big_write_converts_its_rows_one_request_at_a_time():
    """The value requests are made as they are sent, each converting only its own rows: a first write at
    7,436 sub-districts (4.9 M cells) holds one request's converted rows, not every tab's."""
    converted: list[int] = []

    def row(i: int) -> list[str]:
        converted.append(i)
        return [f"r{i}", "ข้อความยาว " * 40]

    bodies = _value_requests([("responses", 1, _RowsOut(row, 1, 3001))])
    data = next(bodies)
    first = json.loads(data)
    assert data == _json_bytes(first)  # the bytes sent are the body's JSON, compact UTF-8
    sent = sum(len(piece["values"]) for piece in first["data"])
    assert 0 < sent < 3000 and len(converted) <= sent + PIECE_ROWS  # one piece looked at beyond the request
    rest = [(json.loads(data), data) for data in bodies]
    assert sent + sum(len(piece["values"]) for body, _ in rest for piece in body["data"]) == 3000
    assert all(data == _json_bytes(body) for body, data in rest)
    assert sorted(converted) == list(range(1, 3001))  # every row converted once
    assert first["data"][0]["range"] == f"{quote_tab('responses')}!A2"


def test_the_pacer_keeps_every_60_second_window_within_the_quota():
    clock = FakeClock()
    pacer = Pacer(3, clock=clock, sleep=clock.sleep)
    sent = []
    for gap in (0, 1, 1, 1, 50, 1, 100, 0, 0, 0):
        clock.now += gap
        pacer.wait()
        sent.append(clock.now)
    assert all(sum(t <= s < t + 60 for s in sent) <= 3 for t in sent)
    assert sent == [0, 1, 2, 60, 110, 111, 211, 211, 211, 271]  # waits only when a 4th would fall in a minute
    assert pacer.waited == 57 + 60


def test_a_big_first_write_is_paced_within_the_sheets_write_quota(emu, tmp_path):
    clock = FakeClock()
    book = emu.sheets.create(title="warehouse")
    rows = [[f"r{i}", "ข้อความยาว " * 40] for i in range(5000)]
    warehouse = GoogleSheetsWarehouse(google_api(emu, tmp_path, sleep=clock.sleep), book, writes_per_minute=2,
                                      clock=clock)
    warehouse.write([Table("responses", ["id", "text"], rows)])
    writes = len(emu.calls("sheets.spreadsheets.batchUpdate")) + len(emu.calls("sheets.spreadsheets.values.batchUpdate"))
    assert writes >= 4
    assert clock.sleeps == [60.0] * ((writes - 1) // 2)  # two writes, then a minute's pause, and so on
    assert len(emu.sheets.values(book, "responses")) == 5001


class FakeClock:
    """time.monotonic and time.sleep for the pacer: sleeping moves the clock, nothing really waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_table_with_some_cells_put_back_converts_to_what_a_fresh_conversion_gives():
    """The review columns put back into a few rows (connectors.edits.keep_edits) reuse the probe's
    conversion of every other row; the result is the fresh conversion's, row for row and hash for hash."""
    import random
    from dataclasses import replace as _replace

    from connectors.google_sheets import _content, _Contents

    rng = random.Random(3)
    rows = [[f"r{i}", i, 1.5 * i, datetime(2022, 11, 1 + i % 20, 9, tzinfo=UTC), "", ""] for i in range(60)]
    table = Table("files", ["key", "n", "x", "at", "decision", "reason"], rows, note="updated")
    for _ in range(20):
        changed = [list(r) for r in rows]
        for i in rng.sample(range(60), rng.randint(0, 6)):
            changed[i][4:6] = [rng.choice(["ผ่าน", "ไม่ผ่าน", ""]), rng.choice(["", "ภาพไม่ใช่การประชุม"])]
        contents = _Contents()
        contents.of(table)
        derived = _replace(table, rows=changed)
        contents.derive(derived, table)
        got, fresh = contents.of(derived), _content(derived)
        assert (got.rows, got.width, got.hashes) == (fresh.rows, fresh.width, fresh.hashes)
