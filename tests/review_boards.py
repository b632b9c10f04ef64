"""The two warehouses as a coordinator sees them: read a tab, type a decision into a row found by its key.

`XlsxBoard` types as a person does in Excel or LibreOffice (openpyxl opens the saved workbook, sets
the cells, saves); `SheetsBoard` types into the emulator's spreadsheet directly, as the browser does,
not through the API tidtam uses.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from openpyxl import load_workbook
from small_workspace import write_workspace

from connectors.a1 import column_letters
from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.jobs import sync_job
from ingest.review import DECISION_COLUMN, KEY_COLUMN, REASON_COLUMN
from ingest.thaidate import BANGKOK
from tests.emulator import Emulator, service_account_info
from tests.google_workspace import SA_EMAIL

AS_OF = datetime(2022, 11, 12, 17, 0, tzinfo=BANGKOK)


def _header_index(tab: str) -> int:
    return 1 if tab == "tracking" else 0  # the tracking tab has its note row above the header


class Board:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "config.yaml"

    def write(self, rows: list[list[str]], *, mail: dict[str, Any] | None = None) -> Path:
        write_workspace(self.root, rows, mail=mail)
        return self.config

    def sync(self, as_of: datetime = AS_OF, *, email: bool = False) -> Any:
        return sync_job(self.config, as_of=as_of, full=True, email=email)[1]

    def values(self, tab: str) -> list[list[Any]]:
        raise NotImplementedError

    def records(self, tab: str) -> list[dict[str, Any]]:
        rows = self.values(tab)
        at = _header_index(tab)
        header = [str(h) for h in rows[at]]
        return [dict(zip(header, [*row, *[""] * (len(header) - len(row))], strict=False)) for row in rows[at + 1:]]

    def row(self, tab: str, **match: Any) -> dict[str, Any]:
        found = [r for r in self.records(tab) if all(str(r.get(k)) == str(v) for k, v in match.items())]
        assert len(found) == 1, (tab, match, found)
        return found[0]

    def tracking(self, code: str) -> dict[str, Any]:
        return self.row("tracking", **{"รหัส": code})

    def type(self, tab: str, key: str, decision: str, reason: str = "") -> None:
        raise NotImplementedError

    def _where(self, tab: str, key: str) -> tuple[int, int]:
        """(0-based row, 0-based column of the key) of the row holding `key`."""
        rows = self.values(tab)
        key_col = [str(h) for h in rows[0]].index(KEY_COLUMN)
        (index,) = [i for i, r in enumerate(rows) if i > 0 and key_col < len(r) and str(r[key_col]) == key]
        assert [str(h) for h in rows[0][key_col: key_col + 3]] == [KEY_COLUMN, DECISION_COLUMN, REASON_COLUMN]
        return index, key_col


class XlsxBoard(Board):
    name = "xlsx"

    def values(self, tab: str) -> list[list[Any]]:
        return [["" if v is None else v for v in row] for row in XlsxWarehouse(self.root / "warehouse.xlsx").read()[tab]]

    def type(self, tab: str, key: str, decision: str, reason: str = "") -> None:
        index, key_col = self._where(tab, key)
        path = self.root / "warehouse.xlsx"
        book = load_workbook(path)
        sheet = book[tab]
        # cell(value=None) would leave the cell as it was: a cleared cell is set to None explicitly.
        sheet.cell(row=index + 1, column=key_col + 2).value = decision or None
        sheet.cell(row=index + 1, column=key_col + 3).value = reason or None
        book.save(path)


class SheetsBoard(Board):
    name = "sheets"

    def __init__(self, root: Path, emu: Emulator) -> None:
        super().__init__(root)
        self.emu = emu
        self.spreadsheet_id = emu.sheets.create(title="tidtam warehouse (review)")

    def write(self, rows: list[list[str]], *, mail: dict[str, Any] | None = None) -> Path:
        super().write(rows, mail=mail)
        key = self.root / "service-account.json"
        key.write_text(json.dumps(service_account_info(self.emu.token_uri, client_email=SA_EMAIL)), encoding="utf-8")
        raw = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        raw["warehouse"] = {"backend": "google_sheets", "spreadsheet_id": self.spreadsheet_id}
        raw["google"] = {"credentials": key.name, "api_base_url": self.emu.base_url, "max_attempts": 3,
                         "max_retry_seconds": 2, "timeout_seconds": 10}
        self.config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return self.config

    def values(self, tab: str) -> list[list[Any]]:
        return self.emu.sheets.values(self.spreadsheet_id, tab)

    def type(self, tab: str, key: str, decision: str, reason: str = "") -> None:
        index, key_col = self._where(tab, key)
        self.type_at(tab, index, key_col + 1, decision)
        self.type_at(tab, index, key_col + 2, reason)

    def type_at(self, tab: str, row: int, column: int, text: str) -> None:
        self.emu.sheets.type_cell(self.spreadsheet_id, tab, f"{column_letters(column)}{row + 1}", text)
