"""The `summary` tab: one row per parent unit or group (ingest.rollup), for campaigns below province level."""

from __future__ import annotations

from typing import Any

from connectors.base import SheetFormat, Table
from ingest.campaign import Campaign
from ingest.rollup import LEVEL_TH, rollups
from ingest.status import Evaluation


def summary_table(campaign: Campaign, evaluation: Evaluation) -> Table:
    """Units expected, complete and on time, and the rates (in per cent) overall and per deliverable."""
    header = ["ระดับ", "รหัส", "ชื่อ", "หน่วยทั้งหมด", "ส่งครบ", "ตรงเวลา", "ส่งครบ (%)", "ตรงเวลา (%)"]
    for d in campaign.deliverables:
        header += [f"{d.title} ส่งครบ (%)", f"{d.title} ตรงเวลา (%)"]
    rows: list[list[Any]] = []
    for group in rollups(campaign, evaluation):
        r = group.rates
        row: list[Any] = [LEVEL_TH[group.level], group.code, group.name, r.units_expected, r.units_complete,
                          r.units_on_time, _percent(r.completeness), _percent(r.timeliness)]
        for d in campaign.deliverables:
            rates = group.by_deliverable[d.id]
            row += [_percent(rates.completeness), _percent(rates.timeliness)]
        rows.append(row)
    return Table("summary", header, rows, SheetFormat(column_widths=[10, 8, 22] + [12] * (len(header) - 3)))


def _percent(rate: float) -> float:
    return round(rate * 100, 1)
