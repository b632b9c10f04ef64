"""A1 notation for Sheets ranges, shared by the warehouse writer and the response-sheet reader."""

from __future__ import annotations


def quote_tab(tab: str) -> str:
    """A tab name as a range prefix: always quoted, inner quotes doubled (Sheets' A1 rule)."""
    return "'" + tab.replace("'", "''") + "'"


def column_letters(index: int) -> str:
    """A1 letters of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
