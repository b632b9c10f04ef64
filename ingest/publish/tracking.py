"""The `tracking` tab: one row per unit for coordinators (Thai headers, colour by status, a stale warning)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from connectors.base import SheetFormat, Table
from ingest.campaign import Campaign
from ingest.status import STATUS_TH, Evaluation
from ingest.thaidate import format_thai_short

STATUS_COLOURS = {
    "missing": "#F4C7C3", "overdue": "#FCE8B2", "partial": "#FFF2CC", "waiting": "#FFFFFF",
    "late": "#D9EAD3", "complete": "#B7E1CD", "excused": "#E0E0E0",
}


def stale_formula(stale_after: timedelta) -> str:
    """A spreadsheet formula that turns into a warning once the last sync is older than `stale_after`.

    It reads the newest `finished_at` in the `runs` tab (column C) rather than holding the time
    itself, so it never changes from run to run and is written to the sheet only once.
    """
    hours = stale_after.total_seconds() / 3600
    return (f'=IF(NOW()-MAX(runs!C:C)>{hours:g}/24,"⚠ ข้อมูลไม่เป็นปัจจุบัน: ซิงก์ล่าสุดเกิน {hours:g} ชั่วโมง '
            f'แจ้งผู้ดูแลระบบ","✓ ข้อมูลเป็นปัจจุบัน")')


def tracking_table(campaign: Campaign, evaluation: Evaluation, *, updated_at: datetime) -> Table:
    header = ["รหัส", "หน่วยงาน", "สถานะรวม"]
    for d in campaign.deliverables:
        header += [f"{d.title} (ส่ง/กำหนด)", f"{d.title} สถานะ"]
    header += ["ไม่นับ/ผิดเงื่อนไข", "ส่งครบเมื่อ"]
    rows, colours = [], []
    for unit in evaluation.units:
        row: list[Any] = [unit.code, unit.name, STATUS_TH[unit.status]]
        reasons, completed = [], []
        for d in campaign.deliverables:
            cell = unit.deliverables[d.id]
            row += [f"{cell.received}/{cell.expected}", STATUS_TH[cell.status]]
            reasons += [f"{d.title}: {r}" for r in cell.reasons] + [f"{d.title}: {a}" for a in cell.accepted]
            if cell.completed_at:
                completed.append(cell.completed_at)
        all_done = len(completed) == len(campaign.deliverables)
        row += ["\n".join(reasons), format_thai_short(max(completed)) if all_done and completed else ""]
        rows.append(row)
        colours.append(STATUS_COLOURS[unit.status])
    rates = evaluation.rates
    note = (f"{campaign.title} · ข้อมูล ณ {format_thai_short(evaluation.as_of)} · ปรับปรุงเมื่อ "
            f"{format_thai_short(updated_at)} · ส่งครบ {rates.completeness:.0%} · ตรงเวลา {rates.timeliness:.0%}")
    widths = [8, 22, 20] + [14, 20] * len(campaign.deliverables) + [50, 16]
    stale_after = campaign.schedule.stale_after if campaign.schedule else None
    return Table("tracking", header, rows, SheetFormat(frozen_rows=1, row_colours=colours, column_widths=widths), note,
                 note_formula=stale_formula(stale_after) if stale_after else None)
