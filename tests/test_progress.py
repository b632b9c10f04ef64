"""The `progress` and `status` tabs: counts against a hand-computed case, and their native charts on
both warehouse backends (the .xlsx read back with openpyxl, the Sheet from the emulator's model)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from openpyxl import load_workbook

from connectors.google_sheets import GoogleSheetsWarehouse
from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.campaign import Campaign, Deliverable, SourceSpec, Unit
from ingest.publish.progress import (
    ALL_DONE,
    _completions,
    campaign_days,
    day_of,
    progress_table,
    status_table,
)
from ingest.publish.tracking import tracking_table
from ingest.status import evaluate
from ingest.thaidate import BANGKOK
from tests.emulator import Emulator
from tests.google_workspace import google_api
from tests.test_google_sheets import DictMemo


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2022, 11, day, hour, minute, tzinfo=BANGKOK)


# Questionnaire: 2 responses, open from 1 Nov, due 3 Nov 23:00. Photos: 1, due 5 Nov, 1 day of grace.
CAMPAIGN = Campaign(
    "c", "ทดสอบ", (Unit("95", "ยะลา"), Unit("96", "นราธิวาส"), Unit("70", "ราชบุรี")),
    (Deliverable("q", "แบบสอบถาม", "form", "response", 2, at(3, 23), opens_at=at(1, 0)),
     Deliverable("photos", "ภาพถ่าย", "uploads", "photo", 1, datetime(2022, 11, 5, 23, 59, 59, tzinfo=BANGKOK),
                 grace=timedelta(days=1))),
    {"form": SourceSpec("form", "forms_export", "responses"), "uploads": SourceSpec("uploads", "local_folder", "uploads")})

ITEMS = pd.DataFrame([
    ("q", "95", "r1", at(1, 10), True, ""), ("q", "95", "r2", at(2, 9), True, ""),  # ยะลา: complete on 2 Nov
    ("q", "96", "r3", at(2, 8), True, ""), ("q", "96", "r4", at(4, 10), True, ""),  # นราธิวาส: late, 4 Nov
    ("q", "70", "r5", at(3), False, "ซ้ำ"), ("q", "70", "r6", at(3), True, ""),  # ราชบุรี: one valid only
    ("photos", "95", "f1", at(3), True, ""),
    ("photos", "96", "f2", at(6, 23, 30), True, ""),  # inside the grace day
    ("photos", "70", "f3", at(2, 23, 59), True, ""),  # the last minute of 2 Nov counts on 2 Nov
], columns=["deliverable", "unit", "item_id", "arrived_at", "valid", "reason_th"])

# Worked by hand from ITEMS: (questionnaire, photos, every deliverable) complete by each day's end.
BY_HAND = {1: (0, 0, 0), 2: (1, 1, 0), 3: (1, 2, 1), 4: (2, 2, 1), 5: (2, 2, 1), 6: (2, 3, 2)}


def tables(as_of: datetime):
    evaluation = evaluate(CAMPAIGN, ITEMS, as_of)
    tracking = tracking_table(CAMPAIGN, evaluation, updated_at=as_of)
    return [tracking, progress_table(CAMPAIGN, evaluation),
            status_table(evaluation, beside="tracking", anchor_column=len(tracking.header) + 2)]


def test_progress_counts_match_the_hand_computed_case():
    progress = tables(at(8))[1]
    assert progress.header == ["วันที่", "แบบสอบถาม (หน่วยที่ส่งครบ)", "ภาพถ่าย (หน่วยที่ส่งครบ)", "ครบทุกรายการ"]
    # From the first `opens` (1 Nov) to the last deadline with grace (6 Nov); as-of 8 Nov adds no day.
    assert progress.rows == [[date(2022, 11, d), *BY_HAND[d]] for d in range(1, 7)]


@pytest.mark.parametrize(("as_of", "last_row"), [(at(4, 9), (1, 2, 1)), (at(4, 11), (2, 2, 1))])
def test_progress_is_right_for_any_as_of_without_history(as_of, last_row):
    """Replayed at 4 Nov, the rows stop at that day, and what arrived after as-of is not counted."""
    progress = tables(as_of)[1]
    assert [r[0] for r in progress.rows] == [date(2022, 11, d) for d in range(1, 5)]
    assert tuple(progress.rows[-1][1:]) == last_row
    assert progress.rows[:3] == [[date(2022, 11, d), *BY_HAND[d]] for d in range(1, 4)]


def test_status_counts_follow_the_evaluation():
    status = tables(at(8))[2]
    counts = dict(status.rows)
    # ยะลา complete; นราธิวาส late (questionnaire after its deadline); ราชบุรี overdue (one valid response).
    assert counts == {"ยังไม่ส่ง (เลยกำหนด)": 0, "ไม่ครบ (เลยกำหนด)": 1, "ส่งบางส่วน": 0, "รอส่ง": 0,
                      "ครบ (ส่งช้า)": 1, "ครบ": 1, "ได้รับยกเว้น": 0}


def test_xlsx_has_a_line_chart_of_progress_and_a_bar_chart_beside_tracking(tmp_path):
    path = tmp_path / "w.xlsx"
    XlsxWarehouse(path).write(tables(at(4, 11)))
    workbook = load_workbook(path)
    (line,) = workbook["progress"]._charts
    assert line.tagname == "lineChart"
    # The range spans the whole campaign (6 days below the header), not only the 4 days written.
    assert [s.tx.strRef.f for s in line.series] == ["'progress'!B1", "'progress'!C1", "'progress'!D1"]
    assert [s.val.numRef.f for s in line.series] == ["'progress'!$B$2:$B$7", "'progress'!$C$2:$C$7",
                                                     "'progress'!$D$2:$D$7"]
    assert {s.cat.numRef.f if s.cat.numRef else s.cat.strRef.f for s in line.series} == {"'progress'!$A$2:$A$7"}
    assert workbook["status"]._charts == []
    (bar,) = workbook["tracking"]._charts  # shown beside the tracking table, drawn from the `status` tab
    assert bar.tagname == "barChart" and bar.barDir == "bar"
    assert [s.val.numRef.f for s in bar.series] == ["'status'!$B$2:$B$8"]
    assert [s.cat.numRef.f for s in bar.series] == ["'status'!$A$2:$A$8"]
    tracking_width = len(tables(at(8))[0].header)
    assert bar.anchor._from.col == tracking_width + 2 and bar.anchor._from.row == 1


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


def _grid(source: dict) -> tuple[int, int, int, int]:
    return source["startRowIndex"], source["endRowIndex"], source["startColumnIndex"], source["endColumnIndex"]


def test_sheets_charts_are_added_once_with_the_right_ranges(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    api = google_api(emu, tmp_path)
    memo = DictMemo()
    GoogleSheetsWarehouse(api, book, memo=memo).write(tables(at(4, 11)))
    (line,) = emu.sheets.charts(book, "progress")
    basic = line["spec"]["basicChart"]
    progress_id = emu.sheets.sheet(book, "progress").sheet_id
    assert basic["chartType"] == "LINE" and basic["headerCount"] == 1
    (domain,) = basic["domains"][0]["domain"]["sourceRange"]["sources"]
    assert domain["sheetId"] == progress_id and _grid(domain) == (0, 7, 0, 1)
    assert [_grid(s["series"]["sourceRange"]["sources"][0]) for s in basic["series"]] == [
        (0, 7, 1, 2), (0, 7, 2, 3), (0, 7, 3, 4)]
    (bar,) = emu.sheets.charts(book, "tracking")
    assert bar["spec"]["basicChart"]["chartType"] == "BAR"
    (series,) = bar["spec"]["basicChart"]["series"]
    (source,) = series["series"]["sourceRange"]["sources"]
    assert source["sheetId"] == emu.sheets.sheet(book, "status").sheet_id and _grid(source) == (0, 8, 1, 2)
    anchor = bar["position"]["overlayPosition"]["anchorCell"]
    assert anchor["sheetId"] == emu.sheets.sheet(book, "tracking").sheet_id
    assert anchor["columnIndex"] == len(tables(at(8))[0].header) + 2
    assert emu.sheets.charts(book, "status") == []

    # The next day: a row more, the same charts, no chart request (and no extra read).
    emu.reset_counts()
    GoogleSheetsWarehouse(api, book, memo=memo).write(tables(at(5, 11)))
    assert "sheets.spreadsheets.get" not in emu.counts
    assert not any("addChart" in r or "updateChartSpec" in r for call in emu.calls("sheets.spreadsheets.batchUpdate")
                   for r in call.body["requests"])
    # A lost memo: the layout read (which it needs anyway) names the charts already there; none is added twice.
    GoogleSheetsWarehouse(api, book, memo=DictMemo()).write(tables(at(5, 11)))
    assert len(emu.sheets.charts(book, "progress")) == 1 and len(emu.sheets.charts(book, "tracking")) == 1
    (get,) = emu.calls("sheets.spreadsheets.get")
    assert "charts" in get.query["fields"][0]
    # Values under the chart: the progress tab holds the days written so far.
    values = emu.sheets.values(book, "progress", "UNFORMATTED_VALUE")
    assert [row[1:] for row in values[1:]] == [list(BY_HAND[d]) for d in range(1, 6)]


def test_a_chart_deleted_by_hand_comes_back_at_the_next_layout_read(emu, tmp_path):
    book = emu.sheets.create(title="warehouse")
    api = google_api(emu, tmp_path)
    memo = DictMemo()
    GoogleSheetsWarehouse(api, book, memo=memo).write(tables(at(8)))
    (line,) = emu.sheets.charts(book, "progress")
    emu.sheets.sheet(book, "progress").charts.clear()  # a coordinator deleted it
    GoogleSheetsWarehouse(api, book, memo=memo, verify_every=1).write(tables(at(8)))
    assert [c["chartId"] for c in emu.sheets.charts(book, "progress")] == [line["chartId"]]


def test_an_old_memo_without_charts_reads_the_layout_once(emu, tmp_path):
    """A memo written before charts existed does not know them: one layout read, then charts as usual."""
    book = emu.sheets.create(title="warehouse")
    api = google_api(emu, tmp_path)
    memo = DictMemo()
    GoogleSheetsWarehouse(api, book, memo=memo).write(tables(at(8)))
    key = f"google_sheets:{book}"
    memo[key] = memo[key].replace('"charts": {', '"old": {')
    emu.reset_counts()
    GoogleSheetsWarehouse(api, book, memo=memo).write(tables(at(8)))
    assert emu.counts["sheets.spreadsheets.get"] == 1
    assert len(emu.sheets.charts(book, "progress")) == 1 and len(emu.sheets.charts(book, "tracking")) == 1
    emu.reset_counts()
    GoogleSheetsWarehouse(api, book, memo=memo).write(tables(at(8)))
    assert {k: v for k, v in emu.counts.items() if k != "oauth2.token"} == {}


def test_progress_counts_equal_a_count_per_day_and_unit_over_random_arrivals():
    """progress_table counts the units complete by a day's end from each column's sorted completion
    moments; the count is the one made unit by unit, also for an arrival at midnight exactly (it
    counts for the day it opens)."""
    rng = random.Random(17)
    counted = 0
    for _ in range(60):
        rows = []
        for n in range(rng.randint(0, 12)):
            day, hour, minute = rng.randint(1, 7), rng.choice([0, 0, 9, 23]), rng.choice([0, 0, 30, 59])
            rows.append((rng.choice(["q", "photos"]), rng.choice(["95", "96", "70"]), f"i{n}", at(day, hour, minute),
                         rng.random() < 0.8, ""))
        items = pd.DataFrame(rows, columns=ITEMS.columns).astype({"arrived_at": "datetime64[ns, Asia/Bangkok]"}) \
            if rows else ITEMS.iloc[:0]
        evaluation = evaluate(CAMPAIGN, items, at(rng.randint(1, 8), 13))
        ids = [d.id for d in CAMPAIGN.deliverables]
        finished = [_completions(unit, ids) for unit in evaluation.units]
        expected = []
        for day in (d for d in campaign_days(CAMPAIGN, evaluation) if d <= day_of(evaluation.as_of)):
            end = datetime.combine(day + timedelta(days=1), datetime.min.time(), BANGKOK)
            expected.append([day] + [sum(1 for f in finished if f.get(k) is not None and f[k] < end)
                                     for k in [*ids, ALL_DONE]])
        assert progress_table(CAMPAIGN, evaluation).rows == expected
        counted += sum(sum(row[1:]) for row in expected)
    assert counted > 100  # the sequences complete units, on many days
