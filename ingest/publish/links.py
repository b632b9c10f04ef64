"""Links of the tracking tab: a unit's name to its upload folder, a received count to the unit's rows
in `responses` / `files`. Pure: built from the campaign and the tidy tables the same run writes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from connectors.a1 import column_letters
from connectors.pandas_text import pd
from ingest.campaign import Campaign
from ingest.normalize import LINK_COLUMNS, Tables
from ingest.status import Evaluation


@dataclass(frozen=True)
class LinkTargets:
    """What the tracking links are made of, taken from the tidy tables once (small: a few values per
    unit), so a run that reuses the last run's tables (ingest.memo) links without reading their rows."""

    folders: dict[str, str] = field(default_factory=dict)  # unit code → its upload folder's URL
    spans: dict[str, dict[tuple[str, str], tuple[int, int]]] = field(default_factory=dict)  # tab → rows
    widths: dict[str, int] = field(default_factory=dict)  # tab → its number of columns


def link_targets(tables: Tables) -> LinkTargets:
    frames = {"responses": tables.responses, "files": tables.files}
    # The width of each tab as published (the files tab leaves out the link columns).
    widths = {"responses": len(tables.responses.columns),
              "files": len(tables.files.columns) - len([c for c in LINK_COLUMNS if c in tables.files.columns])}
    return LinkTargets(_unit_folders(tables.files), {tab: _row_spans(f) for tab, f in frames.items()}, widths)


def tracking_links(campaign: Campaign, targets: LinkTargets, evaluation: Evaluation) -> dict[tuple[int, int], str]:
    """(data row, column) of the tracking table → link target (see `connectors.base.Table.links`).

    Columns follow `tracking_table`: the name is column 1, a deliverable's count column 3 + 2k.
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
    if not len(frame):
        return {}
    keys = list(zip(frame["unit_code"].tolist(), frame["deliverable"].tolist(), strict=True))
    # Dicts made in C: a later row of a key overwrites its place, so walking the rows forwards leaves each
    # key's last row, and backwards its first (126,000 rows at 7,436 sub-districts: 0.03 s one by one).
    last = dict(zip(keys, range(len(keys)), strict=True))
    first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    return {key: (first[key], at) for key, at in last.items()}


def _unit_folders(files: pd.DataFrame) -> dict[str, str]:
    """Each unit's upload folder, whatever the source (a Drive folder's page, a local folder's file://
    URI): of the folders its files name as the unit's (`folder_url`), the one most of them are in."""
    if not len(files) or "folder_url" not in files.columns:
        return {}
    # Each (unit, folder) pair counted in C, pairs in the order first seen; a unit's most named folder, the
    # first seen among equals (as `Counter.most_common` picks it).
    pairs = Counter(zip(files["unit_code"].tolist(), files["folder_url"].tolist(), strict=True))
    best: dict[str, tuple[int, str]] = {}
    for (unit, url), count in pairs.items():
        if unit and url and count > best.get(unit, (0, ""))[0]:
            best[unit] = (count, url)
    return {unit: url for unit, (_, url) in best.items()}
