"""Random sequences of changes, clock moves and syncs, each sync checked against a from-scratch run.

Black box: a campaign of three provinces (a Forms export, a local upload folder with photos and
records, an .xlsx or emulated Sheets warehouse) is changed through its files and its warehouse the
way people change it, synced through `ingest.jobs.sync_job`, and after every sync compared cell by
cell with a sync of the same inputs at the same `as_of` on a fresh state (issue 17: "results must
equal a from-scratch run exactly").

What "the same inputs" means: the export, the upload folder (the same folder, read in place), the
warehouse as it was before the sync (so the decisions a coordinator typed since the last sync are
read by both), and the decision history the state keeps (ingest.review: a decision outlives its row,
so a new version of a file says "ฉบับใหม่ รอตรวจ (ฉบับก่อนหน้า: ไม่ผ่าน)"). That history is a
coordinator's input, not something a sync computes, so the fresh state is given it before its sync.
The other history the state keeps, a file's first arrival, is left out by the steps instead (see
`replace_file`). Mail is off, so the alerts tab and mail history play no part.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import random
import re
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openpyxl import load_workbook
from PIL import Image

from connectors.a1 import column_letters
from ingest.jobs import status_job, sync_job
from ingest.record.template import STYLES, make_record_docx
from ingest.report import evaluation_json
from ingest.review import FAIL, PASS, load_decisions, save_decisions
from ingest.state import StateStore
from ingest.thaidate import BANGKOK

UNITS = (("95", "ยะลา"), ("70", "ราชบุรี"), ("63", "ตาก"))
HEADER = ["Timestamp", "จังหวัด", "ชื่อ-นามสกุล", "ข้อเสนอแนะ"]
START = datetime(2022, 11, 5, 9, 0, tzinfo=BANGKOK)
# Where a clock move "across a deadline" lands: just after each due time plus its grace (config below).
CROSSINGS = (datetime(2022, 11, 8, 12, 30, tzinfo=BANGKOK),  # questionnaire: due 7 Nov 23:59 + 12h
             datetime(2022, 11, 16, 0, 30, tzinfo=BANGKOK),  # record: due 15 Nov 23:59
             datetime(2022, 11, 17, 0, 30, tzinfo=BANGKOK))  # photos: due 15 Nov 23:59 + 1 day
REASONS = ("ภาพเบลอ", "ไม่ใช่ภาพการสนทนากลุ่ม", "")


def campaign_config(exports: Path, uploads: Path, state: Path, warehouse: dict[str, Any]) -> dict[str, Any]:
    return {
        "campaign": {"id": "incremental-equality", "title": "ถอดบทเรียน (ทดสอบการซิงก์ต่อเนื่อง)"},
        "units": {"file": str(exports.parent / "units.csv")},
        "sources": {"form": {"backend": "forms_export", "path": str(exports)},
                    "uploads": {"backend": "local_folder", "path": str(uploads)}},
        "deliverables": [
            {"id": "questionnaire", "title": "แบบสอบถาม", "source": "form", "kind": "response", "expected": 2,
             "opens": "1 พ.ย. 2565", "due": "7 พ.ย. 2565", "grace": "12h", "unit_question": "จังหวัด",
             "link": "https://forms.gle/EXAMPLE"},
            {"id": "record", "title": "แบบบันทึกสนทนากลุ่ม", "source": "uploads", "kind": "document", "expected": 1,
             "due": "15 พ.ย. 2565", "rules": {"require_docx": True, "consent_pattern": "ยินยอม"}},
            {"id": "photos", "title": "ภาพถ่าย", "source": "uploads", "kind": "photo", "expected": 2,
             "due": "15 พ.ย. 2565", "grace": 1, "rules": {"min_width": 320, "min_height": 240},
             "link": "https://drive.google.com/drive/folders/EXAMPLE"},
        ],
        "warehouse": warehouse,
        "state": {"path": str(state)},
    }


def jpeg(shade: int, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (shade, 100, 200)).save(out, "JPEG")
    return out.getvalue()


@cache
def record(province: str, consent: bool, style: str = "paragraphs") -> bytes:
    return make_record_docx(province, consent=consent, style=style)


class Sequence:
    """One incremental workspace under `root / "inc"`, changed by `step(name)`; `sync()` checks it."""

    def __init__(self, root: Path, seed: int, board: Any = None) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.root = root
        self.inc = root / "inc"
        self.uploads = self.inc / "uploads"
        self.export = self.inc / "exports" / "responses.csv"
        self.export.parent.mkdir(parents=True)
        for _, name in UNITS:
            (self.uploads / name).mkdir(parents=True)
        with (self.inc / "exports" / "units.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["code", "name", "emails", "level"])
            writer.writerows([code, name, f"cdd{code}@example.go.th", "province"] for code, name in UNITS)
        self.board = board  # a SheetsBoard-like object when the warehouse is the emulator's Sheets
        self.rows: list[list[str]] = []
        self.clock = START
        self.serial = 0
        self.steps: list[str] = []
        self.syncs = 0
        self.sizes: dict[Path, set[int]] = {}  # every size each path has had (see `replace_file`)
        self._write_export()
        self.config = self.inc / "config.yaml"
        self._write_config(self.config, self.inc / "state.sqlite", self._warehouse(self.inc))

    # -- the workspace ------------------------------------------------------------------------------
    def _warehouse(self, where: Path) -> dict[str, Any]:
        if self.board is None:
            return {"backend": "xlsx", "path": str(where / "warehouse.xlsx")}
        return self.board.warehouse_config(where)

    def _write_config(self, path: Path, state: Path, warehouse: dict[str, Any]) -> None:
        raw = campaign_config(self.export, self.uploads, state, warehouse)
        if self.board is not None:
            raw["google"] = self.board.google_config()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def _write_export(self) -> None:
        with self.export.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(sorted(self.rows))  # a download is in submission order

    def _files(self) -> list[Path]:
        return sorted(p for p in self.uploads.rglob("*") if p.is_file())

    def _put(self, path: Path, content: bytes, when: datetime) -> None:
        path.write_bytes(content)
        os.utime(path, (when.timestamp(), when.timestamp()))
        self.sizes.setdefault(path, set()).add(len(content))

    def _just_now(self) -> datetime:
        return self.clock - timedelta(minutes=self.rng.randint(1, 90))

    # -- steps --------------------------------------------------------------------------------------
    def add_response(self) -> str:
        kind = self.rng.choice(["known", "known", "unknown", "early"])
        self.serial += 1
        province = self.rng.choice(UNITS)[1] if kind != "unknown" else "เชียงใหม่"
        when = datetime(2022, 10, 30, 9, 0, tzinfo=BANGKOK) if kind == "early" else self._just_now()
        self.rows.append([when.strftime("%Y-%m-%d %H:%M:%S"), province, f"ผู้ตอบ {self.serial}", "ดี"])
        self._write_export()
        return f"response({kind} {province})"

    def add_file(self) -> str:
        kind = self.rng.choice(["photo", "photo", "small photo", "broken photo", "record", "record without consent"])
        self.serial += 1
        code, province = self.rng.choice(UNITS)
        folder = self.uploads / province
        if kind == "photo":
            name, content = f"p{self.serial}.jpg", jpeg(self.rng.randrange(256), (320, 240))
        elif kind == "small photo":
            name, content = f"p{self.serial}.jpg", jpeg(self.rng.randrange(256), (64, 48))
        elif kind == "broken photo":
            name, content = f"p{self.serial}.jpg", b"not a jpeg" + bytes([self.serial % 256])
        else:
            name, content = f"record{self.serial}.docx", record(province, kind == "record")
        self._put(folder / name, content, self._just_now())
        return f"file({kind} {province}/{name})"

    def replace_file(self) -> str:
        """A new version over a file. It keeps the file's modification time: a file tidtam already holds
        keeps the arrival it was first given (ingest/arrival.py), history a from-scratch run cannot know,
        so a new time would differ by design. The size changes, so the folder's version (size and time)
        does, and the new content must be read. The size is one the path never had: a second
        replacement back to the first version's size (same-sized photos of one side are common) with
        the time kept would give the version a sync inspected already, which a folder's version
        (size and time, as rsync's quick check) cannot tell apart, by design (connectors/local_folder.py)."""
        files = self._files()
        if not files:
            return self.add_file()
        path = self.rng.choice(files)
        seen = self.sizes.get(path, set()) | {path.stat().st_size}
        if path.suffix == ".jpg":
            for _ in range(200):
                side = self.rng.choice([(320, 240), (336, 252), (64, 48), (80, 60)])
                content = jpeg(self.rng.randrange(256), side)
                if len(content) not in seen:
                    break
            else:
                return self.add_file()
        else:
            others = [r for r in (record(path.parent.name, c, st) for c in (True, False) for st in STYLES)
                      if len(r) not in seen]
            if not others:
                return self.add_file()
            content = self.rng.choice(others)
        self._put(path, content, datetime.fromtimestamp(path.stat().st_mtime, BANGKOK))
        return f"replace({path.relative_to(self.uploads)})"

    def delete_file(self) -> str:
        files = self._files()
        if not files:
            return "delete(nothing)"
        path = self.rng.choice(files)
        path.unlink()
        return f"delete({path.relative_to(self.uploads)})"

    def move_file(self) -> str:
        files = self._files()
        if not files:
            return "move(nothing)"
        path = self.rng.choice(files)
        target = self.uploads / self.rng.choice([n for _, n in UNITS if n != path.parent.name]) / path.name
        if target.exists():
            return "move(name taken)"
        path.rename(target)  # keeps the modification time, as a move does
        return f"move({path.relative_to(self.uploads)} → {target.parent.name})"

    def type_decision(self) -> str:
        if self.syncs == 0:
            return "type(no warehouse yet)"
        tab = self.rng.choice(["files", "responses"])
        rows = self._values(tab)
        if len(rows) < 2:
            return f"type({tab}: no rows)"
        header = [str(h) for h in rows[0]]
        key_col = header.index("review_key")
        row = self.rng.randrange(1, len(rows))
        key = str(rows[row][key_col])
        decision = self.rng.choice([PASS, FAIL, FAIL, ""])
        reason = self.rng.choice(REASONS) if decision == FAIL else ""
        self._type(tab, row, key_col, decision, reason)
        return f"type({tab} {key}: {decision or 'cleared'} {reason})".rstrip()

    def tick(self) -> str:
        move = self.rng.choice(["small", "small", "deadline", "day", "back"])
        if move == "small":
            self.clock += timedelta(minutes=self.rng.randint(5, 300))
        elif move == "day":
            self.clock = (self.clock + timedelta(days=1)).replace(hour=0, minute=self.rng.randint(1, 50))
        elif move == "deadline":
            later = [c for c in CROSSINGS if c > self.clock]
            self.clock = later[0] if later else self.clock + timedelta(days=2)
        else:
            self.clock -= timedelta(hours=self.rng.randint(2, 72))  # an --as-of replay
        return f"clock({move} → {self.clock:%d %b %H:%M})"

    # -- the warehouse, as a coordinator sees it -----------------------------------------------------
    def _values(self, tab: str) -> list[list[Any]]:
        if self.board is not None:
            return self.board.values(self.board.spreadsheet_id, tab)
        book = load_workbook(self.inc / "warehouse.xlsx", read_only=True)
        try:
            return [["" if v is None else v for v in row] for row in book[tab].iter_rows(values_only=True)]
        finally:
            book.close()

    def _type(self, tab: str, row: int, key_col: int, decision: str, reason: str) -> None:
        if self.board is not None:
            self.board.type(self.board.spreadsheet_id, tab, row, key_col + 1, decision)
            self.board.type(self.board.spreadsheet_id, tab, row, key_col + 2, reason)
            return
        path = self.inc / "warehouse.xlsx"
        book = load_workbook(path)
        sheet = book[tab]
        sheet.cell(row=row + 1, column=key_col + 2).value = decision or None  # as tests/review_boards.py types
        sheet.cell(row=row + 1, column=key_col + 3).value = reason or None
        book.save(path)

    # -- syncs -----------------------------------------------------------------------------------------
    def sync(self, *, full: bool) -> str:
        """Sync the incremental workspace; first the same inputs from scratch; assert they are equal."""
        self.syncs += 1
        scratch = self.root / f"scratch{self.syncs}"
        scratch.mkdir()
        scratch_config = scratch / "config.yaml"
        if self.board is None:
            if (self.inc / "warehouse.xlsx").exists():
                shutil.copy2(self.inc / "warehouse.xlsx", scratch / "warehouse.xlsx")
            self._write_config(scratch_config, scratch / "state.sqlite", self._warehouse(scratch))
        else:
            self._write_config(scratch_config, scratch / "state.sqlite", self.board.copy_warehouse(scratch))
        # Both runs must read the same decisions: the fresh state is given the incremental one's history.
        _copy_decisions(self.inc / "state.sqlite", scratch / "state.sqlite")
        sync_job(scratch_config, as_of=self.clock, full=True, email=False)
        sync_job(self.config, as_of=self.clock, full=full, email=False)
        step = f"sync({'full' if full else 'incremental'} @ {self.clock:%d %b %H:%M})"
        self.steps.append(step)
        where = f"seed {self.seed}, steps: " + "; ".join(self.steps)
        if self.board is None:
            difference = compare_workbooks(self.inc / "warehouse.xlsx", scratch / "warehouse.xlsx")
        else:
            difference = self.board.compare()
        assert difference is None, f"{where}\nfirst difference (incremental vs from scratch): {difference}"
        statuses = [evaluation_json(*status_job(c, self.clock)) for c in (self.config, scratch_config)]
        assert statuses[0] == statuses[1], f"{where}\n`status --format json` differs"
        return step

    def run(self, length: int) -> None:
        """A first sync of a response and a file (itself a from-scratch run: nothing to compare), then
        `length` random steps, a sync among them at random and always one at the end, each compared."""
        changes: list[Callable[[], str]] = [self.add_response, self.add_file, self.add_file, self.replace_file,
                                            self.delete_file, self.move_file, self.type_decision,
                                            self.type_decision, self.tick, self.tick]
        self.steps += [self.add_response(), self.add_file()]
        sync_job(self.config, as_of=self.clock, full=False, email=False)
        self.syncs += 1
        self.steps.append(f"sync(first @ {self.clock:%d %b %H:%M})")
        for i in range(length):
            if i < length - 1 and self.rng.random() < 0.2:
                self.sync(full=self.rng.random() < 0.3)
            else:
                self.steps.append(self.rng.choice(changes)())
        self.sync(full=self.rng.random() < 0.2)


def _copy_decisions(source: Path, target: Path) -> None:
    if not source.exists():
        return
    old = StateStore(source)
    try:
        decisions = load_decisions(old)
    finally:
        old.close()
    if not decisions:
        return
    new = StateStore(target)
    try:
        save_decisions(new, decisions)
    finally:
        new.close()


# The tracking tab's note says when the data is as of (the shared `as_of`: compared) and when the tab
# was updated: the wall clock of the run (ingest/publish/tracking.py), which differs between any two
# runs, so that one stamp is blanked before comparing.
_UPDATED = re.compile(r"(· ปรับปรุงเมื่อ )[^·]*(·)")


def _comparable(tab: str, row: int, value: Any) -> Any:
    if tab == "tracking" and row == 0 and isinstance(value, str):
        return _UPDATED.sub(r"\1…\2", value)
    return value


def compare_workbooks(left: Path, right: Path) -> str | None:
    """None when equal, else where the first difference is: tab, cell, both values."""
    a, b = load_workbook(left), load_workbook(right)
    if a.sheetnames != b.sheetnames:
        return f"tabs {a.sheetnames} vs {b.sheetnames}"
    for tab in a.sheetnames:
        if tab == "runs":
            # The run log: one row per run with its id, wall-clock start and end, duration and calls
            # made. Two runs never share these, and the from-scratch run's log has one row, not the
            # history. Every other tab is compared whole, but for the note's update time (_UPDATED).
            continue
        sa, sb = a[tab], b[tab]
        rows = max(sa.max_row, sb.max_row)
        cols = max(sa.max_column, sb.max_column)
        for r in range(1, rows + 1):
            for c in range(1, cols + 1):
                ca, cb = sa.cell(r, c), sb.cell(r, c)
                va, vb = _comparable(tab, r - 1, ca.value), _comparable(tab, r - 1, cb.value)
                if va != vb:
                    return f"{tab}!{ca.coordinate}: {va!r} vs {vb!r}"
                la = ca.hyperlink.target if ca.hyperlink else None
                lb = cb.hyperlink.target if cb.hyperlink else None
                if la != lb:
                    return f"{tab}!{ca.coordinate} link: {la!r} vs {lb!r}"
    return None


class SheetsBoard:
    """The warehouse as a Sheets spreadsheet in the emulator: decisions typed in as the browser does,
    the from-scratch run's spreadsheet a copy of the incremental one ("File → Make a copy") taken
    before the sync, and the two compared by what the API returns for every tab."""

    def __init__(self, root: Path, emu: Any) -> None:
        from tests.emulator import service_account_info
        from tests.google_workspace import SA_EMAIL

        self.emu = emu
        self.spreadsheet_id = emu.sheets.create(title="tidtam warehouse (incremental)")
        self.copy_id = ""
        self.key = root / "service-account.json"
        root.mkdir(parents=True, exist_ok=True)
        self.key.write_text(json.dumps(service_account_info(emu.token_uri, client_email=SA_EMAIL)), encoding="utf-8")

    def google_config(self) -> dict[str, Any]:
        return {"credentials": str(self.key), "api_base_url": self.emu.base_url, "max_attempts": 3,
                "max_retry_seconds": 2, "timeout_seconds": 10}

    def warehouse_config(self, where: Path) -> dict[str, Any]:
        return {"backend": "google_sheets", "spreadsheet_id": self.spreadsheet_id}

    def copy_warehouse(self, where: Path) -> dict[str, Any]:
        sheets = self.emu.sheets
        with sheets._lock:  # the emulator's own state, as Drive's copy would make it
            book = copy.deepcopy(sheets.book(self.spreadsheet_id))
            self.copy_id = sheets.create(title="tidtam warehouse (from scratch)")
            book.spreadsheet_id = self.copy_id
            sheets.spreadsheets[self.copy_id] = book
        return {"backend": "google_sheets", "spreadsheet_id": self.copy_id}

    def values(self, spreadsheet_id: str, tab: str) -> list[list[Any]]:
        return self.emu.sheets.values(spreadsheet_id, tab)

    def type(self, spreadsheet_id: str, tab: str, row: int, column: int, text: str) -> None:
        self.emu.sheets.type_cell(spreadsheet_id, tab, f"{column_letters(column)}{row + 1}", text)

    def compare(self) -> str | None:
        sheets = self.emu.sheets
        tabs = sheets.tabs(self.spreadsheet_id)
        if tabs != sheets.tabs(self.copy_id):
            return f"tabs {tabs} vs {sheets.tabs(self.copy_id)}"
        for tab in tabs:
            if tab == "runs":
                continue  # the run log: see compare_workbooks
            for render in ("FORMATTED_VALUE", "FORMULA"):  # FORMULA shows the links (HYPERLINK formulas)
                a = sheets.values(self.spreadsheet_id, tab, render)
                b = sheets.values(self.copy_id, tab, render)
                for r in range(max(len(a), len(b))):
                    ra, rb = (a[r] if r < len(a) else []), (b[r] if r < len(b) else [])
                    for c in range(max(len(ra), len(rb))):
                        va = _comparable(tab, r, ra[c] if c < len(ra) else "")
                        vb = _comparable(tab, r, rb[c] if c < len(rb) else "")
                        if va != vb:
                            return f"{tab}!{column_letters(c)}{r + 1} ({render}): {va!r} vs {vb!r}"
        return None


def run_sequence(root: Path, seed: int, board: Any = None, *, length: int | None = None) -> None:
    """Sequence `seed`: 3–6 random steps after the first sync unless `length` says."""
    sequence = Sequence(root, seed, board)
    sequence.run(length or sequence.rng.randint(3, 6))
