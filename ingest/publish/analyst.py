"""The analysts' tabs: tidy tables as they are, the run log and the alert log (English column names)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, overload

from connectors.base import RowPieces, Table
from connectors.pandas_text import pd
from ingest.thaidate import BANGKOK


def frame_table(name: str, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> Table:
    """The frame as a tab: its rows are made from the frame when the warehouse reads them (`FrameRows`)."""
    columns = list(columns or frame.columns)
    picked = frame[columns]
    header = [c[2:] if c.startswith("q:") else c for c in columns]
    return Table(name, header, FrameRows(picked), row_width=len(columns),
                 column_types=[column_types(picked.iloc[:, i]) for i in range(len(columns))])


class FrameRows(Sequence[list[Any]]):
    """A frame's rows as plain values (`plain_values`), made `ROWS_AT_ONCE` at a time when read, the last
    piece made kept. Made at once, the tidy tabs' rows were 72 MB at 7,436 sub-districts (74,508
    responses, 52,235 files, 148,720 focus-group answers: 30.5, 19.6 and 22.8 MB, measured offline on
    the bench's tables, 7 Dec), all held through the warehouse write, which reads each tab in order
    (its digests, then the rows it sends). The frame holds the values; a row is a list made afresh, so
    a reader copies it before changing it, as `connectors.edits.keep_edits` does."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._piece: tuple[int, list[list[Any]]] = (-1, [])

    def __len__(self) -> int:
        return len(self._frame)

    @overload
    def __getitem__(self, index: int) -> list[Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[Any]]: ...

    def __getitem__(self, index: int | slice) -> list[Any] | list[list[Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._rows(index // ROWS_AT_ONCE)[index % ROWS_AT_ONCE]

    def __iter__(self) -> Iterator[list[Any]]:
        for piece in range(-(-len(self) // ROWS_AT_ONCE)):
            yield from self._rows(piece)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to a list of the same rows, so unhashable as one

    def column(self, index: int) -> list[Any]:
        """Cell `index` of every row, without making the rows (`connectors.base.column_of`): the writer
        matches a tab's keys with the sheet's, one column of 74,508 where the rows were a pass of their own."""
        return plain_values(self._frame.iloc[:, index])

    def _rows(self, piece: int) -> list[list[Any]]:
        if self._piece[0] != piece:
            part = self._frame.iloc[piece * ROWS_AT_ONCE:(piece + 1) * ROWS_AT_ONCE]
            # Column by column, then zipped into rows: a per-cell walk of the frame's boxed values was most
            # of a changed sync's table building (1.6 s of 12 at 928 districts).
            values = [plain_values(part.iloc[:, i]) for i in range(part.shape[1])]
            rows = [list(row) for row in zip(*values, strict=True)] if values else [[] for _ in range(len(part))]
            self._piece = (piece, rows)
        return self._piece[1]


# Rows made at once by `FrameRows`: a piece of the largest tab (23 columns) is about 2 MB.
ROWS_AT_ONCE = 5_000


def piece_keys(frame: pd.DataFrame, known: Sequence[str], by_value: Sequence[str], scope: str) -> RowPieces:
    """Keys of the frame's rows `ROWS_AT_ONCE` at a time, as `FrameRows` makes them (`connectors.base.
    RowPieces`), with no row made: a warehouse that wrote a piece under the same key need not look at it.

    A row as `FrameRows` gives it is a function of: its record's row (`known`: per piece, a digest of
    what `ingest.row_cache` knows its records' rows by, equal only for equal rows under one campaign and
    tidtam, which `scope` names); the values of the columns in `by_value` (those filled by comparing rows
    with each other, and the review's); and the frame's columns and their dtypes (`plain_values` converts
    a column by its dtype, and one missing answer turns a column of whole numbers to floats)."""
    import hashlib

    head = repr((scope, list(frame.columns), [str(dtype) for dtype in frame.dtypes]))
    columns = [frame.columns.get_loc(column) for column in by_value]
    keys = []
    for piece, start in enumerate(range(0, len(frame), ROWS_AT_ONCE)):
        part = frame.iloc[start:start + ROWS_AT_ONCE, columns]  # a piece at a time, as `FrameRows` holds them
        text = repr((head, known[piece], [part.iloc[:, i].tolist() for i in range(len(columns))]))
        keys.append(hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest())
    return RowPieces(ROWS_AT_ONCE, keys)


def column_types(column: pd.Series) -> frozenset[type]:
    """The types of `plain_values(column)`, read from the dtype where it says them (the writer's date
    formats need them for every column; converting every value to find them was 0.8 s of a changed
    sync at 7,436 units), else from the values a piece at a time."""
    import numpy as np  # loaded with pandas already

    if not len(column):
        return frozenset()
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return frozenset({bool if dtype.kind == "b" else int})
    has_na = bool(column.isna().any())
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return frozenset({float, str}) if has_na and not column.isna().all() else frozenset({str if has_na else float})
    if not has_na and (isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M")):
        return frozenset({datetime})
    if not has_na and isinstance(dtype, pd.StringDtype):
        return frozenset({str})
    types: set[type] = set()
    for start in range(0, len(column), ROWS_AT_ONCE):
        types.update(map(type, plain_values(column.iloc[start:start + ROWS_AT_ONCE])))
    return frozenset(types)


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
