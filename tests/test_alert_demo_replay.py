"""Replay the demo campaign (the workspace `tidtam demo` writes) day by day through the CLI, with a real
SMTP server on loopback: `sync --as-of <day> 09:00 --email` for 1–20 Nov 2565.

The expected mails are worked out here from the statuses alone and the policy written out by hand,
not by the planner: a unit gets a reminder on a day when a deliverable it still owes has reached a
stage (3 and 1 days before its deadline, 1 day after, then every 3 days, 3 times) that it has not
been sent yet; only the latest stage reached counts. The coordinators get one digest a day.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from smtp_server import smtp_server

from ingest.cli.main import cli
from ingest.demo import write_demo

DAYS = range(1, 21)
OWED = {"waiting", "partial", "missing", "overdue"}
STAGES = (("before_3d", -3), ("before_1d", -1), ("after_1d", 1), ("repeat_1", 4), ("repeat_2", 7), ("repeat_3", 10))
DEADLINES = {"questionnaire": date(2022, 11, 7), "record": date(2022, 11, 15), "photos": date(2022, 11, 15)}
EXTENDED = {"95": date(2022, 11, 18)}  # the demo's override moves every deadline of unit 95


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-replay")
    write_demo(root)
    config = root / "config.yaml"
    with smtp_server() as (inbox, port):
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        raw["mail"] |= {"backend": "smtp", "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}}
        config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        days = {}
        for day in DAYS:
            as_of = f"2022-11-{day:02d}T09:00"
            before = len(inbox.received)
            invoke("sync", "--config", str(config), "--as-of", as_of, "--email")
            statuses = json.loads(invoke("status", "--config", str(config), "--as-of", as_of, "--format", "json"))
            days[day] = (statuses, inbox.received[before:])
    return root, days


def expected_mails(days: dict) -> dict[int, set[tuple[str, str, str]]]:
    """Day → the (unit, deliverable, stage) a reminder must cover that day."""
    sent: set[tuple[str, str, str]] = set()
    out = {}
    for day, (statuses, _) in days.items():
        today = date(2022, 11, day)
        due = set()
        for unit in statuses["units"]:
            for deliverable, cell in unit["deliverables"].items():
                if cell["status"] not in OWED:
                    continue
                deadline = EXTENDED.get(unit["code"], DEADLINES[deliverable])
                reached = [name for name, offset in STAGES if deadline + timedelta(days=offset) <= today]
                if reached and (unit["code"], deliverable, reached[-1]) not in sent:
                    due.add((unit["code"], deliverable, reached[-1]))
        sent |= due
        out[day] = due
    return out


def test_each_day_exactly_the_units_the_policy_names_get_one_reminder(replay):
    _, days = replay
    expected = expected_mails(days)
    for day, (_, received) in days.items():
        reminders = [r for r in received if r.rcpt_tos != ["cdi@example.go.th"] and not _review(r)]
        units = [r.rcpt_tos[0].removeprefix("cdd").split("@")[0] for r in reminders]
        assert len(units) == len(set(units)), f"{day} Nov: a unit got two reminders"
        assert set(units) == {code for code, _, _ in expected[day]}, f"{day} Nov"
    assert sum(len(v) for v in expected.values()) > 200  # the replay exercises every stage, not a trivial case
    assert {stage for due in expected.values() for _, _, stage in due} == {name for name, _ in STAGES}


def _review(received) -> bool:
    """The demo's coordinator rejected one photo (ingest.demo): its unit gets one review mail, not a reminder."""
    return received.message["X-Tidtam-Stage"].endswith("=review")


def test_the_rejected_photo_is_mailed_once_to_its_unit_after_it_arrived(replay):
    _, days = replay
    mailed = [(day, r.rcpt_tos) for day, (_, received) in days.items() for r in received
              if r.rcpt_tos != ["cdi@example.go.th"] and _review(r)]
    assert len(mailed) == 1
    day, to = mailed[0]
    assert to[0].startswith("cdd31@")


def test_the_alert_log_holds_exactly_those_stages(replay):
    root, days = replay
    expected = set().union(*expected_mails(days).values())
    with sqlite3.connect(root / "tidtam-state.sqlite") as db:
        logged = set(db.execute("SELECT unit, deliverable, stage FROM alert_stages WHERE unit != '*' "
                                "AND stage NOT LIKE 'review:%'"))
        assert [u for (u,) in db.execute("SELECT unit FROM alert_stages WHERE stage LIKE 'review:%'")] == ["31"]
        statuses = {row[0] for row in db.execute("SELECT status FROM alert_messages")}
    assert logged == expected
    assert statuses == {"sent"}


def test_one_digest_a_day_in_thai(replay):
    _, days = replay
    for day, (_, received) in days.items():
        digests = [r.message for r in received if r.rcpt_tos == ["cdi@example.go.th"]]
        assert len(digests) == 1, f"{day} Nov"
        assert digests[0]["Subject"].startswith(f"สรุปการติดตามข้อมูล วันที่ {day} พฤศจิกายน 2565")


def test_a_reminder_says_what_is_owed_in_thai(replay):
    _, days = replay
    _, received = days[8]  # the day after the questionnaire's deadline
    message = next(r.message for r in received if r.rcpt_tos != ["cdi@example.go.th"])
    body = message.get_body(("plain",)).get_content()
    assert "แบบสอบถาม" in body and "7 พฤศจิกายน 2565" in body
    assert Path(message["To"].addresses[0].addr_spec).name.endswith("@example.go.th")
