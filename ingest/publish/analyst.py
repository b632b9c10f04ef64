"""The analysts' tabs: tidy tables as they are, the run log and the alert log (English column names)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.base import Table
from connectors.pandas_text import pd
from ingest.thaidate import BANGKOK


def frame_table(name: str, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> Table:
    columns = list(columns or frame.columns)
    rows = [[_plain(v) for v in record] for record in frame[columns].itertuples(index=False, name=None)]
    header = [c[2:] if c.startswith("q:") else c for c in columns]
    return Table(name, header, rows)


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.tz_convert(BANGKOK).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if hasattr(value, "item"):  # numpy scalars → Python values, for both openpyxl and JSON
        return value.item()
    return value


def runs_table(runs: Sequence[dict[str, Any]]) -> Table:
    header = ["run_id", "started_at", "finished_at", "as_of", "outcome", "responses", "files", "problems",
              "api_calls", "error"]
    rows = []
    for run in runs:
        counts = json.loads(run["counts"] or "{}")
        # Times as spreadsheet dates (Bangkok): they sort, and the tracking tab's stale formula reads column C.
        rows.append([run["run_id"], _moment(run["started_at"]), _moment(run["finished_at"]), _moment(run["as_of"]),
                     run["outcome"],
                     counts.get("responses", ""), counts.get("files", ""), counts.get("problems", ""),
                     run["api_calls"], run["error"]])
    return Table("runs", header, rows)


def _moment(text: str | None) -> datetime | str:
    return datetime.fromisoformat(text).astimezone(BANGKOK) if text else ""


ALERT_COLUMNS = ("message_id", "kind", "unit_code", "unit_name", "stage", "stages", "owed", "to", "cc", "subject",
                 "as_of", "day", "status", "refused", "error", "finished_at")


def alerts_table(messages: Iterable[Mapping[str, Any]]) -> Table:
    """The `alerts` tab: one row per reminder or digest in the alert log (`AlertLog.messages()`), oldest first."""
    rows: list[list[Any]] = []
    for row in messages:
        refused = "; ".join(f"{a} {code} {reply}" for a, (code, reply) in row["refused"].items())
        rows.append([
            row["message_id"], row["kind"], row["unit"], row["unit_name"], row["stage"], row["stages"], row["owed"],
            ", ".join(row["recipients"]["to"]), ", ".join(row["recipients"]["cc"]), row["subject"],
            datetime.fromisoformat(row["as_of"]), row["day"], row["status"], refused, row["error"],
            datetime.fromisoformat(row["finished_at"]) if row["finished_at"] else ""])
    return Table("alerts", list(ALERT_COLUMNS), rows)
