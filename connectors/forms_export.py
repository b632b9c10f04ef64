"""Google Forms "Download responses" exports (CSV or XLSX) as a responses source.

The header row holds the question titles; the timestamp's format follows the exporting account's
locale ("1/11/2565, 9:15:32" in Thai, "11/1/2022 9:15:32" in US English), so the day/month order
is inferred from the whole column.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.base import FormResponse, ResponseBatch
from ingest.errors import InputError
from ingest.thaidate import BANGKOK, DateParseError, parse_datetime, thai_digits_to_arabic

TIMESTAMP_HEADERS = ("timestamp", "ประทับเวลา", "การประทับเวลา", "เวลาประทับ")
EMAIL_HEADERS = ("email address", "ที่อยู่อีเมล", "อีเมล", "email")
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")


class FormsExportSource:
    """Reads every response from one export file; each read is complete (the file is the whole form)."""

    def __init__(self, path: str | Path, *, timestamp_order: str | None = None) -> None:
        self.path = Path(path)
        self.timestamp_order = timestamp_order  # "dmy" or "mdy"; None to infer

    def responses(self, since: str | None = None) -> ResponseBatch:
        frame = self._read()
        rows = [list(row) for row in frame.itertuples(index=False, name=None)]
        return responses_from_rows(self.path.name, [str(c) for c in frame.columns], rows,
                                   timestamp_order=self.timestamp_order)

    def _read(self) -> pd.DataFrame:
        try:
            if self.path.suffix.lower() in (".xlsx", ".xlsm"):
                return pd.read_excel(self.path, dtype=object)
            return pd.read_csv(self.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except FileNotFoundError:
            raise InputError(f"responses export {self.path} does not exist: download it from the form's "
                             "Responses tab (⋮ → Download responses) and save it there") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{self.path}: cannot read as a Forms export ({exc})") from None


def responses_from_rows(name: str, header: list[str], rows: list[list[Any]], *,
                        timestamp_order: str | None = None) -> ResponseBatch:
    """Parse a Forms response table (an export file, or the form's linked response sheet), header first.

    `name` is where a person finds the rows again ("questionnaire.csv", "sheet 1AbC… tab Form Responses 1").
    """
    columns = [str(c).strip() for c in header]
    lowered = [c.lower() for c in columns]
    stamp_col = next((i for i, c in enumerate(lowered) if c in TIMESTAMP_HEADERS), None)
    if stamp_col is None:
        raise InputError(f"{name}: no timestamp column (expected one of "
                         f"{', '.join(TIMESTAMP_HEADERS)} in the header row); is this a Forms export?")
    email_col = next((i for i, c in enumerate(lowered) if c in EMAIL_HEADERS), None)
    # Sheets trims trailing blank cells from each row: pad back to the header's width.
    rows = [list(row) + [""] * (len(columns) - len(row)) for row in rows]
    day_first = _day_first([row[stamp_col] for row in rows], timestamp_order)
    responses, problems = [], []
    for r, values in enumerate(rows):
        line = r + 2  # spreadsheet row number as a person sees it (header is row 1)
        origin = f"{name} row {line}"
        if all(_blank(v) for v in values):
            continue
        try:
            created = _timestamp(values[stamp_col], day_first)
        except DateParseError:
            problems.append(f"{origin}: timestamp shaped {_shape(values[stamp_col])!r} is not a date; row skipped")
            continue
        answers = {}
        for c, title in enumerate(columns):
            if c in (stamp_col, email_col) or _blank(values[c]):
                continue
            answers[title] = _text(values[c])
        email = None if email_col is None or _blank(values[email_col]) else _text(values[email_col])
        fingerprint = "\x1f".join(_text(v) for v in values[:len(columns)])
        response_id = "row-" + hashlib.sha1(fingerprint.encode("utf-8")).hexdigest()[:16]
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


def _timestamp(value: Any, day_first: bool) -> datetime:
    if isinstance(value, datetime):  # an XLSX cell; Forms exports carry no zone, and the form's is Bangkok
        stamp = pd.Timestamp(value).to_pydatetime()
        return stamp.replace(tzinfo=BANGKOK) if stamp.tzinfo is None else stamp.astimezone(BANGKOK)
    return parse_datetime(str(value), day_first=day_first)
