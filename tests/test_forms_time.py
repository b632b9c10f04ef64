"""Forms download timestamps and Sheets serial numbers, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingest.demo_forms import forms_stamp
from ingest.forms_time import from_serial, parse_forms_timestamp, spreadsheet_zone
from ingest.thaidate import BANGKOK, DateParseError


def at(*args: int, offset: float = 7) -> datetime:
    return datetime(*args, tzinfo=timezone(timedelta(hours=offset)))


STAMPS = {
    "evening, GMT+7": ("2022/11/07 11:59:59 PM GMT+7", at(2022, 11, 7, 23, 59, 59)),
    "12 AM is midnight": ("2022/11/08 12:00:00 AM GMT+7", at(2022, 11, 8, 0, 0, 0)),
    "12 PM is noon": ("2022/11/03 12:00:00 PM GMT+7", at(2022, 11, 3, 12, 0, 0)),
    "12:30 AM": ("2022/11/08 12:30:05 AM GMT+7", at(2022, 11, 8, 0, 30, 5)),
    "morning without leading zero": ("2025/10/24 6:46:43 PM GMT+7", at(2025, 10, 24, 18, 46, 43)),
    "GMT-4": ("2022/11/07 10:00:00 PM GMT-4", at(2022, 11, 7, 22, 0, 0, offset=-4)),
    "GMT+5:30, lower-case marker": ("2026/05/27 1:36:48 am GMT+5:30", at(2026, 5, 27, 1, 36, 48, offset=5.5)),
    "GMT alone": ("2022/11/07 4:59:59 PM GMT", at(2022, 11, 7, 16, 59, 59, offset=0)),
    "MDT (a real download)": ("2023/09/02 12:10:26 PM MDT", at(2023, 9, 2, 12, 10, 26, offset=-6)),
    "EST, the same response": ("2023/09/02 1:10:26 PM EST", at(2023, 9, 2, 13, 10, 26, offset=-5)),
}


@pytest.mark.parametrize(("text", "expected"), STAMPS.values(), ids=STAMPS.keys())
def test_forms_timestamp(text, expected):
    parsed = parse_forms_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo == BANGKOK  # one zone for everything downstream


def test_the_two_downloads_of_one_response_agree():
    assert parse_forms_timestamp("2023/09/02 12:10:26 PM MDT") == parse_forms_timestamp("2023/09/02 1:10:26 PM EST")


@pytest.mark.parametrize("text", [
    "2022/11/07 13:00:00 PM GMT+7",  # no 13 on a 12-hour clock
    "2022/11/07 0:30:00 AM GMT+7",
    "2022/02/30 10:00:00 AM GMT+7",
    "2022/11/07 10:00:00 AM IST",  # India or Ireland: refused, not guessed
    "2022/11/07 10:00:00 AM GMT+15",
    "2022/11/07 10:00:00 GMT+7",  # no AM/PM
    "7/11/2022, 23:59:59",
])
def test_not_a_forms_timestamp(text):
    with pytest.raises(DateParseError):
        parse_forms_timestamp(text)


@pytest.mark.parametrize("moment", [at(2022, 11, 7, 23, 59, 59), at(2022, 11, 8, 0, 0, 0), at(2022, 11, 3, 12, 0, 1),
                                    at(2022, 11, 1, 9, 5, 0)])
def test_the_demo_writes_what_the_parser_reads(moment):
    assert parse_forms_timestamp(forms_stamp(moment)) == moment


SERIALS = {
    # The Sheets API's own examples (DateTimeRenderOption): 2.5 and 33.625.
    "1900-01-01 noon": (2.5, "UTC", datetime(1900, 1, 1, 12, 0, tzinfo=UTC)),
    "1900-02-01 3 pm": (33.625, "UTC", datetime(1900, 2, 1, 15, 0, tzinfo=UTC)),
    "due day's last second, Bangkok": (44872 + 86399 / 86400, "Asia/Bangkok", at(2022, 11, 7, 23, 59, 59)),
    "23:59:59.6 stays on the due day": (44872 + 86399.6 / 86400, "Asia/Bangkok", at(2022, 11, 7, 23, 59, 59)),
    "a custom zone": (44872.5, "GMT-07:00", at(2022, 11, 7, 12, 0, 0, offset=-7)),
}


@pytest.mark.parametrize(("serial", "zone", "expected"), SERIALS.values(), ids=SERIALS.keys())
def test_serial_numbers(serial, zone, expected):
    assert from_serial(serial, spreadsheet_zone(zone)) == expected


def test_an_unknown_spreadsheet_zone_is_refused():
    with pytest.raises(DateParseError, match="Mars/Olympus"):
        spreadsheet_zone("Mars/Olympus")
