"""Which column of a Forms response table is the timestamp, and which the respondent's e-mail.

Google names both columns in the form owner's UI language. Each name below was read in public code
that handles real Forms downloads or linked response sheets (read, not copied):
- "Timestamp", "Email Address", "Username": PeterMoore24/Mentor-Scheduling-Tool "Mentor Scheduling
  Form.csv.zip" (a real download; with verified e-mail collection the column is "Username").
- "ประทับเวลา": Thai Streamlit dashboards reading a linked sheet's "การตอบแบบฟอร์ม 1" tab through
  gviz CSV (`df['ประทับเวลา']`); "ที่อยู่อีเมล" is the Thai UI's label for an e-mail address.
- "Marca temporal" + "Dirección de correo electrónico" (es): a Node importer's note on the "historical
  format" header and a notebook dropping both columns of a Forms sheet.
- "Horodateur" (fr): notebooks dropping it from a Forms CSV ("resulting of a google forms").
- "Отметка времени" (ru), "타임스탬프" (ko), "タイムスタンプ" (ja), "Carimbo de data/hora" +
  "Endereço de e-mail" (pt-BR), "Informazioni cronologiche" + "Indirizzo email" (it), "Dấu thời gian" +
  "Địa chỉ email" (vi), "Cap waktu" (id): importers that skip or parse those columns of Forms data.
- "Zeitstempel" (de): Google's German UI word, unconfirmed: no Forms file with it was found.
A name this table misses still works: the timestamp column is then found by its values.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ingest.errors import InputError
from ingest.forms_time import looks_like_forms_timestamp
from ingest.thaidate import DateParseError, parse_datetime

log = logging.getLogger(__name__)

TIMESTAMP_HEADERS = frozenset({
    "timestamp", "ประทับเวลา", "marca temporal", "horodateur", "zeitstempel", "отметка времени",
    "타임스탬프", "タイムスタンプ", "carimbo de data/hora", "informazioni cronologiche", "dấu thời gian",
    "cap waktu",
})
EMAIL_HEADERS = frozenset({
    "email address", "username", "ที่อยู่อีเมล", "อีเมล", "email", "dirección de correo electrónico",
    "endereço de e-mail", "indirizzo email", "địa chỉ email",
})


def _key(title: str) -> str:
    return " ".join(str(title).split()).casefold()


def is_timestamp_header(title: str) -> bool:
    return _key(title) in TIMESTAMP_HEADERS


def timestamp_column(name: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """The timestamp column: by its name, else the first column whose every value is a date and time."""
    for i, title in enumerate(header):
        if _key(title) in TIMESTAMP_HEADERS:
            log.info("%s: timestamp column %d %r (by its name)", name, i + 1, title)
            return i
    for i, title in enumerate(header):
        values = [row[i] for row in rows if i < len(row) and not _blank(row[i])]
        if values and all(_is_moment(v) for v in values):
            log.info("%s: timestamp column %d %r (no known name; its values are all dates with times)",
                     name, i + 1, title)
            return i
    raise InputError(f"{name}: no timestamp column (no header named Timestamp / ประทับเวลา / … and no "
                     "column whose values are all dates with times); is this a Forms responses download?")


def email_column(name: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> int | None:
    """The respondent e-mail column Google adds, if collected: a known name whose values are addresses."""
    for i, title in enumerate(header):
        if _key(title) not in EMAIL_HEADERS:
            continue
        values = [str(row[i]) for row in rows if i < len(row) and not _blank(row[i])]
        if all("@" in v for v in values):
            log.debug("%s: respondent e-mail column %d %r", name, i + 1, title)
            return i
    return None


def _blank(value: Any) -> bool:
    return value is None or value != value or (isinstance(value, str) and not value.strip())  # NaN != NaN


def _is_moment(value: Any) -> bool:
    if isinstance(value, datetime):
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    if looks_like_forms_timestamp(text):
        return True
    if ":" not in text:  # a date alone is a "date" question's answer, not the submission time
        return False
    for day_first in (True, False):
        try:
            parse_datetime(text, day_first=day_first)
        except DateParseError:
            continue
        return True
    return False
