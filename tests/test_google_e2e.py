"""The offline end-to-end scenario on Google backends (Forms API, Drive, Sheets) against the emulator.

The same demo workspace is synced twice: offline (CSV export, local folder, xlsx) and through the
real Google client libraries. Coordinators must see the same statuses and the same data; what
differs by design is named where the tabs are compared.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.cli.main import cli
from tests.emulator import Emulator
from tests.google_workspace import SA_EMAIL, GoogleWorkspace, seed_demo, write_google_config

AS_OF = "2022-11-12T17:00"
DATA_TABS = ("responses", "files", "focus_group", "problems")
# Columns that differ between backends by design: ids are the source's own (a CSV row hash or a
# path vs. a Forms responseId or a Drive file id), so are the references to them (duplicate_of, kept
# as "is a duplicate"), where a person finds a response again (a CSV row vs. a Forms response), and
# the uploader, which a local folder cannot know.
UNSTABLE = {
    "responses": {"response_id", "origin", "review_key"},  # the review key is the source's item id
    "files": {"file_id", "uploader_email", "review_key"},
    "focus_group": {"file_id"},
    "problems": set(),
}


def sync(config: Path, *extra: str) -> Any:
    result = CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF, *extra])
    assert result.exit_code == 0, result.output
    return result


def status(config: Path) -> dict:
    result = CliRunner().invoke(cli, ["status", "--config", str(config), "--as-of", AS_OF, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


@pytest.fixture(scope="module")
def ws(emu, tmp_path_factory) -> GoogleWorkspace:
    workspace = seed_demo(emu, tmp_path_factory.mktemp("google-demo"))
    sync(workspace.root / "config.yaml")  # offline: CSV export, local folder, xlsx
    sync(workspace.config, "--full")
    return workspace


def _serial(moment: datetime) -> float:
    return round((moment.replace(tzinfo=UTC) - datetime(1899, 12, 30, tzinfo=UTC)) / timedelta(days=1), 6)


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):  # the xlsx holds Bangkok wall-clock time; Sheets a day serial
        return _serial(value)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return round(float(value), 6)
    return value


def records(rows: list[list[Any]], tab: str) -> list[tuple]:
    header, body = rows[0], rows[1:]
    out = []
    for row in body:
        row = list(row) + [""] * (len(header) - len(row))
        record = {h: _plain(v) for h, v in zip(header, row, strict=True) if h not in UNSTABLE[tab]}
        if "duplicate_of" in record:
            record["duplicate_of"] = bool(record["duplicate_of"])
        if tab == "problems" and record["source"] == "questionnaire_form":
            record["origin"] = ""  # "questionnaire.csv row 14" vs. "form … response …"
        out.append(tuple(sorted(record.items())))
    return sorted(out, key=repr)


def test_same_statuses_as_the_offline_backends(ws):
    offline, google = status(ws.root / "config.yaml"), status(ws.config)
    assert len(google["units"]) == 76
    assert google == offline


def test_same_data_tabs_on_stable_columns(emu, ws):
    book = XlsxWarehouse(ws.root / "tidtam-warehouse.xlsx").read()
    for tab in DATA_TABS:
        sheet = emu.sheets.values(ws.spreadsheet_id, tab, "UNFORMATTED_VALUE")
        assert set(sheet[0]) == set(book[tab][0]), tab
        assert records(sheet, tab) == records(book[tab], tab), tab
    files = emu.sheets.values(ws.spreadsheet_id, "files", "UNFORMATTED_VALUE")
    column = files[0].index("uploader_email")
    assert {row[column] for row in files[1:]} == {"owner@example.org"}  # Drive knows who uploaded


def test_tracking_tab_matches_and_is_formatted(emu, ws):
    tracking = XlsxWarehouse(ws.root / "tidtam-warehouse.xlsx").read()["tracking"]
    sheet = emu.sheets.values(ws.spreadsheet_id, "tracking", "UNFORMATTED_VALUE")
    width = len(tracking[1])
    assert [r + [""] * (width - len(r)) for r in sheet[1:]] == [[v or "" for v in r] for r in tracking[1:]]
    assert sheet[0][0].startswith("ถอดบทเรียน")  # the note: as of, updated at, rates
    assert emu.sheets.frozen_rows(ws.spreadsheet_id, "tracking") == 2  # note + header
    assert emu.sheets.book(ws.spreadsheet_id).time_zone == "Asia/Bangkok"
    codes = [row[0] for row in sheet[2:]]
    missing = codes.index(next(u["code"] for u in status(ws.config)["units"] if u["status"] == "missing"))
    fill = emu.sheets.format_at(ws.spreadsheet_id, "tracking", f"A{missing + 3}")["backgroundColor"]
    assert fill == pytest.approx({"red": 0xF4 / 255, "green": 0xC7 / 255, "blue": 0xC3 / 255})
    assert emu.sheets.format_at(ws.spreadsheet_id, "tracking", "A2")["textFormat"] == {"bold": True}


def test_respondent_text_is_never_a_formula(emu, ws):
    assert emu.sheets.formula_cells(ws.spreadsheet_id) == []  # the demo has no schedule: no stale formula
    responses = emu.sheets.values(ws.spreadsheet_id, "responses")
    assert any(str(v).startswith("=HYPERLINK") for row in responses for v in row)
    batches = [r.body for r in emu.calls("sheets.spreadsheets.values.batchUpdate")]
    assert batches and all(b["valueInputOption"] == "RAW" for b in batches)


def test_run_log_counts_api_calls(ws):
    db = sqlite3.connect(ws.root / "tidtam-state-google.sqlite")
    try:
        calls = json.loads(db.execute("SELECT api_calls FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()[0])
    finally:
        db.close()
    assert calls["drive.files.list"] >= 1 and calls["forms.forms.responses.list"] == 1
    assert calls["sheets.spreadsheets.values.batchUpdate"] == 1
    assert calls["drive.files.get"] > 400  # one per file read (the facts cache is empty on a first sync)


def test_a_sync_with_nothing_new_makes_three_calls_and_writes_no_data_tab(emu, ws):
    emu.reset_counts()
    sync(ws.config, "--incremental")
    # Token refreshes are not API calls (one per scope set per process): left out.
    calls = {k: v for k, v in emu.counts.items() if k != "oauth2.token"}
    # The one read added by issue 15: the coordinators' review columns (values.batchGet).
    assert calls == {"forms.forms.responses.list": 1, "drive.changes.list": 1,
                     "sheets.spreadsheets.values.batchGet": 1, "sheets.spreadsheets.values.batchUpdate": 1}
    (write,) = emu.calls("sheets.spreadsheets.values.batchUpdate")
    tabs = {d["range"].split("!")[0].strip("'") for d in write.body["data"]}
    assert "runs" in tabs and tabs <= {"tracking", "runs"}  # the tracking note shows the minute of the update
    tracking = [d["range"] for d in write.body["data"] if d["range"].startswith("'tracking'")]
    assert tracking in ([], ["'tracking'!A1"])  # at most the "updated at" note
    assert status(ws.config) == status(ws.root / "config.yaml")


def test_with_a_schedule_the_stale_formula_is_written_once(emu, ws, tmp_path):
    # A separate spreadsheet and state: the module's workspace stays without a schedule.
    import yaml

    spreadsheet_id = emu.sheets.create(title="tidtam warehouse (served)")
    config = write_google_config(ws.root, emu.base_url, folder_id=ws.folder_id, spreadsheet_id=spreadsheet_id,
                                 state=str(tmp_path / "served.sqlite"), name="config.served.yaml")
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["schedule"] = {"every": "15m"}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    sync(config, "--full")
    ((tab, cell, formula),) = emu.sheets.formula_cells(spreadsheet_id)
    assert tab == "tracking" and cell.endswith("1") and "MAX(runs!C:C)" in formula
    emu.reset_counts()
    sync(config, "--incremental")
    calls = {k: v for k, v in emu.counts.items() if k != "oauth2.token"}
    assert calls == {"forms.forms.responses.list": 1, "drive.changes.list": 1, "sheets.spreadsheets.values.batchGet": 1,
                     "sheets.spreadsheets.values.batchUpdate": 1}  # the formula is not written again
    assert emu.sheets.formula_cells(spreadsheet_id) == [(tab, cell, formula)]


def test_one_unshared_province_folder_is_a_problem_and_the_others_sync(emu, ws):
    # A fresh listing (state copied without its file list, so file facts are cached and nothing is
    # downloaded again) into a fresh spreadsheet, with one province's folder refusing to be listed.
    state = ws.root / "tidtam-state-403.sqlite"
    shutil.copy(ws.root / "tidtam-state-google.sqlite", state)
    db = sqlite3.connect(state)
    db.execute("DELETE FROM files")
    db.execute("DELETE FROM cursors")
    db.execute("DELETE FROM kv")
    db.commit()
    db.close()
    spreadsheet = emu.sheets.create(title="warehouse 403")
    config = write_google_config(ws.root, emu.base_url, folder_id=ws.folder_id, spreadsheet_id=spreadsheet,
                                 state=state.name, name="config.403.yaml")
    offline = {u["code"]: u for u in status(ws.root / "config.yaml")["units"]}
    blocked_path = next(p for p in ws.folders if "/" not in p and offline_code(p, offline) is not None
                        and offline[offline_code(p, offline)]["deliverables"]["record"]["status"] == "complete")
    blocked_code = offline_code(blocked_path, offline)
    emu.faults.add("drive.files.list", status=403, match={"q_contains": ws.folders[blocked_path]},
                   message="The user does not have sufficient permissions for this file.")
    try:
        sync(config, "--full")
    finally:
        emu.faults.clear()
    google = {u["code"]: u for u in status(config)["units"]}
    assert {c for c in google if google[c] != offline[c]} == {blocked_code}
    assert google[blocked_code]["deliverables"]["record"]["status"] == "waiting"
    problems = emu.sheets.values(spreadsheet, "problems")
    (row,) = [r for r in problems[1:] if r[0] == "folder_unreadable"]
    assert row[2] == blocked_path
    assert ws.folders[blocked_path] in row[4] and SA_EMAIL in row[4] and "share it as Viewer" in row[4]


def offline_code(folder: str, units: dict[str, dict]) -> str | None:
    for code, unit in units.items():
        if unit["name"] in folder:
            return code
    return None


def test_changes_feed_brings_removals_renames_and_new_files(emu, ws):
    photo = next(p for p in ws.files if p.endswith("ภาพถ่าย/IMG_2000.jpg"))
    province = photo.split("/")[0]
    emu.drive.trash(ws.files[photo])
    emu.drive.rename(ws.folders[province], province + " (แก้ชื่อ)")
    new_file = emu.drive.add_file("IMG_9999.jpg", ws.folders[province + "/ภาพถ่าย"],
                                  (ws.root / "uploads" / photo).read_bytes() + b"\0", "image/jpeg")
    emu.reset_counts()
    sync(ws.config, "--incremental")
    files = emu.sheets.values(ws.spreadsheet_id, "files")
    header = files[0]
    names = {(r[header.index("folder")], r[header.index("name")]) for r in files[1:]}
    assert (f"{province} (แก้ชื่อ)/ภาพถ่าย", "IMG_2000.jpg") not in names
    assert (f"{province} (แก้ชื่อ)/ภาพถ่าย", "IMG_9999.jpg") in names
    assert not any(folder.startswith(province + "/") or folder == province for folder, _ in names)
    ids = {r[header.index("file_id")] for r in files[1:]}
    assert new_file in ids and ws.files[photo] not in ids
    # The renamed folder made the tree be walked again; only the new photo was downloaded.
    assert emu.counts["drive.changes.getStartPageToken"] == 0
    assert emu.counts["drive.files.get"] == 2  # the root folder's metadata, and the new photo's bytes
