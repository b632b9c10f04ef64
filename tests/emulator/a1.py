"""A1 notation: parse ranges like ``'My Sheet'!A1:C3``, ``Sheet1!A:A``, ``2:5``; format them back."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")
_PLAIN_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class A1Error(ValueError):
    pass


@dataclass(frozen=True)
class A1Range:
    """0-based, inclusive bounds; None means open (whole column/row/sheet in that direction)."""

    sheet: str | None
    r0: int | None = None
    c0: int | None = None
    r1: int | None = None
    c1: int | None = None
    cells: bool = True  # False when the text named only a sheet


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def col_letters(index: int) -> str:
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def split_sheet(text: str) -> tuple[str | None, str | None]:
    """Split ``'Sheet'!A1`` into (sheet title, cell part); quotes are undone ('' -> ')."""
    text = text.strip()
    if text.startswith("'"):
        i = 1
        title = ""
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title += "'"
                    i += 2
                    continue
                break
            title += text[i]
            i += 1
        else:
            raise A1Error(f"Unable to parse range: {text}")
        rest = text[i + 1 :]
        if rest == "":
            return title, None
        if not rest.startswith("!"):
            raise A1Error(f"Unable to parse range: {text}")
        return title, rest[1:] or None
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells or None
    return None, text


def parse_cells(part: str) -> tuple[int | None, int | None, int | None, int | None]:
    ends = part.split(":")
    if len(ends) > 2 or not all(ends):
        raise A1Error(f"Unable to parse range: {part}")
    parsed = []
    for e in ends:
        m = _CELL.match(e)
        if not m or (not m.group(1) and not m.group(2)):
            raise A1Error(f"Unable to parse range: {part}")
        col = col_index(m.group(1)) if m.group(1) else None
        row = int(m.group(2)) - 1 if m.group(2) else None
        if row is not None and row < 0:
            raise A1Error(f"Unable to parse range: {part}")
        parsed.append((row, col))
    (r0, c0) = parsed[0]
    if len(parsed) == 1:
        if r0 is None or c0 is None:
            # "A" or "3" alone is not a range
            raise A1Error(f"Unable to parse range: {part}")
        return r0, c0, r0, c0
    (r1, c1) = parsed[1]
    # "A:B" (columns), "1:2" (rows), "A2:B" (open bottom), "A1:B5"
    if r0 is None and c0 is not None and r1 is not None:
        raise A1Error(f"Unable to parse range: {part}")
    if r0 is not None and c0 is None and c1 is not None:
        raise A1Error(f"Unable to parse range: {part}")
    return r0, c0, r1, c1


def is_cell_ref(text: str) -> bool:
    try:
        parse_cells(text)
    except A1Error:
        return False
    return True


def quote_title(title: str) -> str:
    if _PLAIN_TITLE.match(title) and not is_cell_ref(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def format_range(title: str, r0: int, c0: int, r1: int, c1: int) -> str:
    start = f"{col_letters(c0)}{r0 + 1}"
    end = f"{col_letters(c1)}{r1 + 1}"
    cells = start if (r0, c0) == (r1, c1) else f"{start}:{end}"
    return f"{quote_title(title)}!{cells}"
