"""Arrival times as Google writes them: Forms "Download responses" cells and Sheets serial numbers.

Pure functions. A Forms download writes every timestamp in one shape whatever the owner's UI
language, with the offset in the cell: "2022/11/07 11:59:59 PM GMT+7". Evidence, read in public
repositories: PeterMoore24/Mentor-Scheduling-Tool "Mentor Scheduling Form.csv.zip" (a real download:
"2023/09/02 12:10:26 PM MDT", and the same response in a later download as "1:10:26 PM EST");
an Indonesian-UI download quoted in a dashboard's sample ("Cap waktu" header, "2025/10/24 6:46:43 PM
GMT+7"); an Indian one with a lower-case marker ("2026/05/27 1:36:48 am GMT+5:30"); a PHP importer
documenting "2026/05/08 10:46:49 AM GMT+7".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.thaidate import BANGKOK, DateParseError

_STAMP = re.compile(
    r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s*([AaPp])\.?\s*[Mm]\.?\s+(\S+)\s*$")
_GMT = re.compile(r"^(?:GMT|UTC)(?:([+-])(\d{1,2})(?::?(\d{2}))?)?$", re.IGNORECASE)
# Where a zone has a common English short name, Google writes it instead of "GMT±H" (the ICU "en"
# metazone names: MDT and EST in the Mentor Scheduling download, AST in GeckoRobotics/
# gecko-sustainability's responses). Only unambiguous North American names are accepted; any other
# name is refused rather than guessed (IST, CST and BST each name two zones).
_NAMED_OFFSETS = {
    "EST": -5 * 60, "EDT": -4 * 60, "CST": -6 * 60, "CDT": -5 * 60, "MST": -7 * 60, "MDT": -6 * 60,
    "PST": -8 * 60, "PDT": -7 * 60, "AKST": -9 * 60, "AKDT": -8 * 60, "HST": -10 * 60,
    "AST": -4 * 60, "ADT": -3 * 60, "NST": -(3 * 60 + 30), "NDT": -(2 * 60 + 30),
}
# Sheets API, DateTimeRenderOption.SERIAL_NUMBER: "The whole number portion of the value (left of the
# decimal) counts the days since December 30th 1899. The fractional portion (right of the decimal)
# counts the time as a fraction of the day." https://developers.google.com/sheets/api/reference/rest/v4/DateTimeRenderOption
SERIAL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001 - a serial number is wall time in the sheet's zone


def looks_like_forms_timestamp(text: str) -> bool:
    return bool(_STAMP.match(text))


def parse_forms_timestamp(text: str) -> datetime:
    """The instant a Forms download cell names, in Bangkok time; DateParseError if it is not one.

    12 AM is midnight and 12 PM is noon; the offset written in the cell is the one used.
    """
    m = _STAMP.match(text)
    if m is None:
        raise DateParseError(f"{text!r} is not a Forms timestamp (yyyy/mm/dd h:mm:ss AM|PM GMT+h)")
    y, mo, d, hh, mm, ss, marker, zone_text = m.groups()
    hour = int(hh)
    if not 1 <= hour <= 12:
        raise DateParseError(f"{text!r}: hour {hour} on a 12-hour clock")
    hour = hour % 12 + (12 if marker.lower() == "p" else 0)
    zone = _zone(zone_text)
    if zone is None:
        raise DateParseError(f"{text!r}: unknown time zone {zone_text!r} (expected GMT+7, GMT-4, GMT+5:30, GMT …)")
    try:
        moment = datetime(int(y), int(mo), int(d), hour, int(mm), int(ss), tzinfo=zone)
    except ValueError as exc:
        raise DateParseError(f"{text!r} is not a date ({exc})") from None
    return moment.astimezone(BANGKOK)


def _zone(text: str) -> timezone | None:
    if m := _GMT.match(text):
        sign, hours, minutes = m.groups()
        if sign is None:
            return UTC
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14):
            return None
        return timezone(delta if sign == "+" else -delta)
    named = _NAMED_OFFSETS.get(text.upper())
    return None if named is None else timezone(timedelta(minutes=named))


def spreadsheet_zone(text: str) -> tzinfo:
    """A spreadsheet's `properties.timeZone`: "in CLDR format such as America/New_York. If the time zone
    isn't recognized, this may be a custom time zone such as GMT-07:00" (Sheets API, SpreadsheetProperties)."""
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        zone = _zone(text.strip())
    if zone is None:
        raise DateParseError(f"spreadsheet time zone {text!r} is neither a zone name nor GMT±hh:mm")
    return zone


def from_serial(serial: float, zone: tzinfo) -> datetime:
    """A Sheets date-time serial number, read as wall time in the spreadsheet's zone, in Bangkok time.

    Rounded to the millisecond (a double carries the day fraction to about a microsecond), then cut to
    the second, as the Forms download and the sheet's own display write it: 23:59:59.6 stays on the due
    day instead of rounding into the next one. A serial number carries no offset: in a zone with
    daylight saving the hour repeated in autumn is ambiguous and is read as its first occurrence.
    """
    wall = SERIAL_EPOCH + timedelta(milliseconds=round(serial * 86_400_000))
    return wall.replace(microsecond=0, tzinfo=zone).astimezone(BANGKOK)
