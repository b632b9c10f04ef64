"""A run that read almost nothing is not ok: `degraded` in the run log and the terminal, exit 4, no
reminder on that source's deliverables (the others still go), and the coordinators' digest opens with it."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner
from small_workspace import AS_OF, write_workspace
from smtp_server import smtp_server

from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.cli.main import EXIT_DEGRADED, cli
from ingest.config import load_campaign
from ingest.errors import ConfigError
from ingest.health import SourceRead, too_many_rejected

# Impossible dates in the shape Google writes ("2022/11/07 11:59:59 PM GMT+7"): unreadable whatever
# the parser, so every row of this export is rejected.
BROKEN = "2022/13/45 25:61:00 PM GMT+7"
ROWS = [[BROKEN, province, f"ผู้ตอบ {i}", "ดี"] for i, province in enumerate(["ยะลา", "ยะลา", "ราชบุรี", "ตาก"])]
GOOD = [["2022-11-05 10:00:00", province, f"ผู้ตอบ {i}", "ดี"] for i, province in enumerate(["ยะลา", "ราชบุรี"] * 5)]

SHARES = {
    "nothing offered": (0, 0, 0.2, False),
    "none rejected": (100, 0, 0.2, False),
    "exactly the share": (10, 2, 0.2, False),
    "more than the share": (10, 3, 0.2, True),
    "all rejected, even when any share is allowed": (5, 5, 1.0, True),
    "one rejected with a zero share": (1000, 1, 0.0, True),
}


@pytest.mark.parametrize(("read", "rejected", "share", "degraded"), SHARES.values(), ids=SHARES.keys())
def test_when_a_source_read_too_little(read, rejected, share, degraded):
    assert too_many_rejected(SourceRead(read, rejected), share) is degraded


@pytest.mark.parametrize(("value", "share"), [(None, 0.2), (0.05, 0.05), ("5%", 0.05), ("100%", 1.0), (0, 0.0)])
def test_max_rejected_is_a_share_or_a_percentage(tmp_path, value, share):
    config = write_workspace(tmp_path, GOOD, max_rejected=value)
    assert load_campaign(config).sources["form"].max_rejected == share


@pytest.mark.parametrize("value", ["many", 1.5, "120%", -0.1, True])
def test_a_bad_max_rejected_is_named_with_its_key(tmp_path, value):
    config = write_workspace(tmp_path, GOOD, max_rejected=value)
    with pytest.raises(ConfigError) as caught:
        load_campaign(config)
    assert "sources.form.max_rejected" in str(caught.value) and '"20%"' in str(caught.value)


def smtp_mail(port: int) -> dict:
    return {"backend": "smtp", "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5},
            "sender": "ทีมติดตาม <tidtam@example.go.th>", "reply_to": "cdi@example.go.th",
            "coordinators": ["cdi@example.go.th"],
            "alerts": {"stages": [-3, -1, 1], "repeat_every": 3, "repeat_max": 3, "digest_at": "08:00"}}


def test_an_export_whose_every_timestamp_is_unreadable_degrades_the_run(tmp_path):
    with smtp_server() as (inbox, port):
        config = write_workspace(tmp_path, ROWS, mail=smtp_mail(port))
        result = CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF, "--email"])
    assert result.exit_code == EXIT_DEGRADED == 4, result.output
    assert "degraded: source form could not read 4 of 4 rows" in result.output
    assert "statuses of แบบสอบถาม above are not reliable" in result.output
    assert "first: responses.csv row 2: timestamp shaped" in result.output

    run = XlsxWarehouse(tmp_path / "warehouse.xlsx").read()["runs"][-1]
    assert run[4] == "degraded"
    assert run[-1].startswith("degraded: source form could not read 4 of 4 rows (all of them)")
    assert "first: responses.csv row 2: timestamp shaped '9999/99/99 99:99:99 aa aaa+9' is not a date" in run[-1]

    messages = inbox.messages()
    digests = [m for m in messages if m["X-Tidtam-Stage"] == "digest"]
    reminders = [m for m in messages if m not in digests]
    # Every province owes photos (due in 3 days) and still gets that reminder; the questionnaire, whose
    # rows could not be read, is in none of them, though all three "miss" it on paper.
    assert sorted(m["X-Tidtam-Unit"] for m in reminders) == ["63", "70", "95"]
    assert all(m["X-Tidtam-Stage"] == "photos=before_3d" for m in reminders), [m["X-Tidtam-Stage"] for m in reminders]
    for reminder in reminders:
        text = reminder.get_body(("plain",)).get_content()
        assert "ภาพถ่าย" in text and "แบบสอบถาม" not in text
    (digest,) = digests
    assert digest["Subject"].startswith("⚠ อ่านข้อมูลไม่ครบ: สรุปการติดตามข้อมูล")
    text = digest.get_body(("plain",)).get_content()
    assert text.startswith("⚠ คำเตือน: รอบนี้ระบบอ่านข้อมูลบางแหล่งไม่ได้")
    assert "แบบสอบถาม (แหล่งข้อมูล form): อ่านไม่ได้ทั้งหมด 4 แถว" in text.split("เรียน ผู้ประสานงานโครงการ")[0]
    assert "ยังไม่ส่ง (เลยกำหนด): 0 จังหวัด" in text  # not "missing" on the strength of unreadable rows
    html = digest.get_body(("html",)).get_content()
    assert html.index("⚠ คำเตือน") < html.index("เรียน ผู้ประสานงานโครงการ")


def test_a_degraded_read_keeps_the_last_good_one(tmp_path):
    config = write_workspace(tmp_path, GOOD)
    assert CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF]).exit_code == 0
    write_workspace(tmp_path, ROWS)  # the same export, re-saved with its timestamps broken
    result = CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF])
    assert result.exit_code == 4, result.output
    book = XlsxWarehouse(tmp_path / "warehouse.xlsx").read()
    assert len(book["responses"]) - 1 == len(GOOD)  # not emptied by the broken read
    assert [r[4] for r in book["runs"][1:]] == ["ok", "degraded"]
    with sqlite3.connect(tmp_path / "state.sqlite") as db:
        counts = db.execute("SELECT counts FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()[0]
    sources = json.loads(counts)["sources"]
    assert (sources["form"]["read"], sources["form"]["rejected"], len(sources["form"]["reasons"])) == (4, 4, 3)
    assert sources["uploads"] == {"read": 0, "rejected": 0, "reasons": []}


def test_the_alerts_command_withholds_what_the_degraded_sync_withheld(tmp_path):
    config = write_workspace(tmp_path, ROWS, mail={**smtp_mail(1), "backend": "outbox"})
    assert CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF, "--no-email"]).exit_code == 4
    result = CliRunner().invoke(cli, ["alerts", "--config", str(config), "--as-of", AS_OF, "--dry-run"])
    assert result.exit_code == 0, result.output
    reminders = [line for line in result.output.splitlines() if " reminder " in line]
    assert len(reminders) == 3 and all("photos" in line and "questionnaire" not in line for line in reminders)


def test_a_few_unreadable_rows_within_the_share_are_ok_and_a_lower_share_degrades(tmp_path):
    rows = GOOD + [ROWS[0]]  # 1 of 11 unreadable: 9%
    config = write_workspace(tmp_path, rows)
    assert CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF]).exit_code == 0
    config = write_workspace(tmp_path, rows, max_rejected="5%")
    result = CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF])
    assert result.exit_code == 4 and "could not read 1 of 11 rows" in result.output, result.output
    assert XlsxWarehouse(tmp_path / "warehouse.xlsx").read()["runs"][-1][-1].startswith(
        "degraded: source form could not read 1 of 11 rows (9%, more than the 5% allowed)")


def test_serve_keeps_running_through_degraded_runs(tmp_path):
    from ingest.scheduler import serve

    config = write_workspace(tmp_path, ROWS)
    config.write_text(config.read_text(encoding="utf-8") + "schedule:\n  every: 1s\n", encoding="utf-8")
    outcomes = serve(config, max_runs=2)
    assert outcomes["degraded"] == 2 and outcomes["failed"] == 0
