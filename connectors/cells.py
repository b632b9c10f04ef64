"""Text as a spreadsheet cell can hold it: no stray control characters, no lone surrogates, within the
backend's length limit. Both warehouses write every string through `cell_text`, so the workbook and
the Google Sheet show the same text and one stray byte in an answer never stops a run; the state
keeps what the source gave.
"""

from __future__ import annotations

import re

# Microsoft, "Excel specifications and limits" (support.microsoft.com/office/1672b34d-7043-467e-8e27-269d656771c3):
# "Total number of characters that a cell can contain: 32,767 characters".
EXCEL_CELL_CHARS = 32_767
# Google Sheets refuses a whole write when one cell is longer, with 400 INVALID_ARGUMENT "Your input
# contains more than the maximum of 50000 characters in a single cell." (the error as reported in
# github.com/airbytehq/airbyte/issues/15500 and github.com/freelabz/secator/issues/96; the Sheets API
# reference names the limit only as DataExecutionErrorCode TOO_MANY_CHARS_PER_CELL, "values that
# exceed the maximum characters allowed in a single cell").
SHEETS_CELL_CHARS = 50_000
CUT_MARK = " …(ตัดทอน)"  # what a coordinator sees at the end of an answer cut to the cell size

# Word writes a manual line break (Shift+Enter, "^l") as U+000B and a page break as U+000C in the text
# it copies (wyrcad.com/?p=1966: "软回车 … chr(11)"); pasted into a form they are line breaks. CR and
# CRLF become LF: XML parsers turn a raw CR into LF anyway (XML 1.0 §2.11), Sheets breaks lines at LF.
_BREAKS = re.compile(r"\r\n?|[\x0b\x0c]")
# What XML 1.0 cannot hold (§2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | …): the rest
# of C0, and U+FFFE/U+FFFF; an .xlsx is XML, so openpyxl raises IllegalCharacterError on C0. DEL is
# legal XML but invisible noise from the same broken sources. These are dropped.
_STRAY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffe\uffff]")
# A lone surrogate is what Python makes of undecodable bytes in a file name (surrogateescape, e.g. a
# TIS-620 name from an old Windows zip); it cannot be encoded as UTF-8 at all. It becomes U+FFFD,
# the character Unicode reserves for "something undecodable was here".
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ANY = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without what a spreadsheet cannot store (see the patterns above); unchanged when clean."""
    if not _ANY.search(text):  # the common case: nothing to clean
        return text
    text = _BREAKS.sub("\n", text)
    text = _STRAY.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def cell_text(value: object, limit: int) -> str:
    """`value` as clean text of at most `limit` characters; a longer text is cut and ends with CUT_MARK,
    so nobody mistakes it for the whole. Length is counted in UTF-16 code units: never fewer than the
    characters either backend counts, so a cut text always fits."""
    text = clean_text(str(value))
    if len(text) * 2 <= limit or _utf16_length(text) <= limit:
        return text
    room, units = limit - len(CUT_MARK), 0
    for index, char in enumerate(text):  # a rare path: only cells over the limit walk their characters
        units += 2 if ord(char) > 0xFFFF else 1  # beyond the BMP (emoji): two UTF-16 code units
        if units > room:
            return text[:index] + CUT_MARK
    return text


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
