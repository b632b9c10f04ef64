"""Replay the November 2565 campaign day by day (1–20 Nov, twice a day, a fresh process each run) through a
real SMTP server: every unit gets exactly the mails the policy says, and the coordinators one digest a day."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest
from alert_fixtures import at, campaign, delivered, items, mail_section
from smtp_server import smtp_server

from connectors.smtp import SmtpMailer
from ingest.alerts.log import AlertLog
from ingest.alerts.send import send_alerts
from ingest.campaign import Override
from ingest.publish.analyst import alerts_table
from ingest.state import StateStore
from ingest.status import evaluate
from ingest.thaidate import BANGKOK
from ingest.units import registry_units

PICTURE = "แบบบันทึกมีรูปภาพอยู่ในไฟล์"
EXTENDED = datetime(2022, 11, 18, 23, 59, 59, tzinfo=BANGKOK)

# What each scenario's unit sends, as (deliverable, count, day, hour, invalid reasons).
SCENARIOS = {
    "on_time": [("questionnaire", 10, 3, 10, ()), ("record", 1, 10, 10, ()), ("photos", 5, 10, 10, ())],
    "q_partial": [("questionnaire", 7, 3, 10, ()), ("record", 1, 10, 10, ()), ("photos", 5, 10, 10, ())],
    "q_late": [("questionnaire", 9, 3, 10, ()), ("questionnaire", 1, 9, 10, ()), ("record", 1, 10, 10, ()),
               ("photos", 5, 10, 10, ())],
    "q_last_minute": [("questionnaire", 10, 6, 20, ()), ("record", 1, 10, 10, ()), ("photos", 5, 10, 10, ())],
    "nothing": [],
    "record_picture": [("questionnaire", 10, 3, 10, ()), ("record", 0, 10, 10, (PICTURE,)), ("photos", 5, 10, 10, ())],
    "record_fixed": [("questionnaire", 10, 3, 10, ()), ("record", 0, 10, 10, (PICTURE,)), ("record", 1, 13, 15, ()),
                     ("photos", 5, 10, 10, ())],
    "photos_short": [("questionnaire", 10, 3, 10, ()), ("record", 1, 10, 10, ()), ("photos", 3, 10, 10, ())],
    "bad_address": [],
}

# The policy (-3, -1, +1 days, then every 3 days, at most 3 times), written out by hand: day → stages.
Q = {4: "before_3d", 6: "before_1d", 8: "after_1d", 11: "repeat_1", 14: "repeat_2", 17: "repeat_3"}  # due 7 Nov
U = {12: "before_3d", 14: "before_1d", 16: "after_1d", 19: "repeat_1"}  # due 15 Nov (repeat_2 is 22 Nov)
X = {15: "before_3d", 17: "before_1d", 19: "after_1d"}  # unit 95: everything extended to 18 Nov


def _mails(**by_deliverable: dict[int, str]) -> dict[int, set[tuple[str, str]]]:
    days: dict[int, set[tuple[str, str]]] = {}
    for deliverable, stages in by_deliverable.items():
        for day, stage in stages.items():
            days.setdefault(day, set()).add((deliverable, stage))
    return days


EXPECTED = {
    "on_time": {},
    "q_partial": _mails(questionnaire=Q),
    "q_late": _mails(questionnaire={d: s for d, s in Q.items() if d <= 8}),  # complete (late) on 9 Nov
    "q_last_minute": _mails(questionnaire={4: "before_3d", 6: "before_1d"}),  # the 10th arrived 6 Nov, 20:00
    "nothing": _mails(questionnaire=Q, record=U, photos=U),
    "record_picture": _mails(record=U),
    "record_fixed": _mails(record={12: "before_3d"}),
    "photos_short": _mails(photos=U),
    "bad_address": {},  # no valid address: reported to the coordinators, never sent
    "extended (95)": _mails(questionnaire=X, record=X, photos=X),
    "photos excused (96)": {},
}


def _units():
    units = []
    for index, unit in enumerate(registry_units("province", exclude=["10"])):
        scenario = list(SCENARIOS)[index % len(SCENARIOS)]
        if unit.code == "95":
            scenario = "extended (95)"
        elif unit.code == "96":
            scenario = "photos excused (96)"
        emails = ("ไม่มีอีเมล",) if scenario == "bad_address" else (f"cdd{unit.code}@example.go.th",)
        units.append((replace(unit, emails=emails), scenario))
    return units


def _rows(units) -> list:
    rows = []
    for unit, scenario in units:
        if scenario == "extended (95)":
            continue  # sends nothing, by its extended deadline
        if scenario == "photos excused (96)":
            plan = [("questionnaire", 10, 3, 10, ()), ("record", 1, 10, 10, ())]
        else:
            plan = SCENARIOS[scenario]
        for deliverable, count, day, hour, invalid in plan:
            rows += delivered(deliverable, unit.code, count, at(day, hour), invalid=invalid)
    return rows


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    units = _units()
    c = campaign([u for u, _ in units], mail=mail_section(),
                 overrides=[Override("95", None, due_at=EXTENDED, reason="ขยายเวลาตามหนังสือขอขยายเวลา"),
                            Override("96", "photos", excused=True, reason="สถานการณ์ในพื้นที่ไม่เอื้อต่อการถ่ายภาพ")])
    table = items(_rows(units))
    state_path = tmp_path_factory.mktemp("replay") / "state.sqlite"
    reports = []
    with smtp_server() as (inbox, port):
        for day in range(1, 21):
            for hour in (9, 17):
                now = at(day, hour)
                mailer = SmtpMailer("127.0.0.1", port, security="none", timeout=5)
                state = StateStore(state_path)  # a fresh process each run
                try:
                    reports.append(send_alerts(c, evaluate(c, table, now), state, mailer, now))
                finally:
                    state.close()
                    mailer.close()
    return units, inbox, reports, state_path


def test_every_unit_gets_exactly_the_policy_mails(replay):
    units, inbox, _, _ = replay
    got: dict[str, dict[int, set[tuple[str, str]]]] = {}
    for message in inbox.messages():
        if message["X-Tidtam-Stage"] == "digest":
            continue
        day = int(message["Date"].split()[1])
        triggers = {tuple(part.split("=")) for part in message["X-Tidtam-Stage"].split("; ")}
        assert day not in got.setdefault(message["X-Tidtam-Unit"], {}), "two mails to one unit on one day"
        got[message["X-Tidtam-Unit"]][day] = triggers
    for unit, scenario in units:
        assert got.get(unit.code, {}) == EXPECTED[scenario], (unit.code, scenario)


def test_one_digest_a_day_to_the_coordinators(replay):
    _, inbox, _, _ = replay
    digests = [int(m["Date"].split()[1]) for m in inbox.messages() if m["X-Tidtam-Stage"] == "digest"]
    assert digests == list(range(1, 21))


def test_nothing_queued_held_or_failed_and_all_logged(replay):
    units, inbox, reports, state_path = replay
    assert all(not r.plan.queued and not r.plan.held and not r.stopped for r in reports)
    assert Counter(o.status for r in reports for o in r.outcomes) == {"sent": len(inbox.received)}
    bad = {u.code for u, s in units if s == "bad_address"}
    assert {p.unit for r in reports for p in r.plan.address_problems} == bad
    rows = alerts_table(AlertLog(StateStore(state_path)).messages()).rows
    assert len(rows) == len(inbox.received) and {row[12] for row in rows} == {"sent"}


def replay_table(inbox) -> dict[int, Counter]:
    """Mails per day and per headline stage (for the closing note)."""
    per_day: dict[int, Counter] = {}
    for message in inbox.messages():
        day = int(message["Date"].split()[1])
        stages = [p.split("=")[-1] for p in message["X-Tidtam-Stage"].split("; ")]
        order = ["digest", "before_3d", "before_1d", "after_1d", "repeat_1", "repeat_2", "repeat_3"]
        per_day.setdefault(day, Counter())[max(stages, key=order.index)] += 1
    return per_day
