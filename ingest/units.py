"""Reporting units: the built-in Thai registry (geothai), a units CSV, and free-text matching.

Matching is restricted to the campaign's own units and never guesses: text that fits no unit, or
fits two, comes back unmatched with the candidates so it can be listed as a problem.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geothai
from rapidfuzz import fuzz, process

from ingest.campaign import Unit
from ingest.errors import ConfigError
from ingest.unit_text import normalise_unit_text, tidy_typed

LEVELS = ("province", "district", "subdistrict")

# Names people use for provinces that no registry spells that way (nicknames, short forms).
PROVINCE_ALIASES: Mapping[str, str] = {
    "กทม": "10", "กรุงเทพ": "10", "กรุงเทพฯ": "10", "bkk": "10",
    "ปากน้ำ": "11", "อยุธยา": "14", "ayutthaya": "14", "ayuthaya": "14", "แปดริ้ว": "24",
    "โคราช": "30", "korat": "30", "อุบล": "34", "อุดร": "41", "กาญจน์": "71", "สุพรรณ": "72",
    "ประจวบ": "77", "นครศรี": "80", "สุราษฎร์": "84", "สุราษฎร์ฯ": "84",
}

# Level words and their short forms, wherever a word starts ("อ.ปากท่อ จ.ราชบุรี").
# Office names count as level words too: "สพจ.ยะลา" is the Provincial Community Development Office of Yala.
_LEVEL_WORD = re.compile(
    r"(?:(?<=^)|(?<=[\s,/()\-]))(?:สำนักงานพัฒนาชุมชนจังหวัด|สำนักงานพัฒนาชุมชนอำเภอ|สพจ\.|สพอ\.|พชจ\.|พช\.|"
    r"จังหวัด|กิ่งอำเภอ|อำเภอ|ตำบล|แขวง|เขต|[จอต]\.|changwat|amphoe|tambon|province|district)\s*",
    re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s,/()\[\]\-_.'\"ฯ:;]+")


def name_key(text: str) -> str:
    """One comparable form of a place name: no level words, spaces, punctuation or case."""
    return _key(tidy_typed(text).casefold())


def _key(text: str) -> str:
    """name_key of text already tidied and case-folded (what `normalise_unit_text` returns)."""
    text = _LEVEL_WORD.sub(" ", text)
    text = re.sub(r"\b(province|district)\b", " ", text)
    return _SEPARATORS.sub("", text)


def registry_units(level: str, *, within: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Unit]:
    """Units from the built-in DOPA registry: every province, district or sub-district.

    `within` keeps units whose code starts with one of the given codes (e.g. districts of "95").
    """
    if level == "province":
        areas = [(p.code, p.name_th, p.name_en, "") for p in geothai.provinces()]
    elif level == "district":
        areas = [(d.code, d.name_th, d.name_en, d.province_code)
                 for p in geothai.provinces() for d in geothai.districts(p.code)]
    elif level == "subdistrict":
        areas = [(s.code, s.name_th, s.name_en, s.district_code)
                 for p in geothai.provinces() for d in geothai.districts(p.code)
                 for s in geothai.subdistricts(d.code)]
    else:
        raise ConfigError([f"units.registry: {level!r} is not one of {', '.join(LEVELS)}"])
    units = []
    for code, name_th, name_en, parent in areas:
        if within and not any(code.startswith(w) for w in within):
            continue
        if code in exclude:
            continue
        aliases = tuple(a for a, c in PROVINCE_ALIASES.items() if c == code) if level == "province" else ()
        units.append(Unit(code=code, name=name_th, name_en=name_en, parent=parent, aliases=aliases, level=level))
    return units


def load_units_csv(path: Path) -> list[Unit]:
    """Units from a CSV with columns code, name and optionally name_en, parent, aliases, emails, level, group.

    aliases and emails are separated by `|`, `;` or `,`.
    """
    problems: list[str] = []
    units: list[Unit] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"code", "name"} - set(reader.fieldnames or ())
            if missing:
                raise ConfigError([f"{path}: missing column(s) {', '.join(sorted(missing))}"], source=str(path))
            seen: set[str] = set()
            for line, row in enumerate(reader, start=2):
                code = (row.get("code") or "").strip()
                name = (row.get("name") or "").strip()
                if not code or not name:
                    problems.append(f"{path}:{line}: code and name are required")
                    continue
                if code in seen:
                    problems.append(f"{path}:{line}: unit code {code!r} appears twice")
                    continue
                seen.add(code)
                units.append(Unit(
                    code=code, name=name, name_en=(row.get("name_en") or "").strip(),
                    parent=(row.get("parent") or "").strip(),
                    aliases=_split_list(row.get("aliases")), emails=_split_list(row.get("emails")),
                    level=(row.get("level") or "unit").strip() or "unit",
                    group=(row.get("group") or "").strip()))
    except FileNotFoundError:
        raise ConfigError([f"units.file: {path} does not exist"]) from None
    if problems:
        raise ConfigError(problems, source=str(path))
    return units


def _split_list(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in re.split(r"[|;,]", text or "") if part.strip())


@dataclass(frozen=True)
class UnitMatch:
    """The outcome of matching one piece of text."""

    text: str
    code: str | None  # the unit, or None when unmatched or ambiguous
    method: str  # code, exact, fuzzy, segment, none, ambiguous
    score: float = 0.0
    candidates: tuple[str, ...] = ()  # unit codes considered when ambiguous or close

    @property
    def matched(self) -> bool:
        return self.code is not None


MEMO_SIZE = 200_000  # texts remembered per matcher (a few tens of MB at most)


class UnitMatcher:
    """Matches free text to one of a fixed list of units, by code, name, alias or close spelling."""

    def __init__(self, units: Iterable[Unit], *, extra_aliases: Mapping[str, str] | None = None,
                 threshold: float = 85.0, margin: float = 5.0) -> None:
        self.units = {u.code: u for u in units}
        self.threshold = threshold
        self.margin = margin
        self._keys: dict[str, set[str]] = {}
        self._ancestors: dict[str, set[str]] = {}
        names = {u.code: u.name for u in self.units.values()}
        key_of = cache(name_key)  # for this build only: half the 37,000 names of 7,436 sub-districts are a parent's again
        for unit in self.units.values():
            keys = {unit.name, unit.name_en, *unit.aliases}
            if unit.level == "province":
                # "พช.เมืองยะลา" (seed 000) is the office of Yala's capital district: in a campaign of
                # provinces, a province's capital district names that province and no other.
                keys.add(f"เมือง{unit.name}")
            parent_name = names.get(unit.parent) or (geothai_name(unit.parent) if unit.parent else "")
            self._ancestors[unit.code] = {key_of(n) for n in _ancestor_names(unit, names) if n}
            if parent_name:
                # Districts and sub-districts are often written with their parent: "ปากท่อ ราชบุรี".
                keys.add(f"{unit.name} {parent_name}")
                if unit.level == "district" and unit.code.endswith("01"):
                    keys.add(f"เมือง {parent_name}")
            for key in keys:
                if key:
                    self._keys.setdefault(key_of(key), set()).add(unit.code)
        for alias, code in (extra_aliases or {}).items():
            if code in self.units:
                self._keys.setdefault(name_key(alias), set()).add(code)
        self._choices = list(self._keys)
        # The same texts come back all the time (every unit's "ภาพถ่าย" subfolder, a form's repeated
        # answers), and a fuzzy match scans every name: at 7,436 sub-districts, unremembered, matching
        # was most of a no-change sync. Units never change after construction, so results keep.
        self._memo: dict[str, UnitMatch] = {}

    def match(self, text: str) -> UnitMatch:
        raw = "" if text is None else str(text)
        found = self._memo.get(raw)
        if found is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            found = self._memo[raw] = self._match(raw)
        return found

    def _match(self, raw: str) -> UnitMatch:
        # The match is made on what the person meant (`normalise_unit_text`); the result keeps `raw`,
        # what was really typed, for the warehouse and the problems tab.
        stripped = tidy_typed(raw)
        if stripped in self.units:
            return UnitMatch(raw, stripped, "code", 100.0)
        meant = normalise_unit_text(raw)
        key = _key(meant)
        if not key:
            return UnitMatch(raw, None, "none")
        # The text as typed first: a units file may itself name units "1 ...", "2 ...", and then the
        # number in front is part of the name, not a sort number.
        found = self._exact(name_key(raw)) or self._exact(key)
        if found is not None:
            return UnitMatch(raw, found[0], "exact", 100.0) if len(found) == 1 else \
                UnitMatch(raw, None, "ambiguous", 100.0, tuple(sorted(found)))
        segment = self._by_segments(raw, meant)
        if segment is not None:
            return segment
        return self._fuzzy(raw, key)

    def _exact(self, key: str) -> list[str] | None:
        codes = self._keys.get(key)
        return sorted(codes) if codes else None

    def _by_segments(self, raw: str, meant: str) -> UnitMatch | None:
        # "อ.ปากท่อ จ.ราชบุรี", "ทีม พช. ยะลา": one part of the text names exactly one unit.
        parts = [p for p in re.split(r"[\s,/()_+]+", _LEVEL_WORD.sub(" ", meant)) if p]
        if len(parts) < 2:
            return None
        keys = [_key(part) for part in parts]
        hits: set[str] = set()
        for key in keys:
            hits |= self._keys.get(key, set())
        if len(hits) > 1:
            # "ต.ศรีษะเกษ อ.นาน้อย จ.น่าน": keep the units whose parents the other parts name.
            explained = {code: sum(k in self._ancestors[code] or code in self._keys.get(k, ()) for k in keys)
                         for code in hits}
            best = max(explained.values())
            hits = {code for code, count in explained.items() if count == best}
        if len(hits) == 1:
            return UnitMatch(raw, hits.pop(), "segment", 100.0)
        if len(hits) > 1:
            return UnitMatch(raw, None, "ambiguous", 100.0, tuple(sorted(hits)))
        return None

    def _fuzzy(self, raw: str, key: str) -> UnitMatch:
        scored = process.extract(key, self._choices, scorer=fuzz.ratio, limit=8)
        best_by_unit: dict[str, float] = {}
        for choice, score, _ in scored:
            for code in self._keys[choice]:
                best_by_unit[code] = max(best_by_unit.get(code, 0.0), score)
        ranked = sorted(best_by_unit.items(), key=lambda item: -item[1])
        if not ranked or ranked[0][1] < self.threshold:
            close = tuple(code for code, score in ranked[:3] if score >= self.threshold - 20)
            return UnitMatch(raw, None, "none", ranked[0][1] if ranked else 0.0, close)
        if len(ranked) > 1 and ranked[1][1] > ranked[0][1] - self.margin:
            return UnitMatch(raw, None, "ambiguous", ranked[0][1], tuple(c for c, _ in ranked[:2]))
        return UnitMatch(raw, ranked[0][0], "fuzzy", ranked[0][1])


def _ancestor_names(unit: Unit, names: Mapping[str, str]) -> list[str]:
    """Names of the unit's parent and grandparent, from the campaign's units or the DOPA registry."""
    found: list[str] = []
    code = unit.parent
    for _ in range(2):
        if not code:
            break
        name = names.get(code) or geothai_name(code)
        if not name:
            found.append(code)  # a parent given by name in a units CSV
            break
        found.append(name)
        code = code[:-2] if len(code) in (4, 6) else ""
    return found


def geothai_name(code: str) -> str:
    """Thai name of a province, district or sub-district code, or '' when the code is not DOPA's."""
    area = {2: geothai.province, 4: geothai.district, 6: geothai.subdistrict}.get(len(code))
    found = area(code) if area else None
    return found.name_th if found else ""
