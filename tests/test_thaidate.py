from __future__ import annotations

from datetime import datetime

import pytest

from ingest.thaidate import BANGKOK, DateParseError, format_thai_date, parse_datetime

END_15 = datetime(2022, 11, 15, 23, 59, 59, tzinfo=BANGKOK)
CASES = {
    "thai digits, full month, B.E.": ("๑๕ พฤศจิกายน ๒๕๖๕", END_15),
    "abbreviated month, two-digit B.E.": ("15 พ.ย. 65", END_15),
    "numeric B.E.": ("15/11/2565", END_15),
    "ISO C.E.": ("2022-11-15", END_15),
    "ISO B.E.": ("2565-11-15", END_15),
    "circular wording": ("ภายในวันที่ 15 พฤศจิกายน 2565", END_15),
    "with time": ("วันที่ 7 พ.ย. 2565 เวลา 16.30 น.", datetime(2022, 11, 7, 16, 30, tzinfo=BANGKOK)),
    "forms export Thai locale": ("1/11/2565, 9:15:32", datetime(2022, 11, 1, 9, 15, 32, tzinfo=BANGKOK)),
    "UTC instant": ("2022-11-15T10:00:00Z", datetime(2022, 11, 15, 17, 0, tzinfo=BANGKOK)),
    "English month": ("15 Nov 2022", END_15),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_parse(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["2565-13-01", "31/02/2565", "พรุ่งนี้", ""])
def test_not_a_date(text):
    with pytest.raises(DateParseError):
        parse_datetime(text)


def test_month_first_order():
    assert parse_datetime("11/1/2022 9:15:32", day_first=False) == datetime(2022, 11, 1, 9, 15, 32, tzinfo=BANGKOK)


def test_format_thai_date():
    assert format_thai_date(END_15) == "15 พฤศจิกายน 2565"
    assert format_thai_date(END_15, with_time=True) == "15 พฤศจิกายน 2565 เวลา 23.59 น."
