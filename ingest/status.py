"""Status of every unit × deliverable at time T (README.md, "Status rules"), and the campaign's rates.

Pure: a campaign, a table of items and a moment in; statuses out. Items that arrived after T are
not seen, so any past day of a campaign can be replayed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from connectors.pandas_text import pd
from ingest.campaign import Campaign, Deliverable

# Most urgent first: a unit's overall status is the first of these any of its deliverables has.
URGENCY = ("missing", "overdue", "partial", "waiting", "late", "complete", "excused")

STATUS_TH = {
    "complete": "ครบ",
    "late": "ครบ (ส่งช้า)",
    "waiting": "รอส่ง",
    "partial": "ส่งบางส่วน",
    "missing": "ยังไม่ส่ง (เลยกำหนด)",
    "overdue": "ไม่ครบ (เลยกำหนด)",
    "excused": "ได้รับยกเว้น",
}

# Columns of the items table that status reads; normalization produces it.
ITEM_COLUMNS = ("deliverable", "unit", "item_id", "arrived_at", "valid", "reason_th")


@dataclass(frozen=True)
class DeliverableStatus:
    deliverable: str
    expected: int
    received: int  # valid, distinct, arrived by T
    invalid: int
    status: str
    deadline: datetime
    completed_at: datetime | None = None  # arrival of the n-th valid item
    reasons: tuple[str, ...] = ()  # Thai reasons of the invalid items, one per distinct reason
    note: str = ""  # override reason
    accepted: tuple[str, ...] = ()  # items the checks rejected and a coordinator's review accepted (Thai)

    @property
    def owed(self) -> int:
        return max(self.expected - self.received, 0)


@dataclass(frozen=True)
class UnitStatus:
    code: str
    name: str
    status: str
    deliverables: dict[str, DeliverableStatus] = field(default_factory=dict)


@dataclass(frozen=True)
class Rates:
    completeness: float
    timeliness: float
    units_expected: int
    units_complete: int
    units_on_time: int


@dataclass(frozen=True)
class Evaluation:
    campaign: str
    as_of: datetime
    units: tuple[UnitStatus, ...]
    rates: Rates
    rates_by_deliverable: dict[str, Rates]

    def counts(self) -> dict[str, int]:
        """How many units have each overall status, in order of urgency."""
        counts = dict.fromkeys(URGENCY, 0)
        for unit in self.units:
            counts[unit.status] += 1
        return counts


def deliverable_status(deliverable: Deliverable, arrivals: list[datetime], invalid: int, reasons: Iterable[str],
                       now: datetime, *, deadline: datetime, excused: bool = False, note: str = "",
                       accepted: Iterable[str] = ()) -> DeliverableStatus:
    """One cell of the tracking table. `arrivals` are the valid items' arrival times, any order."""
    arrivals = sorted(a for a in arrivals if a <= now)
    n = deliverable.expected
    reasons = tuple(dict.fromkeys(reasons))
    completed_at = arrivals[n - 1] if len(arrivals) >= n else None
    if excused:
        status = "excused"
    elif completed_at is not None:
        status = "complete" if completed_at <= deadline else "late"
    elif now <= deadline:
        status = "partial" if arrivals else "waiting"
    else:
        status = "overdue" if arrivals else "missing"
    return DeliverableStatus(deliverable.id, n, len(arrivals), invalid, status, deadline, completed_at, reasons, note,
                             tuple(dict.fromkeys(accepted)))


def evaluate(campaign: Campaign, items: pd.DataFrame, now: datetime) -> Evaluation:
    """Statuses of every unit of the campaign at `now` from the items table (see ITEM_COLUMNS)."""
    valid_arrivals: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    invalid_counts: dict[tuple[str, str], int] = defaultdict(int)
    invalid_reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    accepted: dict[tuple[str, str], list[str]] = defaultdict(list)
    if len(items):
        seen = items[items["arrived_at"] <= pd.Timestamp(now)]
        for row in seen.itertuples(index=False):
            key = (row.unit, row.deliverable)
            if row.valid:
                valid_arrivals[key].append(row.arrived_at.to_pydatetime())
                if getattr(row, "accepted_th", ""):  # ingest.review adds the column
                    accepted[key].append(row.accepted_th)
            else:
                invalid_counts[key] += 1
                invalid_reasons[key].append(row.reason_th)
    units = []
    for unit in campaign.units:
        cells = {}
        for d in campaign.deliverables:
            override = campaign.override_for(unit.code, d.id)
            key = (unit.code, d.id)
            cells[d.id] = deliverable_status(
                d, valid_arrivals.get(key, []), invalid_counts.get(key, 0), invalid_reasons.get(key, []), now,
                deadline=campaign.deadline_for(unit.code, d), excused=bool(override and override.excused),
                note=override.reason if override else "", accepted=accepted.get(key, ()))
        overall = min((c.status for c in cells.values()), key=URGENCY.index, default="excused")
        units.append(UnitStatus(unit.code, unit.name, overall, cells))
    overall_rates, by_deliverable = unit_rates(units, [d.id for d in campaign.deliverables])
    return Evaluation(campaign.id, now, tuple(units), overall_rates, by_deliverable)


def unit_rates(units: Iterable[UnitStatus], deliverables: Iterable[str]) -> tuple[Rates, dict[str, Rates]]:
    """The rates of some units (a whole campaign, or the units of one parent): overall and per deliverable."""
    units = list(units)
    by_deliverable = {d: _rates([u.deliverables[d].status for u in units]) for d in deliverables}
    return _rates([_all_of([c.status for c in u.deliverables.values()]) for u in units]), by_deliverable


def _all_of(statuses: list[str]) -> str:
    """A unit is complete overall when every deliverable is; late when any of those was late."""
    owed = [s for s in statuses if s != "excused"]
    if not owed:
        return "excused"
    if all(s in ("complete", "late") for s in owed):
        return "late" if "late" in owed else "complete"
    return "incomplete"


def _rates(statuses: list[str]) -> Rates:
    expected = sum(s != "excused" for s in statuses)
    complete = sum(s in ("complete", "late") for s in statuses)
    on_time = sum(s == "complete" for s in statuses)
    return Rates(
        completeness=round(complete / expected, 4) if expected else 1.0,
        timeliness=round(on_time / expected, 4) if expected else 1.0,
        units_expected=expected, units_complete=complete, units_on_time=on_time)
