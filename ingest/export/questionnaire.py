"""The questionnaire summary สรุปแบบสอบถาม.xlsx: per Likert item, how many answered each level and the
mean (labels scored 5..1 as normalization scores them), overall, per unit and per group (the units'
parent, when the campaign's units have one), with a native bar chart per item; free-text items listed,
never averaged. Counted responses only. Questions that identify the respondent (the deliverable's
`dedupe_key` and columns marked `personal: true`) are not questionnaire items and are left out.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from connectors.pandas_text import pd
from ingest.campaign import Campaign
from ingest.export.frames import is_likert
from ingest.export.package import pin_package
from ingest.export.snapshot import Snapshot
from ingest.normalize import LIKERT

FILE_NAME = "สรุปแบบสอบถาม.xlsx"
LEVELS = sorted(LIKERT.items(), key=lambda kv: -kv[1])  # มากที่สุด (5) first
COUNT_HEADERS = [f"{label} ({score})" for label, score in LEVELS]
FONT_NAME = "TH Sarabun New"  # Excel falls back on its own when it is missing


@dataclass(frozen=True)
class Item:
    deliverable: str
    column: str  # "q:<question>"
    likert: bool

    @property
    def question(self) -> str:
        return self.column[2:]


def identifying(campaign: Campaign) -> set[str]:
    """Question columns that name a respondent rather than ask an opinion."""
    return {f"q:{q}" for d in campaign.deliverables for q in (*d.dedupe_key, *d.personal)}


def items_of(snapshot: Snapshot, counted: pd.DataFrame) -> list[Item]:
    skip = identifying(snapshot.campaign)
    items = []
    for deliverable in snapshot.campaign.deliverables:
        if deliverable.kind != "response":
            continue
        rows = counted[counted["deliverable"] == deliverable.id]
        for column in rows.columns:
            if column.startswith("q:") and column not in skip and rows[column].map(_given).any():
                items.append(Item(deliverable.id, column, is_likert(rows[column])))
    return items


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value)) and str(value).strip() != ""


def level_counts(values: Iterable[object]) -> tuple[int, list[int], float | None]:
    """(answers, count per level 5..1, mean rounded to 2 places or None)."""
    scores = [int(v) for v in values if _given(v)]
    counts = [scores.count(score) for _, score in LEVELS]
    return len(scores), counts, round(sum(scores) / len(scores), 2) if scores else None


def _header(sheet: Worksheet, names: list[str]) -> None:
    sheet.append(names)
    for cell in sheet[1]:
        cell.font = Font(name=FONT_NAME, bold=True)
    sheet.freeze_panes = "A2"


def _overall(book: Workbook, counted: pd.DataFrame, items: list[Item], titles: dict[str, str]) -> Worksheet:
    sheet = book.active
    sheet.title = "สรุปรวม"
    _header(sheet, ["รายการ", "ข้อคำถาม", "จำนวนผู้ตอบ", *COUNT_HEADERS, "ค่าเฉลี่ย"])
    for item in items:
        rows = counted[counted["deliverable"] == item.deliverable]
        n, counts, mean = level_counts(rows[item.column])
        sheet.append([titles[item.deliverable], item.question, n, *counts, mean])
        sheet.cell(sheet.max_row, 9).number_format = "0.00"
    sheet.column_dimensions["B"].width = 60
    return sheet


def _charts(book: Workbook, overall: Worksheet, items: list[Item]) -> None:
    """One clustered bar chart per item, drawn from its row of the overall sheet (so it stays live)."""
    sheet = book.create_sheet("กราฟ")
    for index, item in enumerate(items):
        row = index + 2
        chart = BarChart()
        chart.type = "col"
        chart.title = item.question if len(item.question) <= 70 else item.question[:69] + "…"
        chart.y_axis.title = "จำนวนผู้ตอบ"
        chart.legend = None
        chart.add_data(Reference(overall, min_col=4, max_col=8, min_row=row, max_row=row), from_rows=True,
                       titles_from_data=False)
        chart.set_categories(Reference(overall, min_col=4, max_col=8, min_row=1, max_row=1))
        chart.width, chart.height = 18, 8
        sheet.add_chart(chart, f"A{1 + index * 17}")


def _breakdown(book: Workbook, title: str, key_name: str, counted: pd.DataFrame, items: list[Item],
               keys: list[tuple[str, str]], key_column: pd.Series) -> None:
    sheet = book.create_sheet(title)
    _header(sheet, ["รหัส", key_name, "ข้อคำถาม", "จำนวนผู้ตอบ", *COUNT_HEADERS, "ค่าเฉลี่ย"])
    for code, name in keys:
        mine = counted[key_column == code]
        for item in items:
            n, counts, mean = level_counts(mine.loc[mine["deliverable"] == item.deliverable, item.column])
            if n:
                sheet.append([code, name, item.question, n, *counts, mean])
                sheet.cell(sheet.max_row, 10).number_format = "0.00"
    sheet.column_dimensions["C"].width = 60


def _free_text(book: Workbook, counted: pd.DataFrame, items: list[Item]) -> None:
    sheet = book.create_sheet("คำตอบปลายเปิด")
    _header(sheet, ["รหัส", "หน่วยงาน", "ข้อคำถาม", "คำตอบ"])
    for item in items:
        rows = counted[counted["deliverable"] == item.deliverable].sort_values(["unit_code", "submitted_at"])
        for row in rows[["unit_code", "unit_name", item.column]].itertuples(index=False, name=None):
            if _given(row[2]) and str(row[2]).strip() not in ("-", "-ไม่มี-", "ไม่มี"):
                sheet.append([row[0], row[1], item.question, str(row[2])])
                # openpyxl takes a leading "=" for a formula (an answer "=HYPERLINK(...)" would run): text.
                sheet.cell(sheet.max_row, 4).data_type = "s"
    sheet.column_dimensions["D"].width = 80


def build_questionnaire(snapshot: Snapshot) -> tuple[bytes, int]:
    """The .xlsx bytes and how many counted responses it summarises."""
    responses = snapshot.tables.responses
    counted = responses[responses["counted"].astype(bool)] if len(responses) else responses
    items = items_of(snapshot, counted)
    likert = [i for i in items if i.likert]
    titles = {d.id: d.title for d in snapshot.campaign.deliverables}
    book = Workbook()
    overall = _overall(book, counted, likert, titles)
    _charts(book, overall, likert)
    units = sorted((u.code, u.name) for u in snapshot.campaign.units)
    _breakdown(book, "รายหน่วยงาน", "หน่วยงาน", counted, likert, units, counted["unit_code"])
    parents = {u.code: u.parent for u in snapshot.campaign.units}
    if any(parents.values()):
        names = {u.code: u.name for u in snapshot.campaign.units}
        groups = sorted({(p, names.get(p, p)) for p in parents.values() if p})
        _breakdown(book, "รายกลุ่ม", "กลุ่ม", counted, likert, groups, counted["unit_code"].map(parents))
    _free_text(book, counted, [i for i in items if not i.likert])
    book.properties.creator = "tidtam"
    book.properties.title = f"สรุปแบบสอบถาม: {snapshot.campaign.title}"
    book.properties.created = snapshot.as_of.astimezone(UTC).replace(tzinfo=None)
    buffer = io.BytesIO()
    book.save(buffer)
    return pin_package(buffer.getvalue(), snapshot.as_of), len(counted)
