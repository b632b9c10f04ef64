"""What an export reads: the state the last syncs stored, normalized and evaluated as of one moment.

The same three steps as `tidtam status` (collect_from_state → normalize → evaluate), plus the run log
and the alert log. Nothing here asks a source, so an export is offline once the campaign is synced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.base import UploadedFile
from connectors.pandas_text import pd
from ingest.alerts.log import AlertLog
from ingest.campaign import Campaign
from ingest.collect import collect_from_state
from ingest.errors import StateError
from ingest.facts import FileFacts
from ingest.normalize import Tables, normalize
from ingest.review import apply_decisions, load_decisions
from ingest.state import StateStore, state_errors
from ingest.status import Evaluation, evaluate


@dataclass(frozen=True)
class Snapshot:
    campaign: Campaign
    as_of: datetime
    tables: Tables  # only what had arrived by `as_of`
    evaluation: Evaluation
    facts: dict[str, FileFacts]  # file id → facts (the focus-group record read out of each .docx)
    files: dict[str, tuple[str, UploadedFile]]  # file id → (source name, file) for reading photo bytes
    runs: list[dict[str, Any]]
    alert_messages: list[dict[str, Any]] | None  # None when the campaign sends no mail


def last_as_of(runs: list[dict[str, Any]]) -> datetime | None:
    """The moment the last finished sync evaluated: the default as-of, so that exporting twice without a
    sync in between gives the same files (a default of "now" would change the cover every day)."""
    finished = [r for r in runs if r["finished_at"]]
    return datetime.fromisoformat(finished[-1]["as_of"]) if finished else None


def load_snapshot(campaign: Campaign, as_of: datetime | None) -> Snapshot:
    if not Path(campaign.state_path).exists():  # opening it would create an empty one
        raise StateError(f"state file {campaign.state_path} does not exist: run `tidtam sync --config ...` first, "
                         "then export")
    with state_errors(campaign.state_path):
        state = StateStore(campaign.state_path, check=True)
        try:
            runs = state.runs()
            moment = as_of or last_as_of(runs)
            if moment is None:
                raise StateError(f"state file {campaign.state_path} holds no finished sync: run "
                                 "`tidtam sync --config ...` first, then export")
            collected = collect_from_state(campaign, state)
            messages = AlertLog(state).messages() if campaign.mail else None
            decisions = load_decisions(state)
        finally:
            state.close()
    # The coordinators' review decisions count here as in the sync: a record they rejected is not counted.
    tables = arrived_by(apply_decisions(campaign, normalize(campaign, collected), decisions).tables, moment)
    files = {f.file_id: (source, f) for source, listed in collected.files.items() for f in listed}
    return Snapshot(campaign, moment, tables, evaluate(campaign, tables.items, moment), dict(collected.facts), files,
                    runs, messages)


def arrived_by(tables: Tables, moment: datetime) -> Tables:
    """The tables as they stood at `moment`: what arrived later is left out, as status leaves it out."""
    cutoff = pd.Timestamp(moment)
    responses = tables.responses[tables.responses["submitted_at"] <= cutoff] if len(tables.responses) else tables.responses
    files = tables.files[tables.files["arrived_at"] <= cutoff] if len(tables.files) else tables.files
    focus = tables.focus_group[tables.focus_group["file_id"].isin(files["file_id"])]
    items = tables.items[tables.items["arrived_at"] <= cutoff] if len(tables.items) else tables.items
    return replace(tables, responses=responses.reset_index(drop=True), files=files.reset_index(drop=True),
                   focus_group=focus.reset_index(drop=True), items=items.reset_index(drop=True))
