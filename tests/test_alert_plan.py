"""The alert policy and the pure planner: stages, exactly-which-units, budget, quiet hours, digest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

import pytest
from alert_fixtures import DUE_U, PHOTOS, at, campaign, delivered, items, mail_section, unit

from ingest.alerts.plan import StageKey, due_stage, plan_alerts, plan_digest
from ingest.alerts.policy import AlertPolicy, QuietHours, alert_policy_from_config
from ingest.campaign import Override
from ingest.status import evaluate
from ingest.thaidate import BANGKOK


def policy(**alerts) -> AlertPolicy:
    problems: list[str] = []
    result = alert_policy_from_config(mail_section(**alerts), problems)
    assert problems == []
    return result


# -- config ----------------------------------------------------------------------------------

CONFIG_CASES = {
    "defaults": ({}, [], {"stage_days": (-3, -1, 1), "repeat_every": 3, "repeat_max": 3, "daily_budget": 100}),
    "Thai digits and signs": ({"stages": ["-๓", "+1"]}, [], {"stage_days": (-3, 1)}),
    "a stage in words": ({"stages": [-3, -1, "3 วัน"]},
                         ["mail.alerts.stages[2]: '3 วัน' is not a number of days"], {}),
    "a stage twice": ({"stages": [-1, -1]}, ["mail.alerts.stages[1]: -1 appears twice"], {}),
    "budget not a number": ({"daily_budget": "lots"}, ["mail.alerts.daily_budget: 'lots' must be a whole number"], {}),
    "quiet hours over midnight": ({"quiet_hours": "20:00-07:00"}, [], {}),
    "quiet hours garbled": ({"quiet_hours": "night"}, ["mail.alerts.quiet_hours: 'night' must be a window"], {}),
    "unquoted 08:00 read by YAML as 480": ({"digest_at": 480}, [], {}),
    "unknown key": ({"stagez": [1]}, ["mail.alerts.stagez: is not a known key"], {}),
    "cc without coordinators": ({"cc_coordinators": True}, [], {}),
}


@pytest.mark.parametrize(("alerts", "expected_problems", "expected"), CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_policy_from_config(alerts, expected_problems, expected):
    problems: list[str] = []
    result = alert_policy_from_config(mail_section(**alerts), problems)
    assert len(problems) == len(expected_problems)
    for problem, start in zip(problems, expected_problems, strict=True):
        assert problem.startswith(start)
    for key, value in expected.items():
        assert getattr(result, key) == value


def test_policy_reports_mail_keys_with_paths():
    problems: list[str] = []
    alert_policy_from_config({"backend": "smtp", "sender": "tidtam at example", "coordinators": ["ok@example.go.th",
                              "bad@@example"], "alerts": {"cc_coordinators": "yes"}}, problems)
    assert any(p.startswith("mail.sender: ") for p in problems)
    assert any(p.startswith("mail.coordinators[1]: 'bad@@example'") for p in problems)
    assert any(p.startswith("mail.smtp.host: is required") for p in problems)
    assert any(p.startswith("mail.alerts.cc_coordinators: 'yes' must be true or false") for p in problems)


def test_no_mail_section_means_no_email():
    assert alert_policy_from_config(None, []).enabled is False
    assert alert_policy_from_config({}, []).enabled is False


def test_stages_with_repeats():
    names = [(s.name, s.offset) for s in policy(stages=[-3, -1, 1], repeat_every=2, repeat_max=2).stages]
    assert names == [("before_3d", -3), ("before_1d", -1), ("after_1d", 1), ("repeat_1", 3), ("repeat_2", 5)]


@pytest.mark.parametrize(("moment", "inside"), [(at(1, 21), True), (at(1, 6, 59), True), (at(1, 7), False),
                                               (at(1, 19, 59), False), (datetime(2022, 11, 1, 14, tzinfo=BANGKOK), False)])
def test_quiet_hours_wrap_midnight(moment, inside):
    assert QuietHours(time(20, 0), time(7, 0)).contains(moment) is inside


# -- stages ----------------------------------------------------------------------------------

STAGE_DAYS = {11: None, 12: "before_3d", 13: "before_3d", 14: "before_1d", 15: "before_1d", 16: "after_1d",
              18: "after_1d", 19: "repeat_1", 22: "repeat_2", 25: "repeat_3", 30: "repeat_3"}


@pytest.mark.parametrize(("day", "expected"), STAGE_DAYS.items(), ids=[f"{d} Nov" for d in STAGE_DAYS])
def test_due_stage_by_calendar_day_in_bangkok(day, expected):
    stage = due_stage(policy().stages, DUE_U, at(day, 0, 1))
    assert (stage.name if stage else None) == expected


# -- plan_alerts -----------------------------------------------------------------------------

UNITS = [unit("95", "ยะลา"), unit("70", "ราชบุรี"), unit("33", "ศรีสะเกษ")]
DONE_Q = [r for code in ("95", "70", "33") for r in delivered("questionnaire", code, 10, at(2))]
DONE_U = [r for code in ("95", "70", "33") for d, n in (("record", 1), ("photos", 5))
          for r in delivered(d, code, n, at(9))]


def key(code: str, deliverable: str, stage: str, deadline: datetime = DUE_U) -> StageKey:
    return StageKey(code, deliverable, stage, deadline)


DQ = datetime(2022, 11, 7, 23, 59, 59, tzinfo=BANGKOK)

PLAN_CASES = {
    "before the first stage: nothing": ([], set(), at(3), {}),
    "first stage of the questionnaire, uploads listed only": (
        [], set(), at(4), {c: {("questionnaire", "before_3d")} for c in ("95", "70", "33")}),
    "complete units get nothing": (DONE_Q + DONE_U, set(), at(16), {}),
    "a recorded stage is not sent again": (
        DONE_U, {key(c, "questionnaire", "before_3d", DQ) for c in ("95", "70", "33")}, at(5), {}),
    "missed stages: only the latest is sent": (
        DONE_U, set(), at(10), {c: {("questionnaire", "after_1d")} for c in ("95", "70", "33")}),
    "two deliverables at their stages share one mail": (
        DONE_U[:6], set(), at(14),
        {"95": {("questionnaire", "repeat_2")},
         **{c: {("questionnaire", "repeat_2"), ("record", "before_1d"), ("photos", "before_1d")} for c in ("70", "33")}}),
    "partial uploads: only what is owed": (
        DONE_Q + delivered("record", "95", 1, at(9)) + delivered("photos", "95", 3, at(9)), set(), at(12),
        {"95": {("photos", "before_3d")}, "70": {("record", "before_3d"), ("photos", "before_3d")},
         "33": {("record", "before_3d"), ("photos", "before_3d")}}),
    "a late completion is not chased": (
        delivered("questionnaire", "95", 10, at(9)) + DONE_U, set(), at(11),
        {"70": {("questionnaire", "repeat_1")}, "33": {("questionnaire", "repeat_1")}}),
    "repeats stop after repeat_max": (
        DONE_U, {key(c, "questionnaire", "repeat_3", DQ) for c in ("95", "70", "33")}, at(30), {}),
    "invalid items do not count and still owe": (
        DONE_Q + delivered("record", "95", 0, at(9), invalid=["แบบบันทึกมีรูปภาพอยู่ในไฟล์"])
        + [r for r in DONE_U if r[1] != "95" or r[0] == "photos"], set(), at(14), {"95": {("record", "before_1d")}}),
}


@pytest.mark.parametrize(("rows", "already", "now", "expected"), PLAN_CASES.values(), ids=PLAN_CASES.keys())
def test_plan_alerts(rows, already, now, expected):
    c = campaign(UNITS)
    plan = plan_alerts(c, evaluate(c, items(rows), now), policy(), already, now)
    got = {r.unit.code: {(t.deliverable, t.stage.name) for t in r.triggers} for r in plan.send}
    assert got == expected
    assert not plan.queued and not plan.held


def test_a_mail_lists_everything_owed_not_only_what_triggered():
    c = campaign(UNITS[:1])
    rows = delivered("questionnaire", "95", 7, at(3)) + delivered("photos", "95", 3, at(5))
    plan = plan_alerts(c, evaluate(c, items(rows), at(8)), policy(), set(), at(8))
    (reminder,) = plan.send
    assert [t.deliverable for t in reminder.triggers] == ["questionnaire"]
    assert [(line.deliverable.id, line.stage is not None) for line in reminder.lines] == [
        ("questionnaire", True), ("photos", False), ("record", False)]  # by deadline, then partial before none
    assert reminder.stage.name == "after_1d"


def test_excused_deliverable_is_not_chased():
    c = campaign(UNITS[:1], overrides=[Override("95", "photos", excused=True, reason="ยกเว้น")])
    rows = delivered("questionnaire", "95", 10, at(2)) + delivered("record", "95", 1, at(9))
    plan = plan_alerts(c, evaluate(c, items(rows), at(16)), policy(), set(), at(16))
    assert plan.send == ()


def test_an_extension_starts_the_stages_again():
    extended = datetime(2022, 11, 18, 23, 59, 59, tzinfo=BANGKOK)
    c = campaign(UNITS[:1], overrides=[Override("95", None, due_at=extended, reason="ขยายเวลา")])
    rows = delivered("questionnaire", "95", 10, at(2))
    already = {key("95", "record", "before_3d"), key("95", "photos", "before_3d")}  # sent before the extension
    plan = plan_alerts(c, evaluate(c, items(rows), at(15)), policy(), already, at(15))
    assert {(k.deliverable, k.stage, k.deadline) for k in plan.send[0].keys} == {
        ("record", "before_3d", extended), ("photos", "before_3d", extended)}


def test_not_chased_before_the_deliverable_opens():
    c = campaign(UNITS[:1], deliverables=[replace(PHOTOS, opens_at=at(14))])
    plan = plan_alerts(c, evaluate(c, items([]), at(13)), policy(), set(), at(13))
    assert plan.send == ()


def test_bad_addresses_reported_good_ones_used():
    c = campaign([unit("95", "ยะลา", "ok@example.go.th", "not an address", "x@y.go.th\r\nBcc: evil@example.com"),
                  unit("70", "ราชบุรี", "nobody")])
    plan = plan_alerts(c, evaluate(c, items([]), at(4)), policy(), set(), at(4))
    assert [(r.unit.code, r.to) for r in plan.send] == [("95", ("ok@example.go.th",))]
    assert [r.unit.code for r in plan.no_address] == ["70"]
    assert {(p.unit, p.address) for p in plan.address_problems} == {
        ("95", "not an address"), ("95", "x@y.go.th\r\nBcc: evil@example.com"), ("70", "nobody")}


def test_budget_most_urgent_first_rest_queued():
    units = [unit(code, name) for code, name in (("95", "ยะลา"), ("70", "ราชบุรี"), ("33", "ศรีสะเกษ"),
                                                 ("34", "อุบลราชธานี"))]
    c = campaign(units)
    # 33 sent nothing (missing), 70 part (overdue), 95 and 34 only owe the uploads (waiting).
    rows = (delivered("questionnaire", "70", 4, at(3)) + delivered("questionnaire", "95", 10, at(3))
            + delivered("questionnaire", "34", 10, at(3)))
    evaluation = evaluate(c, items(rows), at(12))
    plan = plan_alerts(c, evaluation, policy(daily_budget=5), set(), at(12), budget_used=3)
    assert [r.unit.code for r in plan.send] == ["33", "70"]
    assert [r.unit.code for r in plan.queued] == ["34", "95"]
    assert plan.budget_left == 0


def test_coordinator_cc_counts_in_the_budget():
    c = campaign(UNITS)
    plan = plan_alerts(c, evaluate(c, items([]), at(4)), policy(cc_coordinators=True, daily_budget=5), set(), at(4))
    assert [r.recipients for r in plan.send] == [2, 2]
    assert len(plan.queued) == 1


def test_quiet_hours_hold_everything():
    c = campaign(UNITS)
    plan = plan_alerts(c, evaluate(c, items([]), at(4, 21)), policy(quiet_hours="20:00-07:00"), set(), at(4, 21))
    assert plan.send == () and len(plan.held) == 3


# -- plan_digest -----------------------------------------------------------------------------

def test_digest_once_a_day_after_its_hour_with_new_breaches_only():
    c = campaign(UNITS)
    rows = DONE_Q + delivered("record", "95", 0, at(9), invalid=["แบบบันทึกมีรูปภาพอยู่ในไฟล์"])
    evaluation = evaluate(c, items(rows), at(16))
    p = policy(digest_at="08:00")
    assert plan_digest(c, evaluation, p, at(16, 7), last_day=None, reported=set()) is None
    assert plan_digest(c, evaluation, p, at(16, 9), last_day=date(2022, 11, 16), reported=set()) is None
    digest = plan_digest(c, evaluation, p, at(16, 9), last_day=date(2022, 11, 15), reported=set())
    assert [b.reason for b in digest.new_breaches] == ["แบบบันทึกมีรูปภาพอยู่ในไฟล์"]
    assert [s.unit for s in digest.missing] == ["95", "70", "33"]
    again = plan_digest(c, evaluation, p, at(17, 9), last_day=date(2022, 11, 16),
                        reported={b.key for b in digest.breaches})
    assert again.new_breaches == ()


def test_no_digest_when_everything_is_in():
    c = campaign(UNITS)
    evaluation = evaluate(c, items(DONE_Q + DONE_U), at(16))
    assert plan_digest(c, evaluation, policy(), at(16), last_day=None, reported=set()) is None
