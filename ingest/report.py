"""How an evaluation is shown outside the warehouse: JSON, CSV and a terminal table."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from ingest.campaign import Campaign
from ingest.health import SourceHealth
from ingest.rollup import rollups
from ingest.status import STATUS_TH, URGENCY, Evaluation

_STYLE = {"missing": "bold red", "overdue": "red", "partial": "yellow", "waiting": "white", "late": "cyan",
          "complete": "green", "excused": "dim"}


def evaluation_dict(campaign: Campaign, evaluation: Evaluation) -> dict[str, Any]:
    def rates(r) -> dict[str, Any]:
        return {"completeness": r.completeness, "timeliness": r.timeliness, "units_expected": r.units_expected,
                "units_complete": r.units_complete, "units_on_time": r.units_on_time}

    return {
        "as_of": evaluation.as_of.isoformat(),
        "campaign": campaign.id,
        "rates": {**rates(evaluation.rates), "by_deliverable": {k: rates(v) for k, v in evaluation.rates_by_deliverable.items()},
                  "by_group": [{"level": g.level, "code": g.code, "name": g.name, **rates(g.rates),
                                "by_deliverable": {k: rates(v) for k, v in g.by_deliverable.items()}}
                               for g in rollups(campaign, evaluation)]},
        "units": [{
            "code": u.code, "name": u.name, "status": u.status,
            "deliverables": {d: {"expected": c.expected, "received": c.received, "invalid": c.invalid,
                                 "status": c.status, "completed_at": c.completed_at.isoformat() if c.completed_at else None}
                             for d, c in u.deliverables.items()},
        } for u in evaluation.units],
    }


def evaluation_json(campaign: Campaign, evaluation: Evaluation) -> str:
    return json.dumps(evaluation_dict(campaign, evaluation), ensure_ascii=False, indent=2)


def evaluation_csv(campaign: Campaign, evaluation: Evaluation) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["code", "name", "status"]
    for d in campaign.deliverables:
        header += [f"{d.id}_received", f"{d.id}_expected", f"{d.id}_invalid", f"{d.id}_status"]
    writer.writerow(header)
    for unit in evaluation.units:
        row = [unit.code, unit.name, unit.status]
        for d in campaign.deliverables:
            c = unit.deliverables[d.id]
            row += [c.received, c.expected, c.invalid, c.status]
        writer.writerow(row)
    return out.getvalue()


def print_units_table(console: Console, campaign: Campaign, evaluation: Evaluation) -> None:
    table = RichTable(title=f"{campaign.title} — {evaluation.as_of:%Y-%m-%d %H:%M %Z}", show_lines=False)
    table.add_column("code")
    table.add_column("unit")
    table.add_column("status")
    for d in campaign.deliverables:
        table.add_column(d.id, justify="right")
    for unit in sorted(evaluation.units, key=lambda u: (URGENCY.index(u.status), u.code)):
        cells = []
        for d in campaign.deliverables:
            c = unit.deliverables[d.id]
            mark = f" ✗{c.invalid}" if c.invalid else ""
            cells.append(f"[{_STYLE[c.status]}]{c.received}/{c.expected}{mark}[/]")
        table.add_row(unit.code, unit.name, f"[{_STYLE[unit.status]}]{unit.status}[/]", *cells)
    console.print(table)


def print_summary(console: Console, campaign: Campaign, evaluation: Evaluation, *, problems: int = 0) -> None:
    counts = evaluation.counts()
    table = RichTable(title=f"{campaign.title}\nas of {evaluation.as_of:%Y-%m-%d %H:%M} (Asia/Bangkok)")
    table.add_column("status")
    table.add_column("สถานะ")
    table.add_column("units", justify="right")
    for status in URGENCY:
        table.add_row(f"[{_STYLE[status]}]{status}[/]", STATUS_TH[status], str(counts[status]))
    console.print(table)
    per = RichTable(title="by deliverable")
    per.add_column("status")
    for d in campaign.deliverables:
        per.add_column(d.id, justify="right")
    for status in URGENCY:
        per.add_row(f"[{_STYLE[status]}]{status}[/]",
                    *[str(sum(u.deliverables[d.id].status == status for u in evaluation.units)) for d in campaign.deliverables])
    per.add_row("completeness", *[f"{evaluation.rates_by_deliverable[d.id].completeness:.0%}" for d in campaign.deliverables])
    per.add_row("timeliness", *[f"{evaluation.rates_by_deliverable[d.id].timeliness:.0%}" for d in campaign.deliverables])
    console.print(per)
    r = evaluation.rates
    console.print(f"units: {len(evaluation.units)} · all deliverables complete: {r.units_complete} "
                  f"({r.completeness:.1%}) · on time: {r.units_on_time} ({r.timeliness:.1%}) · problems to review: {problems}")


def print_degraded(console: Console, campaign: Campaign, degraded: list[SourceHealth]) -> None:
    """Say plainly that the statuses of some deliverables cannot be trusted, and why."""
    for sick in degraded:
        titles = ", ".join(d.title for d in campaign.deliverables if d.source == sick.source)
        console.print(f"[bold red]degraded:[/] source {sick.source} could not read {sick.rejected} of {sick.read} "
                      f"{sick.noun}; the statuses of {titles or 'its deliverables'} above are not reliable and "
                      "no reminder about them was sent")
        for reason in sick.reasons:
            console.print(f"  first: {reason}")
