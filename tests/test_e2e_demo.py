"""End to end: `tidtam demo`, `sync` and `status` on a generated workspace; what coordinators see."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.cli.main import cli
from ingest.demo import DEMO_EXPORT, DOWNLOADED_AT, FORM_TITLE, write_demo
from ingest.demo_forms import forms_download_zip

AS_OF = "2022-11-12T17:00"

# What each demo scenario must show on 12 Nov 2565 17:00 (questionnaire due 7 Nov, uploads due 15 Nov).
QUESTIONNAIRE = {"complete": "complete", "late": "late", "partial": "overdue", "missing": "missing",
                 "repeat": "complete", "early_test": "overdue"}
UPLOADS = {  # scenario → (record, photos)
    "complete": ("complete", "complete"), "photos_short": ("complete", "partial"), "nothing": ("waiting", "waiting"),
    "record_picture": ("waiting", "complete"), "record_pdf": ("waiting", "complete"),
    "record_doc_renamed": ("waiting", "complete"), "no_consent": ("waiting", "complete"),
    "duplicate_photos": ("complete", "partial"), "loose_files": ("complete", "complete"),
}


@pytest.fixture(scope="module")
def workspace(demo_workspace, tmp_path_factory):
    shared, output = demo_workspace  # `tidtam demo`, run once per session (conftest.py)
    assert "76" in output and "workbook:" in output
    root = tmp_path_factory.mktemp("demo") / "ws"
    shutil.copytree(shared, root)  # the tests below sync it again and rewrite its files
    return root


def status_json(workspace: Path, as_of: str = AS_OF) -> dict:
    result = CliRunner().invoke(cli, ["status", "--config", str(workspace / "config.yaml"), "--as-of", as_of,
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def expected_statuses(code: str, questionnaire: str, uploads: str) -> dict[str, str]:
    q = QUESTIONNAIRE[questionnaire]
    if code == "95":  # extended to 18 Nov by an override: nothing is past its deadline yet
        q = {"late": "complete", "overdue": "partial", "missing": "waiting"}.get(q, q)
    record, photos = UPLOADS[uploads]
    if code == "96":
        photos = "excused"
    return {"questionnaire": q, "record": record, "photos": photos}


def test_every_unit_has_the_status_its_scenario_implies(workspace):
    scenarios = write_demo(workspace).scenarios  # deterministic: the same files again
    data = status_json(workspace)
    assert data["as_of"] == "2022-11-12T17:00:00+07:00"
    assert len(data["units"]) == 76
    for unit in data["units"]:
        expected = expected_statuses(unit["code"], *scenarios[unit["code"]])
        got = {d: v["status"] for d, v in unit["deliverables"].items()}
        assert got == expected, (unit["code"], unit["name"], scenarios[unit["code"]])


def test_rule_breaks_are_counted_and_explained(workspace):
    scenarios = write_demo(workspace).scenarios
    units = {u["code"]: u for u in status_json(workspace)["units"]}
    tracking = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()["tracking"]
    reasons = {row[0]: row[9] or "" for row in tracking[2:]}
    for code, (_, uploads) in scenarios.items():
        record = units[code]["deliverables"]["record"]
        if uploads == "record_picture":
            assert record["invalid"] == 1 and "รูปภาพ" in reasons[code]
        if uploads == "record_pdf":
            assert "PDF" in reasons[code]
        if uploads == "record_doc_renamed":
            assert ".doc" in reasons[code]
        if uploads == "duplicate_photos":
            assert units[code]["deliverables"]["photos"]["received"] == 4
            assert "ซ้ำ" in reasons[code]


def test_workbook_tabs_and_rows(workspace):
    book = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()
    assert list(book) == ["tracking", "progress", "status", "responses", "files", "focus_group", "problems", "runs",
                          "alerts"]
    tracking = book["tracking"]
    assert tracking[1][:3] == ["รหัส", "หน่วยงาน", "สถานะรวม"]
    assert len(tracking) == 2 + 76
    assert {row[2] for row in tracking[2:]} <= {"ครบ", "ครบ (ส่งช้า)", "รอส่ง", "ส่งบางส่วน", "ยังไม่ส่ง (เลยกำหนด)",
                                                "ไม่ครบ (เลยกำหนด)", "ได้รับยกเว้น"}
    problems = book["problems"]
    assert sorted(row[3] for row in problems[1:]) == sorted(["ไม่ระบุ", "สำนักงานพัฒนาชุมชน", "กทม"])
    header = book["responses"][0]
    assert header[:3] == ["response_id", "deliverable", "unit_code"]
    suggestions = [row[header.index("ข้อเสนอแนะ")] for row in book["responses"][1:]]
    assert any(str(s).startswith("=HYPERLINK") for s in suggestions)


def test_formulas_are_stored_as_text(workspace):
    import zipfile

    with zipfile.ZipFile(workspace / "tidtam-warehouse.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in archive.read(n) for n in sheets)


def test_rerun_changes_no_data_tab(workspace, tmp_path):
    before = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()
    result = CliRunner().invoke(cli, ["sync", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    after = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()
    for tab in ("responses", "files", "focus_group", "problems"):
        assert after[tab] == before[tab], tab
    assert after["tracking"][1:] == before["tracking"][1:]  # row 0 is the "updated at" note
    assert len(after["runs"]) == len(before["runs"]) + 1


def test_status_formats_and_replay(workspace):
    runner = CliRunner()
    config = str(workspace / "config.yaml")
    table = runner.invoke(cli, ["status", "--config", config, "--as-of", AS_OF])
    assert table.exit_code == 0 and "ยะลา" in table.output
    csv_out = runner.invoke(cli, ["status", "--config", config, "--as-of", AS_OF, "--format", "csv"])
    assert csv_out.output.splitlines()[0].startswith("code,name,status,questionnaire_received")
    # Replaying 2 Nov: the questionnaire was open, nothing was overdue yet.
    early = status_json(workspace, "2022-11-02T12:00")
    assert {u["deliverables"]["questionnaire"]["status"] for u in early["units"]} <= {"waiting", "partial", "complete"}


def test_deleted_file_disappears_on_the_next_sync(workspace, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    photos = sorted((copy / "uploads").rglob("IMG_2000.jpg"))
    photos[0].unlink()
    result = CliRunner().invoke(cli, ["sync", "--config", str(copy / "config.yaml"), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    files = XlsxWarehouse(copy / "tidtam-warehouse.xlsx").read()["files"]
    assert len(files) == len(XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()["files"]) - 1


def test_a_broken_source_does_not_stop_the_others(workspace, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    (copy / DEMO_EXPORT).write_bytes(forms_download_zip(FORM_TITLE, b"not,a,forms,export\n1,2,3,4", DOWNLOADED_AT))
    result = CliRunner().invoke(cli, ["sync", "--config", str(copy / "config.yaml"), "--as-of", AS_OF])
    assert result.exit_code == 2
    book = XlsxWarehouse(copy / "tidtam-warehouse.xlsx").read()
    assert any(row[0] == "source_failed" and "no timestamp column" in row[4] for row in book["problems"][1:])
    assert len(book["files"]) > 300  # uploads still synced
    assert len(book["responses"]) > 600  # and the last good responses are kept
    assert book["runs"][-1][4] == "partial"


def outbox(root: Path) -> list:
    import email
    import email.policy

    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((root / "outbox").glob("*.eml"))]


def test_the_demo_mails_the_late_units_and_the_coordinators_once(workspace, tmp_path):
    mails = outbox(workspace)
    digests = [m for m in mails if m["To"] == "cdi@example.go.th"]
    # The demo's one `ไม่ผ่าน` (a photo, typed into the workbook by a coordinator) is mailed to its unit.
    reviews = [m for m in mails if str(m["X-Tidtam-Stage"]).endswith("=review")]
    assert [m["X-Tidtam-Stage"] for m in reviews] == ["photos=review"]
    assert "เป็นภาพป้ายที่ว่าการอำเภอ" in reviews[0].get_body(("plain",)).get_content()
    reminders = [m for m in mails if m not in digests and m not in reviews]
    assert len(digests) == 1 and digests[0]["Subject"].startswith("สรุปการติดตามข้อมูล วันที่ 12 พฤศจิกายน 2565")
    owing = {u["code"] for u in status_json(workspace)["units"] if u["status"] not in ("complete", "late", "excused")}
    mailed = {str(m["To"]).removeprefix("cdd").split("@")[0] for m in reminders}
    # Every unit that owes something got one reminder, except 95: its deadline moved to 18 Nov, so its
    # first reminder (3 days before) is not due until 15 Nov.
    assert mailed == owing - {"95"} and len(reminders) == len(mailed)
    alerts = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()["alerts"]
    assert len(alerts) - 1 == len(mails) and {row[12] for row in alerts[1:]} == {"sent"}
    # The same moment again sends nothing: each (unit, deliverable, stage) goes out once.
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    again = CliRunner().invoke(cli, ["sync", "--config", str(copy / "config.yaml"), "--as-of", AS_OF, "--email"])
    assert again.exit_code == 0 and "mail: nothing due" in again.output, again.output
    assert len(outbox(copy)) == len(mails)


def test_a_replay_only_plans_and_a_failed_source_sends_nothing_about_its_deliverables(workspace, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    config = str(copy / "config.yaml")
    replay = CliRunner().invoke(cli, ["sync", "--config", config, "--as-of", "2022-11-14T10:00"])
    assert replay.exit_code == 0 and "planned (not sent): planned" in replay.output, replay.output
    assert len(outbox(copy)) == len(outbox(workspace))
    (copy / DEMO_EXPORT).write_bytes(forms_download_zip(FORM_TITLE, b"not,a,forms,export\n1,2,3,4", DOWNLOADED_AT))
    failed = CliRunner().invoke(cli, ["sync", "--config", config, "--as-of", "2022-11-14T10:00", "--email"])
    assert failed.exit_code == 2 and "no reminders about: questionnaire" in failed.output, failed.output
    # The uploads were read: their reminders (1 day before 15 Nov) go; none speaks of the questionnaire,
    # and the day's digest opens by saying that source could not be read.
    before = {p.name for p in (workspace / "outbox").glob("*.eml")}
    new = [m for p, m in zip(sorted((copy / "outbox").glob("*.eml")), outbox(copy), strict=True) if p.name not in before]
    digests = [m for m in new if m["X-Tidtam-Stage"] == "digest"]
    reminders = [m for m in new if m not in digests]
    assert reminders and all("questionnaire" not in m["X-Tidtam-Stage"] for m in reminders)
    assert all("แบบสอบถาม" not in m.get_body(("plain",)).get_content() for m in reminders)
    (digest,) = digests
    assert digest.get_body(("plain",)).get_content().startswith("⚠ คำเตือน")
    assert "อ่านแหล่งข้อมูลนี้ไม่ได้เลย" in digest.get_body(("plain",)).get_content()


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example: tidtam" in result.output, name
        assert command.help
