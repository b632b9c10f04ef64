"""The warehouse tabs as typed pandas frames: times as timestamps in Asia/Bangkok, counts as integers,
flags as booleans, text as strings; question columns keep the form's title (the `q:` prefix dropped,
as in the warehouse), Likert answers as integers 1–5 (normalization maps the Thai labels).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connectors.pandas_text import pd
from ingest.campaign import Campaign
from ingest.export.snapshot import Snapshot
from ingest.normalize import FILE_COLUMNS, FOCUS_GROUP_COLUMNS, PROBLEM_COLUMNS
from ingest.publish.analyst import ALERT_COLUMNS
from ingest.status import STATUS_TH

TIME, INT, BOOL, TEXT = "timestamp", "integer", "boolean", "text"
ZONE = "Asia/Bangkok"
LIKERT_SCORES = frozenset(range(1, 6))


def is_likert(values: pd.Series) -> bool:
    """Every answer given is a score 1–5 (what normalization made of the Thai labels), and one at least."""
    given = [v for v in values if v is not None and not (isinstance(v, float) and pd.isna(v)) and str(v).strip() != ""]
    return bool(given) and all(isinstance(v, int) and not isinstance(v, bool) and v in LIKERT_SCORES for v in given)


def typed(frame: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    """`frame` with each column cast to its type (a column not in `types` is text)."""
    out = {}
    for column in frame.columns:
        out[column] = _cast(frame[column], types.get(column, TEXT))
    return pd.DataFrame(out, columns=list(frame.columns))


def _cast(series: pd.Series, kind: str) -> pd.Series:
    series = series.reset_index(drop=True)
    if kind == TIME:
        blank = series.map(lambda v: v is None or v == "" or (isinstance(v, float) and pd.isna(v)))
        # Microseconds always: pandas infers seconds from some inputs, which Parquet cannot store (its
        # units are ms, us, ns), so a round trip would come back with another dtype.
        moments = pd.to_datetime(series.mask(blank, None), utc=True, format="ISO8601")
        return moments.dt.as_unit("us").dt.tz_convert(ZONE)
    if kind == INT:
        blank = series.map(lambda v: v is None or v == "" or (isinstance(v, float) and pd.isna(v)))
        return pd.array([None if b else int(v) for v, b in zip(series, blank, strict=True)], dtype="Int64")
    if kind == BOOL:
        return series.astype(bool)
    return series.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)).astype("str")


def _questions(frame: pd.DataFrame) -> dict[str, str]:
    return {c: INT if is_likert(frame[c]) else TEXT for c in frame.columns if c.startswith("q:")}


def _strip_q(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: c[2:] for c in frame.columns if c.startswith("q:")})


def responses_frame(snapshot: Snapshot) -> pd.DataFrame:
    frame = snapshot.tables.responses
    types = {"submitted_at": TIME, "counted": BOOL, **_questions(frame)}
    return _strip_q(typed(frame, types))


def files_frame(snapshot: Snapshot) -> pd.DataFrame:
    return typed(snapshot.tables.files[FILE_COLUMNS],
                 {"size": INT, "created_at": TIME, "arrived_at": TIME, "counted": BOOL})


def focus_group_frame(snapshot: Snapshot) -> pd.DataFrame:
    return typed(snapshot.tables.focus_group[FOCUS_GROUP_COLUMNS], {"part": INT, "number": INT})


def problems_frame(snapshot: Snapshot) -> pd.DataFrame:
    return typed(snapshot.tables.problems[PROBLEM_COLUMNS], {})


def tracking_frame(snapshot: Snapshot) -> pd.DataFrame:
    """The tracking tab, one column per fact instead of "3/10" text: what an analyst sorts and sums."""
    campaign: Campaign = snapshot.campaign
    rows: list[dict[str, Any]] = []
    types = {}
    for unit in sorted(snapshot.evaluation.units, key=lambda u: u.code):
        row: dict[str, Any] = {"unit_code": unit.code, "unit_name": unit.name,
                               "group": campaign.unit(unit.code).parent, "status": unit.status,
                               "status_th": STATUS_TH[unit.status]}
        for d in campaign.deliverables:
            cell = unit.deliverables[d.id]
            values = {"received": cell.received, "expected": cell.expected, "invalid": cell.invalid,
                      "status": cell.status, "deadline": cell.deadline, "completed_at": cell.completed_at,
                      "reasons_th": "; ".join(cell.reasons), "note_th": cell.note}
            for key, value in values.items():
                row[f"{d.id}_{key}"] = value
                types[f"{d.id}_{key}"] = {"received": INT, "expected": INT, "invalid": INT, "deadline": TIME,
                                          "completed_at": TIME}.get(key, TEXT)
        rows.append(row)
    columns = ["unit_code", "unit_name", "group", "status", "status_th", *types]
    return typed(pd.DataFrame(rows, columns=columns), types)


def runs_frame(snapshot: Snapshot) -> pd.DataFrame:
    rows = []
    for run in snapshot.runs:
        counts = json.loads(run["counts"] or "{}")
        rows.append({"run_id": run["run_id"], "started_at": run["started_at"], "finished_at": run["finished_at"],
                     "as_of": run["as_of"], "outcome": run["outcome"], "responses": counts.get("responses"),
                     "files": counts.get("files"), "problems": counts.get("problems"),
                     "api_calls": run["api_calls"], "error": run["error"]})
    columns = ["run_id", "started_at", "finished_at", "as_of", "outcome", "responses", "files", "problems",
               "api_calls", "error"]
    return typed(pd.DataFrame(rows, columns=columns),
                 {"run_id": INT, "started_at": TIME, "finished_at": TIME, "as_of": TIME, "responses": INT,
                  "files": INT, "problems": INT})


def alerts_frame(snapshot: Snapshot) -> pd.DataFrame:
    rows = []
    for m in snapshot.alert_messages or ():
        refused = "; ".join(f"{a} {code} {reply}" for a, (code, reply) in m["refused"].items())
        rows.append([m["message_id"], m["kind"], m["unit"], m["unit_name"], m["stage"], m["stages"], m["owed"],
                     ", ".join(m["recipients"]["to"]), ", ".join(m["recipients"]["cc"]), m["subject"], m["as_of"],
                     m["day"], m["status"], refused, m["error"], m["finished_at"]])
    return typed(pd.DataFrame(rows, columns=list(ALERT_COLUMNS)), {"as_of": TIME, "finished_at": TIME})


# Every table of the export, in the warehouse's order; `alerts` only when the campaign sends mail.
FRAMES: Sequence[tuple[str, Callable[[Snapshot], pd.DataFrame]]] = (
    ("tracking", tracking_frame), ("responses", responses_frame), ("files", files_frame),
    ("focus_group", focus_group_frame), ("problems", problems_frame), ("runs", runs_frame),
    ("alerts", alerts_frame))


def analysis_frames(snapshot: Snapshot) -> dict[str, pd.DataFrame]:
    return {name: make(snapshot) for name, make in FRAMES
            if name != "alerts" or snapshot.alert_messages is not None}

