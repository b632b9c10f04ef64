"""Google Forms responses files as a responses source: the "Download responses" .csv.zip or its CSV,
and the linked response sheet downloaded as CSV or XLSX.

A Forms download writes arrival times as "2022/11/07 11:59:59 PM GMT+7" in every UI language (see
ingest/forms_time.py); the linked sheet's own downloads write the spreadsheet locale's format instead
("22/8/2026, 16:53:50" in a Thai-locale sheet's CSV; real date cells in its XLSX), so for those the
day/month order is inferred from the whole column.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from connectors.base import FormResponse, ResponseBatch
from connectors.forms_columns import email_column, timestamp_column
from connectors.forms_download import read_table
from connectors.pandas_text import pd
from ingest.forms_time import from_serial, looks_like_forms_timestamp, parse_forms_timestamp
from ingest.thaidate import BANGKOK, DateParseError, parse_datetime, thai_digits_to_arabic

_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")


class FormsExportSource:
    """Reads every response from one downloaded file; each read is complete (the file is the whole form)."""

    def __init__(self, path: str | Path, *, timestamp_order: str | None = None) -> None:
        self.path = Path(path)
        self.timestamp_order = timestamp_order  # "dmy" or "mdy" for a linked sheet's CSV; None to infer

    def responses(self, since: str | None = None) -> ResponseBatch:
        header, rows = read_table(self.path)
        return responses_from_rows(self.path.name, [str(c) for c in header], rows,
                                   timestamp_order=self.timestamp_order)


def responses_from_rows(name: str, header: list[str], rows: list[list[Any]], *,
                        timestamp_order: str | None = None, serial_zone: tzinfo | None = None,
                        stamp_col: int | None = None) -> ResponseBatch:
    """Parse a Forms response table (a downloaded file, or the form's linked response sheet), header first.

    `name` is where a person finds the rows again ("questionnaire.csv", "sheet 1AbC… tab Form Responses 1").
    `serial_zone`: numbers in the timestamp column are Sheets serial numbers in that zone;
    `stamp_col`: the timestamp column when the caller already found it.
    """
    columns = [str(c).strip() for c in header]
    # Sheets trims trailing blank cells from each row: pad back to the header's width.
    rows = [list(row) + [""] * (len(columns) - len(row)) for row in rows]
    stamp_col = timestamp_column(name, columns, rows) if stamp_col is None else stamp_col
    email_col = email_column(name, columns, rows)
    day_first = _day_first([row[stamp_col] for row in rows], timestamp_order)
    responses, problems = [], []
    for r, values in enumerate(rows):
        line = r + 2  # spreadsheet row number as a person sees it (header is row 1)
        origin = f"{name} row {line}"
        if all(_blank(v) for v in values):
            continue
        try:
            created = _timestamp(values[stamp_col], day_first, serial_zone)
        except DateParseError:
            problems.append(f"{origin}: timestamp shaped {_shape(values[stamp_col])!r} is not a date; row skipped")
            continue
        answers = {}
        for c, title in enumerate(columns):
            if c in (stamp_col, email_col) or _blank(values[c]):
                continue
            answers[title] = _text(values[c])
        email = None if email_col is None or _blank(values[email_col]) else _text(values[email_col])
        # The instant, not the cell's text, goes into the id: the same response keeps its id whether
        # it was read from the .zip, a linked sheet's CSV in any locale, or the sheet itself.
        cells = [created.astimezone(UTC).isoformat() if c == stamp_col else "" if _blank(v) else _text(v)
                 for c, v in enumerate(values[:len(columns)])]
        response_id = "row-" + hashlib.sha1("\x1f".join(cells).encode("utf-8")).hexdigest()[:16]
        responses.append(FormResponse(response_id, created, answers, origin, respondent_email=email))
    return ResponseBatch(responses, complete=True, problems=problems)


def _day_first(stamps: list[Any], timestamp_order: str | None) -> bool:
    if timestamp_order:
        return timestamp_order == "dmy"
    firsts, seconds = [], []
    for stamp in stamps:
        if isinstance(stamp, str) and (m := _NUMERIC_DATE.match(thai_digits_to_arabic(stamp))):
            firsts.append(int(m.group(1)))
            seconds.append(int(m.group(2)))
    if any(f > 12 for f in firsts):
        return True
    # Only a US-English export puts the month first; a day above 12 in second place proves it.
    return not any(s > 12 for s in seconds)


def _shape(value: Any, limit: int = 40) -> str:
    """What a cell looks like, not what it says: digits as 9, letters as a (Thai as ก). A problem's
    message reaches logs and the `runs` tab, where respondents' text must not (a misread column may
    hold answers); the shape still shows why it is not a date ("9999/99/99 99:99:99 aa aaa+9")."""
    text = str(value)
    shape = "".join("9" if c.isdigit() else "ก" if "\u0e00" <= c <= "\u0e7f" else "a" if c.isalpha() else
                    c if c.isprintable() else "?" for c in text[:limit])
    return shape + ("…" if len(text) > limit else "")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _timestamp(value: Any, day_first: bool, serial_zone: tzinfo | None) -> datetime:
    if isinstance(value, datetime):  # an XLSX date cell: wall time with no zone; the form's is Bangkok
        stamp = pd.Timestamp(value).to_pydatetime()
        return stamp.replace(tzinfo=BANGKOK) if stamp.tzinfo is None else stamp.astimezone(BANGKOK)
    if serial_zone is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return from_serial(float(value), serial_zone)
    text = str(value).strip()
    if looks_like_forms_timestamp(text):
        return parse_forms_timestamp(text)
    return parse_datetime(text, day_first=day_first)
