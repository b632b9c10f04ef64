"""Step 4's content: the warehouse tabs built from tidy tables and statuses (pure).

`tracking` is for coordinators (Thai headers, one row per unit, colour by status); the other tabs
are for analysts (English column names, one row per response, file, answer, problem or run).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from connectors.base import SheetFormat, Table
from ingest.campaign import Campaign
from ingest.normalize import Tables
from ingest.status import STATUS_TH, Evaluation
from ingest.thaidate import BANGKOK, format_thai_short

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
            reasons += [f"{d.title}: {r}" for r in cell.reasons]
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


def frame_table(name: str, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> Table:
    columns = list(columns or frame.columns)
    rows = [[_plain(v) for v in record] for record in frame[columns].itertuples(index=False, name=None)]
    header = [c[2:] if c.startswith("q:") else c for c in columns]
    return Table(name, header, rows)


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.tz_convert(BANGKOK).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if hasattr(value, "item"):  # numpy scalars → Python values, for both openpyxl and JSON
        return value.item()
    return value


def runs_table(runs: Sequence[dict[str, Any]]) -> Table:
    header = ["run_id", "started_at", "finished_at", "as_of", "outcome", "responses", "files", "problems",
              "api_calls", "error"]
    rows = []
    for run in runs:
        counts = json.loads(run["counts"] or "{}")
        # Times as spreadsheet dates (Bangkok): they sort, and the tracking tab's stale formula reads column C.
        rows.append([run["run_id"], _moment(run["started_at"]), _moment(run["finished_at"]), _moment(run["as_of"]),
                     run["outcome"],
                     counts.get("responses", ""), counts.get("files", ""), counts.get("problems", ""),
                     run["api_calls"], run["error"]])
    return Table("runs", header, rows)


def _moment(text: str | None) -> datetime | str:
    return datetime.fromisoformat(text).astimezone(BANGKOK) if text else ""


def warehouse_tables(campaign: Campaign, tables: Tables, evaluation: Evaluation, runs: Sequence[dict[str, Any]],
                     *, updated_at: datetime) -> list[Table]:
    return [
        tracking_table(campaign, evaluation, updated_at=updated_at),
        frame_table("responses", tables.responses),
        frame_table("files", tables.files),
        frame_table("focus_group", tables.focus_group),
        frame_table("problems", tables.problems),
        runs_table(runs),
    ]
