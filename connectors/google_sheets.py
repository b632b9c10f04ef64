"""A Google Sheet as the warehouse: one tab per table, only the rows that changed written, in one call.

What each tab last received is remembered (a hash per row, each row's links and fill, the grid size,
a digest of its other formats) in a key-value memo, so a run that changed nothing but the "updated at"
note and the run log makes one `values.batchUpdate`, and none of `spreadsheets.get`. Every value goes
in `RAW` (respondent text is data, never a formula) except `Table.note_formula`, our own formula,
written `USER_ENTERED`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from itertools import zip_longest
from typing import Any, Protocol, overload

from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL, SPREADSHEET_VALUES_BATCH_UPDATE_URL

from connectors.a1 import column_letters, quote_tab
from connectors.base import Chart, ColumnarRows, Table, column_of
from connectors.cells import SHEETS_CELL_CHARS, cell_text
from connectors.edits import HEADER_ROWS, column_keys, edit_headers, edits_from_rows, keep_edits, locate
from connectors.google_api import GoogleApi, GoogleApiError
from connectors.google_auth import SCOPES
from connectors.pacing import Pacer
from ingest.errors import FatalSourceError
from ingest.thaidate import BANGKOK

log = logging.getLogger(__name__)

TIME_ZONE = "Asia/Bangkok"  # the stale-sync formula uses NOW(), which follows the spreadsheet's zone
CELL_LIMIT = 10_000_000  # Google's cells per spreadsheet, over all tabs
CELL_CHARS = SHEETS_CELL_CHARS  # Google's characters per cell
# Google recommends "a 2 MB maximum payload" ("While Sheets API has no hard size limits for an API
# request ... To speed up requests", https://developers.google.com/workspace/sheets/api/limits); the
# rest of a request body (its envelope) stays within the 50 KB left over. Sizes are those of the bytes
# sent: UTF-8, compact (`_json_bytes`). gspread's `json=` sent Thai text as \uXXXX escapes, 6 bytes a
# character instead of 3, so the 1.5 MB requests counted before went out at up to twice that; 134 of
# them carried a first sync's 4.9 M cells at 7,436 sub-districts.
REQUEST_BYTES = 1_950_000
PIECE_ROWS = 250  # small pieces pack requests full: 2,000-row pieces of long answers left them half empty
# Tabs deleted or resized by hand go unnoticed while their content does not change: read the
# spreadsheet's layout again every this many writes (one read; about twice a day at 15-minute syncs).
VERIFY_EVERY = 48
WRITES_PER_MINUTE = 60  # Sheets' write requests per minute per user
_SERIAL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)  # day 0 of spreadsheet dates
_HEADER_GREY = {"red": 0.867, "green": 0.867, "blue": 0.867}
# Chart ids come with the layout (no extra read): a chart is added once and kept, and this is how a
# fresh memo learns which of ours are already there.
_META_FIELDS = ("properties/timeZone,sheets/properties(sheetId,title,gridProperties(rowCount,columnCount)),"
                "sheets/charts/chartId")
CHART_PIXELS = (600, 320)  # width, height of a chart on its tab


class Memo(Protocol):
    """Small named values kept between runs (the StateStore has these two methods)."""

    def value(self, key: str) -> str | None: ...

    def set_values(self, values: dict[str, str]) -> None: ...


@dataclass
class _Tab:
    sheet_id: int
    rows: int  # grid size
    cols: int
    width: int = 0  # columns our values span (the formula's column excluded)
    hashes: list[str] = field(default_factory=list)  # one per written row; [] = content unknown
    formats: str = ""  # digest of the format requests last applied
    formula: str = ""
    formula_col: int = 0
    edit_col: int = -1  # where the key of a table's editable columns was written (-1: none, or unknown)
    fingerprint: str = ""  # the written table's (connectors.base.Table.fingerprint), "" = none given
    links: list[str] = field(default_factory=list)  # per data row, a digest of its links ("" none); [] unknown
    # Per data row, the fill last set ("" none), and the width it spans; [] unknown (`_colour_requests`).
    colours: list[str] = field(default_factory=list)
    colour_width: int = 0
    # Per piece of data rows, the key its table gave it (`connectors.base.RowPieces`, salted with the rows
    # above the data and the width, `_piece_digests`); [] none: every row's digest is made.
    pieces: list[str] = field(default_factory=list)


@dataclass
class _Book:
    time_zone_set: bool
    tabs: dict[str, _Tab]  # every tab of the spreadsheet, ours or not
    writes: int = 0  # since the spreadsheet's layout was last read
    # chartId → digest of the spec we gave it ("" = there, spec unknown); None = not known at all
    charts: dict[str, str] | None = None


def _plain(tab: _Tab) -> dict[str, Any]:
    """The tab's fields for JSON, lists not copied (`asdict` copied each row
    hashes one by one: 0.27 s of a 1.1 s no-change sync at 928 districts)."""
    return {f.name: getattr(tab, f.name) for f in fields(tab)}


def _holds(book: _Book, table: Table) -> bool:
    """Whether the spreadsheet holds `table` as it is: a tab written with its fingerprint, whose grid
    still has every row written there."""
    tab = book.tabs.get(table.name)
    return bool(table.fingerprint) and tab is not None and tab.fingerprint == table.fingerprint \
        and bool(tab.hashes) and tab.rows >= len(tab.hashes) and tab.cols >= tab.width


def _reconcile(remembered: _Book, actual: _Book) -> _Book:
    """Trust the memo only for tabs that are still there as we left them (people edit spreadsheets)."""
    tabs = {}
    for name, tab in actual.tabs.items():
        known = remembered.tabs.get(name)
        if known is not None and known.sheet_id == tab.sheet_id:
            known.rows, known.cols = tab.rows, tab.cols
            tabs[name] = known
        else:
            tabs[name] = tab
    known = remembered.charts or {}
    return _Book(actual.time_zone_set, tabs, charts={c: known.get(c, "") for c in actual.charts or {}})


@dataclass
class _Plan:
    # spreadsheets.batchUpdate requests, each as a dict or already as its JSON (`_json_bytes`: the links)
    structure: list[dict[str, Any] | bytes] = field(default_factory=list)
    ranges: list[tuple[str, int, _RowsOut]] = field(default_factory=list)  # (tab, first row, rows)
    formulas: list[tuple[str, str]] = field(default_factory=list)  # (A1 range, formula)
    clear: list[str] = field(default_factory=list)  # tabs whose old content is unknown


class _RowsOut(Sequence[list[Any]]):
    """Rows `start`…`stop - 1` of a tab as they will be sent, converted only when read: the requests are
    built and sent one at a time, so a first write holds one request's rows converted, not the
    millions of cells of every tab at once."""

    def __init__(self, row: Callable[[int], list[Any]], start: int, stop: int) -> None:
        self._row, self._indices = row, range(start, stop)

    def __len__(self) -> int:
        return len(self._indices)

    @overload
    def __getitem__(self, key: int) -> list[Any]: ...

    @overload
    def __getitem__(self, key: slice) -> list[list[Any]]: ...

    def __getitem__(self, key: int | slice) -> list[Any] | list[list[Any]]:
        if isinstance(key, slice):
            return [self._row(i) for i in self._indices[key]]
        return self._row(self._indices[key])


class GoogleSheetsWarehouse:
    """Writes tables into one spreadsheet that is shared with the service account as Editor."""

    def __init__(self, api: GoogleApi, spreadsheet_id: str, *, memo: Memo | None = None,
                 verify_every: int = VERIFY_EVERY, writes_per_minute: int = WRITES_PER_MINUTE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.spreadsheet_id = spreadsheet_id
        self.memo = memo
        self.verify_every = verify_every
        self.pacer = Pacer(writes_per_minute, what="Sheets writes", clock=clock, sleep=api.sleep)
        self._memo_key = f"google_sheets:{spreadsheet_id}"

    @property
    def _what(self) -> str:
        return f"warehouse spreadsheet {self.spreadsheet_id}"

    @property
    def _http(self) -> Any:
        return self.api.sheets_http(SCOPES["sheets"])

    def check(self) -> str:
        """Read the tabs, then set the time zone (needed anyway): proves read and edit access."""
        book = self._fetch()
        self._batch_update([_time_zone_request()])
        used = sum(t.rows * t.cols for t in book.tabs.values())
        return f"spreadsheet is writable; {used:,} of {CELL_LIMIT:,} cells used"

    def read_edits(self, tabs: Mapping[str, Sequence[str]], *, undecided: Collection[str] = ()
                   ) -> dict[str, dict[str, tuple[str, ...]]]:
        """Key → editable cells per tab, in one values.batchGet of the key and editable columns only.

        Where the layout is not remembered (a first sync, a state file lost or moved to a new server,
        or after a failed write) it is read first (`spreadsheets.get`), and the tabs already there are
        read whole: a spreadsheet this state never wrote can still hold coordinators' decisions, and
        a run that skipped them counted rejected items and chased accepted ones until the next sync
        (found by tests/incremental_runs.py on a Sheets warehouse: a fresh state's run against a copy
        of a reviewed spreadsheet). A new, empty spreadsheet costs that one layout read. Of a tab in
        `undecided` the editable columns are read alone, and its keys only if a cell there is filled.

        A tab the remembered layout names but a person deleted or renamed since makes Google refuse the
        read whole (400 INVALID_ARGUMENT "Unable to parse range: …", as reported in
        github.com/invokable/laravel-google-sheets/issues/13 and, for tabs deleted from a shared sheet,
        github.com/jakubgarfield/expenses/issues/5): the layout is then read again and the tabs still there
        are read, and the memo is forgotten, so the write that follows rewrites every tab (as `write`
        does when its own request is refused).
        """
        book = self._remembered()
        if book is not None:
            try:
                return self._read_edits(tabs, book, undecided)
            except GoogleApiError as exc:
                if exc.status != 400:
                    raise
                log.warning("%s; reading the spreadsheet's layout again", exc)
                self._forget()
        return self._read_edits(tabs, self._fetch(), undecided)

    def _read_edits(self, tabs: Mapping[str, Sequence[str]], book: _Book, undecided: Collection[str] = ()
                    ) -> dict[str, dict[str, tuple[str, ...]]]:
        found = {}
        for name, (values, _) in self._read_columns(tabs, book, undecided).items():
            edits = edits_from_rows(values, tabs[name])
            if edits is not None:
                found[name] = edits
        return found

    def _read_columns(self, tabs: Mapping[str, Sequence[str]], book: _Book, editable_only: Collection[str] = ()
                      ) -> dict[str, tuple[list[list[Any]], int]]:
        """Per tab, its cell values holding the key and editable columns, and the sheet column they start at.

        A tab in `editable_only` is first read without its key column: when its editable cells are all
        blank it is given as its header alone (no row has an edit, so no key is needed). Until the first
        decision is typed that read is a few header cells instead of the keys of every row (126k rows,
        4.2 MB, most of a no-change sync's wait at 7,436 sub-districts): "for output, empty trailing rows
        and columns will not be included" (ValueRange.values, https://developers.google.com/workspace/
        sheets/api/reference/rest/v4/spreadsheets.values#ValueRange). Once one is, the keys are read in a
        second call."""
        wanted = {name: (headers, book.tabs[name]) for name, headers in tabs.items() if name in book.tabs}
        # Where tidtam last wrote them; found from the header rows when that is unknown or a person moved them.
        narrow = {n: tab.edit_col for n, (_, tab) in wanted.items() if tab.edit_col >= 0}
        alone = {n for n in editable_only if n in narrow and len(wanted[n][0]) > 1}
        got: dict[str, tuple[list[list[Any]], int]] = {}
        for name, values in self._batch_get({n: _columns(n, col + 1, len(wanted[n][0]) - 1) if n in alone else
                                             _columns(n, col, len(wanted[n][0])) for n, col in narrow.items()}).items():
            headers = wanted[name][0]
            if name in alone:
                at = locate(values, headers[1:])
                if at is not None and not _filled(values[at[0] + 1:]):
                    got[name] = ([list(headers)], narrow[name])
            elif locate(values, headers) is not None:
                got[name] = (values, narrow[name])
        typed = {n: narrow[n] for n in alone if n not in got}  # an edit there (or moved columns): keys too
        for name, values in self._batch_get({n: _columns(n, col, len(wanted[n][0]))
                                             for n, col in typed.items()}).items():
            if locate(values, wanted[name][0]) is not None:
                got[name] = (values, typed[name])
        # Where the columns are not known (a state that lost the spreadsheet, a write that failed, columns a
        # person moved): the header rows first, then the columns found there. Every cell of the tabs was
        # read here before: a sync at 7,436 sub-districts whose state did not know the spreadsheet grew
        # by 39 MB while that reply came in and by 177 MB more while its rows were searched for edits,
        # and peaked at 866-877 MB (648 MB so; bench/README.md). A header that is not on those rows is
        # not found in a whole tab either (`locate` looks at the first `HEADER_ROWS`).
        unknown = [n for n in wanted if n not in got]
        found: dict[str, int] = {}
        for name, values in self._batch_get({n: f"{quote_tab(n)}!1:{HEADER_ROWS}" for n in unknown}).items():
            at = locate(values, wanted[name][0])
            if at is None:
                got[name] = (values, 0)
            else:
                found[name] = at[1]
        for name, values in self._batch_get({n: _columns(n, col, len(wanted[n][0])) for n, col in found.items()}).items():
            got[name] = (values, found[name])
        return got

    def _batch_get(self, ranges: Mapping[str, str]) -> dict[str, list[list[Any]]]:
        if not ranges:
            return {}
        # FORMATTED_VALUE: a key or a reason comes back as the text the cell shows. prettyPrint=false (a
        # standard parameter of every Google API, default true): the key column of 126k rows, indented
        # one value a line, is several times the bytes of the compact answer.
        reply = self.api.call("sheets.spreadsheets.values.batchGet", lambda: self._http.values_batch_get(
            self.spreadsheet_id, list(ranges.values()), params={"majorDimension": "ROWS", "prettyPrint": "false"}),
            what=self._what, role="Editor")
        got = reply.get("valueRanges", [])
        return {name: got[i].get("values", []) if i < len(got) else [] for i, name in enumerate(ranges)}

    def write(self, tables: Iterable[Table]) -> None:
        tables = list(tables)
        book = self._remembered()
        charts_unknown = book is not None and book.charts is None and any(t.charts for t in tables)
        if book is not None and (book.writes + 1 >= self.verify_every or charts_unknown):
            book = _reconcile(book, self._fetch())
        # A tab that holds a table of the same fingerprint is left alone: no row of it is made or compared.
        held = {t.name for t in tables if book is not None and _holds(book, t)}
        written = False
        try:
            try:
                self._write([t.whole() for t in tables if t.name not in held], book, held)
            except GoogleApiError as exc:
                if book is None or exc.status != 400:
                    raise
                # Someone changed the spreadsheet by hand (a tab deleted or renamed): start afresh.
                log.warning("%s; reading the spreadsheet again and rewriting every tab", exc)
                self._write([t.whole() for t in tables], None)
            written = True
        finally:
            if not written:
                self._forget()  # what is in the sheet is now unknown: the next write starts afresh

    # -- one write ---------------------------------------------------------------------------
    def _write(self, tables: list[Table], book: _Book | None, held: Collection[str] = ()) -> None:
        """`held`: tabs left as they are (they hold their table already), still there to be linked to."""
        if book is None:
            book = self._fetch()
        contents = _Contents(book.tabs)  # each table's cells converted and hashed once, for the probe and the plan
        tables, in_place = self._keep_edits(tables, book, contents)
        plan = _Plan()
        if not book.time_zone_set:
            plan.structure.append(_time_zone_request())
            book.time_zone_set = True
        reach = _chart_reach(tables)
        # Sheet ids before planning: a tab's links name other tabs by id ("#gid=…"), new ones included.
        gids = {name: book.tabs[name].sheet_id if name in book.tabs else _new_sheet_id(name, book)
                for name in [*(t.name for t in tables), *held]}
        new_tabs = {t.name: _plan_table(t, book, plan, reach.get(t.name, (0, 0)), gids, in_place.get(t.name, set()),
                                        contents) for t in tables}
        if any(t.charts for t in tables):
            book.charts = dict(book.charts or {})
            for table in tables:
                for index, chart in enumerate(table.charts):
                    _plan_chart(table, index, chart, {**book.tabs, **new_tabs}, book.charts, plan)
        self._check_cells(book, new_tabs)
        if plan.clear:
            self._call_write("sheets.spreadsheets.values.batchClear", lambda: self._http.values_batch_clear(
                self.spreadsheet_id, body={"ranges": [quote_tab(t) for t in plan.clear]}))
        if plan.structure and formats_only(plan.structure):
            # Fills, links, number formats, dropdowns, charts: no value and no tab's size changes, so they
            # go while the values are made and sent (a changed sync at 7,436 sub-districts moves a few
            # units' fills and links, one call of 0.3 s waited for before the values' 0.4 s).
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="formats") as side:
                formatted = side.submit(self._batch_update, plan.structure)
                self._write_values(plan.ranges)
                formatted.result()
        else:
            if plan.structure:
                self._batch_update(plan.structure)
            self._write_values(plan.ranges)
        for a1, formula in plan.formulas:
            # Our own formula, the one value entered as if typed (so it is evaluated, not shown as text).
            self._call_write("sheets.spreadsheets.values.update", lambda a1=a1, formula=formula: self._http.values_update(
                self.spreadsheet_id, a1, params={"valueInputOption": "USER_ENTERED"}, body={"values": [[formula]]}))
        book.tabs.update(new_tabs)
        book.writes += 1
        self._remember(book)

    def _keep_edits(self, tables: list[Table], book: _Book, contents: _Contents | None = None
                    ) -> tuple[list[Table], dict[str, set[int]]]:
        """Editable cells as the sheet holds them right now, for every tab whose rows this write touches,
        and per tab the rows whose key the sheet already shows in the same place.

        The cells go back in the row of the same key, so rows added, removed or reordered carry their
        decisions with them, and what a person typed while the run was busy (after its first read)
        is what gets written back. A row whose key has not moved keeps its editable cells unwritten, so
        even a cell typed in the instant between this read and the write stays as typed. Tabs whose
        rows do not change are not read: none of their cells are written.

        A tab whose table carries no edit (no decision was ever made there) is first read without its
        keys (`_read_columns`' `editable_only`): while its editable cells are blank in the sheet too,
        there is no edit to carry and the rows are written as the table has them, blank editable cells
        included. That read is a few header cells where the keys of every row were 126k cells at 7,436
        sub-districts (1.3 s of a changed sync under the profiler, with reading, matching and copying them). A cell filled
        there sends the run to read the keys as well (a second read), and edits are kept as above. What
        this leaves open: a tab's first decision typed in the instant between that read and the write,
        into a row the write changes, is written over (blank), where the keys' read would have kept it.
        """
        contents = contents or _Contents()
        touched = {}
        for table in tables:
            if table.editable is None or table.name not in book.tabs:
                continue
            probe = _Plan()
            _plan_table(table, book, probe, contents=contents)
            if probe.clear or any(tab == table.name for tab, _, _ in probe.ranges):
                touched[table.name] = edit_headers(table)
        if not touched:
            return tables, {}
        blank = [t.name for t in tables if t.name in touched and not contents.of(t).carries_edits]
        read = self._read_columns(touched, book, editable_only=blank)
        out, in_place = [], {}
        for table in tables:
            if table.name not in read or table.editable is None:
                out.append(table)
                continue
            values, first_col = read[table.name]
            at = locate(values, touched[table.name])
            edits = edits_from_rows(values, touched[table.name]) or {}
            kept = keep_edits(table, edits)
            if contents is not None:
                contents.derive(kept, table)
            out.append(kept)
            header_row = 1 if table.note else 0
            if at is not None and at[0] == header_row and first_col + at[1] == table.editable.key:
                keys = column_keys(values, at)
                spec = table.editable
                in_place[table.name] = {j for j, key in enumerate(column_of(table.rows, spec.key))
                                        if j < len(keys) and keys[j] and keys[j] == str(key).strip()}
        return out, in_place

    def _fetch(self) -> _Book:
        meta = self.api.call("sheets.spreadsheets.get", lambda: self._http.fetch_sheet_metadata(
            self.spreadsheet_id, params={"fields": _META_FIELDS}), what=self._what, role="Editor")
        tabs, charts = {}, {}
        for sheet in meta.get("sheets", []):
            props = sheet["properties"]
            grid = props.get("gridProperties", {})
            tabs[props["title"]] = _Tab(int(props.get("sheetId", 0)), int(grid.get("rowCount", 0)),
                                        int(grid.get("columnCount", 0)))
            charts.update({str(c["chartId"]): "" for c in sheet.get("charts", []) if "chartId" in c})
        return _Book(meta.get("properties", {}).get("timeZone") == TIME_ZONE, tabs, charts=charts)

    def _write_values(self, ranges: Sequence[tuple[str, int, Sequence[list[Any]]]]) -> None:
        for data in _value_requests(ranges):
            self._call_write("sheets.spreadsheets.values.batchUpdate", lambda data=data: self._http.request(
                "post", SPREADSHEET_VALUES_BATCH_UPDATE_URL % self.spreadsheet_id, data=data,
                headers={"Content-Type": "application/json; charset=UTF-8"}).json())

    def _batch_update(self, requests: list[dict[str, Any] | bytes]) -> None:
        """The requests in order, in as few `spreadsheets.batchUpdate` calls as keep each body under
        Google's size advice (`REQUEST_BYTES`): a first write at 7,436 sub-districts is 29,805 requests
        (the tracking tab's links, one per unit and column), 8.1 MB in one body, and a request body over
        10 MiB is refused whole (`_structure_pieces`)."""
        for piece in _structure_pieces(requests):
            body = b'{"requests":[' + b",".join(piece) + b"]}"
            self._call_write("sheets.spreadsheets.batchUpdate", lambda body=body: self._http.request(
                "post", SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id, data=body,
                headers={"Content-Type": "application/json; charset=UTF-8"}).json())

    def _call_write(self, method_id: str, fn: Callable[[], Any]) -> Any:
        self.pacer.wait()
        return self.api.call(method_id, fn, what=self._what, role="Editor")

    def _check_cells(self, book: _Book, new_tabs: Mapping[str, _Tab]) -> None:
        tabs = {**book.tabs, **new_tabs}
        needed = sum(t.rows * t.cols for t in tabs.values())
        if needed > CELL_LIMIT:
            ours = sum(t.rows * t.cols for t in new_tabs.values())
            raise FatalSourceError(
                f"{self._what} would need {needed:,} cells ({ours:,} for tidtam's tabs), over Google's limit of "
                f"{CELL_LIMIT:,} per spreadsheet: delete unused tabs or rows there, or set warehouse.spreadsheet_id "
                "to a new, empty spreadsheet shared with the service account as Editor; nothing was written",
                source=self._what)
        if needed > CELL_LIMIT * 0.8:
            log.warning("%s uses %s of Google's %s cells: plan a new spreadsheet", self._what, f"{needed:,}",
                        f"{CELL_LIMIT:,}")

    # -- memo ------------------------------------------------------------------------------
    def _remembered(self) -> _Book | None:
        text = self.memo.value(self._memo_key) if self.memo is not None else None
        try:
            data = json.loads(text or "")
            return _Book(bool(data["tz"]), {name: _Tab(**tab) for name, tab in data["tabs"].items()},
                         int(data.get("writes", 0)), data.get("charts"))
        except (ValueError, KeyError, TypeError):
            return None

    def _remember(self, book: _Book) -> None:
        if self.memo is not None:
            data = {"tz": book.time_zone_set, "writes": book.writes, "charts": book.charts,
                    "tabs": {name: _plain(tab) for name, tab in book.tabs.items()}}
            self.memo.set_values({self._memo_key: json.dumps(data, ensure_ascii=False, sort_keys=True)})

    def _forget(self) -> None:
        if self.memo is not None:
            self.memo.set_values({self._memo_key: ""})


def _plan_table(table: Table, book: _Book, plan: _Plan, reach: tuple[int, int] = (0, 0),
                gids: Mapping[str, int] | None = None, in_place: Collection[int] = (),
                contents: _Contents | None = None) -> _Tab:
    """Add to `plan` what this table needs; return the tab as it will be after the write.

    `reach`: rows and columns the tab must have for the charts that read it or sit on it.
    `in_place`: data rows whose editable cells are left as the sheet holds them (their row is written
    only up to its key; a shorter row in a values range leaves the cells after it untouched)."""
    made = (contents or _Contents()).of(table)
    width, hashes = made.width, made.hashes
    formula = table.note_formula or ""
    need_rows, need_cols = max(len(hashes), reach[0]), max(width + (1 if formula else 0), reach[1])
    old = book.tabs.get(table.name)
    if old is None:
        tab = _Tab(_new_sheet_id(table.name, book), _grow(need_rows), max(need_cols, 1))
        plan.structure.append({"addSheet": {"properties": {
            "sheetId": tab.sheet_id, "title": table.name,
            "gridProperties": {"rowCount": tab.rows, "columnCount": tab.cols}}}})
        old = _Tab(tab.sheet_id, tab.rows, tab.cols)
    else:
        tab = _Tab(old.sheet_id, old.rows, old.cols)
        if not old.hashes and old.width == 0:
            plan.clear.append(table.name)  # a tab we did not write, or forgot: its old content goes
        if need_rows > old.rows:
            tab.rows = _grow(need_rows)
            plan.structure.append(_append(tab.sheet_id, "ROWS", tab.rows - old.rows))
        if need_cols > old.cols:
            tab.cols = need_cols
            plan.structure.append(_append(tab.sheet_id, "COLUMNS", tab.cols - old.cols))
    tab.width, tab.hashes, tab.fingerprint, tab.pieces = width, hashes, table.fingerprint, made.pieces
    tab.edit_col = table.editable.key if table.editable else -1
    formats = _formats(table, tab.sheet_id, made.value_types, width, formula)
    tab.formats = hashlib.sha1(json.dumps(formats, sort_keys=True).encode()).hexdigest()[:12]
    if tab.formats != old.formats:
        plan.structure.extend(formats)
    first_data = _header_row(table) + 1
    tab.colours = [c or "" for c in table.sheet_format.row_colours] if table.sheet_format else []
    tab.colour_width = width if tab.colours else 0
    plan.structure.extend(_colour_requests(tab.sheet_id, first_data, width, tab.colours, old.colours
                                           if old.colour_width == width else None))
    links = _link_rows(table, gids or {})
    tab.links = [_digest(links.get(i, [])) if i in links else "" for i in range(len(table.rows))] if table.links else []
    plan.structure.extend(_link_requests(table, tab.sheet_id, links, tab.links, old.links))
    rewrite = old.width != width or not old.hashes
    stale_formula_col = old.formula_col if old.formula and (not formula or old.formula_col != width) else -1
    span = max(width, old.width, stale_formula_col + 1)
    changed = [i for i, h in enumerate(hashes) if rewrite or i >= len(old.hashes) or old.hashes[i] != h]
    blank = list(range(len(hashes), len(old.hashes)))
    shown = set(changed) | set(blank)
    if stale_formula_col >= 0:
        shown.add(0)  # the header row again: clears the formula left where it used to be
    # Rows whose editable cells the sheet keeps: written only up to their key (a shorter row in a values
    # range leaves the cells after it untouched).
    short = ({i + len(made.head) for i in in_place} if table.editable and in_place and table.name not in plan.clear
             else set())
    cut = table.editable.key + 1 if table.editable else span

    def row_out(i: int) -> list[Any]:
        if i >= len(hashes):
            return [""] * span
        row = made.row(i) + [""] * (span - width)
        return row[:cut] if i in short else row

    for start, stop in _runs(sorted(shown)):
        plan.ranges.append((table.name, start, _RowsOut(row_out, start, stop)))
    tab.formula, tab.formula_col = formula, width if formula else 0
    if formula and (formula != old.formula or old.formula_col != width or rewrite):
        plan.formulas.append((f"{quote_tab(table.name)}!{column_letters(width)}1", formula))
    return tab


def _chart_reach(tables: Sequence[Table]) -> dict[str, tuple[int, int]]:
    """Per tab, the rows and columns its charts need: a chart's range and its anchor cell must lie
    inside the grid (Sheets refuses a GridRange or GridCoordinate outside it)."""
    reach: dict[str, tuple[int, int]] = {}
    for table in tables:
        for chart in table.charts:
            rows, cols = reach.get(table.name, (0, 0))
            reach[table.name] = (max(rows, _header_row(table) + 1 + chart.rows), cols)
            place = chart.place_on or table.name
            rows, cols = reach.get(place, (0, 0))
            reach[place] = (max(rows, chart.anchor_row + 1), max(cols, chart.anchor_column + 1))
    return reach


def _plan_chart(table: Table, index: int, chart: Chart, tabs: Mapping[str, _Tab], charts: dict[str, str],
                plan: _Plan) -> None:
    """`addChart` the first time, `updateChartSpec` when the spec changed, nothing otherwise.

    The chart's id is ours (derived from the tab's name), so a chart already in the spreadsheet is
    recognised and never added twice; a person may move or restyle it, and a later spec change
    replaces only its spec (its position stays where they put it).
    """
    chart_id = _chart_id(table.name, index)
    spec = _chart_spec(table, chart, tabs[table.name].sheet_id)
    place = tabs[chart.place_on or table.name]
    position = {"overlayPosition": {
        "anchorCell": {"sheetId": place.sheet_id, "rowIndex": chart.anchor_row, "columnIndex": chart.anchor_column},
        "widthPixels": CHART_PIXELS[0], "heightPixels": CHART_PIXELS[1]}}
    digest = hashlib.sha1(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]
    known = charts.get(str(chart_id))
    if known is None:
        plan.structure.append({"addChart": {"chart": {"chartId": chart_id, "spec": spec, "position": position}}})
    elif known != digest:
        plan.structure.append({"updateChartSpec": {"chartId": chart_id, "spec": spec}})
    charts[str(chart_id)] = digest


def _chart_spec(table: Table, chart: Chart, sheet_id: int) -> dict[str, Any]:
    """A BasicChartSpec (Sheets API reference, "Charts": ChartSpec, BasicChartSpec): the domain and
    each series a one-column ChartSourceRange whose first row is the header (headerCount 1)."""
    header = _header_row(table)

    def column(index: int) -> dict[str, Any]:
        return {"sourceRange": {"sources": [{
            "sheetId": sheet_id, "startRowIndex": header, "endRowIndex": header + 1 + chart.rows,
            "startColumnIndex": index, "endColumnIndex": index + 1}]}}

    line = chart.kind == "line"
    # targetAxis must be the chart type's minor axis: LEFT for a line, BOTTOM for (horizontal) bars.
    series = [{"series": column(c), "targetAxis": "LEFT_AXIS" if line else "BOTTOM_AXIS"} for c in chart.series]
    return {"title": chart.title, "basicChart": {
        "chartType": "LINE" if line else "BAR", "headerCount": 1,
        "legendPosition": "BOTTOM_LEGEND" if len(series) > 1 else "NO_LEGEND",
        "domains": [{"domain": column(chart.domain)}], "series": series}}


def _chart_id(tab: str, index: int) -> int:
    return int(hashlib.sha1(f"chart {index} of {tab}".encode()).hexdigest()[:7], 16) + 1


def _header_row(table: Table) -> int:
    return 1 if table.note else 0


@dataclass
class _Content:
    """A table as its tab shows it (note, header, data rows), converted as the API takes them only where
    asked: a write converts the rows it sends, not the thousands it leaves alone."""

    table: Table
    head: list[list[Any]]  # the note (if any) and the header, converted and padded to `width`
    width: int
    # One per shown row: the note's and header's from their converted cells, a data row's from its values
    # as the table holds them (`_value_digest`) — equal values convert to equal cells, so a row whose
    # digest is the one last written needs no conversion to be known unchanged.
    hashes: list[str]
    # Whether a data row has an editable cell filled (a decision typed), found in the same pass as the
    # digests: a tab's rows can be made as they are read (ingest.publish.analyst.FrameRows).
    carries_edits: bool = False
    pieces: list[str] = field(default_factory=list)  # the keys `_piece_digests` salted, for `_Tab.pieces`

    def row(self, index: int) -> list[Any]:
        """Shown row `index`, converted and padded to `width`."""
        if index < len(self.head):
            return self.head[index]
        converted = [_cell(v) for v in self.table.rows[index - len(self.head)]]
        return converted + [""] * (self.width - len(converted))

    @property
    def rows(self) -> list[list[Any]]:
        return [self.row(i) for i in range(len(self.hashes))]

    @cached_property
    def value_types(self) -> Sequence[Collection[type]]:
        """Per column, the types of its data values (for the date formats): the table's own when its maker
        gave them, else found without a Python loop over cells (one tab can hold millions)."""
        if self.table.column_types is not None:
            return self.table.column_types
        return [set(map(type, column)) for column in zip_longest(*self.table.rows, fillvalue=None)]


class _Contents:
    """Each table's content made once per write (the probe for edits and the plan both need it). A table
    that differs from another only in a few cells (the review columns put back) reuses the other's
    digests of the rows that are equal."""

    def __init__(self, written: Mapping[str, _Tab] | None = None) -> None:
        self._made: dict[int, tuple[Table, _Content]] = {}
        self._like: dict[int, Table] = {}
        self._written = written or {}  # the tabs as last written: pieces unchanged since keep their digests

    def of(self, table: Table) -> _Content:
        found = self._made.get(id(table))
        if found is not None and found[0] is table:
            return found[1]
        like = self._like.pop(id(table), None)
        base = self._made.get(id(like)) if like is not None else None
        made = _content(table, base[1] if base is not None and base[0] is like else None, self._written.get(table.name))
        self._made[id(table)] = (table, made)
        return made

    def derive(self, table: Table, like: Table) -> None:
        """`table` is `like` with some cells changed: its equal rows' digests can be taken from `like`'s."""
        self._like[id(table)] = like


def _content(table: Table, base: _Content | None = None, written: _Tab | None = None) -> _Content:
    """`base`: the content of the table this one was derived from; `written`: the tab as last written."""
    head = [[_cell(table.note)]] if table.note else []
    head.append([_cell(str(h)) for h in table.header])
    width = max(max(len(r) for r in head), table.row_width if table.row_width is not None
                else max((len(r) for r in table.rows), default=0))
    head = [r + [""] * (width - len(r)) for r in head]
    # A table derived from `base` (its review columns put back): its rows equal to base's keep their digests.
    like, like_digests = (base.table.rows, base.hashes[len(base.head):]) \
        if base is not None and base.width == width and len(base.table.rows) == len(table.rows) else (None, [])
    pieces = _piece_keys(table, width, len(head)) if like is None else []
    if pieces:
        data = _piece_digests(table, width, len(head), pieces, written)
        spec = table.editable
        # Any editable cell filled: the editable columns read whole, as columns (`_filled` looks at every cell).
        filled = spec is not None and _filled(column_of(table.rows, c) for c in range(spec.key + 1, spec.key + 1 + spec.count))
    elif like is None and table.editable is None:
        data, filled = [_value_digest(row, width) for row in table.rows], False
    else:
        # One pass for the digests and for whether an editable cell is filled.
        cells = slice(table.editable.key + 1, table.editable.key + 1 + table.editable.count) if table.editable else None
        data, filled = [], False
        for i, row in enumerate(table.rows):
            same = like is not None and (row is like[i] or row == like[i])
            data.append(like_digests[i] if same else _value_digest(row, width))
            filled = filled or (cells is not None and _filled((row[cells],)))
    return _Content(table, head, width, [_row_hash(r) for r in head] + data, filled, pieces)


def _piece_keys(table: Table, width: int, head: int) -> list[str]:
    """The table's piece keys (`connectors.base.RowPieces`) salted with the rows above the data and the
    width, so that a key equal to one last written means the same rows at the same places; [] when the
    table gives none (or rows it has since changed: they must be made from a frame, `ColumnarRows`)."""
    pieces = table.pieces
    if pieces is None or not isinstance(table.rows, ColumnarRows) or \
            len(pieces.keys) != -(-len(table.rows) // pieces.size):
        return []
    salt = f"{head}:{width}:{pieces.size}:"
    return [hashlib.sha1((salt + key).encode()).hexdigest()[:16] for key in pieces.keys]


def _piece_digests(table: Table, width: int, head: int, keys: Sequence[str], written: _Tab | None) -> list[str]:
    """The data rows' digests: a piece whose key is the one last written at its place keeps the digests
    written then (at 7,436 sub-districts, a changed sync's responses and files tabs are 130,000 rows
    whose digests took 1.2 s, most pieces unchanged), and only the others' rows are made and digested."""
    size = table.pieces.size if table.pieces is not None else 1
    before = written.pieces if written is not None else []
    old = written.hashes if written is not None else []
    data: list[str] = []
    for index, key in enumerate(keys):
        start, stop = index * size, min((index + 1) * size, len(table.rows))
        if index < len(before) and before[index] == key and len(old) >= head + stop:
            data.extend(old[head + start:head + stop])
        else:
            data.extend(_value_digest(row, width) for row in table.rows[start:stop])
    return data


def _row_hash(row: list[Any]) -> str:
    return hashlib.sha1(json.dumps(row, ensure_ascii=False).encode()).hexdigest()[:12]


def _value_digest(row: Sequence[Any], width: int) -> str:
    """A data row's digest from its values before conversion (`repr` is C-fast for the str, int, float
    and datetime values tables hold, where converting and JSON-encoding each cell was most of a changed
    sync's write) and the width it is padded to. Equal values give equal cells (`_cell` is a function
    of the value), so equal digests mean the row as sent is unchanged; the converse need not hold (a
    NaN and a None both show ""), which costs at most a row written again."""
    return "v" + hashlib.sha1(f"{width}:{row!r}".encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else ""
    if isinstance(value, datetime):
        # A spreadsheet date is a day count in the spreadsheet's zone (Bangkok): real dates sort and filter.
        local = value.astimezone(BANGKOK) if value.tzinfo else value.replace(tzinfo=BANGKOK)
        return round((local.replace(tzinfo=UTC) - _SERIAL_EPOCH) / timedelta(days=1), 8)
    if isinstance(value, date):
        return (datetime(value.year, value.month, value.day, tzinfo=UTC) - _SERIAL_EPOCH).days
    # Google refuses a whole request for one cell over its limit: cut that one answer instead.
    return cell_text(value, CELL_CHARS)


def _formats(table: Table, sheet_id: int, value_types: Sequence[Collection[type]], width: int, formula: str
             ) -> list[dict[str, Any]]:
    """Header style, frozen rows, date columns and column widths, as batchUpdate requests (row colours:
    `_colour_requests`).
    `value_types`: per column, the types of the table's values (`_Content.value_types`)."""
    header_row = 1 if table.note else 0
    first_data = header_row + 1
    spec = table.sheet_format
    frozen = (spec.frozen_rows if spec else 1) + header_row
    requests: list[dict[str, Any]] = [
        {"updateSheetProperties": {"properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": frozen}},
                                   "fields": "gridProperties.frozenRowCount"}},
        _repeat(sheet_id, header_row, header_row + 1, 0, width,
                {"textFormat": {"bold": True}, "backgroundColor": _HEADER_GREY, "wrapStrategy": "WRAP",
                 "verticalAlignment": "TOP"},
                "userEnteredFormat(textFormat,backgroundColor,wrapStrategy,verticalAlignment)"),
    ]
    if table.note:
        requests.append(_repeat(sheet_id, 0, 1, 0, 1, {"textFormat": {"italic": True}}, "userEnteredFormat.textFormat"))
    if formula:
        requests.append(_repeat(sheet_id, 0, 1, width, width + 1, {"textFormat": {"bold": True}},
                                "userEnteredFormat.textFormat"))
    for column in [c for c, types in enumerate(value_types) if any(issubclass(t, datetime) for t in types)]:
        requests.append(_repeat(sheet_id, first_data, None, column, column + 1,
                                {"numberFormat": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}},
                                "userEnteredFormat.numberFormat"))
    days = [c for c, types in enumerate(value_types)
            if any(issubclass(t, date) and not issubclass(t, datetime) for t in types)]
    for column in days:
        requests.append(_repeat(sheet_id, first_data, None, column, column + 1,
                                {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}},
                                "userEnteredFormat.numberFormat"))
    if table.editable and table.editable.choices:
        requests.extend(_dropdown(table, sheet_id, first_data, width))
    widths = list(spec.column_widths) if spec else []
    for start, stop in _runs(list(range(min(len(widths), width))), key=lambda i: widths[i]):
        requests.append({"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": start, "endIndex": stop},
            "properties": {"pixelSize": int(widths[start] * 7)}, "fields": "pixelSize"}})
    return requests


def _colour_requests(sheet_id: int, first_data: int, width: int, new: Sequence[str], old: Sequence[str] | None
                     ) -> list[dict[str, Any]]:
    """Row fills (`SheetFormat.row_colours`) for the rows whose fill changed since the last write, as
    links are (`_link_requests`): each run of changed rows is cleared first (a unit whose status changed
    must not keep last run's colour), then its colours set. When the last write's fills are not known
    (`old` None or empty: a new tab, an older memo, another width), every data row is cleared and set.
    While the fills were part of the formats' digest, a run that moved one unit's colour cleared and set
    every colour run of the tab again (up to one request a row in a campaign of mixed statuses)."""
    if not new and not old:
        return []
    field = "userEnteredFormat.backgroundColor"
    changed, requests = _cleared_rows(sheet_id, first_data, width, field, new, old)
    coloured = [i for i in changed if i < len(new) and new[i]]
    for start, stop in _runs(coloured, key=lambda i: new[i]):
        requests.append(_repeat(sheet_id, first_data + start, first_data + stop, 0, width,
                                {"backgroundColor": _rgb(new[start])}, field))
    return requests


def _cleared_rows(sheet_id: int, first_data: int, width: int, field: str, new: Sequence[str],
                  old: Sequence[str] | None) -> tuple[list[int], list[dict[str, Any]]]:
    """The data rows whose per-row format (links, fill: a digest per row, "" for none) must be set again,
    and the requests that first clear `field` on them: every row, cleared to the tab's end, when the last
    write's are not known (`old` None or empty); else the rows whose digest changed (a row past either
    end counting as ""), cleared run by run."""
    if not old:
        return list(range(len(new))), [_repeat(sheet_id, first_data, None, 0, width, {}, field)]
    changed = [i for i in range(max(len(new), len(old)))
               if (new[i] if i < len(new) else "") != (old[i] if i < len(old) else "")]
    return changed, [_repeat(sheet_id, first_data + start, first_data + stop, 0, width, {}, field)
                     for start, stop in _runs(changed)]


def _link_rows(table: Table, gids: Mapping[str, int]) -> dict[int, list[tuple[int, str]]]:
    """Per data row, its cell-level links (column, URI). A place in the spreadsheet is the URL fragment
    the Sheets UI gives a range link, "#gid=<sheetId>&range=A5:K9"; a link to a tab not written is left out."""
    rows: dict[int, list[tuple[int, str]]] = {}
    for (row, column), target in sorted(table.links.items()):
        if target.startswith("#"):
            tab, _, cells = target[1:].partition("!")
            if tab not in gids:
                continue
            target = f"#gid={gids[tab]}&range={cells}"
        rows.setdefault(row, []).append((column, target))
    return rows


def _link_requests(table: Table, sheet_id: int, links: Mapping[int, list[tuple[int, str]]], new: Sequence[str],
                   old: Sequence[str]) -> list[dict[str, Any] | bytes]:
    """Cell-level links as formats (Sheets API reference, "Cells": TextFormat.link, a Link's `uri`), so
    values stay RAW and a link costs no call of its own. Only rows whose links changed since the last
    write are sent (a new response moves the links of one unit, not of 7,436): each such run of rows is
    cleared first (a unit that lost its rows must not keep pointing at them), then its links set. When
    the last write's links are not known, every data row is cleared and set."""
    if not new and not old:
        return []
    first = _header_row(table) + 1
    field = "userEnteredFormat.textFormat.link"
    changed, cleared = _cleared_rows(sheet_id, first, len(table.header), field, new, old)
    requests: list[dict[str, Any] | bytes] = list(cleared)
    for row in changed:
        for column, target in links.get(row, ()):
            # As JSON at once: a first write at 7,436 sub-districts sets 29,805 links, 42.8 MB as dicts
            # and 8.8 MB as their JSON (measured offline), held until the layout is sent.
            requests.append(_json_bytes(_repeat(sheet_id, first + row, first + row + 1, column, column + 1,
                                                {"textFormat": {"link": {"uri": target}}}, field)))
    return requests


def _digest(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, ensure_ascii=False).encode()).hexdigest()[:12]


def _dropdown(table: Table, sheet_id: int, first_data: int, width: int) -> list[dict[str, Any]]:
    """A dropdown on the editable column (SetDataValidationRequest, condition ONE_OF_LIST; Sheets API
    reference, spreadsheets/request#setdatavalidationrequest and DataValidationRule): first cleared over
    the data rows (the column moves when a form gains a question), then set on its column. Not strict,
    so a typed variant is kept and reported rather than refused."""
    assert table.editable is not None
    column = table.editable.key + 1
    grid = {"sheetId": sheet_id, "startRowIndex": first_data}
    rule = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": c} for c in table.editable.choices]},
            "strict": False, "showCustomUi": True}
    return [{"setDataValidation": {"range": {**grid, "startColumnIndex": 0, "endColumnIndex": width}}},
            {"setDataValidation": {"range": {**grid, "startColumnIndex": column, "endColumnIndex": column + 1},
                                   "rule": rule}}]


def _filled(rows: Iterable[Sequence[Any]]) -> bool:
    """Whether any cell of these rows holds more than blanks."""
    return any(str(v).strip() for row in rows for v in row if v is not None)


def _columns(tab: str, first: int, count: int) -> str:
    """Whole columns, header included: `'files'!T:V`."""
    return f"{quote_tab(tab)}!{column_letters(first)}:{column_letters(first + count - 1)}"


def _repeat(sheet_id: int, row0: int, row1: int | None, col0: int, col1: int, fmt: dict[str, Any],
            fields: str) -> dict[str, Any]:
    grid: dict[str, Any] = {"sheetId": sheet_id, "startRowIndex": row0, "startColumnIndex": col0,
                            "endColumnIndex": col1}
    if row1 is not None:
        grid["endRowIndex"] = row1
    cell = {"userEnteredFormat": fmt} if fmt else {}
    return {"repeatCell": {"range": grid, "cell": cell, "fields": fields}}


def _value_requests(ranges: Sequence[tuple[str, int, Sequence[list[Any]]]]) -> Iterator[bytes]:
    """values.batchUpdate bodies, as the bytes that send them: every range in one request, split only to
    stay under Google's size advice. Made one at a time, as they are sent (each converts its own rows:
    `_RowsOut`). A body is its pieces' JSON, encoded once to be measured and joined as it is (encoding
    each body again was 94 more passes over 190 MB of JSON in a first sync at 7,436 sub-districts); the
    converted rows are let go of once encoded."""
    encoded: list[bytes] | None = None
    size = 0
    for tab, start, rows in ranges:
        for offset in range(0, len(rows), PIECE_ROWS):
            for piece in _pieces(tab, start + offset, list(rows[offset: offset + PIECE_ROWS])):
                if encoded is None or size + len(piece) + 1 > REQUEST_BYTES:
                    if encoded is not None:
                        yield _body_bytes(encoded)
                    encoded, size = [], 0
                encoded.append(piece)
                size += len(piece) + 1  # and the comma that joins it to the next
    if encoded is not None:
        yield _body_bytes(encoded)


# Requests of `spreadsheets.batchUpdate` that set formats, validation or charts and nothing else (Sheets
# API reference, spreadsheets/request): none adds a tab, rows or columns, or writes a cell's value.
_FORMAT_REQUESTS = frozenset({"repeatCell", "setDataValidation", "updateSheetProperties", "updateDimensionProperties",
                              "addChart", "updateChartSpec"})


# Of these, the requests whose field mask must lie under a prefix: a cell's format, not its value; a tab's
# frozen rows, not its size (updateSheetProperties can also set gridProperties.rowCount).
_ONLY_FIELDS = {"repeatCell": "userEnteredFormat", "updateSheetProperties": "gridProperties.frozen"}


def formats_only(requests: Sequence[dict[str, Any] | bytes]) -> bool:
    """Whether the requests change no value and no tab's size or existence, so that the values' write
    can go at the same time: each is one of `_FORMAT_REQUESTS`, and a `repeatCell` sets formats alone (its
    `fields` all under `userEnteredFormat`). A request already encoded (a link's, `_link_requests`) is told
    from its JSON's start."""
    for request in requests:
        if isinstance(request, bytes):
            if not request.startswith(b'{"repeatCell":') or b'"fields":"userEnteredFormat.' not in request:
                return False
            continue
        if len(request) != 1:
            return False
        kind, body = next(iter(request.items()))
        if kind not in _FORMAT_REQUESTS:
            return False
        # A field mask's parts, a group's inner fields dropped ("userEnteredFormat(textFormat,backgroundColor)").
        fields_ = [f.strip() for f in re.sub(r"\([^)]*\)", "", str(body.get("fields", ""))).split(",")]
        if kind in _ONLY_FIELDS and not all(f.startswith(_ONLY_FIELDS[kind]) for f in fields_):
            return False
    return True


def _structure_pieces(requests: list[dict[str, Any] | bytes]) -> list[list[bytes]]:
    """`requests` as JSON (`_json_bytes`), cut, in order, into runs whose body stays under
    `REQUEST_BYTES` (a request larger than that alone goes alone). Google refuses a body over 10 MiB
    with 400 "Request payload size exceeds the limit: 10485760 bytes." (see `tests/emulator/emulator.py`,
    PAYLOAD_LIMIT). Sizes are those of the bytes sent, the envelope left to the 50 KB margin."""
    pieces: list[list[bytes]] = []
    size = REQUEST_BYTES  # forces a first piece
    for request in requests:
        encoded = request if isinstance(request, bytes) else _json_bytes(request)
        length = len(encoded) + 1  # and the comma that joins it to the next
        if size + length > REQUEST_BYTES:
            pieces.append([])
            size = 0
        pieces[-1].append(encoded)
        size += length
    return pieces


def _body_bytes(pieces: list[bytes]) -> bytes:
    """`_json_bytes` of {"valueInputOption": "RAW", "data": [the pieces]}, from the pieces' own bytes."""
    return b'{"valueInputOption":"RAW","data":[' + b",".join(pieces) + b"]}"


def _json_bytes(value: Any) -> bytes:
    """JSON as a request body: UTF-8 ("JSON text exchanged between systems that are not part of a closed
    ecosystem MUST be encoded using UTF-8", RFC 8259 section 8.1) and without spaces. A lone surrogate (which a cell never holds:
    connectors.cells) would go out as its \\u escape, as an ASCII-only encoder writes it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def _pieces(tab: str, start: int, rows: list[list[Any]]) -> list[bytes]:
    """The rows as value ranges' JSON, halved until each fits in a request."""
    encoded = _json_bytes({"range": f"{quote_tab(tab)}!A{start + 1}", "majorDimension": "ROWS", "values": rows})
    if len(encoded) + 1 <= REQUEST_BYTES or len(rows) == 1:
        return [encoded]
    middle = len(rows) // 2
    return _pieces(tab, start, rows[:middle]) + _pieces(tab, start + middle, rows[middle:])


def _runs(indices: Sequence[int], key: Any = None) -> list[tuple[int, int]]:
    """Consecutive indices (with equal `key`) as half-open (start, stop) pairs."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i and (key is None or key(runs[-1][0]) == key(i)):
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def _grow(rows: int) -> int:
    # Headroom, so the run log and new responses rarely need a grid change (a separate write).
    return rows + max(100, rows // 5)


def _append(sheet_id: int, dimension: str, length: int) -> dict[str, Any]:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}


def _time_zone_request() -> dict[str, Any]:
    return {"updateSpreadsheetProperties": {"properties": {"timeZone": TIME_ZONE}, "fields": "timeZone"}}


def _new_sheet_id(name: str, book: _Book) -> int:
    used = {t.sheet_id for t in book.tabs.values()}
    sheet_id = int(hashlib.sha1(name.encode()).hexdigest()[:7], 16) + 1
    while sheet_id in used:
        sheet_id += 1
    return sheet_id


def _rgb(colour: str) -> dict[str, float]:
    value = colour.lstrip("#")
    return {k: int(value[i: i + 2], 16) / 255 for k, i in (("red", 0), ("green", 2), ("blue", 4))}
