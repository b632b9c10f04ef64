"""An .xlsx workbook as the warehouse: one sheet per table, rewritten atomically on each write."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.hyperlink import Hyperlink

from connectors.a1 import quote_tab
from connectors.base import Chart, Table
from connectors.cells import EXCEL_CELL_CHARS, cell_text
from connectors.edits import edit_headers, edits_from_rows, keep_edits
from ingest.errors import FatalSourceError

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
_LINK_FONT = Font(color="0563C1", underline="single")


class XlsxWarehouse:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def write(self, tables: Iterable[Table]) -> None:
        tables = [t.whole() for t in tables]  # the whole workbook is written: every table's rows are needed
        editable = {t.name: edit_headers(t) for t in tables if t.editable}
        # The whole workbook is rewritten: what people typed in their columns since the run began
        # (read again just now) goes back into the row of the same key.
        found = self.read_edits(editable) if editable else {}
        tables = [keep_edits(t, found.get(t.name, {})) for t in tables]
        workbook = Workbook()
        workbook.remove(workbook.active)
        for table in tables:
            _write_sheet(workbook.create_sheet(table.name), table)
        for table in tables:  # after every sheet exists: a chart may sit on another table's sheet
            for chart in table.charts:
                _add_chart(workbook, table, chart)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".tidtam-", suffix=".xlsx", dir=self.path.parent)
        os.close(handle)
        try:
            workbook.save(temporary)
            os.replace(temporary, self.path)  # readers never see a half-written workbook
        except PermissionError:
            Path(temporary).unlink(missing_ok=True)
            raise FatalSourceError(f"cannot write {self.path}: is it open in Excel? Close it and run again",
                                   source=str(self.path)) from None

    def read_edits(self, tabs: Mapping[str, Sequence[str]], *, undecided: Collection[str] = ()
                   ) -> dict[str, dict[str, tuple[str, ...]]]:
        """Key → editable cells per tab (see connectors.base.EditableWarehouse); {} before the first write.
        The workbook is read whole either way, so `undecided` changes nothing here."""
        if not self.path.exists():
            return {}
        try:
            workbook = load_workbook(self.path, read_only=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, InvalidFileException) as exc:
            raise FatalSourceError(f"cannot read {self.path} for the coordinators' review columns ({exc}); "
                                   "repair or move the file aside and run again", source=str(self.path)) from None
        try:
            found = {}
            for name, headers in tabs.items():
                if name in workbook.sheetnames:
                    rows = [list(r) for r in workbook[name].iter_rows(values_only=True)]
                    edits = edits_from_rows(rows, headers)
                    if edits is not None:
                        found[name] = edits
            return found
        finally:
            workbook.close()

    def read(self) -> dict[str, list[list[object]]]:
        """Every sheet's cell values, header included (for tests and `tidtam status`)."""
        workbook = load_workbook(self.path, read_only=True)
        try:
            return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in workbook.worksheets}
        finally:
            workbook.close()


def _write_sheet(sheet, table: Table) -> None:
    offset = 0
    if table.note:
        sheet.cell(row=1, column=1, value=_cell_value(table.note)).font = Font(italic=True)
        offset = 1
    if table.note_formula:
        sheet.cell(row=1, column=len(table.header) + 1, value=table.note_formula).font = Font(bold=True)
    for column, title in enumerate(table.header, start=1):
        cell = sheet.cell(row=offset + 1, column=column, value=_cell_value(title))
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    colours = list(table.sheet_format.row_colours) if table.sheet_format else []
    for index, row in enumerate(table.rows):
        fill = PatternFill("solid", fgColor=colours[index].lstrip("#")) if index < len(colours) and colours[index] else None
        for column, value in enumerate(row, start=1):
            value = _cell_value(value)
            cell = sheet.cell(row=offset + 2 + index, column=column, value=value)
            if isinstance(value, str) and value.startswith("="):
                # Respondent text is data: openpyxl would store "=..." as a formula unless told otherwise.
                cell.data_type = "s"
            if fill is not None:
                cell.fill = fill
    for (index, column), target in table.links.items():
        _link(sheet.cell(row=offset + 2 + index, column=column + 1), target)
    if table.editable and table.editable.choices:
        _dropdown(sheet, table, first_row=offset + 2)
    frozen = (table.sheet_format.frozen_rows if table.sheet_format else 1) + offset
    sheet.freeze_panes = f"A{frozen + 1}"
    widths = list(table.sheet_format.column_widths) if table.sheet_format else []
    for column in range(1, len(table.header) + 1):
        width = widths[column - 1] if column - 1 < len(widths) else 16
        sheet.column_dimensions[get_column_letter(column)].width = width


def _link(cell, target: str) -> None:
    """openpyxl's `cell.hyperlink`: a URL, or a `location` inside the workbook ("'files'!A5"), which
    is how a hyperlink element points at a place in the same file (openpyxl.worksheet.hyperlink)."""
    if target.startswith("#"):
        tab, _, cells = target[1:].partition("!")
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"{quote_tab(tab)}!{cells.split(':')[0]}")
    else:
        cell.hyperlink = target
    cell.font = _LINK_FONT  # the look of Excel's Hyperlink style, without replacing the row's fill


def _add_chart(workbook: Workbook, table: Table, spec: Chart) -> None:
    """An openpyxl chart of the spec's columns, anchored on its tab (openpyxl.chart: Reference,
    add_data(titles_from_data=True) takes each series' name from its header cell)."""
    data_sheet = workbook[table.name]
    header_row = 2 if table.note else 1
    chart = LineChart() if spec.kind == "line" else BarChart()
    if isinstance(chart, BarChart):
        chart.type = "bar"  # horizontal bars: the Thai status names stay readable
    chart.title = spec.title
    chart.width, chart.height = 18, 9  # cm
    last = header_row + spec.rows
    for column in spec.series:
        chart.add_data(Reference(data_sheet, min_col=column + 1, min_row=header_row, max_row=last),
                       titles_from_data=True)
    chart.set_categories(Reference(data_sheet, min_col=spec.domain + 1, min_row=header_row + 1, max_row=last))
    for series in chart.series:
        series.smooth = False  # openpyxl's line series default to smoothed curves, which overshoot the counts
    if len(spec.series) == 1:
        chart.legend = None  # one series: its name is the title
    # openpyxl 3.1 writes axes as deleted unless told otherwise; Excel then draws no axis labels.
    chart.x_axis.delete = chart.y_axis.delete = False
    place = workbook[spec.place_on or table.name]
    place.add_chart(chart, f"{get_column_letter(spec.anchor_column + 1)}{spec.anchor_row + 1}")


def _dropdown(sheet, table: Table, *, first_row: int) -> None:
    """A list validation on the editable column (openpyxl's DataValidation: type "list" with a quoted,
    comma-separated formula1, https://openpyxl.readthedocs.io/en/stable/validation.html). Not strict:
    a value outside the list is kept and reported by tidtam, never refused to a coordinator."""
    assert table.editable is not None
    letter = get_column_letter(table.editable.key + 2)
    validation = DataValidation(type="list", formula1='"' + ",".join(table.editable.choices) + '"',
                                allow_blank=True, showErrorMessage=False)
    sheet.add_data_validation(validation)
    validation.add(f"{letter}{first_row}:{letter}{max(first_row + len(table.rows) + 1000, first_row)}")


def _cell_value(value: object) -> object:
    if isinstance(value, datetime):
        # Excel has no time zones: write the Bangkok wall-clock time, which is what coordinators read.
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        # openpyxl refuses control characters (IllegalCharacterError) and Excel a cell over its limit:
        # the text is cleaned and cut instead, so one stray byte never stops the whole write.
        return cell_text(value, EXCEL_CELL_CHARS)
    return value
