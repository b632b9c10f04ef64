"""Columns people fill in (EditableColumns), the same on every warehouse: found by header, kept by key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from connectors.base import Table

HEADER_ROWS = 3  # the header is on one of the first rows (a tab may have a note row above it)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def locate(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> tuple[int, int] | None:
    """(row, column) of the header `headers` (key header, editable headers...), side by side as tidtam
    writes them, on one of the first rows; None when it is not there (yet), or a person moved it."""
    for index, row in enumerate(rows[:HEADER_ROWS]):
        cells = [_text(v) for v in row]
        for column in range(len(cells) - len(headers) + 1):
            if cells[column: column + len(headers)] == list(headers):
                return index, column
    return None


def column_keys(rows: Sequence[Sequence[Any]], at: tuple[int, int]) -> list[str]:
    """The key of every row below the header found at `at`, in sheet order ("" for a blank key cell)."""
    index, column = at
    return [_text(r[column]).strip() if column < len(r) else "" for r in rows[index + 1:]]


def edits_from_rows(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> dict[str, tuple[str, ...]] | None:
    """Key → editable cells, from a tab's cell values (or a block of its columns, header included)."""
    at = locate(rows, headers)
    if at is None:
        return None
    index, column = at
    width = len(headers)
    found: dict[str, tuple[str, ...]] = {}
    blank = ("",) * (width - 1)
    for data in rows[index + 1:]:
        key = _text(data[column]).strip() if column < len(data) else ""
        if not key:
            continue
        # Most rows carry no edits, and the API leaves their empty cells out: no per-cell work for them.
        cells = data[column + 1: column + width]
        values = tuple(_text(v).strip() for v in cells) if cells else ()
        found[key] = values + blank[len(values):]
    return found


def keep_edits(table: Table, found: Mapping[str, tuple[str, ...]]) -> Table:
    """The table with the editable cells that the warehouse holds now, row by row by key.

    What a person typed wins over what the table carries (read at the start of the run, so any
    difference was typed since); rows whose key the warehouse does not show keep the table's values.
    """
    spec = table.editable
    if spec is None or not found:
        return table
    rows = []
    for row in table.rows:
        key = _text(row[spec.key]).strip() if spec.key < len(row) else ""
        if key in found:
            row = list(row)
            row[spec.key + 1: spec.key + 1 + spec.count] = list(found[key])
        rows.append(row)
    types = table.column_types
    if types is not None:  # the editable columns' types as they are now (the others are unchanged)
        edited = range(spec.key + 1, spec.key + 1 + spec.count)
        types = [frozenset(type(row[c]) for row in rows if c < len(row)) if c in edited else t
                 for c, t in enumerate(types)]
    # A row's length as `found` made it; the pieces' keys no longer say what the rows hold.
    return replace(table, rows=rows, column_types=types, row_width=None, pieces=None)


def edit_headers(table: Table) -> tuple[str, ...]:
    """(key header, editable headers...) of a table with editable columns."""
    spec = table.editable
    assert spec is not None
    return tuple(str(h) for h in table.header[spec.key: spec.key + 1 + spec.count])
