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
    picked = frame[columns]
    # Column by column, then zipped into rows: a tab can hold millions of cells, and a per-cell walk of
    # the frame's boxed values was most of a changed sync's table building (1.6 s of 12 at 928 districts).
    values = [plain_values(picked.iloc[:, i]) for i in range(len(columns))]
    rows = [list(row) for row in zip(*values, strict=True)] if values else [[] for _ in range(len(frame))]
    header = [c[2:] if c.startswith("q:") else c for c in columns]
    # The columns' types while the values are by column: from the rows, one transposition of the whole tab
    # (0.8 s of a changed sync at 7,436 units) for the writer's date formats.
    return Table(name, header, rows, column_types=[frozenset(map(type, column)) for column in values])


def plain_values(column: pd.Series) -> list[Any]:
    """`_plain` of every value of a column, taken whole where its dtype says what the values are."""
    import numpy as np  # loaded with pandas already; not at import time (a no-change sync imports neither)

    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) and not column.isna().any():
        return list(column.dt.tz_convert(BANGKOK).array.to_pydatetime())
    if isinstance(dtype, np.dtype) and dtype.kind == "M" and not column.isna().any():
        return list(column.array.to_pydatetime())
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":  # tolist gives the Python values `.item()` does
        return column.to_numpy().tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return ["" if v != v else v for v in column.to_numpy().tolist()]  # NaN is the one float unequal to itself
    # Text and anything else: value by value, text passed through as `_plain` would. Object and text
    # columns hand over their values at once (iterating the Series boxes each through __getitem__).
    as_objects = (isinstance(dtype, np.dtype) and dtype.kind == "O") or isinstance(dtype, pd.StringDtype)
    values = column.to_numpy().tolist() if as_objects else column
    return [v if type(v) is str else _plain(v) for v in values]


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
