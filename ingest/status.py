"""Status of every unit × deliverable at time T (README.md, "Status rules"), and the campaign's rates.

Pure: a campaign, a table of items and a moment in; statuses out. Items that arrived after T are
not seen, so any past day of a campaign can be replayed.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

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


class Arrival(NamedTuple):
    """One item of a unit's deliverable as status reads it. A tuple: made in C from the items table's
    columns (`item_groups`), compared in C with the last run's (`ingest.memo.evaluate_since`), where a
    frozen dataclass took a Python call to make each of 126,000 items at 7,436 sub-districts."""

    at: datetime
    valid: bool
    reason_th: str = ""
    accepted_th: str = ""  # ingest.review: a rejected item a coordinator accepted


Groups = dict[tuple[str, str], list[Arrival]]  # (unit, deliverable) → its items, in table order


def item_groups(items: pd.DataFrame, times: ItemTimes | None = None) -> Groups:
    """The items table grouped by unit and deliverable: everything `evaluate` reads of it (`times`: its
    `item_times`, if found already)."""
    groups: Groups = defaultdict(list)
    if len(items):
        accepted = items["accepted_th"].tolist() if "accepted_th" in items.columns else [""] * len(items)
        found = times if times is not None else item_times(items)
        moments = [found.distinct[i] for i in found.at] if found is not None else \
            items["arrived_at"].dt.to_pydatetime().tolist()
        arrivals = map(Arrival._make, zip(moments, map(bool, items["valid"].tolist()), items["reason_th"].tolist(),
                                          [ok or "" for ok in accepted], strict=True))
        keys = zip(items["unit"].tolist(), items["deliverable"].tolist(), strict=True)
        for key, arrival in zip(keys, arrivals, strict=True):
            groups[key].append(arrival)
    return dict(groups)


class ItemTimes(NamedTuple):
    """The items table's arrivals: their distinct moments as datetimes, sorted, and each item's place
    among them (`item_times`)."""

    distinct: list[datetime]
    at: list[int]


def item_times(items: pd.DataFrame) -> ItemTimes | None:
    """Each distinct arrival converted once (126,000 items at 7,436 sub-districts, 68,000 distinct: 0.45 s
    one Timestamp at a time, 0.07 s the column at once, 0.04 s so; offline). None for a column that is not
    of zoned moments, or misses one (converted as it is)."""
    import numpy as np  # loaded with pandas already

    if not len(items):
        return None
    column = items["arrived_at"]
    dtype = column.dtype
    if not isinstance(dtype, pd.DatetimeTZDtype) or column.isna().any():
        return None
    # The instants as integers in the column's unit since 1970 UTC, the distinct ones back in its zone.
    distinct, at = np.unique(column.array.asi8, return_inverse=True)
    index = pd.DatetimeIndex(distinct.view(f"M8[{dtype.unit}]")).tz_localize("UTC").tz_convert(dtype.tz)
    return ItemTimes(index.to_pydatetime().tolist(), at.tolist())


def boundaries_of_items(campaign: Campaign, items: pd.DataFrame, times: ItemTimes | None = None) -> list[datetime]:
    """`all_boundaries(campaign, item_groups(items))` from the items table (`times`: its `item_times`):
    the distinct arrivals of the campaign's units are sorted already, and the deadlines, few and
    distinct, go in among them (0.10 -> 0.02 s at 7,436 sub-districts, offline, where each of 126,000
    arrivals went into a set)."""
    times = times if times is not None else item_times(items)
    if times is None:
        return all_boundaries(campaign, item_groups(items))
    ours = items["unit"].isin({u.code for u in campaign.units}).to_numpy()
    if ours.all():  # every item is of a unit of the campaign: all the distinct arrivals
        moments = list(times.distinct)
    else:
        moments = [times.distinct[i] for i in sorted({i for i, mine in zip(times.at, ours.tolist(), strict=True)
                                                      if mine})]
    for deadline in sorted(_deadlines(campaign)):
        i = bisect.bisect_left(moments, deadline)
        if i < len(moments) and moments[i] == deadline:
            moments[i] = deadline  # the deadline stands for an arrival at the same instant, as in a set made of both
        else:
            moments.insert(i, deadline)
    return moments


def evaluate(campaign: Campaign, items: pd.DataFrame, now: datetime) -> Evaluation:
    """Statuses of every unit of the campaign at `now` from the items table (see ITEM_COLUMNS)."""
    return evaluate_groups(campaign, item_groups(items), now)


def evaluate_groups(campaign: Campaign, groups: Groups, now: datetime, *,
                    previous: Evaluation | None = None, recheck: Iterable[str] | None = None) -> Evaluation:
    """`evaluate` over grouped items. With `previous` and `recheck`, only the units in `recheck` are
    evaluated again; every other unit keeps its status from `previous` (ingest.memo decides which
    units can have changed)."""
    again = set(recheck) if recheck is not None else None
    kept = {u.code: u for u in previous.units} if previous is not None and again is not None else {}
    units = []
    for unit in campaign.units:
        if unit.code in kept and unit.code not in again:
            units.append(kept[unit.code])
            continue
        cells = {}
        for d in campaign.deliverables:
            override = campaign.override_for(unit.code, d.id)
            seen = [a for a in groups.get((unit.code, d.id), ()) if a.at <= now]
            invalid = [a for a in seen if not a.valid]
            cells[d.id] = deliverable_status(
                d, [a.at for a in seen if a.valid], len(invalid), [a.reason_th for a in invalid], now,
                deadline=campaign.deadline_for(unit.code, d), excused=bool(override and override.excused),
                note=override.reason if override else "",
                accepted=[a.accepted_th for a in seen if a.valid and a.accepted_th])
        overall = min((c.status for c in cells.values()), key=URGENCY.index, default="excused")
        units.append(UnitStatus(unit.code, unit.name, overall, cells))
    overall_rates, by_deliverable = unit_rates(units, [d.id for d in campaign.deliverables])
    return Evaluation(campaign.id, now, tuple(units), overall_rates, by_deliverable)


def time_boundaries(campaign: Campaign, groups: Groups) -> dict[str, list[datetime]]:
    """Per unit, the moments at which its statuses can change with the clock alone: its items'
    arrivals (an item counts from then on) and its deadlines (waiting/partial turn missing/overdue
    after them). Between two moments with none of these between them, inclusive, a unit's statuses
    are the same. (`ingest.memo` asks only which units have one between two moments: `units_with_boundaries`.)"""
    moments: dict[str, set[datetime]] = {u.code: {campaign.deadline_for(u.code, d) for d in campaign.deliverables}
                                         for u in campaign.units}
    for (unit, _deliverable), arrivals in groups.items():
        if unit in moments:
            moments[unit].update(a.at for a in arrivals)
    return {unit: sorted(times) for unit, times in moments.items()}


def all_boundaries(campaign: Campaign, groups: Groups) -> list[datetime]:
    """Every unit's `time_boundaries`, together, sorted, without a set and a sorted list per unit (those
    took 0.10–0.14 s offline on the bench's 126,743 items at 7,436 sub-districts, for a list that is only
    searched: `ingest.memo.crossed`)."""
    codes = {u.code for u in campaign.units}
    moments = _deadlines(campaign)
    moments.update(a.at for (unit, _), arrivals in groups.items() if unit in codes for a in arrivals)
    return sorted(moments)


def _deadlines(campaign: Campaign) -> set[datetime]:
    """Every unit's deadline of every deliverable, each distinct instant once."""
    return {campaign.deadline_for(u.code, d) for u in campaign.units for d in campaign.deliverables}


def units_with_boundaries(campaign: Campaign, groups: Groups, low: datetime, high: datetime) -> set[str]:
    """The units with one of their `time_boundaries` between `low` and `high`, both included."""
    codes = {u.code for u in campaign.units}
    found = {u.code for u in campaign.units for d in campaign.deliverables
             if low <= campaign.deadline_for(u.code, d) <= high}
    found.update(unit for (unit, _), arrivals in groups.items()
                 if unit in codes and unit not in found and any(low <= a.at <= high for a in arrivals))
    return found


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
