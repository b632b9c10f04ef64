"""Free-text unit matching: prefixes, spacing, English names, aliases, misspellings, and its traps."""

from __future__ import annotations

import pytest

from ingest.units import UnitMatcher, registry_units

PROVINCES = UnitMatcher(registry_units("province", exclude=["10"]))

CASES = {
    "plain": ("ยะลา", "95", "exact"),
    "short prefix": ("จ.ยะลา", "95", "exact"),
    "long prefix": ("จังหวัดยะลา", "95", "exact"),
    "English": ("Yala", "95", "exact"),
    "English, spaces, case": (" yala ", "95", "exact"),
    "stray space inside": ("ราช บุรี", "70", "exact"),
    "misspelt": ("ราชบุร", "70", "fuzzy"),
    "trap: common misspelling of Si Sa Ket": ("ศรีษะเกษ", "33", "fuzzy"),
    "nickname": ("โคราช", "30", "exact"),
    "short form": ("อยุธยา", "14", "exact"),
    "DOPA code": ("95", "95", "code"),
    "code in Thai digits": ("๙๕", "95", "code"),
    "office prefix": ("สพจ.ยะลา", "95", "exact"),
    "district and province": ("อ.ปากท่อ จ.ราชบุรี", "70", "segment"),
    "file name": ("นครปฐม_ภาพ1", "73", "segment"),
    "zero-width space": ("ยะ\u200bลา", "95", "exact"),
}


@pytest.mark.parametrize(("text", "code", "method"), CASES.values(), ids=CASES.keys())
def test_matches(text, code, method):
    match = PROVINCES.match(text)
    assert (match.code, match.method) == (code, method)


NO_MATCH = {
    "Bangkok is not a unit here": "กทม",
    "nothing like a province": "ไม่ระบุ",
    "too far from any name": "ตราท",
    "empty": "",
}


@pytest.mark.parametrize("text", NO_MATCH.values(), ids=NO_MATCH.keys())
def test_never_guesses(text):
    match = PROVINCES.match(text)
    assert match.code is None
    assert match.method in ("none", "ambiguous")


def test_two_units_named_is_ambiguous():
    match = PROVINCES.match("ยะลา ปัตตานี")
    assert match.code is None and match.method == "ambiguous"
    assert match.candidates == ("94", "95")


def test_trap_the_real_subdistrict_wins_among_subdistricts():
    # ศรีษะเกษ is also a real sub-district (in Nan): among sub-districts it is that one, exactly.
    subdistricts = UnitMatcher(registry_units("subdistrict", within=["55"]))
    assert subdistricts.match("ศรีษะเกษ").code == "550403"
    assert subdistricts.match("ต.ศรีษะเกษ อ.นาน้อย จ.น่าน").code == "550403"
    assert subdistricts.match("ต.นาน้อย อ.นาน้อย จ.น่าน").code == "550401"


def test_districts_with_parent_names():
    districts = UnitMatcher(registry_units("district", within=["70"]))
    assert districts.match("อ.เมือง จ.ราชบุรี").code == "7001"
    assert districts.match("อำเภอปากท่อ จังหวัดราชบุรี").code == "7008"


def test_registry_sizes():
    assert len(registry_units("province")) == 77
    assert len(registry_units("province", exclude=["10"])) == 76
    assert len(registry_units("district")) == 928
    assert len(registry_units("subdistrict")) == 7436


def test_extra_aliases_from_config():
    matcher = UnitMatcher(registry_units("province", exclude=["10"]), extra_aliases={"ทีมใต้สุด": "96"})
    assert matcher.match("ทีมใต้สุด").code == "96"


def test_repeated_texts_are_matched_once_and_the_memory_is_bounded(monkeypatch):
    import ingest.units as units

    monkeypatch.setattr(units, "MEMO_SIZE", 3)
    matcher = UnitMatcher(registry_units("province"))
    first = matcher.match("เชียงใหมม")  # a fuzzy match, the costly kind
    assert first.code == "50" and first.method == "fuzzy"
    assert matcher.match("เชียงใหมม") is first  # remembered, not matched again
    for text in ("ลำปาง", "น่าน", "ภาพถ่าย", "แพร่"):
        matcher.match(text)
    assert len(matcher._memo) <= 3  # cleared when full, never grows past the bound
    assert matcher.match("เชียงใหมม") == first  # and matched again the same way
