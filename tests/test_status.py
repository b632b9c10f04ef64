"""Every status case of README.md's "Status rules", at and around the deadline, in Asia/Bangkok."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from ingest.campaign import Campaign, Deliverable, Override, SourceSpec, Unit
from ingest.status import deliverable_status, evaluate
from ingest.thaidate import BANGKOK

DUE = datetime(2022, 11, 15, 23, 59, 59, tzinfo=BANGKOK)
PHOTOS = Deliverable("photos", "ภาพถ่าย", "uploads", "photo", expected=3, due_at=DUE)
SECOND = timedelta(seconds=1)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2022, 11, day, hour, tzinfo=BANGKOK)


CASES = {
    "nothing yet, before the deadline": ([], at(10), "waiting", None),
    "nothing, exactly at the deadline": ([], DUE, "waiting", None),
    "nothing, one second after": ([], DUE + SECOND, "missing", None),
    "some, before": ([at(10)], at(12), "partial", None),
    "some, exactly at the deadline": ([at(10), at(11)], DUE, "partial", None),
    "some, one second after": ([at(10), at(11)], DUE + SECOND, "overdue", None),
    "all by the deadline": ([at(10), at(11), at(12)], at(16), "complete", at(12)),
    "n-th arrives exactly at the deadline": ([at(10), at(11), DUE], DUE + timedelta(days=2), "complete", DUE),
    "n-th arrives one second late": ([at(10), at(11), DUE + SECOND], at(20), "late", DUE + SECOND),
    "more than expected: the n-th counts": ([at(9), at(10), at(11), at(18)], at(20), "complete", at(11)),
    "items after T are not seen (replay)": ([at(10), at(11), at(12)], at(11, 13), "partial", None),
}


@pytest.mark.parametrize(("arrivals", "now", "expected", "completed_at"), CASES.values(), ids=CASES.keys())
def test_deliverable_status(arrivals, now, expected, completed_at):
    cell = deliverable_status(PHOTOS, arrivals, 0, [], now, deadline=DUE)
    assert cell.status == expected
    assert cell.completed_at == completed_at


def test_grace_period_moves_the_deadline_and_an_override_moves_it_from_its_own_date():
    graced = Deliverable("photos", "ภาพถ่าย", "uploads", "photo", 1, DUE, grace=timedelta(hours=12))
    extended = Override("96", "photos", due_at=DUE + timedelta(days=2))
    graced_campaign = Campaign("c", "ทดสอบ", (Unit("95", "ยะลา"), Unit("96", "นราธิวาส")), (graced,),
                               {"uploads": SourceSpec("uploads", "local_folder", "uploads")}, (extended,))
    assert graced_campaign.deadline_for("95", graced) == DUE + timedelta(hours=12)
    assert graced_campaign.deadline_for("96", graced) == DUE + timedelta(days=2, hours=12)
    cell = deliverable_status(graced, [DUE + timedelta(hours=11)], 0, [], at(20),
                              deadline=graced_campaign.deadline_for("95", graced))
    assert cell.status == "complete"


def campaign(*overrides: Override) -> Campaign:
    units = (Unit("95", "ยะลา"), Unit("96", "นราธิวาส"), Unit("70", "ราชบุรี"))
    deliverables = (Deliverable("q", "แบบสอบถาม", "form", "response", 2, at(7, 23)), PHOTOS)
    sources = {"form": SourceSpec("form", "forms_export", "responses"), "uploads": SourceSpec("uploads", "local_folder", "uploads")}
    return Campaign("c", "ทดสอบ", units, deliverables, sources, overrides)


def items(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["deliverable", "unit", "item_id", "arrived_at", "valid", "reason_th"])
    frame["arrived_at"] = pd.to_datetime(frame["arrived_at"])
    return frame


def test_evaluate_overall_status_rates_and_overrides():
    data = items(
        ("q", "95", "r1", at(2), True, ""), ("q", "95", "r2", at(3), True, ""),
        ("photos", "95", "f1", at(9), True, ""), ("photos", "95", "f2", at(9), True, ""),
        ("photos", "95", "f3", at(10), True, ""),
        ("q", "70", "r3", at(2), True, ""), ("q", "70", "r4", at(8), True, ""),
        ("photos", "70", "f4", at(9), False, "ไม่ใช่ไฟล์ภาพ"),
    )
    result = evaluate(campaign(Override("96", None, excused=True, reason="ยกเว้น")), data, at(12))
    by_code = {u.code: u for u in result.units}
    assert by_code["95"].status == "complete"
    assert by_code["96"].status == "excused"
    assert by_code["70"].status == "waiting"  # photos: nothing valid yet, before the deadline
    assert by_code["70"].deliverables["q"].status == "late"
    assert by_code["70"].deliverables["photos"].invalid == 1
    assert by_code["70"].deliverables["photos"].reasons == ("ไม่ใช่ไฟล์ภาพ",)
    assert result.rates_by_deliverable["q"].completeness == 1.0  # 95 and 70 of 2 expected (96 excused)
    assert result.rates_by_deliverable["q"].timeliness == 0.5
    assert result.rates.units_expected == 2 and result.rates.units_complete == 1


def test_extended_due_date_override():
    data = items(("q", "95", "r1", at(8), True, ""), ("q", "95", "r2", at(9), True, ""))
    plain = evaluate(campaign(), data, at(12))
    extended = evaluate(campaign(Override("95", "q", due_at=at(10, 23))), data, at(12))
    assert plain.units[0].deliverables["q"].status == "late"
    assert extended.units[0].deliverables["q"].status == "complete"


def test_unit_status_is_the_most_urgent():
    data = items(("q", "95", "r1", at(2), True, ""))
    result = evaluate(campaign(), data, at(8, 12))  # q overdue, photos waiting
    assert result.units[0].status == "overdue"
    assert result.units[1].status == "missing"
