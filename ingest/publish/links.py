"""Links of the tracking tab: a unit's name to its upload folder, a received count to the unit's rows
in `responses` / `files`. Pure: built from the campaign and the tidy tables the same run writes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from connectors.a1 import column_letters
from connectors.pandas_text import pd
from ingest.campaign import Campaign
from ingest.normalize import Tables
from ingest.status import Evaluation


@dataclass(frozen=True)
class LinkTargets:
    """What the tracking links are made of, taken from the tidy tables once (small: a few values per
    unit), so a run that reuses the last run's tables (ingest.memo) links without reading their rows."""

    folders: dict[str, str] = field(default_factory=dict)  # unit code → its upload folder's URL
    spans: dict[str, dict[tuple[str, str], tuple[int, int]]] = field(default_factory=dict)  # tab → rows
    widths: dict[str, int] = field(default_factory=dict)  # tab → its number of columns


def link_targets(campaign: Campaign, tables: Tables) -> LinkTargets:
    frames = {"responses": tables.responses, "files": tables.files}
    return LinkTargets(_local_folders(campaign, tables.files), {tab: _row_spans(f) for tab, f in frames.items()},
                       {tab: len(f.columns) for tab, f in frames.items()})


def tracking_links(campaign: Campaign, targets: LinkTargets, evaluation: Evaluation) -> dict[tuple[int, int], str]:
    """(data row, column) of the tracking table → link target (see `connectors.base.Table.links`).

    Columns follow `tracking_table`: the name is column 1, a deliverable's count column 3 + 2k.
    A Drive upload folder gets no link: the files carry their folder's names, not its id.
    """
    links: dict[tuple[int, int], str] = {}
    for index, unit in enumerate(evaluation.units):
        if unit.code in targets.folders:
            links[(index, 1)] = targets.folders[unit.code]
        for k, d in enumerate(campaign.deliverables):
            tab = "responses" if d.kind == "response" else "files"
            place = targets.spans.get(tab, {}).get((unit.code, d.id))
            if place is not None:
                first, last = place
                # The tab's header is row 1, so data row i is sheet row i + 2; the span covers every one
                # of the unit's rows (rows of other units may lie between: the tab is sorted by time).
                links[(index, 3 + 2 * k)] = f"#{tab}!A{first + 2}:{column_letters(targets.widths[tab] - 1)}{last + 2}"
    return links


def _row_spans(frame: pd.DataFrame) -> dict[tuple[str, str], tuple[int, int]]:
    """(unit, deliverable) → (first, last) data row holding it, in one pass over the tab (a search per
    unit made the tracking links quadratic: 45 s of a 56 s no-change sync at 928 districts)."""
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    if not len(frame):
        return spans
    for i, key in enumerate(zip(frame["unit_code"].tolist(), frame["deliverable"].tolist(), strict=True)):
        first = spans.get(key, (i, i))[0]
        spans[key] = (first, i)
    return spans


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
