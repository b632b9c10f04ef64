"""Links of the tracking tab: a unit's name to its upload folder, a received count to the unit's rows
in `responses` / `files`. Pure: built from the campaign and the tidy tables the same run writes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from connectors.a1 import column_letters
from connectors.pandas_text import pd
from ingest.campaign import Campaign
from ingest.normalize import Tables
from ingest.status import Evaluation


def tracking_links(campaign: Campaign, tables: Tables, evaluation: Evaluation) -> dict[tuple[int, int], str]:
    """(data row, column) of the tracking table → link target (see `connectors.base.Table.links`).

    Columns follow `tracking_table`: the name is column 1, a deliverable's count column 3 + 2k.
    A Drive upload folder gets no link: the files carry their folder's names, not its id.
    """
    links: dict[tuple[int, int], str] = {}
    folders = _local_folders(campaign, tables.files)
    for index, unit in enumerate(evaluation.units):
        if unit.code in folders:
            links[(index, 1)] = folders[unit.code]
        for k, d in enumerate(campaign.deliverables):
            tab, frame = ("responses", tables.responses) if d.kind == "response" else ("files", tables.files)
            place = _rows_of(frame, unit.code, d.id)
            if place is not None:
                first, last = place
                # The tab's header is row 1, so data row i is sheet row i + 2; the span covers every one
                # of the unit's rows (rows of other units may lie between: the tab is sorted by time).
                links[(index, 3 + 2 * k)] = f"#{tab}!A{first + 2}:{column_letters(len(frame.columns) - 1)}{last + 2}"
    return links


def _rows_of(frame: pd.DataFrame, unit: str, deliverable: str) -> tuple[int, int] | None:
    if not len(frame):
        return None
    positions = [i for i, (u, d) in enumerate(zip(frame["unit_code"], frame["deliverable"], strict=True))
                 if u == unit and d == deliverable]
    return (positions[0], positions[-1]) if positions else None


def _local_folders(campaign: Campaign, files: pd.DataFrame) -> dict[str, str]:
    """file:// URL of each unit's folder under a local_folder source: the top folder most of its files are in."""
    local = {d.id: campaign.resolve(str(campaign.sources[d.source].settings.get("path", "")))
             for d in campaign.deliverables
             if d.source in campaign.sources and campaign.sources[d.source].backend == "local_folder"}
    seen: dict[str, Counter[Path]] = {}
    if len(files):
        for unit, deliverable, folder in zip(files["unit_code"], files["deliverable"], files["folder"], strict=True):
            if unit and deliverable in local and folder:
                seen.setdefault(unit, Counter())[local[deliverable] / str(folder).split("/")[0]] += 1
    return {unit: counts.most_common(1)[0][0].resolve().as_uri() for unit, counts in seen.items()}
