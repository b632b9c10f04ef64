"""Roll-ups: the campaign's rates per parent unit (district → province, sub-district → district and
province) or per `group` of a units CSV. Pure: the evaluation's unit statuses, grouped, then rated
with the same rule as the whole campaign (`ingest.status.unit_rates`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ingest.campaign import Campaign, Unit
from ingest.status import Evaluation, Rates, unit_rates
from ingest.units import geothai_name

LEVEL_TH = {"group": "กลุ่ม", "province": "จังหวัด", "district": "อำเภอ", "parent": "หน่วยแม่"}
_ORDER = tuple(LEVEL_TH)


@dataclass(frozen=True)
class GroupRates:
    level: str  # a key of LEVEL_TH
    code: str
    name: str
    rates: Rates
    by_deliverable: dict[str, Rates]


def unit_groups(unit: Unit, units: Mapping[str, Unit]) -> list[tuple[str, str, str]]:
    """(level, code, name) of every group the unit rolls up into: its `group`, else its parent and
    grandparent (a campaign unit, a DOPA code, or a parent given by name in a units CSV)."""
    if unit.group:
        return [("group", unit.group, unit.group)]
    found: list[tuple[str, str, str]] = []
    code = unit.parent
    while code and len(found) < 2:
        parent = units.get(code)
        name = parent.name if parent else geothai_name(code)
        if not name:
            found.append(("parent", code, code))
            break
        level = parent.level if parent and parent.level in LEVEL_TH else \
            {2: "province", 4: "district"}.get(len(code), "parent")
        found.append((level, code, name))
        # DOPA codes nest: a district is its province's two digits plus two (ingest.units._ancestor_names).
        code = parent.parent if parent else code[:-2] if code.isdigit() and len(code) in (4, 6) else ""
    return found


def has_groups(campaign: Campaign) -> bool:
    return any(u.group or u.parent for u in campaign.units)


def rollups(campaign: Campaign, evaluation: Evaluation) -> list[GroupRates]:
    """One entry per group, groups of a level together (provinces before districts), by code."""
    units = {u.code: u for u in campaign.units}
    members: dict[tuple[str, str, str], list] = {}
    for status in evaluation.units:
        unit = units.get(status.code)
        for group in unit_groups(unit, units) if unit else []:
            members.setdefault(group, []).append(status)
    ids = [d.id for d in campaign.deliverables]
    out = []
    for (level, code, name) in sorted(members, key=lambda g: (_ORDER.index(g[0]), g[1])):
        rates, by_deliverable = unit_rates(members[(level, code, name)], ids)
        out.append(GroupRates(level, code, name, rates, by_deliverable))
    return out
