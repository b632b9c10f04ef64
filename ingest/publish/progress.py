"""The `progress` tab (units complete by the end of each day, a line chart) and the `status` tab (units
per status, a bar chart shown beside the tracking table). Pure: built from one evaluation.

A deliverable of a unit is complete from the arrival of its n-th valid item on, and the evaluation
already knows that moment (`DeliverableStatus.completed_at`, from items that arrived by as-of). So
the count for any past day needs no history: it is the number of units completed by that day's end.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime, time, timedelta

from connectors.base import Chart, SheetFormat, Table
from ingest.campaign import Campaign
from ingest.status import STATUS_TH, URGENCY, Evaluation, UnitStatus
from ingest.thaidate import BANGKOK

ALL_DONE = "ครบทุกรายการ"


def campaign_days(campaign: Campaign, evaluation: Evaluation) -> list[date]:
    """Every Bangkok day from the earliest `opens` to the last deadline (grace and overrides included).

    A campaign with no `opens` starts on the day the first unit completed anything, else on its
    first deadline's day.
    """
    deadlines = [d.due_at + d.grace for d in campaign.deliverables]
    deadlines += [campaign.deadline_for(o.unit, d) for d in campaign.deliverables for o in campaign.overrides
                  if o.deliverable in (None, d.id) and o.due_at]
    opens = [d.opens_at for d in campaign.deliverables if d.opens_at]
    done = [c.completed_at for u in evaluation.units for c in u.deliverables.values() if c.completed_at]
    first = min(opens) if opens else min(done) if done else min(deadlines)
    start, stop = day_of(first), day_of(max(deadlines))
    return [start + timedelta(days=i) for i in range((stop - start).days + 1)]


def progress_table(campaign: Campaign, evaluation: Evaluation) -> Table:
    """One row per day up to as-of: per deliverable, and for all of them, the units complete by its end."""
    days = campaign_days(campaign, evaluation)
    ids = [d.id for d in campaign.deliverables]
    finished = [_completions(unit, ids) for unit in evaluation.units]
    # Per column, the units' completion moments sorted: the units complete by a day's end are those before
    # it (offline at 7,436 sub-districts and 15 days: the table 0.083 s with a count per day and unit, 0.045 s so).
    keys = [*ids, ALL_DONE]
    moments = {key: sorted(at for f in finished if (at := f.get(key)) is not None) for key in keys}
    rows = []
    for day in (d for d in days if d <= day_of(evaluation.as_of)):
        end = datetime.combine(day + timedelta(days=1), time(), BANGKOK)
        rows.append([day] + [bisect_left(moments[key], end) for key in keys])
    header = _header(campaign)
    return Table("progress", header, rows, SheetFormat(column_widths=[12] + [18] * (len(header) - 1)),
                 charts=(progress_chart(campaign, evaluation, days),))


def progress_chart(campaign: Campaign, evaluation: Evaluation, days: list[date] | None = None) -> Chart:
    """The line chart of the progress table: every column, over all the campaign's days."""
    header = _header(campaign)
    return Chart("line", "จำนวนหน่วยที่ส่งครบ สะสมรายวัน", domain=0, series=tuple(range(1, len(header))),
                 rows=len(days if days is not None else campaign_days(campaign, evaluation)),
                 anchor_column=len(header) + 1)


def _header(campaign: Campaign) -> list[str]:
    return ["วันที่"] + [f"{d.title} (หน่วยที่ส่งครบ)" for d in campaign.deliverables] + [ALL_DONE]


def _completions(unit: UnitStatus, ids: list[str]) -> dict[str, datetime | None]:
    """When each deliverable, and all of them, became complete for the unit (None: not yet, or excused)."""
    cells = [unit.deliverables[i] for i in ids]
    found: dict[str, datetime | None] = {i: c.completed_at if c.status != "excused" else None
                                         for i, c in zip(ids, cells, strict=True)}
    owed = [c for c in cells if c.status != "excused"]
    all_at = [c.completed_at for c in owed]
    found[ALL_DONE] = max(all_at) if owed and all(a is not None for a in all_at) else None  # type: ignore[type-var]
    return found


def status_table(evaluation: Evaluation, *, beside: str, anchor_column: int) -> Table:
    """Units per overall status, in order of urgency, with a bar chart shown on the `beside` tab."""
    counts = evaluation.counts()
    rows: list[list[object]] = [[STATUS_TH[s], counts[s]] for s in URGENCY]
    chart = Chart("bar", "จำนวนหน่วยตามสถานะ", domain=0, series=(1,), rows=len(rows), place_on=beside,
                  anchor_column=anchor_column)
    return Table("status", ["สถานะ", "จำนวนหน่วย"], rows, SheetFormat(column_widths=[22, 12]), charts=(chart,))


def day_of(moment: datetime) -> date:
    """The Bangkok day of a moment."""
    return moment.astimezone(BANGKOK).date()
