"""`frame_table` turns a tidy frame into a tab's rows column by column; every value must be the one the
per-value conversion (`_plain`) gives, of the same type, whatever the column's dtype and missing values."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from connectors.base import EditableColumns
from connectors.edits import keep_edits
from connectors.pandas_text import pd
from ingest.publish.analyst import _plain, frame_table
from ingest.thaidate import BANGKOK


def _reference(frame: pd.DataFrame) -> list[list[object]]:
    """What frame_table gave before it went column by column: each value of each row through `_plain`."""
    return [[_plain(v) for v in record] for record in frame.itertuples(index=False, name=None)]


def _typed(rows: list[list[object]]) -> list[list[tuple[type, str]]]:
    # repr as well as type: equal values of different types (1 and True, 1 and 1.0) must not pass
    return [[(type(v), repr(v)) for v in row] for row in rows]


def _frame(rng: random.Random, n: int) -> pd.DataFrame:
    start = datetime(2022, 11, 1, 9, tzinfo=UTC)
    moments = [start + timedelta(minutes=rng.randint(0, 50_000)) for _ in range(n)]
    missing = [None if rng.random() < 0.2 else m for m in moments]
    return pd.DataFrame({
        "submitted_at": pd.to_datetime(pd.Series(moments, dtype=object), utc=True).dt.tz_convert(BANGKOK),
        "utc_at": pd.to_datetime(pd.Series(moments, dtype=object), utc=True),
        "some_at": pd.Series(pd.to_datetime(missing, utc=True)),  # NaT among them
        "naive_at": pd.to_datetime(pd.Series([m.replace(tzinfo=None) for m in moments], dtype=object)),
        "counted": [rng.random() < 0.5 for _ in range(n)],
        "size": [rng.randint(0, 10**9) for _ in range(n)],
        "score": [rng.choice([1.5, float("nan"), 3.0, float("inf")]) for _ in range(n)],
        "text": [rng.choice(["", "ผ่าน", "ต.ศิลาแลง อ.ปัว จ.น่าน", "a\udcff"]) for _ in range(n)],
        "q:answer": pd.Series([rng.choice(["มาก", 5, None, float("nan"), np.int64(4), date(2022, 11, 2)])
                               for _ in range(n)], dtype=object),
        "nullable": pd.array([rng.choice([1, None]) for _ in range(n)], dtype="Int64"),
        "flag": pd.array([rng.choice([True, False, None]) for _ in range(n)], dtype="boolean"),
        "string": pd.array([rng.choice(["x", None]) for _ in range(n)], dtype="string"),
    })


@pytest.mark.parametrize("seed", range(5))
def test_rows_are_the_per_value_conversion_of_every_dtype(seed: int) -> None:
    frame = _frame(random.Random(seed), 40)
    table = frame_table("responses", frame)
    assert table.header[:-4] == list(frame.columns)[:-4] and "answer" in table.header
    assert _typed(table.rows) == _typed(_reference(frame))


def test_an_empty_frame_and_a_frame_without_columns() -> None:
    empty = _frame(random.Random(1), 0)
    assert frame_table("files", empty).rows == []
    assert frame_table("files", pd.DataFrame(index=range(3))).rows == [[], [], []]


def test_times_come_out_in_bangkok_as_python_datetimes() -> None:
    frame = pd.DataFrame({"at": pd.Series([datetime(2022, 11, 1, 2, tzinfo=UTC)])})
    (value,), = frame_table("t", frame).rows
    assert type(value) is datetime and value == datetime(2022, 11, 1, 9, tzinfo=BANGKOK)
    assert value.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("seed", range(3))
def test_column_types_are_the_types_of_the_rows_values(seed: int) -> None:
    """The types frame_table hands the writer (for its date formats) are those the rows hold, column by
    column, and stay so when the review columns are put back (connectors.edits.keep_edits)."""
    frame = _frame(random.Random(seed), 60)
    table = frame_table("responses", frame)
    by_rows = [frozenset(map(type, column)) for column in zip(*table.rows, strict=True)]
    assert list(table.column_types) == by_rows
    editable = replace(table, editable=EditableColumns(key=1, count=2))
    key = str(table.rows[0][1]).strip()
    kept = keep_edits(editable, {key: ("ผ่าน", "typed by a coordinator")})
    assert kept.rows[0][2:4] == ["ผ่าน", "typed by a coordinator"]
    assert list(kept.column_types) == [frozenset(map(type, column)) for column in zip(*kept.rows, strict=True)]
