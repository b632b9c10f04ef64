"""Read config.yaml into a validated Campaign; every problem is reported at once with its key path."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ingest.alert_policy import alert_policy_from_config
from ingest.campaign import (
    Campaign,
    Deliverable,
    DocumentRules,
    Override,
    PhotoRules,
    RecordPart,
    Schedule,
    SourceSpec,
    Unit,
)
from ingest.errors import ConfigError
from ingest.thaidate import DateParseError, parse_datetime
from ingest.units import load_units_csv, registry_units

# backend name → the role it plays and the settings it needs (wiring is in ingest.backends).
SOURCE_BACKENDS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "forms_export": ("responses", ("path",)),
    "forms_api": ("responses", ("form_id",)),
    "forms_sheet": ("responses", ("spreadsheet_id",)),
    "local_folder": ("uploads", ("path",)),
    "drive": ("uploads", ("folder_id",)),
}
WAREHOUSE_BACKENDS = {"xlsx": ("path",), "google_sheets": ("spreadsheet_id",)}
KINDS = ("response", "document", "photo", "other")
DEFAULT_PARTS = (
    RecordPart(1, "ปัจจัยที่ส่งผลต่อการดำเนินโครงการ", 10),
    RecordPart(2, "ความสำเร็จของการดำเนินโครงการ", 5),
    RecordPart(3, "การดำเนินงานในพื้นที่ ปัญหาอุปสรรคและข้อเสนอแนะ", 5),
)
_COUNTER_WORD = {"response": "ชุด", "document": "ฉบับ", "photo": "ภาพ", "other": "ไฟล์"}


class _Problems(list):
    def add(self, path: str, message: str) -> None:
        self.append(f"{path}: {message}")


def load_campaign(path: str | Path) -> Campaign:
    """The campaign described by a YAML file. Raises ConfigError listing every problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path} does not exist (give --config PATH, or run `tidtam demo` for an example)"],
                          source=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], source=str(path)) from None
    return campaign_from_mapping(raw, base_dir=path.resolve().parent, source=str(path))


def campaign_from_mapping(raw: Any, *, base_dir: Path, source: str = "config") -> Campaign:
    problems = _Problems()
    if not isinstance(raw, Mapping):
        raise ConfigError(["the file must be a mapping with campaign, units, sources and deliverables"], source)
    head = _section(raw, "campaign", problems)
    campaign_id = str(head.get("id") or "").strip()
    if not campaign_id:
        problems.add("campaign.id", "is required (a short name such as cdd-lessons-2565)")
    units_section = _section(raw, "units", problems)
    units = _units(units_section, base_dir, problems)
    sources = _sources(raw.get("sources"), base_dir, problems)
    deliverables = _deliverables(raw.get("deliverables"), sources, problems)
    codes = {u.code for u in units}
    overrides = _overrides(raw.get("overrides"), codes, {d.id for d in deliverables}, problems)
    warehouse = _warehouse(raw.get("warehouse"), base_dir, problems)
    state = raw.get("state") or {}
    state_path = str(_resolve(base_dir, state.get("path", "tidtam-state.sqlite"))) if isinstance(state, Mapping) else ""
    aliases = units_section.get("aliases") or {}
    if not isinstance(aliases, Mapping):
        problems.add("units.aliases", "must map a name to a unit code")
        aliases = {}
    for alias, code in aliases.items():
        if str(code) not in codes:
            problems.add(f"units.aliases.{alias}", f"unit code {code!r} is not one of the campaign's units")
    threshold = units_section.get("match_threshold", 85)
    if not isinstance(threshold, int | float) or not 50 <= threshold <= 100:
        problems.add("units.match_threshold", f"{threshold!r} must be a number from 50 to 100")
        threshold = 85
    schedule = _schedule(raw.get("schedule"), problems)
    google = _google(raw.get("google"), base_dir, problems)
    mail = raw.get("mail") or {}
    if not isinstance(mail, Mapping):
        problems.add("mail", "must be a mapping")
        mail = {}
    alert_policy_from_config(mail, problems)  # validated here so a bad mail: key fails every command early
    if problems:
        raise ConfigError(problems, source)
    return Campaign(
        id=campaign_id, title=str(head.get("title") or campaign_id), units=tuple(units),
        deliverables=tuple(deliverables), sources=sources, overrides=tuple(overrides), warehouse=warehouse,
        mail=dict(mail), schedule=schedule, google=google, state_path=state_path, match_threshold=float(threshold),
        unit_aliases={str(k): str(v) for k, v in aliases.items()}, base_dir=str(base_dir))


def _section(raw: Mapping, key: str, problems: _Problems) -> Mapping:
    value = raw.get(key)
    if not isinstance(value, Mapping):
        problems.add(key, "is required and must be a mapping")
        return {}
    return value


def _resolve(base_dir: Path, value: Any) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base_dir / path


def _units(section: Mapping, base_dir: Path, problems: _Problems) -> list[Unit]:
    units: list[Unit] = []
    if "file" in section:
        try:
            units = load_units_csv(_resolve(base_dir, section["file"]))
        except ConfigError as exc:
            problems.extend(f"units.file: {p}" for p in exc.problems)
    elif "registry" in section:
        within = [str(c) for c in section.get("within") or []]
        exclude = [str(c) for c in section.get("exclude") or []]
        try:
            units = registry_units(str(section["registry"]), within=within, exclude=exclude)
        except ConfigError as exc:
            problems.extend(exc.problems)
    elif section:
        problems.add("units", "needs either `registry: province|district|subdistrict` or `file: units.csv`")
    if "contacts" in section and units:
        units = _with_contacts(units, _resolve(base_dir, section["contacts"]), problems)
    if section and not units and not problems:
        problems.add("units", "selects no unit")
    return units


def _with_contacts(units: list[Unit], path: Path, problems: _Problems) -> list[Unit]:
    """Attach e-mail addresses from a CSV with columns code, emails (separated by ; or ,)."""
    from dataclasses import replace

    emails: dict[str, tuple[str, ...]] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                code = (row.get("code") or "").strip()
                if code not in {u.code for u in units}:
                    problems.add(f"units.contacts ({path}:{line})", f"unit code {code!r} is not a campaign unit")
                    continue
                emails[code] = tuple(e.strip() for e in re.split(r"[;,|]", row.get("emails") or "") if e.strip())
    except FileNotFoundError:
        problems.add("units.contacts", f"{path} does not exist")
        return units
    return [replace(u, emails=emails.get(u.code, u.emails)) for u in units]


def _sources(raw: Any, base_dir: Path, problems: _Problems) -> dict[str, SourceSpec]:
    if not isinstance(raw, Mapping) or not raw:
        problems.add("sources", "is required: name each source (a form, an upload folder) and give its backend")
        return {}
    sources = {}
    for name, spec in raw.items():
        where = f"sources.{name}"
        if not isinstance(spec, Mapping):
            problems.add(where, "must be a mapping with a backend")
            continue
        backend = spec.get("backend")
        if backend not in SOURCE_BACKENDS:
            problems.add(f"{where}.backend", f"{backend!r} is not one of {', '.join(SOURCE_BACKENDS)}")
            continue
        role, required = SOURCE_BACKENDS[backend]
        for key in required:
            if not spec.get(key):
                problems.add(f"{where}.{key}", f"is required for backend {backend}")
        settings = dict(spec)
        if "path" in settings:
            settings["path"] = str(_resolve(base_dir, settings["path"]))
        max_rejected = _share(settings.pop("max_rejected", None), f"{where}.max_rejected", problems)
        sources[str(name)] = SourceSpec(str(name), backend, role, settings, max_rejected)  # type: ignore[arg-type]
    return sources


def _share(value: Any, where: str, problems: _Problems, default: float = 0.2) -> float:
    """A share from 0 to 1, written 0.2 or "20%"."""
    if value is None:
        return default
    text = str(value).strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        share = -1.0
    if isinstance(value, bool) or not 0 <= share <= 1:
        problems.add(where, f"{value!r} is not a share from 0 to 1 (write 0.2 or \"20%\")")
        return default
    return share


def _when(value: Any, where: str, problems: _Problems) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return parse_datetime(value.isoformat())
    try:
        return parse_datetime(str(value))
    except DateParseError:
        problems.add(where, f"{str(value)!r} is not a date (write 2565-11-15, 15/11/2565 or 15 พ.ย. 2565)")
        return None


def _duration(value: Any, where: str, problems: _Problems) -> timedelta:
    """Days as a number, or '12h' / '30m' / '2d'."""
    if value in (None, 0, "0"):
        return timedelta(0)
    if isinstance(value, int | float):
        return timedelta(days=value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms])\s*", str(value))
    if not match:
        problems.add(where, f"{value!r} is not a duration (a number of days, or 12h, 30m, 45s)")
        return timedelta(0)
    amount, unit = float(match.group(1)), match.group(2)
    return timedelta(**{{"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[unit]: amount})


def _deliverables(raw: Any, sources: Mapping[str, SourceSpec], problems: _Problems) -> list[Deliverable]:
    if not isinstance(raw, list) or not raw:
        problems.add("deliverables", "is required: a list of what each unit must send")
        return []
    found: list[Deliverable] = []
    ids: set[str] = set()
    for index, spec in enumerate(raw):
        where = f"deliverables[{index}]"
        if not isinstance(spec, Mapping):
            problems.add(where, "must be a mapping")
            continue
        ident = str(spec.get("id") or "")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", ident):
            problems.add(f"{where}.id", f"{ident!r} must be lower-case letters, digits and _ (e.g. photos)")
        elif ident in ids:
            problems.add(f"{where}.id", f"{ident!r} is used twice")
        ids.add(ident)
        kind = spec.get("kind")
        if kind not in KINDS:
            problems.add(f"{where}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
            kind = "other"
        source = str(spec.get("source") or "")
        if source not in sources:
            problems.add(f"{where}.source", f"{source!r} is not a name under sources ({', '.join(sources) or 'none'})")
        else:
            role = sources[source].role
            if (kind == "response") != (role == "responses"):
                problems.add(f"{where}.source", f"a {kind} deliverable cannot come from {role} source {source!r}")
        expected = spec.get("expected", 1)
        if not isinstance(expected, int) or isinstance(expected, bool) or expected < 1:
            problems.add(f"{where}.expected", f"{expected!r} must be a whole number of at least 1")
            expected = 1
        due = _when(spec.get("due"), f"{where}.due", problems)
        if spec.get("due") is None:
            problems.add(f"{where}.due", "is required (e.g. 15 พ.ย. 2565)")
        opens = _when(spec.get("opens"), f"{where}.opens", problems)
        if opens is not None:
            # "เปิดรับ 1 พ.ย." means from the start of that day, unlike a due date.
            opens = opens.replace(hour=0, minute=0, second=0) if spec.get("opens") and ":" not in str(spec["opens"]) else opens
        rules = spec.get("rules") or {}
        if not isinstance(rules, Mapping):
            problems.add(f"{where}.rules", "must be a mapping")
            rules = {}
        dedupe = spec.get("dedupe_key") or ()
        if isinstance(dedupe, str):
            dedupe = (dedupe,)
        if kind == "response" and not spec.get("unit_question"):
            problems.add(f"{where}.unit_question", "is required: the question whose answer names the unit")
        if due is None:
            continue
        found.append(Deliverable(
            id=ident, title=str(spec.get("title") or ident), source=source, kind=kind, expected=expected,
            due_at=due, opens_at=opens, grace=_duration(spec.get("grace"), f"{where}.grace", problems),
            unit_question=spec.get("unit_question"), dedupe_key=tuple(str(k) for k in dedupe),
            file_pattern=spec.get("file_pattern"), link=spec.get("link"),
            unit_label=str(spec.get("unit_label") or _COUNTER_WORD[kind]),
            document_rules=_document_rules(rules, f"{where}.rules", problems) if kind == "document" else DocumentRules(),
            photo_rules=_photo_rules(rules, f"{where}.rules", problems) if kind == "photo" else PhotoRules()))
    return found


def _document_rules(rules: Mapping, where: str, problems: _Problems) -> DocumentRules:
    pattern = rules.get("consent_pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.add(f"{where}.consent_pattern", f"is not a valid regular expression ({exc})")
            pattern = None
    parts = DEFAULT_PARTS
    if "parts" in rules:
        parts = []
        for i, part in enumerate(rules.get("parts") or []):
            if not isinstance(part, Mapping) or not isinstance(part.get("questions"), int):
                problems.add(f"{where}.parts[{i}]", "needs `questions: N` (and optionally a title)")
                continue
            parts.append(RecordPart(int(part.get("number", i + 1)), str(part.get("title", "")), part["questions"]))
        parts = tuple(parts)
    return DocumentRules(
        require_docx=bool(rules.get("require_docx", True)), forbid_pictures=bool(rules.get("forbid_pictures", True)),
        consent_pattern=pattern, min_text_chars=int(rules.get("min_text_chars", 0)),
        max_file_bytes=int(rules.get("max_file_mb", 25) * 1024 * 1024),
        allow_google_docs=bool(rules.get("allow_google_docs", False)), record_parts=parts,
        require_all_answers=bool(rules.get("require_all_answers", False)))


def _photo_rules(rules: Mapping, where: str, problems: _Problems) -> PhotoRules:
    for key in ("min_width", "min_height"):
        if key in rules and not isinstance(rules[key], int):
            problems.add(f"{where}.{key}", f"{rules[key]!r} must be a whole number of pixels")
    return PhotoRules(min_width=int(rules.get("min_width", 0) or 0), min_height=int(rules.get("min_height", 0) or 0),
                      max_file_bytes=int(rules.get("max_file_mb", 50) * 1024 * 1024),
                      distinct_by_content=bool(rules.get("distinct_by_content", True)))


def _overrides(raw: Any, codes: set[str], deliverable_ids: set[str], problems: _Problems) -> list[Override]:
    found = []
    for index, spec in enumerate(raw or []):
        where = f"overrides[{index}]"
        if not isinstance(spec, Mapping):
            problems.add(where, "must be a mapping with unit and excused or due")
            continue
        unit = str(spec.get("unit", ""))
        if unit not in codes:
            problems.add(f"{where}.unit", f"{unit!r} is not one of the campaign's unit codes")
        deliverable = spec.get("deliverable")
        if deliverable is not None and deliverable not in deliverable_ids:
            problems.add(f"{where}.deliverable", f"{deliverable!r} is not a deliverable id")
        due = _when(spec.get("due"), f"{where}.due", problems)
        excused = bool(spec.get("excused", False))
        if not excused and due is None:
            problems.add(where, "needs `excused: true` or a later `due`")
        found.append(Override(unit, deliverable, excused, due, str(spec.get("reason", ""))))
    return found


def _schedule(raw: Any, problems: _Problems) -> Schedule | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or ("every" in raw) == ("cron" in raw):
        problems.add("schedule", "needs exactly one of `every: 15m` or `cron: \"*/15 7-20 * * *\"`")
        return None
    interval = _duration(raw["every"], "schedule.every", problems) if "every" in raw else None
    if interval is not None and interval < timedelta(seconds=1):
        problems.add("schedule.every", "must be at least 1s")
    cron = raw.get("cron")
    if cron is not None:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(str(cron))
        except ValueError as exc:
            problems.add("schedule.cron", f"{cron!r} is not a crontab line ({exc})")
    digest_at = raw.get("digest_at")
    if digest_at is not None and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", str(digest_at)):
        problems.add("schedule.digest_at", f"{digest_at!r} must be a time like 08:00")
    return Schedule(interval=interval, cron=str(cron) if cron else None,
                    full_every=_duration(raw.get("full_every", "24h"), "schedule.full_every", problems),
                    misfire_grace=_duration(raw.get("misfire_grace", "5m"), "schedule.misfire_grace", problems),
                    digest_at=str(digest_at) if digest_at else None)


# google: keys → (kind, lowest, highest); api_base_url is undocumented (tests point it at the emulator).
GOOGLE_NUMBERS = {"max_attempts": (int, 1, 20), "max_retry_seconds": (float, 0.01, 3600),
                  "timeout_seconds": (float, 0.1, 600)}
GOOGLE_KEYS = ("credentials", "subject", "api_base_url", *GOOGLE_NUMBERS)


def _google(raw: Any, base_dir: Path, problems: _Problems) -> dict[str, Any]:
    """Settings shared by the Google backends; the key file itself is read when a backend is built."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add("google", "must be a mapping (credentials: path/to/service-account.json)")
        return {}
    settings: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"google.{key}"
        if key not in GOOGLE_KEYS:
            problems.add(where, f"is not a google setting (known: {', '.join(GOOGLE_KEYS[:2])}, "
                                f"{', '.join(GOOGLE_NUMBERS)})")
        elif key == "credentials":
            if not isinstance(value, str) or not value.strip():
                problems.add(where, "must be the path of the service account's JSON key file")
            else:
                settings[key] = str(_resolve(base_dir, value))
        elif key == "subject":
            if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                problems.add(where, f"{value!r} must be the e-mail address the service account acts as")
            else:
                settings[key] = value
        elif key == "api_base_url":
            if not isinstance(value, str) or not re.fullmatch(r"https?://[^/\s]+/?", value):
                problems.add(where, f"{value!r} must be a URL like http://127.0.0.1:8080")
            else:
                settings[key] = value.rstrip("/")
        else:
            kind, lowest, highest = GOOGLE_NUMBERS[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
                problems.add(where, f"{value!r} must be a {'whole ' if kind is int else ''}number")
            elif not lowest <= value <= highest:
                problems.add(where, f"{value!r} must be from {lowest} to {highest}")
            else:
                settings[key] = kind(value)
    return settings


def _warehouse(raw: Any, base_dir: Path, problems: _Problems) -> dict[str, Any]:
    if raw is None:
        return {"backend": "xlsx", "path": str(base_dir / "tidtam-warehouse.xlsx")}
    if not isinstance(raw, Mapping) or raw.get("backend") not in WAREHOUSE_BACKENDS:
        problems.add("warehouse.backend", f"must be one of {', '.join(WAREHOUSE_BACKENDS)}")
        return {}
    for key in WAREHOUSE_BACKENDS[raw["backend"]]:
        if not raw.get(key):
            problems.add(f"warehouse.{key}", f"is required for backend {raw['backend']}")
    settings = dict(raw)
    if "path" in settings:
        settings["path"] = str(_resolve(base_dir, settings["path"]))
    pace = settings.get("writes_per_minute")
    if pace is not None and (isinstance(pace, bool) or not isinstance(pace, int) or pace < 1):
        problems.add("warehouse.writes_per_minute", f"{pace!r} is not a positive whole number (Sheets allows 60)")
    return settings
