"""Links of the tracking tab on both warehouses: a unit's name to its upload folder, a received count
to the unit's rows in `files` / `responses`."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from openpyxl import load_workbook

from connectors.google_sheets import GoogleSheetsWarehouse
from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.campaign import SourceSpec
from ingest.normalize import Tables
from ingest.publish.analyst import frame_table
from ingest.publish.links import link_targets, tracking_links
from ingest.publish.tracking import tracking_table
from ingest.status import evaluate
from tests.emulator import Emulator
from tests.google_workspace import google_api
from tests.test_google_sheets import DictMemo
from tests.test_progress import CAMPAIGN, ITEMS, at

RESPONSES = pd.DataFrame({"response_id": ["r1", "r2", "r3"], "deliverable": ["q"] * 3,
                          "unit_code": ["95", "96", "95"]})
FILES = pd.DataFrame({"file_id": ["ยะลา/a.jpg", "นราธิวาส/x/b.jpg", "ราชบุรี/c.jpg"], "folder": ["ยะลา", "นราธิวาส/x", "ราชบุรี"],
                      "unit_code": ["95", "96", "70"], "deliverable": ["photos"] * 3})


def written(tmp_path):
    campaign = replace(CAMPAIGN, base_dir=str(tmp_path), sources={
        **CAMPAIGN.sources, "uploads": SourceSpec("uploads", "local_folder", "uploads", {"path": "uploads"})})
    evaluation = evaluate(campaign, ITEMS, at(8))
    tables = Tables(RESPONSES, FILES, pd.DataFrame(), pd.DataFrame(), ITEMS)
    tracking = tracking_table(campaign, evaluation, updated_at=at(8))
    tracking.links = tracking_links(campaign, link_targets(campaign, tables), evaluation)
    return [tracking, frame_table("responses", RESPONSES), frame_table("files", FILES)]


def test_links_point_at_the_folder_and_the_rows(tmp_path):
    links = written(tmp_path)[0].links
    # Units in campaign order: ยะลา (95), นราธิวาส (96), ราชบุรี (70); name column 1, counts 3 and 5.
    assert links[(0, 1)] == (tmp_path / "uploads" / "ยะลา").resolve().as_uri()
    assert links[(1, 1)] == (tmp_path / "uploads" / "นราธิวาส").resolve().as_uri()
    assert links[(0, 3)] == "#responses!A2:C4"  # ยะลา's responses are rows 2 and 4 of the tab
    assert links[(1, 3)] == "#responses!A3:C3"
    assert links[(2, 5)] == "#files!A4:D4"
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
