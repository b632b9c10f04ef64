"""A tab's rows made from its frame a piece at a time (`FrameRows`) are the rows made at once, and the
column types read from the dtypes are the types of the values."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from connectors.base import column_of
from connectors.pandas_text import pd
from ingest.publish import analyst
from ingest.publish.analyst import FrameRows, column_types, frame_table, plain_values


def _frame(n: int) -> pd.DataFrame:
    at = pd.Timestamp("2022-11-14 09:30", tz="Asia/Bangkok")
    rng = np.random.default_rng(n)
    return pd.DataFrame({
        "text": pd.Series([f"ผู้ตอบ {i}" for i in range(n)], dtype="str"),
        "text_na": pd.Series([None if i % 3 == 0 else f"x{i}" for i in range(n)], dtype="str"),
        "count": pd.Series(rng.integers(0, 5, n), dtype="int64"),
        "flag": pd.Series([i % 2 == 0 for i in range(n)], dtype="bool"),
        "score": pd.Series(rng.random(n), dtype="float64"),
        "score_na": pd.Series([np.nan if i % 2 else 0.5 for i in range(n)], dtype="float64"),
        "all_na": pd.Series([np.nan] * n, dtype="float64"),
        "at": pd.Series([at + pd.Timedelta(minutes=i) for i in range(n)]),
        "at_nat": pd.Series([pd.NaT if i % 4 == 1 else at for i in range(n)], dtype="datetime64[us, Asia/Bangkok]"),
        "naive": pd.Series([datetime(2022, 11, 14, 9, i % 60) for i in range(n)]),  # noqa: DTZ001 - a naive column
        "mixed": pd.Series([[None, 3, "ก", np.int64(7), at, 1.5][i % 6] for i in range(n)], dtype=object),
    })


def _at_once(frame: pd.DataFrame) -> list[list[object]]:
    """The rows as frame_table made them before FrameRows: every column converted whole, then zipped."""
    values = [plain_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return [list(row) for row in zip(*values, strict=True)]


@pytest.mark.parametrize("n", [0, 1, 3, 7, 20])
def test_rows_made_a_piece_at_a_time_are_the_rows_made_at_once(monkeypatch, n):
    monkeypatch.setattr(analyst, "ROWS_AT_ONCE", 3)
    frame = _frame(n)
    rows, expected = FrameRows(frame), _at_once(frame)
    assert len(rows) == n
    assert list(rows) == expected and rows == expected and expected == rows
    assert [rows[i] for i in range(n)] == expected  # by index, across pieces
    assert [rows[i] for i in reversed(range(n))] == expected[::-1]  # and backwards
    assert rows[1:6] == expected[1:6] and rows[::-2] == expected[::-2]
    if n:
        assert rows[-1] == expected[-1]
    with pytest.raises(IndexError):
        rows[n]
    assert rows != expected + [["one more"]]
    for index in range(frame.shape[1]):  # a column alone, as the rows have it
        assert column_of(rows, index) == [row[index] for row in expected]
        assert column_of(expected, index) == [row[index] for row in expected]


@pytest.mark.parametrize("n", [0, 1, 7, 20])
def test_column_types_from_the_dtype_are_the_types_of_the_values(monkeypatch, n):
    monkeypatch.setattr(analyst, "ROWS_AT_ONCE", 3)
    frame = _frame(n)
    for name in frame.columns:
        assert column_types(frame[name]) == frozenset(map(type, plain_values(frame[name]))), name


def test_a_frame_table_holds_no_row_until_read():
    frame = _frame(12_000)
    table = frame_table("responses", frame)
    assert isinstance(table.rows, FrameRows) and table.row_width == frame.shape[1]
    assert table.rows._piece[0] == -1  # nothing made yet
    assert table.rows[11_999] == _at_once(frame.iloc[11_999:])[0]
    assert table.rows._piece[0] == 11_999 // analyst.ROWS_AT_ONCE  # one piece held, the one read
    assert table.column_types[frame.columns.get_loc("at")] == frozenset({datetime})
    assert datetime(2022, 11, 14, 2, 30, tzinfo=UTC) == table.rows[0][frame.columns.get_loc("at")]
