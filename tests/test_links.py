"""Links of the tracking tab on both warehouses: a unit's name to its upload folder, a received count
to the unit's rows in `files` / `responses`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook
from small_workspace import AS_OF, write_workspace

from connectors.google_sheets import GoogleSheetsWarehouse
from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.campaign import SourceSpec
from ingest.cli.main import cli
from ingest.normalize import Tables
from ingest.publish.analyst import frame_table
from ingest.publish.links import link_targets, tracking_links
from ingest.publish.tracking import tracking_table
from ingest.status import evaluate
from tests.emulator import Emulator, service_account_info
from tests.google_workspace import SA_EMAIL, google_api
from tests.test_google_sheets import DictMemo
from tests.test_progress import CAMPAIGN, ITEMS, at

RESPONSES = pd.DataFrame({"response_id": ["r1", "r2", "r3"], "deliverable": ["q"] * 3,
                          "unit_code": ["95", "96", "95"]})
FOLDER = "https://drive.google.com/drive/folders/"


def files_frame(tmp_path) -> pd.DataFrame:
    # นราธิวาส: two files in its folder, one misfiled in another: the link goes where most of them are.
    return pd.DataFrame({
        "file_id": ["ยะลา/a.jpg", "นราธิวาส/x/b.jpg", "ราชบุรี/c.jpg", "นราธิวาส/x/d.jpg", "ทั่วไป/e.jpg"],
        "folder": ["ยะลา", "นราธิวาส/x", "ราชบุรี", "นราธิวาส/x", "ทั่วไป"],
        "folder_url": [(tmp_path / "uploads" / "ยะลา").resolve().as_uri(), f"{FOLDER}1Nara", "",
                       f"{FOLDER}1Nara", f"{FOLDER}1Other"],
        "unit_code": ["95", "96", "70", "96", "96"], "deliverable": ["photos"] * 5})


def written(tmp_path):
    campaign = replace(CAMPAIGN, base_dir=str(tmp_path), sources={
        **CAMPAIGN.sources, "uploads": SourceSpec("uploads", "local_folder", "uploads", {"path": "uploads"})})
    evaluation = evaluate(campaign, ITEMS, at(8))
    files = files_frame(tmp_path)
    tables = Tables(RESPONSES, files, pd.DataFrame(), pd.DataFrame(), ITEMS)
    tracking = tracking_table(campaign, evaluation, updated_at=at(8))
    tracking.links = tracking_links(campaign, link_targets(tables), evaluation)
    return [tracking, frame_table("responses", RESPONSES), frame_table("files", files.drop(columns="folder_url"))]


def test_links_point_at_the_folder_and_the_rows(tmp_path):
    links = written(tmp_path)[0].links
    # Units in campaign order: ยะลา (95), นราธิวาส (96), ราชบุรี (70); name column 1, counts 3 and 5.
    assert links[(0, 1)] == (tmp_path / "uploads" / "ยะลา").resolve().as_uri()
    assert links[(1, 1)] == f"{FOLDER}1Nara"  # two of its three files are there
    assert (2, 1) not in links  # ราชบุรี's file lies at the top of the upload folder: no folder of its own
    assert links[(0, 3)] == "#responses!A2:C4"  # ยะลา's responses are rows 2 and 4 of the tab
    assert links[(1, 3)] == "#responses!A3:C3"
    assert links[(2, 5)] == "#files!A4:D4"  # the tab leaves out folder_url
    assert (2, 3) not in links  # ราชบุรี has no response row


def test_xlsx_hyperlinks(tmp_path):
    XlsxWarehouse(tmp_path / "w.xlsx").write(written(tmp_path))
    sheet = load_workbook(tmp_path / "w.xlsx")["tracking"]
    assert sheet["B3"].hyperlink.target == (tmp_path / "uploads" / "ยะลา").resolve().as_uri()
    assert sheet["B3"].value == "ยะลา"  # the name stays the text
    assert sheet["D3"].hyperlink.location == "'responses'!A2" and sheet["D3"].value == "2/2"
    assert sheet["F5"].hyperlink.location == "'files'!A4"
    assert sheet["B3"].fill.fgColor.rgb == sheet["A3"].fill.fgColor.rgb != "00000000"  # the status colour stays


def test_sheets_links(tmp_path):
    with Emulator() as emu:
        book = emu.sheets.create(title="warehouse")
        GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo()).write(written(tmp_path))
        files_gid = emu.sheets.sheet(book, "files").sheet_id
        link = emu.sheets.format_at(book, "tracking", "F5")["textFormat"]["link"]["uri"]
        assert link == f"#gid={files_gid}&range=A4:D4"
        name = emu.sheets.format_at(book, "tracking", "B3")["textFormat"]["link"]["uri"]
        assert name == (tmp_path / "uploads" / "ยะลา").resolve().as_uri()
        assert "link" not in emu.sheets.format_at(book, "tracking", "D5").get("textFormat", {})
        assert emu.sheets.values(book, "tracking")[2][1] == "ยะลา"
        assert emu.violations == []


def _links_of(emu, book, rows: int) -> dict[str, str]:
    """Every link the tracking tab's data rows show, by cell."""
    found = {}
    for row in range(3, 3 + rows):
        for column in "ABCDEFG":
            link = emu.sheets.format_at(book, "tracking", f"{column}{row}").get("textFormat", {}).get("link")
            if link:
                found[f"{column}{row}"] = link["uri"]
    return found


def test_sheets_sends_only_the_links_that_changed(tmp_path):
    """A new file of one unit moves that unit's links only: the write clears and sets that row, and
    the tab ends as a fresh write of the same table would leave it."""
    tables = written(tmp_path)
    moved = dict(tables[0].links)
    moved[(2, 5)] = "#files!A4:D5"  # ราชบุรี's files now span two rows
    del moved[(1, 3)]  # นราธิวาส lost its response row
    with Emulator() as emu:
        book, fresh = emu.sheets.create(title="warehouse"), emu.sheets.create(title="fresh")
        warehouse = GoogleSheetsWarehouse(google_api(emu, tmp_path), book, memo=DictMemo())
        warehouse.write(tables)
        emu.reset_counts()
        warehouse.write([replace(tables[0], links=moved), *tables[1:]])
        requests = [r for call in emu.calls("sheets.spreadsheets.batchUpdate") for r in call.body["requests"]]
        rows = {(r["repeatCell"]["range"]["startRowIndex"], r["repeatCell"]["range"].get("endRowIndex"))
                for r in requests if "repeatCell" in r}
        # One clear of sheet rows 4–5 (indices 3–4), then the links those rows keep: นราธิวาส's name, ราชบุรี's files.
        assert rows == {(3, 5), (3, 4), (4, 5)}, requests
        assert len(requests) == 1 + sum(1 for row, _ in moved if row in (1, 2))  # ยะลา's row is not touched
        GoogleSheetsWarehouse(google_api(emu, tmp_path), fresh, memo=DictMemo()).write(
            [replace(tables[0], links=moved), *tables[1:]])
        ours, theirs = _links_of(emu, book, 3), _links_of(emu, fresh, 3)
        files_gid = emu.sheets.sheet(book, "files").sheet_id
        assert ours["F5"] == f"#gid={files_gid}&range=A4:D5" and "D4" not in ours
        assert {k: v.split("&")[-1] for k, v in ours.items()} == {k: v.split("&")[-1] for k, v in theirs.items()}
        assert emu.violations == []


# -- a Drive campaign, synced end to end ------------------------------------------------------------
T0 = datetime(2022, 11, 8, 9, 0, tzinfo=UTC)


def drive_campaign(emu: Emulator, root: Path, warehouse: str) -> tuple[Path, dict[str, str]]:
    """The small three-province campaign with its uploads on Drive; `warehouse` is xlsx or google_sheets.
    ราชบุรี also has a second folder, empty until a file is moved into it."""
    config = write_workspace(root, [["8/11/2022 9:00:00", "ยะลา", "ก", ""]])
    ids = {"root": emu.drive.add_folder("ถอดบทเรียน 2565", None)}
    for folder in ("ยะลา", "ราชบุรี", "จังหวัดราชบุรี"):
        ids[folder] = emu.drive.add_folder(folder, ids["root"], created_time=T0)
    for i in range(3):
        ids[f"ยะลา/IMG_{i}"] = emu.drive.add_file(f"IMG_{i}.jpg", ids["ยะลา"], b"jpeg %d" % i, "image/jpeg", T0)
    ids["ราชบุรี/IMG_0"] = emu.drive.add_file("IMG_0.jpg", ids["ราชบุรี"], b"jpeg r", "image/jpeg", T0)
    (root / "service-account.json").write_text(
        json.dumps(service_account_info(emu.token_uri, client_email=SA_EMAIL)), encoding="utf-8")
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["sources"]["uploads"] = {"backend": "drive", "folder_id": ids["root"]}
    raw["google"] = {"credentials": "service-account.json", "api_base_url": emu.base_url, "max_attempts": 3,
                     "max_retry_seconds": 2, "timeout_seconds": 10}
    if warehouse == "google_sheets":
        ids["book"] = emu.sheets.create(title="warehouse")
        raw["warehouse"] = {"backend": "google_sheets", "spreadsheet_id": ids["book"]}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config, ids


def sync(config: Path, *extra: str) -> None:
    result = CliRunner().invoke(cli, ["sync", "--config", str(config), "--as-of", AS_OF, *extra])
    assert result.exit_code == 0, result.output


def name_links(root: Path, ids: dict[str, str], emu: Emulator | None = None) -> dict[str, str | None]:
    """Unit name → where the tracking tab's name cell links (None: no link), as the warehouse holds it."""
    if emu is None:
        sheet = load_workbook(root / "warehouse.xlsx")["tracking"]
        return {row[1].value: row[1].hyperlink.target if row[1].hyperlink else None
                for row in sheet.iter_rows(min_row=3)}
    values = emu.sheets.values(ids["book"], "tracking")
    found = {}
    for number, row in enumerate(values[2:], start=3):
        text = emu.sheets.format_at(ids["book"], "tracking", f"B{number}").get("textFormat", {})
        found[row[1]] = text.get("link", {}).get("uri")
    return found


@pytest.mark.parametrize("warehouse", ["xlsx", "google_sheets"])
def test_a_drive_units_name_links_to_its_drive_folder_through_incremental_syncs_and_moves(tmp_path, warehouse):
    with Emulator() as emu:
        config, ids = drive_campaign(emu, tmp_path, warehouse)
        sheets = emu if warehouse == "google_sheets" else None
        sync(config, "--full")
        assert name_links(tmp_path, ids, sheets) == {  # ตาก uploaded nothing: no folder to open
            "ยะลา": FOLDER + ids["ยะลา"], "ราชบุรี": FOLDER + ids["ราชบุรี"], "ตาก": None}
        # A new upload, read from the changes feed: the links stay.
        emu.drive.add_file("IMG_3.jpg", ids["ยะลา"], b"jpeg 3", "image/jpeg", T0)
        emu.reset_counts()
        sync(config, "--incremental")
        assert emu.counts["drive.files.list"] == 0  # no walk: the changes feed alone
        assert name_links(tmp_path, ids, sheets)["ยะลา"] == FOLDER + ids["ยะลา"]
        # ราชบุรี's only file moves to its other folder: the link follows it, still without a walk.
        emu.drive.move(ids["ราชบุรี/IMG_0"], ids["จังหวัดราชบุรี"])
        emu.reset_counts()
        sync(config, "--incremental")
        assert emu.counts["drive.files.list"] == 0
        links = name_links(tmp_path, ids, sheets)
        assert links["ราชบุรี"] == FOLDER + ids["จังหวัดราชบุรี"] and links["ยะลา"] == FOLDER + ids["ยะลา"]
        assert emu.violations == []


def test_a_local_units_name_links_to_its_folder_on_disk(tmp_path):
    config = write_workspace(tmp_path, [["8/11/2022 9:00:00", "ยะลา", "ก", ""]])
    (tmp_path / "uploads" / "ยะลา" / "ภาพถ่าย").mkdir(parents=True)
    (tmp_path / "uploads" / "ยะลา" / "ภาพถ่าย" / "IMG_0.jpg").write_bytes(b"jpeg")
    (tmp_path / "uploads" / "ราชบุรี_IMG_1.jpg").write_bytes(b"jpeg")  # at the top: the unit from the name
    sync(config)
    links = name_links(tmp_path, {})
    # The folder named for the unit, not its photo subfolder; ราชบุรี has no folder of its own.
    assert links == {"ยะลา": (tmp_path / "uploads" / "ยะลา").resolve().as_uri(), "ราชบุรี": None, "ตาก": None}
