"""Roll-ups by parent unit or group: numbers against a hand-computed case, the `summary` tab on both
warehouses, `status --format json`'s rates.by_group and the digest's lines."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from connectors.google_sheets import GoogleSheetsWarehouse
from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.alerts.compose import _group_context
from ingest.alerts.plan import Digest
from ingest.campaign import Campaign, Deliverable, SourceSpec, Unit
from ingest.publish.summary import summary_table
from ingest.report import evaluation_dict
from ingest.rollup import rollups
from ingest.status import evaluate
from ingest.thaidate import BANGKOK
from ingest.units import load_units_csv
from tests.emulator import Emulator
from tests.google_workspace import google_api
from tests.test_google_sheets import DictMemo


def at(day: int) -> datetime:
    return datetime(2022, 11, day, 12, tzinfo=BANGKOK)


SOURCES = {"form": SourceSpec("form", "forms_export", "responses"), "up": SourceSpec("up", "local_folder", "uploads")}
DELIVERABLES = (Deliverable("q", "แบบสอบถาม", "form", "response", 1, at(3)),
                Deliverable("photos", "ภาพถ่าย", "up", "photo", 1, at(3)))


def items(*rows) -> pd.DataFrame:
    frame = pd.DataFrame([(d, u, f"{u}-{d}", t, True, "") for d, u, t in rows],
                         columns=["deliverable", "unit", "item_id", "arrived_at", "valid", "reason_th"])
    frame["arrived_at"] = pd.to_datetime(frame["arrived_at"])
    return frame


# A and B in "เหนือ", C and D in "ใต้". A: both on time. B: both, photos late. C: questionnaire only.
# D: both on time.
ITEMS = items(("q", "A", at(2)), ("photos", "A", at(2)), ("q", "B", at(1)), ("photos", "B", at(5)),
              ("q", "C", at(2)), ("q", "D", at(1)), ("photos", "D", at(3)))


@pytest.fixture
def grouped(tmp_path) -> Campaign:
    path = tmp_path / "units.csv"
    path.write_text("code,name,group\nA,หน่วยเอ,เหนือ\nB,หน่วยบี,เหนือ\nC,หน่วยซี,ใต้\nD,หน่วยดี,ใต้\n", encoding="utf-8")
    return Campaign("c", "ทดสอบ", tuple(load_units_csv(path)), DELIVERABLES, SOURCES)


def test_group_rates_match_the_hand_computed_case(grouped):
    groups = {g.name: g for g in rollups(grouped, evaluate(grouped, ITEMS, at(8)))}
    assert list(groups) == ["เหนือ", "ใต้"]  # by code (here the name), within a level
    north, south = groups["เหนือ"], groups["ใต้"]
    # เหนือ: A complete on time, B complete late → 2 of 2 complete, 1 of 2 on time.
    assert (north.rates.units_expected, north.rates.units_complete, north.rates.units_on_time) == (2, 2, 1)
    assert (north.rates.completeness, north.rates.timeliness) == (1.0, 0.5)
    assert (north.by_deliverable["q"].completeness, north.by_deliverable["q"].timeliness) == (1.0, 1.0)
    assert (north.by_deliverable["photos"].completeness, north.by_deliverable["photos"].timeliness) == (1.0, 0.5)
    # ใต้: C has no photos, D complete on time → 1 of 2, and on time 1 of 2; questionnaire 2 of 2.
    assert (south.rates.units_expected, south.rates.units_complete, south.rates.units_on_time) == (2, 1, 1)
    assert (south.by_deliverable["q"].completeness, south.by_deliverable["photos"].completeness) == (1.0, 0.5)


def test_sub_districts_roll_up_to_district_and_province():
    units = (Unit("950101", "สะเตง", parent="9501", level="subdistrict"),
             Unit("950102", "บุดี", parent="9501", level="subdistrict"),
             Unit("950201", "เบตง", parent="9502", level="subdistrict"))
    campaign = Campaign("c", "ทดสอบ", units, DELIVERABLES[:1], SOURCES)
    data = items(("q", "950101", at(2)), ("q", "950201", at(5)))
    found = [(g.level, g.code, g.name, g.rates.units_expected, g.rates.units_complete, g.rates.units_on_time)
             for g in rollups(campaign, evaluate(campaign, data, at(8)))]
    assert found == [("province", "95", "ยะลา", 3, 2, 1),
                     ("district", "9501", "เมืองยะลา", 2, 1, 1),
                     ("district", "9502", "เบตง", 1, 1, 0)]


def test_json_and_digest_carry_the_same_numbers(grouped):
    evaluation = evaluate(grouped, ITEMS, at(8))
    by_group = evaluation_dict(grouped, evaluation)["rates"]["by_group"]
    north = next(g for g in by_group if g["name"] == "เหนือ")
    assert {k: north[k] for k in ("level", "units_expected", "units_complete", "units_on_time", "completeness",
                                  "timeliness")} == {"level": "group", "units_expected": 2, "units_complete": 2,
                                                     "units_on_time": 1, "completeness": 1.0, "timeliness": 0.5}
    assert north["by_deliverable"]["photos"]["timeliness"] == 0.5
    digest = Digest(at(8).date(), at(8), (), evaluation.rates, evaluation.rates_by_deliverable, evaluation.counts(),
                    (), (), (), (), by_group=tuple(rollups(grouped, evaluation)))
    lines = _group_context(digest)
    assert [(g["level"], g["name"], g["completeness"], g["timeliness"]) for g in lines] == [
        ("กลุ่ม", "เหนือ", "100%", "50%"), ("กลุ่ม", "ใต้", "50%", "50%")]


SUMMARY_ROWS = [["กลุ่ม", "เหนือ", "เหนือ", 2, 2, 1, 100.0, 50.0, 100.0, 100.0, 100.0, 50.0],
                ["กลุ่ม", "ใต้", "ใต้", 2, 1, 1, 50.0, 50.0, 100.0, 100.0, 50.0, 50.0]]


def test_summary_tab_on_both_warehouses(grouped, tmp_path):
    table = summary_table(grouped, evaluate(grouped, ITEMS, at(8)))
    assert table.header[:8] == ["ระดับ", "รหัส", "ชื่อ", "หน่วยทั้งหมด", "ส่งครบ", "ตรงเวลา", "ส่งครบ (%)",
                                "ตรงเวลา (%)"]
    assert table.rows == SUMMARY_ROWS
    XlsxWarehouse(tmp_path / "w.xlsx").write([table])
    assert [list(r) for r in XlsxWarehouse(tmp_path / "w.xlsx").read()["summary"][1:]] == SUMMARY_ROWS
    with Emulator() as emu:
        book = emu.sheets.create(title="warehouse")
        GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo()).write([table])
        assert emu.sheets.values(book, "summary", "UNFORMATTED_VALUE")[1:] == SUMMARY_ROWS
        assert emu.violations == []
