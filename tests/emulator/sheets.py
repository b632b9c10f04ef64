"""Sheets v4: spreadsheets, tabs, values (RAW vs USER_ENTERED), formatting requests, cell limit."""

from __future__ import annotations

import ast
import copy
import operator
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from . import fields as fieldmask
from .a1 import A1Error, col_letters, format_range, parse_cells, split_sheet
from .errors import ApiError
from .protocol import Call, Handler, Reply

CELL_LIMIT = 10_000_000
CELL_LIMIT_MESSAGE = (
    "This action would increase the number of cells in the workbook above the limit of 10000000 cells."
)
# A cell holds at most 50,000 characters; a write with a longer one is refused whole, with this 400
# INVALID_ARGUMENT message (Google states no page for the number: the message is the one its API
# returns, as quoted in github.com/airbytehq/airbyte/issues/15500 and freelabz/secator/issues/96; the
# Sheets API reference, spreadsheets/other#DataExecutionErrorCode TOO_MANY_CHARS_PER_CELL, names a
# "maximum characters allowed in a single cell").
CELL_CHARS = 50_000
CELL_CHARS_MESSAGE = "Your input contains more than the maximum of 50000 characters in a single cell."
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
# Requests whose payload is stored per tab so tests can read formatting back.
FORMAT_REQUESTS = {
    "repeatCell",
    "updateCells",
    "updateDimensionProperties",
    "addConditionalFormatRule",
    "setBasicFilter",
    "clearBasicFilter",
    "updateBorders",
    "mergeCells",
    "unmergeCells",
    "autoResizeDimensions",
    "setDataValidation",
    "addBanding",
    "addProtectedRange",
    "sortRange",
}


@dataclass
class Cell:
    value: str | float | bool | None
    formula: str | None = None  # set only when the API stored a formula (USER_ENTERED "=…")
    # A DATE_TIME number format's pattern ("d/M/yyyy, H:mm:ss") when `value` is a date-time serial
    # number, as in the timestamp column Forms fills in a linked response sheet.
    date_pattern: str | None = None


@dataclass
class Sheet:
    sheet_id: int
    title: str
    index: int
    rows: int = DEFAULT_ROWS
    cols: int = DEFAULT_COLS
    props: dict[str, Any] = field(default_factory=dict)  # other SheetProperties (tabColor, hidden…)
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    formats: list[dict[str, Any]] = field(default_factory=list)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    charts: list[dict[str, Any]] = field(default_factory=list)  # EmbeddedChart JSON, positioned on this tab

    def properties(self) -> dict[str, Any]:
        grid: dict[str, Any] = {"rowCount": self.rows, "columnCount": self.cols}
        extra_grid = self.props.get("gridProperties", {})
        grid.update({k: v for k, v in extra_grid.items() if k not in ("rowCount", "columnCount")})
        # proto3 JSON omits zero values: frozenRowCount appears only once set.
        grid = {k: v for k, v in grid.items() if v not in (0, None, False)}
        out = {k: copy.deepcopy(v) for k, v in self.props.items() if k != "gridProperties"}
        out.update({"sheetId": self.sheet_id, "title": self.title, "index": self.index, "sheetType": "GRID"})
        out["gridProperties"] = grid
        return out


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    title: str
    sheets: list[Sheet] = field(default_factory=list)
    locale: str = "en_US"
    time_zone: str = "Asia/Bangkok"
    extra_props: dict[str, Any] = field(default_factory=dict)
    other_requests: list[dict[str, Any]] = field(default_factory=list)

    def cell_count(self) -> int:
        return sum(s.rows * s.cols for s in self.sheets)


def _values_copy(book: Spreadsheet) -> Spreadsheet:
    """A working copy for an atomic values write. Value writes replace cells (never change one in
    place) and touch no formats, so each tab's cell dict is copied shallowly: a deep copy of a book of
    millions of cells on every request made the emulator, not the client, the slow part."""
    work = copy.copy(book)
    work.sheets = [replace(s, cells=dict(s.cells)) for s in book.sheets]
    return work


def _structure_copy(book: Spreadsheet) -> Spreadsheet:
    """A working copy for an atomic batchUpdate: everything deep-copied but the cells and the format
    requests, whose containers are copied shallowly. No request changes a Cell in place (cells are
    replaced, moved or dropped), and a deep copy of a book of a million cells took 5 s per batchUpdate:
    the emulator's time, not the client's. Format entries are likewise only ever appended (each a deep
    copy of its request, `_apply`) and never changed; deep-copying the tens of thousands a tracking tab's
    links leave was 2 s of every later batchUpdate at 7,436 units (bench/scale.py's changed sync)."""
    kept = [(s.cells, s.formats) for s in book.sheets]
    for sheet in book.sheets:
        sheet.cells, sheet.formats = {}, []
    try:
        work = copy.deepcopy(book)
    finally:
        for sheet, (cells, formats) in zip(book.sheets, kept, strict=True):
            sheet.cells, sheet.formats = cells, formats
    for sheet, (cells, formats) in zip(work.sheets, kept, strict=True):
        sheet.cells, sheet.formats = dict(cells), list(formats)
    return work


# -- cell value helpers ---------------------------------------------------------------------
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ARITH_OPS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _eval_arith(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval_arith(node.body)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH_OPS:
        return _ARITH_OPS[type(node.op)](_eval_arith(node.left), _eval_arith(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _ARITH_OPS:
        return _ARITH_OPS[type(node.op)](_eval_arith(node.operand))
    raise ValueError("not plain arithmetic")


def formula_result(formula: str) -> float | str:
    """Only plain arithmetic is computed (=1+1); anything else shows as an error like #NAME?."""
    try:
        return _eval_arith(ast.parse(formula[1:].replace("^", "**"), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
        return "#NAME?"


def format_number(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.15g}"


def to_cell(raw: Any, user_entered: bool) -> Cell | None:
    """Convert one JSON input value; None means "leave the cell alone" (API semantics)."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return Cell(raw)
    if isinstance(raw, int | float):
        return Cell(float(raw))
    text = _within_cell_limit(str(raw))
    if not user_entered:
        return Cell(text)
    if text.startswith("="):
        return Cell(None, formula=text)
    if text.startswith("'"):
        return Cell(text[1:])
    stripped = text.strip()
    if _NUMBER.match(stripped):
        return Cell(float(stripped))
    if stripped.upper() in ("TRUE", "FALSE"):
        return Cell(stripped.upper() == "TRUE")
    return Cell(text)


# Sheets API, DateTimeRenderOption: SERIAL_NUMBER (the default) gives a date-time as a serial number,
# "days since December 30th 1899" with the time as the fraction of a day; FORMATTED_STRING gives it in
# its number format. Both apply only to UNFORMATTED_VALUE: "This is ignored if valueRenderOption is
# FORMATTED_VALUE." https://developers.google.com/sheets/api/reference/rest/v4/DateTimeRenderOption and
# https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values/get
SERIAL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001 - wall time in the spreadsheet's timeZone
VALUE_RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_TIME_RENDER_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")
_PATTERN_TOKEN = re.compile(r"yyyy|yy|MM|M|dd|d|HH|H|hh|h|mm|ss|AM/PM")


def serial_number(wall: datetime) -> float:
    """The serial number Sheets stores for a wall-clock date-time (no zone: the sheet's own)."""
    return (wall.replace(tzinfo=None) - SERIAL_EPOCH) / timedelta(days=1)


def format_date_time(serial: float, pattern: str) -> str:
    """A serial number shown through a date-time pattern (the tokens the Sheets date formats use)."""
    wall = SERIAL_EPOCH + timedelta(milliseconds=round(serial * 86_400_000))
    hour12 = wall.hour % 12 or 12
    parts = {"yyyy": f"{wall.year:04d}", "yy": f"{wall.year % 100:02d}", "MM": f"{wall.month:02d}",
             "M": str(wall.month), "dd": f"{wall.day:02d}", "d": str(wall.day), "HH": f"{wall.hour:02d}",
             "H": str(wall.hour), "hh": f"{hour12:02d}", "h": str(hour12), "mm": f"{wall.minute:02d}",
             "ss": f"{wall.second:02d}", "AM/PM": "PM" if wall.hour >= 12 else "AM"}
    return _PATTERN_TOKEN.sub(lambda m: parts[m.group(0)], pattern)


def render(cell: Cell | None, option: str, date_option: str = "SERIAL_NUMBER") -> Any:
    if cell is None:
        return ""
    if cell.date_pattern is not None and isinstance(cell.value, float) and cell.formula is None:
        if option == "FORMATTED_VALUE" or date_option == "FORMATTED_STRING":
            return format_date_time(cell.value, cell.date_pattern)
        return cell.value
    if cell.formula is not None:
        if option == "FORMULA":
            return cell.formula
        result = formula_result(cell.formula)
        if isinstance(result, float):
            return result if option == "UNFORMATTED_VALUE" else format_number(result)
        return result
    v = cell.value
    if isinstance(v, bool):
        return v if option != "FORMATTED_VALUE" else ("TRUE" if v else "FALSE")
    if isinstance(v, float):
        if option == "FORMATTED_VALUE":
            return format_number(v)
        return int(v) if v.is_integer() else v
    return "" if v is None else v


class SheetsState:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed + 7)
        self.spreadsheets: dict[str, Spreadsheet] = {}

    # -- seeding and read-back -------------------------------------------------------------
    def create(
        self,
        spreadsheet_id: str | None = None,
        title: str = "Untitled spreadsheet",
        tabs: tuple[str, ...] = ("Sheet1",),
    ) -> str:
        with self._lock:
            sid = spreadsheet_id or "1" + "".join(
                self._rng.choice("abcdefghijkABCDEFGHIJK0123456789_-") for _ in range(43)
            )
            if sid in self.spreadsheets:
                raise ValueError(f"spreadsheet {sid!r} exists")
            book = Spreadsheet(sid, title)
            for i, tab in enumerate(tabs):
                book.sheets.append(Sheet(0 if i == 0 else self._sheet_id(book), tab, i))
            self.spreadsheets[sid] = book
            return sid

    def _sheet_id(self, book: Spreadsheet) -> int:
        used = {s.sheet_id for s in book.sheets}
        while True:
            sid = self._rng.randint(1, 2_000_000_000)
            if sid not in used:
                return sid

    def book(self, spreadsheet_id: str) -> Spreadsheet:
        return self.spreadsheets[spreadsheet_id]

    def sheet(self, spreadsheet_id: str, tab: str) -> Sheet:
        for s in self.book(spreadsheet_id).sheets:
            if s.title == tab:
                return s
        raise KeyError(f"no tab {tab!r} in {spreadsheet_id}")

    def tabs(self, spreadsheet_id: str) -> list[str]:
        return [s.title for s in sorted(self.book(spreadsheet_id).sheets, key=lambda s: s.index)]

    def values(
        self, spreadsheet_id: str, tab: str, render_option: str = "FORMATTED_VALUE"
    ) -> list[list[Any]]:
        """The tab as the API would return it for the whole sheet (trailing blanks trimmed)."""
        with self._lock:
            s = self.sheet(spreadsheet_id, tab)
            return _extract(s, 0, 0, s.rows - 1, s.cols - 1, render_option)

    def type_cell(self, spreadsheet_id: str, tab: str, a1: str, text: str) -> None:
        """A person typing into a cell in the browser (not through the API); "" empties it."""
        with self._lock:
            r, c, _, _ = parse_cells(a1)
            cells = self.sheet(spreadsheet_id, tab).cells
            if text:
                cells[(r, c)] = Cell(text)
            else:
                cells.pop((r, c), None)

    def cells(self, spreadsheet_id: str, tab: str) -> dict[str, Cell]:
        s = self.sheet(spreadsheet_id, tab)
        return {format_range(tab, r, c, r, c).split("!")[1]: cell for (r, c), cell in sorted(s.cells.items())}

    def formula_cells(self, spreadsheet_id: str) -> list[tuple[str, str, str]]:
        """(tab, A1, formula) for every cell stored as a formula."""
        out = []
        for s in self.book(spreadsheet_id).sheets:
            for (r, c), cell in sorted(s.cells.items()):
                if cell.formula is not None:
                    out.append((s.title, format_range(s.title, r, c, r, c).split("!")[1], cell.formula))
        return out

    def formats(self, spreadsheet_id: str, tab: str) -> list[dict[str, Any]]:
        """Formatting requests applied to the tab, in order: {"type": "repeatCell", **request}."""
        return copy.deepcopy(self.sheet(spreadsheet_id, tab).formats)

    def format_at(self, spreadsheet_id: str, tab: str, a1: str) -> dict[str, Any]:
        """userEnteredFormat of one cell, merged from repeatCell requests covering it (fields masks honoured)."""
        s = self.sheet(spreadsheet_id, tab)
        r, c, _, _ = parse_cells(a1)
        cell: dict[str, Any] = {}
        for req in s.formats:
            if req["type"] != "repeatCell" or not _covers(req.get("range", {}), r, c):
                continue
            fieldmask.copy_masked(cell, req.get("cell", {}), req.get("fields", "*"))
        return cell.get("userEnteredFormat", {})

    def charts(self, spreadsheet_id: str, tab: str) -> list[dict[str, Any]]:
        """The charts shown on a tab (EmbeddedChart JSON: chartId, spec, position)."""
        return copy.deepcopy(self.sheet(spreadsheet_id, tab).charts)

    def frozen_rows(self, spreadsheet_id: str, tab: str) -> int:
        return int(self.sheet(spreadsheet_id, tab).props.get("gridProperties", {}).get("frozenRowCount", 0))

    def grid_size(self, spreadsheet_id: str, tab: str) -> tuple[int, int]:
        s = self.sheet(spreadsheet_id, tab)
        return s.rows, s.cols

    def cell_count(self, spreadsheet_id: str) -> int:
        return self.book(spreadsheet_id).cell_count()

    # -- JSON ------------------------------------------------------------------------------
    def book_json(
        self, book: Spreadsheet, only: set[int] | None = None, grid_data: bool = False
    ) -> dict[str, Any]:
        props = {
            "title": book.title,
            "locale": book.locale,
            "autoRecalc": "ON_CHANGE",
            "timeZone": book.time_zone,
        }
        props.update(copy.deepcopy(book.extra_props))
        sheets = []
        for s in sorted(book.sheets, key=lambda s: s.index):
            if only is not None and s.sheet_id not in only:
                continue
            item: dict[str, Any] = {"properties": s.properties()}
            if s.conditional_formats:
                item["conditionalFormats"] = copy.deepcopy(s.conditional_formats)
            if s.basic_filter:
                item["basicFilter"] = copy.deepcopy(s.basic_filter)
            if s.charts:
                item["charts"] = copy.deepcopy(s.charts)
            if grid_data:
                item["data"] = [_grid_data(s)]
            sheets.append(item)
        return {
            "spreadsheetId": book.spreadsheet_id,
            "properties": props,
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }

    # -- handlers --------------------------------------------------------------------------
    def handlers(self) -> dict[str, Handler]:
        return {
            "sheets.spreadsheets.get": self.h_get,
            "sheets.spreadsheets.create": self.h_create,
            "sheets.spreadsheets.batchUpdate": self.h_batch_update,
            "sheets.spreadsheets.values.get": self.h_values_get,
            "sheets.spreadsheets.values.batchGet": self.h_values_batch_get,
            "sheets.spreadsheets.values.update": self.h_values_update,
            "sheets.spreadsheets.values.batchUpdate": self.h_values_batch_update,
            "sheets.spreadsheets.values.append": self.h_values_append,
            "sheets.spreadsheets.values.clear": self.h_values_clear,
            "sheets.spreadsheets.values.batchClear": self.h_values_batch_clear,
        }

    def _book(self, call: Call) -> Spreadsheet:
        book = self.spreadsheets.get(call.path_params["spreadsheetId"])
        if book is None:
            raise ApiError(404, "Requested entity was not found.", reason="notFound")
        return book

    def h_get(self, call: Call) -> Reply:
        with self._lock:
            book = self._book(call)
            only = None
            if call.params("ranges"):
                only = {_resolve(book, r)[0].sheet_id for r in call.params("ranges")}
            return Reply(json=self.book_json(book, only, call.flag("includeGridData")))

    def h_create(self, call: Call) -> Reply:
        body = call.body_json()
        with self._lock:
            title = body.get("properties", {}).get("title") or "Untitled spreadsheet"
            sid = self.create(None, title, tabs=())
            book = self.spreadsheets[sid]
            specs = body.get("sheets") or [{"properties": {"title": "Sheet1"}}]
            for i, spec in enumerate(specs):
                p = spec.get("properties", {})
                grid = p.get("gridProperties", {})
                sheet = Sheet(
                    p.get("sheetId", 0 if i == 0 else self._sheet_id(book)),
                    p.get("title") or f"Sheet{i + 1}",
                    i,
                    grid.get("rowCount", DEFAULT_ROWS),
                    grid.get("columnCount", DEFAULT_COLS),
                )
                if grid.get("frozenRowCount"):
                    sheet.props["gridProperties"] = {"frozenRowCount": grid["frozenRowCount"]}
                book.sheets.append(sheet)
            _check_limit(book)
            return Reply(json=self.book_json(book))

    def h_batch_update(self, call: Call) -> Reply:
        body = call.body_json()
        with self._lock:
            book = self._book(call)
            work = _structure_copy(book)  # batchUpdate is atomic: apply to a copy, commit at the end
            replies = []
            for i, req in enumerate(body.get("requests") or []):
                if not isinstance(req, dict) or len(req) != 1:
                    raise ApiError(400, f"Invalid requests[{i}]: exactly one kind of request must be set.")
                kind, payload = next(iter(req.items()))
                try:
                    replies.append(self._apply(work, kind, payload or {}))
                except _RequestError as exc:
                    raise ApiError(400, f"Invalid requests[{i}].{kind}: {exc}") from None
            _check_limit(work)
            self.spreadsheets[book.spreadsheet_id] = work
            out: dict[str, Any] = {"spreadsheetId": work.spreadsheet_id, "replies": replies}
            if body.get("includeSpreadsheetInResponse"):
                out["updatedSpreadsheet"] = self.book_json(work)
            return Reply(json=out)

    def _apply(self, book: Spreadsheet, kind: str, p: dict[str, Any]) -> dict[str, Any]:
        if kind == "addSheet":
            props = p.get("properties", {})
            title = props.get("title") or f"Sheet{len(book.sheets) + 1}"
            if any(s.title == title for s in book.sheets):
                raise _RequestError(
                    f'A sheet with the name "{title}" already exists. Please enter another name.'
                )
            sheet_id = props.get("sheetId")
            if sheet_id is None:
                sheet_id = self._sheet_id(book)
            elif any(s.sheet_id == sheet_id for s in book.sheets):
                raise _RequestError(f"Sheet with id {sheet_id} already exists.")
            index = props.get("index", len(book.sheets))
            grid = props.get("gridProperties", {})
            sheet = Sheet(
                sheet_id,
                title,
                index,
                grid.get("rowCount", DEFAULT_ROWS),
                grid.get("columnCount", DEFAULT_COLS),
            )
            extra = {
                k: v
                for k, v in props.items()
                if k not in ("sheetId", "title", "index", "gridProperties", "sheetType")
            }
            sheet.props.update(copy.deepcopy(extra))
            rest = {k: v for k, v in grid.items() if k not in ("rowCount", "columnCount")}
            if rest:
                sheet.props["gridProperties"] = rest
            for s in book.sheets:
                if s.index >= index:
                    s.index += 1
            book.sheets.append(sheet)
            return {"addSheet": {"properties": sheet.properties()}}
        if kind == "deleteSheet":
            sheet = _by_id(book, p.get("sheetId", 0))
            if len(book.sheets) == 1:
                raise _RequestError("You can't remove all the sheets in a document.")
            book.sheets.remove(sheet)
            for s in book.sheets:
                if s.index > sheet.index:
                    s.index -= 1
            return {}
        if kind == "updateSheetProperties":
            props = p.get("properties", {})
            sheet = _by_id(book, props.get("sheetId", 0))
            mask = p.get("fields")
            if not mask:
                raise _RequestError("At least one field must be updated, but none were specified.")
            current = sheet.properties()
            try:
                fieldmask.copy_masked(current, props, mask)
            except fieldmask.FieldMaskError as exc:
                raise _RequestError(str(exc)) from None
            new_title = current.get("title", sheet.title)
            if new_title != sheet.title and any(s.title == new_title for s in book.sheets):
                raise _RequestError(
                    f'A sheet with the name "{new_title}" already exists. Please enter another name.'
                )
            grid = current.get("gridProperties", {})
            sheet.title = new_title
            sheet.rows = grid.get("rowCount", sheet.rows)
            sheet.cols = grid.get("columnCount", sheet.cols)
            if current.get("index", sheet.index) != sheet.index:
                _move_sheet(book, sheet, current["index"])
            sheet.props = {
                k: v for k, v in current.items() if k not in ("sheetId", "title", "index", "sheetType")
            }
            sheet.props["gridProperties"] = {
                k: v for k, v in grid.items() if k not in ("rowCount", "columnCount")
            }
            _truncate(sheet)
            return {}
        if kind == "updateSpreadsheetProperties":
            current = {
                "title": book.title,
                "locale": book.locale,
                "timeZone": book.time_zone,
                **book.extra_props,
            }
            fieldmask.copy_masked(current, p.get("properties", {}), p.get("fields") or "*")
            book.title = current.pop("title", book.title)
            book.locale = current.pop("locale", book.locale)
            book.time_zone = current.pop("timeZone", book.time_zone)
            book.extra_props = current
            return {}
        if kind == "appendDimension":
            sheet = _by_id(book, p.get("sheetId", 0))
            length = int(p.get("length", 0))
            if length <= 0:
                raise _RequestError("length must be positive")
            if p.get("dimension") == "COLUMNS":
                sheet.cols += length
            else:
                sheet.rows += length
            return {}
        if kind in ("insertDimension", "deleteDimension"):
            rng = p.get("range", {})
            sheet = _by_id(book, rng.get("sheetId", 0))
            start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))
            n = end - start
            cols = rng.get("dimension") == "COLUMNS"
            if n <= 0:
                raise _RequestError("endIndex must be greater than startIndex")
            _shift(sheet, start, n if kind == "insertDimension" else -n, cols)
            return {}
        if kind in ("addChart", "updateChartSpec", "deleteEmbeddedObject"):
            return _chart_request(book, kind, p)
        if kind in FORMAT_REQUESTS:
            sheet = _sheet_of(book, p)
            _check_grid_range(sheet, p.get("range"))
            entry = {"type": kind, **copy.deepcopy(p)}
            sheet.formats.append(entry)
            if kind == "addConditionalFormatRule":
                rules = sheet.conditional_formats
                rules.insert(
                    min(int(p.get("index", len(rules))), len(rules)), copy.deepcopy(p.get("rule", {}))
                )
            elif kind == "setBasicFilter":
                sheet.basic_filter = copy.deepcopy(p.get("filter", {}))
            elif kind == "clearBasicFilter":
                sheet.basic_filter = None
            elif kind == "updateCells":
                _update_cells(sheet, p)
            return {}
        # Valid per the discovery schema but not modelled: keep it so a test can look.
        book.other_requests.append({kind: copy.deepcopy(p)})
        return {}

    # values ---------------------------------------------------------------------------
    def h_values_get(self, call: Call) -> Reply:
        with self._lock:
            book = self._book(call)
            return Reply(json=self._read(book, call.path_params["range"], call))

    def h_values_batch_get(self, call: Call) -> Reply:
        with self._lock:
            book = self._book(call)
            ranges = call.params("ranges")
            return Reply(
                json={
                    "spreadsheetId": book.spreadsheet_id,
                    "valueRanges": [self._read(book, r, call) for r in ranges],
                }
            )

    def _read(self, book: Spreadsheet, text: str, call: Call) -> dict[str, Any]:
        sheet, (r0, c0, r1, c1) = _resolve(book, text)
        if r1 >= sheet.rows or c1 >= sheet.cols:
            raise ApiError(
                400,
                f"Range ({format_range(sheet.title, r0, c0, r1, c1)}) exceeds grid limits. "
                f"Max rows: {sheet.rows}, max columns: {sheet.cols}",
            )
        option = call.param("valueRenderOption") or "FORMATTED_VALUE"
        date_option = call.param("dateTimeRenderOption") or "SERIAL_NUMBER"
        if option not in VALUE_RENDER_OPTIONS:
            raise ApiError(400, f"Invalid value at 'value_render_option' ({option})")
        if date_option not in DATE_TIME_RENDER_OPTIONS:
            raise ApiError(400, f"Invalid value at 'date_time_render_option' ({date_option})")
        major = call.param("majorDimension") or "ROWS"
        values = _extract(sheet, r0, c0, r1, c1, option, date_option)
        if major == "COLUMNS":
            values = _transpose(values)
        out: dict[str, Any] = {"range": format_range(sheet.title, r0, c0, r1, c1), "majorDimension": major}
        if values:
            out["values"] = values
        return out

    def _input_option(self, value: str | None) -> bool:
        if value is None:
            raise ApiError(400, "'valueInputOption' is required but not specified")
        if value not in ("RAW", "USER_ENTERED"):
            raise ApiError(400, f"Invalid valueInputOption: {value}")
        return value == "USER_ENTERED"

    def h_values_update(self, call: Call) -> Reply:
        body = call.body_json()
        with self._lock:
            book = self._book(call)
            user_entered = self._input_option(call.param("valueInputOption"))
            rng = call.path_params["range"]
            if body.get("range") and not _same_range(body["range"], rng):
                raise ApiError(
                    400,
                    f"Requested writing within range [{rng}], but tried writing to [{body['range']}]",
                )
            work = _values_copy(book)
            result = _write(work, rng, body, user_entered)
            _check_limit(work)
            self.spreadsheets[book.spreadsheet_id] = work
            result["spreadsheetId"] = book.spreadsheet_id
            return Reply(json=result)

    def h_values_batch_update(self, call: Call) -> Reply:
        body = call.body_json()
        with self._lock:
            book = self._book(call)
            user_entered = self._input_option(body.get("valueInputOption"))
            work = _values_copy(book)
            responses = [_write(work, d.get("range", ""), d, user_entered) for d in body.get("data") or []]
            _check_limit(work)
            self.spreadsheets[book.spreadsheet_id] = work
            for r in responses:
                r["spreadsheetId"] = book.spreadsheet_id
            return Reply(
                json={
                    "spreadsheetId": book.spreadsheet_id,
                    "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
                    "totalUpdatedColumns": sum(r.get("updatedColumns", 0) for r in responses),
                    "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
                    "totalUpdatedSheets": len({r["updatedRange"].rsplit("!", 1)[0] for r in responses}),
                    "responses": responses,
                }
            )

    def h_values_append(self, call: Call) -> Reply:
        body = call.body_json()
        with self._lock:
            book = self._book(call)
            user_entered = self._input_option(call.param("valueInputOption"))
            work = _values_copy(book)
            sheet, (r0, c0, r1, c1) = _resolve(work, call.path_params["range"], open_ended=True)
            rows = _rows_of(body)
            # Find the end of the table: the last non-empty row in the range's columns.
            last = -1
            for (r, c), cell in sheet.cells.items():
                if r >= r0 and c0 <= c <= c1 and _non_empty(cell):
                    last = max(last, r)
            target = max(last + 1, r0)
            if (call.param("insertDataOption") or "OVERWRITE") == "INSERT_ROWS" and rows:
                _shift(sheet, target, len(rows), cols=False)
            table = format_range(
                sheet.title, r0, c0, max(last, r0), c1 if c1 < sheet.cols else sheet.cols - 1
            )
            result = _write_at(sheet, target, c0, rows, user_entered)
            _check_limit(work)
            self.spreadsheets[book.spreadsheet_id] = work
            result["spreadsheetId"] = book.spreadsheet_id
            out: dict[str, Any] = {"spreadsheetId": book.spreadsheet_id, "updates": result}
            if last >= 0:
                out["tableRange"] = table
            return Reply(json=out)

    def h_values_clear(self, call: Call) -> Reply:
        with self._lock:
            book = self._book(call)
            cleared = _clear(book, call.path_params["range"])
            return Reply(json={"spreadsheetId": book.spreadsheet_id, "clearedRange": cleared})

    def h_values_batch_clear(self, call: Call) -> Reply:
        body = call.body_json()
        with self._lock:
            book = self._book(call)
            cleared = [_clear(book, r) for r in body.get("ranges") or []]
            return Reply(json={"spreadsheetId": book.spreadsheet_id, "clearedRanges": cleared})


class _RequestError(Exception):
    pass


# -- range resolution and cell grid helpers ---------------------------------------------------
def _resolve(
    book: Spreadsheet, text: str, open_ended: bool = False
) -> tuple[Sheet, tuple[int, int, int, int]]:
    """Sheet and closed 0-based bounds for a range; open ends stop at the grid edge."""
    try:
        title, cells = split_sheet(text)
        sheet = None
        if title is None and cells is not None:
            # "Sheet1" alone is a tab name when such a tab exists, else a cell range on the first tab.
            sheet = next((s for s in book.sheets if s.title == cells), None)
            if sheet is not None:
                cells = None
            else:
                sheet = min(book.sheets, key=lambda s: s.index)
        else:
            sheet = next((s for s in book.sheets if s.title == title), None)
        if sheet is None:
            raise A1Error(f"Unable to parse range: {text}")
        if cells is None:
            return sheet, (0, 0, sheet.rows - 1, sheet.cols - 1)
        r0, c0, r1, c1 = parse_cells(cells)
    except A1Error as exc:
        raise ApiError(400, str(exc)) from None
    r0 = 0 if r0 is None else r0
    c0 = 0 if c0 is None else c0
    r1 = max(sheet.rows - 1, r0) if r1 is None else r1
    c1 = max(sheet.cols - 1, c0) if c1 is None else c1
    r0, r1 = min(r0, r1), max(r0, r1)
    c0, c1 = min(c0, c1), max(c0, c1)
    return sheet, (r0, c0, r1, c1)


def _same_range(a: str, b: str) -> bool:
    return a.replace("'", "") == b.replace("'", "")


def _by_id(book: Spreadsheet, sheet_id: int) -> Sheet:
    for s in book.sheets:
        if s.sheet_id == sheet_id:
            return s
    raise _RequestError(f"No grid with id: {sheet_id}")


def _sheet_of(book: Spreadsheet, payload: dict[str, Any]) -> Sheet:
    for key in ("range", "rule", "filter", "start", "protectedRange", "dimensions", "bandedRange"):
        sub = payload.get(key)
        if isinstance(sub, dict):
            if "sheetId" in sub:
                return _by_id(book, sub["sheetId"])
            for inner in ("range", "ranges"):
                r = sub.get(inner)
                if isinstance(r, list) and r:
                    r = r[0]
                if isinstance(r, dict):
                    return _by_id(book, r.get("sheetId", 0))
            return _by_id(book, 0)
    return _by_id(book, payload.get("sheetId", 0))


def _chart_request(book: Spreadsheet, kind: str, p: dict[str, Any]) -> dict[str, Any]:
    """addChart / updateChartSpec / deleteEmbeddedObject (Sheets API reference, "Requests"; the body's
    shape is already checked against the discovery schema). What Sheets itself refuses is checked here:
    a chart id in use, a range or an anchor on a missing sheet or outside its grid, a missing chart."""
    charts = {c["chartId"]: (s, c) for s in book.sheets for c in s.charts}
    if kind == "deleteEmbeddedObject":
        found = charts.get(p.get("objectId"))
        if found is None:
            raise _RequestError(f"No embedded object with id: {p.get('objectId')}")
        found[0].charts.remove(found[1])
        return {}
    spec = p.get("spec") if kind == "updateChartSpec" else (p.get("chart") or {}).get("spec")
    if not spec:
        raise _RequestError("spec is required")
    for rng in _chart_ranges(spec):
        _check_grid_range(_by_id(book, rng.get("sheetId", 0)), rng)
    if kind == "updateChartSpec":
        found = charts.get(p.get("chartId"))
        if found is None:
            raise _RequestError(f"No chart with id: {p.get('chartId')}")
        found[1]["spec"] = copy.deepcopy(spec)
        return {}
    chart = copy.deepcopy(p["chart"])
    chart_id = chart.setdefault("chartId", 1 + max([0, *charts, *(s.sheet_id for s in book.sheets)]))
    if chart_id in charts:
        raise _RequestError(f"An object with id {chart_id} already exists.")
    position = chart.get("position") or {}
    anchor = (position.get("overlayPosition") or {}).get("anchorCell")
    if anchor is not None:
        sheet = _by_id(book, anchor.get("sheetId", 0))
        if anchor.get("rowIndex", 0) >= sheet.rows or anchor.get("columnIndex", 0) >= sheet.cols:
            raise _RequestError(f"The anchor cell is outside the grid of sheet {sheet.title!r}.")
    elif "sheetId" in position:
        sheet = _by_id(book, position["sheetId"])
    else:
        raise _RequestError("position must be an overlayPosition or a sheetId in this emulator")
    sheet.charts.append(chart)
    return {"addChart": {"chart": copy.deepcopy(chart)}}


def _chart_ranges(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every GridRange a basic chart reads (its domains' and series' source ranges)."""
    basic = spec.get("basicChart") or {}
    data = [d.get("domain") or {} for d in basic.get("domains", [])] + [s.get("series") or {} for s in basic.get("series", [])]
    return [r for d in data for r in (d.get("sourceRange") or {}).get("sources", [])]


def _check_grid_range(sheet: Sheet, rng: Any) -> None:
    if not isinstance(rng, dict):
        return
    end_row = rng.get("endRowIndex")
    end_col = rng.get("endColumnIndex")
    if (end_row is not None and end_row > sheet.rows) or (end_col is not None and end_col > sheet.cols):
        raise _RequestError(
            f"Range exceeds grid limits of sheet {sheet.title!r}. Max rows: {sheet.rows}, max columns: {sheet.cols}"
        )


def _covers(rng: dict[str, Any], r: int, c: int) -> bool:
    return rng.get("startRowIndex", 0) <= r < rng.get("endRowIndex", 10**9) and rng.get(
        "startColumnIndex", 0
    ) <= c < rng.get("endColumnIndex", 10**9)


def _non_empty(cell: Cell) -> bool:
    return cell.formula is not None or cell.value not in (None, "")


def _extract(sheet: Sheet, r0: int, c0: int, r1: int, c1: int, option: str,
             date_option: str = "SERIAL_NUMBER") -> list[list[Any]]:
    present = [
        (r, c) for (r, c), cell in sheet.cells.items() if r0 <= r <= r1 and c0 <= c <= c1 and _non_empty(cell)
    ]
    if not present:
        return []
    last_col: dict[int, int] = {}  # row → its last non-empty column (one pass: tabs hold millions of cells)
    for r, c in present:
        last_col[r] = max(last_col.get(r, c), c)
    rows: list[list[Any]] = []
    for r in range(r0, max(last_col) + 1):
        if r not in last_col:
            rows.append([])
            continue
        rows.append([render(sheet.cells.get((r, c)), option, date_option) for c in range(c0, last_col[r] + 1)])
    return rows


def _transpose(values: list[list[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in values), default=0)
    cols = [[row[i] if i < len(row) else "" for row in values] for i in range(width)]
    for col in cols:
        while col and col[-1] == "":
            col.pop()
    return cols


def _rows_of(body: dict[str, Any]) -> list[list[Any]]:
    values = body.get("values") or []
    if body.get("majorDimension") == "COLUMNS":
        height = max((len(c) for c in values), default=0)
        values = [[col[i] if i < len(col) else None for col in values] for i in range(height)]
    return values


def _write(book: Spreadsheet, rng: str, body: dict[str, Any], user_entered: bool) -> dict[str, Any]:
    sheet, (r0, c0, r1, c1) = _resolve(book, rng, open_ended=True)
    rows = _rows_of(body)
    _, cells = split_sheet(rng)
    bounded = cells is not None and ":" in cells  # "A1" alone only anchors the write
    if bounded and rows:
        if r0 + len(rows) - 1 > r1:
            raise ApiError(
                400, f"Requested writing within range [{rng}], but tried writing to row [{r0 + len(rows)}]"
            )
        widest = max(len(r) for r in rows)
        if c0 + widest - 1 > c1:
            raise ApiError(
                400,
                f"Requested writing within range [{rng}], but tried writing to column [{col_letters(c0 + widest - 1)}]",
            )
    return _write_at(sheet, r0, c0, rows, user_entered)


def _write_at(sheet: Sheet, r0: int, c0: int, rows: list[list[Any]], user_entered: bool) -> dict[str, Any]:
    touched_rows: set[int] = set()
    touched_cols: set[int] = set()
    count = 0
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise ApiError(400, "Invalid values: each row must be a list")
        for j, raw in enumerate(row):
            cell = to_cell(raw, user_entered)
            if cell is None:
                continue
            r, c = r0 + i, c0 + j
            if cell.formula is None and cell.value == "":
                sheet.cells.pop((r, c), None)
            else:
                sheet.cells[(r, c)] = cell
            touched_rows.add(r)
            touched_cols.add(c)
            count += 1
    # Writing past the grid grows it (the cell limit is checked by the caller).
    if touched_rows:
        sheet.rows = max(sheet.rows, max(touched_rows) + 1)
        sheet.cols = max(sheet.cols, max(touched_cols) + 1)
    height = max(len(rows), 1)
    width = max((len(r) for r in rows), default=1) or 1
    result: dict[str, Any] = {
        "updatedRange": format_range(sheet.title, r0, c0, r0 + height - 1, c0 + width - 1)
    }
    if count:
        result.update(
            {"updatedRows": len(touched_rows), "updatedColumns": len(touched_cols), "updatedCells": count}
        )
    return result


def _clear(book: Spreadsheet, rng: str) -> str:
    sheet, (r0, c0, r1, c1) = _resolve(book, rng)
    for key in [k for k in sheet.cells if r0 <= k[0] <= r1 and c0 <= k[1] <= c1]:
        del sheet.cells[key]
    return format_range(sheet.title, r0, c0, min(r1, sheet.rows - 1), min(c1, sheet.cols - 1))


def _shift(sheet: Sheet, start: int, n: int, cols: bool) -> None:
    axis = 1 if cols else 0
    moved: dict[tuple[int, int], Cell] = {}
    for key, cell in sheet.cells.items():
        pos = key[axis]
        if pos < start:
            moved[key] = cell
        elif n < 0 and pos < start - n:
            continue  # deleted
        else:
            new = list(key)
            new[axis] = pos + n
            moved[(new[0], new[1])] = cell
    sheet.cells = moved
    if cols:
        sheet.cols += n
    else:
        sheet.rows += n


def _truncate(sheet: Sheet) -> None:
    sheet.cells = {k: v for k, v in sheet.cells.items() if k[0] < sheet.rows and k[1] < sheet.cols}


def _move_sheet(book: Spreadsheet, sheet: Sheet, index: int) -> None:
    ordered = sorted((s for s in book.sheets if s is not sheet), key=lambda s: s.index)
    ordered.insert(min(index, len(ordered)), sheet)
    for i, s in enumerate(ordered):
        s.index = i


def _update_cells(sheet: Sheet, p: dict[str, Any]) -> None:
    start = p.get("start") or {}
    rng = p.get("range") or {}
    r0 = start.get("rowIndex", rng.get("startRowIndex", 0))
    c0 = start.get("columnIndex", rng.get("startColumnIndex", 0))
    mask = p.get("fields", "")
    if "userEnteredValue" not in mask and mask != "*":
        return
    for i, row in enumerate(p.get("rows") or []):
        for j, cell in enumerate(row.get("values") or []):
            v = (cell or {}).get("userEnteredValue")
            key = (r0 + i, c0 + j)
            if not v:
                sheet.cells.pop(key, None)
            elif "formulaValue" in v:
                sheet.cells[key] = Cell(None, formula=_within_cell_limit(str(v["formulaValue"])))
            elif "numberValue" in v:
                sheet.cells[key] = Cell(float(v["numberValue"]))
            elif "boolValue" in v:
                sheet.cells[key] = Cell(bool(v["boolValue"]))
            elif "stringValue" in v:
                sheet.cells[key] = Cell(_within_cell_limit(str(v["stringValue"])))


def _grid_data(sheet: Sheet) -> dict[str, Any]:
    values = _extract(sheet, 0, 0, sheet.rows - 1, sheet.cols - 1, "UNFORMATTED_VALUE")
    row_data = []
    for r, row in enumerate(values):
        cells = []
        for c in range(len(row)):
            cell = sheet.cells.get((r, c))
            if cell is None:
                cells.append({})
                continue
            uev: dict[str, Any]
            if cell.formula is not None:
                uev = {"formulaValue": cell.formula}
            elif isinstance(cell.value, bool):
                uev = {"boolValue": cell.value}
            elif isinstance(cell.value, float):
                uev = {"numberValue": cell.value}
            else:
                uev = {"stringValue": cell.value or ""}
            cells.append({"userEnteredValue": uev, "formattedValue": render(cell, "FORMATTED_VALUE")})
        row_data.append({"values": cells})
    return {"startRow": 0, "startColumn": 0, "rowData": row_data}


def _within_cell_limit(text: str) -> str:
    # Every write applies to a copy of the spreadsheet that is kept only on success: nothing is written.
    if len(text) > CELL_CHARS:
        raise ApiError(400, CELL_CHARS_MESSAGE)
    return text


def _check_limit(book: Spreadsheet) -> None:
    if book.cell_count() > CELL_LIMIT:
        raise ApiError(400, CELL_LIMIT_MESSAGE)
