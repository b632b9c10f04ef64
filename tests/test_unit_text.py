"""Thai text as people type it: the normaliser, table by table, and what the matcher makes of it.

The corpus `fixtures/real/unit_text.jsonl` holds one line per way of typing, each with where it comes
from (PDF text layers, office software, CDD's own sites, the seed field reports).
"""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import FormResponse, UploadedFile
from ingest.campaign import Deliverable, Unit
from ingest.normalize import file_unit, responses_table
from ingest.unit_text import normalise_unit_text, tidy_typed
from ingest.units import UnitMatch, UnitMatcher, registry_units

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "fixtures/real/unit_text.jsonl").read_text(
    encoding="utf-8").splitlines() if line.strip()]
PROVINCES = UnitMatcher(registry_units("province", exclude=["10"]))


@pytest.mark.parametrize("case", CORPUS, ids=[c["source"][:60] for c in CORPUS])
def test_corpus_normalises_to_what_was_meant(case):
    assert normalise_unit_text(case["typed"]) == case["meant"]


@pytest.mark.parametrize("case", CORPUS, ids=[c["source"][:60] for c in CORPUS])
def test_corpus_matches_its_province_and_keeps_the_raw_text(case):
    match = PROVINCES.match(case["typed"])
    assert match.code == case["code"]
    assert match.text == case["typed"]  # what was typed, invisible marks and all, for the warehouse


CHARACTERS = {
    "tone mark between NIKHAHIT and SARA AA (PDF order)": ("\u0e19\u0e4d\u0e49\u0e32", "\u0e19\u0e49\u0e33"),
    "tone mark before the pair (NFKC's order)": ("\u0e19\u0e49\u0e4d\u0e32", "\u0e19\u0e49\u0e33"),
    "composed SARA AM survives NFKC": ("\u0e19\u0e49\u0e33", "\u0e19\u0e49\u0e33"),
    "NIKHAHIT alone is kept": ("\u0e2a\u0e31\u0e07\u0e06\u0e4d", "\u0e2a\u0e31\u0e07\u0e06\u0e4d"),
    "ideographic and em spaces": ("\u0e22\u0e30\u3000\u0e25\u0e32\u2003x", "\u0e22\u0e30 \u0e25\u0e32 x"),
    "tabs and line breaks": ("\t\u0e22\u0e30\u0e25\u0e32\r\n", "\u0e22\u0e30\u0e25\u0e32"),
    "direction marks": ("\u200e\u0e22\u0e30\u0e25\u0e32\u200f", "\u0e22\u0e30\u0e25\u0e32"),
    "case is kept (unit codes may have letters)": ("A01", "A01"),
    "Thai digits": ("\u0e59\u0e55", "95"),
}


@pytest.mark.parametrize(("typed", "tidy"), CHARACTERS.values(), ids=CHARACTERS.keys())
def test_tidy_typed(typed, tidy):
    assert tidy_typed(typed) == tidy


PREFIXES = {
    "a number alone may be a code: kept": ("95", "95"),
    "a year is not a sort number": ("2565 ยะลา", "2565 ยะลา"),
    "four digits are a code, not a sort number": ("9501 เมืองยะลา", "9501 เมืองยะลา"),
    "sort number with a dot": ("1. ยะลา", "ยะลา"),
    "sort number with a parenthesis": ("15) ยะลา", "ยะลา"),
    "sort number with a dash": ("07-ยะลา", "ยะลา"),
    "two numbers: only a number followed by a name goes": ("01 95", "01 95"),
    "office then sort number": ("สพจ. 01 ยะลา", "ยะลา"),
    "district office": ("สพอ.เมืองยะลา", "เมืองยะลา"),
    "office short forms with จ./อ.": ("พช.จ.ยะลา", "ยะลา"),
    "พชจ.": ("พชจ.ยะลา", "ยะลา"),
    "a province starting with จ after พช.": ("พช.จันทบุรี", "จันทบุรี"),
    "a province starting with อ after พช.": ("พช.อุดรธานี", "อุดรธานี"),
    "สนง.พช. then a province starting with จ": ("สนง.พช.จันทบุรี", "จันทบุรี"),
    "the office's full name with spaces": ("สำนักงานพัฒนาชุมชนจังหวัด ยะลา", "ยะลา"),
    "the office alone names no unit": ("สำนักงานพัฒนาชุมชน", ""),
    "trap: พัฒนาการ alone is a sub-district": ("พัฒนาการ", "พัฒนาการ"),
    "prefix only at the start": ("ยะลา พช.", "ยะลา พช."),
}


@pytest.mark.parametrize(("typed", "meant"), PREFIXES.values(), ids=PREFIXES.keys())
def test_prefixes_and_sort_numbers(typed, meant):
    assert normalise_unit_text(typed) == meant


def test_office_alone_is_unattributable():
    match = PROVINCES.match("สำนักงานพัฒนาชุมชน")
    assert (match.code, match.method, match.text) == (None, "none", "สำนักงานพัฒนาชุมชน")


def test_prefix_stripping_never_makes_a_real_name_match_elsewhere():
    # แขวงพัฒนาการ (Bangkok) keeps its name: only "พัฒนาการจังหวัด/อำเภอ" is a title.
    bangkok = UnitMatcher(registry_units("subdistrict", within=["10"]))
    assert bangkok.match("แขวงพัฒนาการ").code == "103403"
    # The capital district office names the province among provinces, the district among districts.
    assert UnitMatcher(registry_units("district", within=["95"])).match("พช.เมืองยะลา").code == "9501"
    # "สพอ.เมือง" among all districts of the country is every เมือง district: ambiguous, not a guess.
    assert UnitMatcher(registry_units("district")).match("สพอ.เมือง").code is None


def test_a_units_file_that_numbers_its_names_still_matches_exactly():
    units = [Unit(code=f"A{i}", name=f"{i} พื้นที่สันติสุข", level="unit") for i in (1, 2, 3)]
    matcher = UnitMatcher(units)
    assert [matcher.match(f"{i} พื้นที่สันติสุข").code for i in (1, 2, 3)] == ["A1", "A2", "A3"]
    assert matcher.match("A2").method == "code"


def test_the_warehouse_keeps_what_was_typed_beside_the_matched_unit():
    when = datetime(2022, 11, 3, 9, 0, tzinfo=UTC)
    questionnaire = Deliverable("questionnaire", "แบบสอบถาม", "form", "response", 10, when, unit_question="จังหวัด")
    typed = ["\u0e25\u0e4d\u0e32\u0e1b\u0e32\u0e07", "01 สพจ.ยะ\u200bลา", "สำนักงานพัฒนาชุมชน"]
    responses = [FormResponse(f"r{i}", when, {"จังหวัด": text}, f"row {i}") for i, text in enumerate(typed)]
    names = {u.code: u.name for u in PROVINCES.units.values()}
    frame, problems = responses_table(questionnaire, responses, PROVINCES, names)
    assert frame[["unit_code", "unit_name", "unit_text"]].values.tolist() == [
        ["52", "ลำปาง", typed[0]], ["95", "ยะลา", typed[1]], ["", "", typed[2]]]
    assert [(p.kind, p.text) for p in problems] == [("unit_unmatched", "สำนักงานพัฒนาชุมชน")]

    files = [UploadedFile("f1", "IMG_1.jpg", ("01 สพจ.\u0e25\u0e4d\u0e32\u0e1b\u0e32\u0e07", "ภาพถ่าย"), "image/jpeg", when)]
    assert file_unit(files[0], PROVINCES) == UnitMatch("01 สพจ.\u0e25\u0e4d\u0e32\u0e1b\u0e32\u0e07", "52", "exact", 100.0)


def test_every_format_character_and_every_space_of_this_python_is_handled():
    # The format characters are listed as ranges for speed; this says when a newer Unicode adds one.
    everything = [chr(c) for c in range(sys.maxunicode + 1)]
    invisible = [c for c in everything if unicodedata.category(c) == "Cf"]
    assert tidy_typed("ก" + "".join(invisible) + "ข") == "กข"
    spaces = [c for c in everything if c.isspace()]
    assert tidy_typed("ก" + "".join(spaces) + "ข") == "ก ข"
