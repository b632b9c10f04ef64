"""Read config.yaml into a validated Campaign; every problem is reported at once with its key path.

`ingest.config_schema` checks each section's keys and types; this module checks what a schema cannot
(references between sections, the unit registry, files beside the config) and builds the Campaign.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from connectors.google_settings import GoogleSettings
from ingest.alerts.policy import AlertPolicy, alert_policy_from_config, clock_time
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
    WarehouseSpec,
)
from ingest.config_schema import (
    CampaignSection,
    DeliverableSection,
    DocumentRulesSection,
    GoogleSection,
    OverrideSection,
    PhotoRulesSection,
    ScheduleSection,
    SourceSection,
    StateSection,
    TopLevel,
    UnitsSection,
    WarehouseSection,
    parse,
)
from ingest.errors import ConfigError
from ingest.registry import BACKENDS
from ingest.units import load_units_csv, registry_units

DEFAULT_PARTS = (
    RecordPart(1, "ปัจจัยที่ส่งผลต่อการดำเนินโครงการ", 10),
    RecordPart(2, "ความสำเร็จของการดำเนินโครงการ", 5),
    RecordPart(3, "การดำเนินงานในพื้นที่ ปัญหาอุปสรรคและข้อเสนอแนะ", 5),
)
_COUNTER_WORD = {"response": "ชุด", "document": "ฉบับ", "photo": "ภาพ", "other": "ไฟล์"}
_MB = 1024 * 1024


def load_campaign(path: str | Path) -> Campaign:
    """The campaign described by a YAML file. Raises ConfigError listing every problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path} does not exist (give --config PATH, or run `tidtam demo` for an example)"],
                          source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot be read as UTF-8 text ({exc})"], source=str(path)) from None
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for an impossible date like 2565-13-01
        raise ConfigError([f"not valid YAML: {exc}"], source=str(path)) from None
    return campaign_from_mapping(raw, base_dir=path.resolve().parent, source=str(path))


def campaign_from_mapping(raw: Any, *, base_dir: Path, source: str = "config") -> Campaign:
    problems: list[str] = []
    top = parse(TopLevel, raw, "", problems)
    if top is None:
        raise ConfigError(problems, source)
    head = parse(CampaignSection, top.campaign, "campaign", problems)
    units_section = parse(UnitsSection, top.units, "units", problems)
    units = _units(units_section, base_dir, problems) if units_section else []
    codes = {u.code for u in units}
    sources = _sources(top.sources, base_dir, problems)
    deliverables = _deliverables(top.deliverables, sources, set(top.sources), problems)
    # Ids as written, so a deliverable with its own problem does not also make its overrides wrong.
    written_ids = {str(d.get("id")) for d in top.deliverables if isinstance(d, Mapping)}
    overrides = _overrides(top.overrides or [], codes if units_section else None, written_ids, problems)
    warehouse = _warehouse(top.warehouse, base_dir, problems)
    state = parse(StateSection, top.state or {}, "state", problems)
    aliases = units_section.aliases if units_section else {}
    for alias, code in aliases.items():
        if units and code not in codes:
            problems.append(f"units.aliases.{alias}: unit code {code!r} is not one of the campaign's units")
    schedule = _schedule(top.schedule, problems)
    google = _google(top.google, base_dir, problems)
    mail = _mail(top.mail, schedule, problems)
    if problems or head is None or units_section is None or state is None:
        raise ConfigError(problems, source)
    return Campaign(
        id=head.id, title=head.title or head.id, units=tuple(units), deliverables=tuple(deliverables),
        sources=sources, overrides=tuple(overrides), warehouse=warehouse, mail=mail, schedule=schedule,
        google=google, state_path=str(_resolve(base_dir, state.path)), match_threshold=units_section.match_threshold,
        unit_aliases=dict(aliases), base_dir=str(base_dir))


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def _units(section: UnitsSection, base_dir: Path, problems: list[str]) -> list[Unit]:
    units: list[Unit] = []
    before = len(problems)
    if section.file is not None:
        try:
            units = load_units_csv(_resolve(base_dir, section.file))
        except ConfigError as exc:
            problems.extend(f"units.file: {p}" for p in exc.problems)
    elif section.registry is not None:
        try:
            units = registry_units(section.registry, within=section.within or [], exclude=section.exclude or [])
        except ConfigError as exc:
            problems.extend(exc.problems)
    else:
        problems.append("units: needs either `registry: province|district|subdistrict` or `file: units.csv`")
    if section.contacts is not None and units:
        units = _with_contacts(units, _resolve(base_dir, section.contacts), problems)
    if not units and len(problems) == before:
        problems.append("units: selects no unit")
    return units


def _with_contacts(units: list[Unit], path: Path, problems: list[str]) -> list[Unit]:
    """Attach e-mail addresses from a CSV with columns code, emails (separated by ; or ,)."""
    emails: dict[str, tuple[str, ...]] = {}
    codes = {u.code for u in units}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                code = (row.get("code") or "").strip()
                if code not in codes:
                    problems.append(f"units.contacts ({path}:{line}): unit code {code!r} is not a campaign unit")
                    continue
                emails[code] = tuple(e.strip() for e in re.split(r"[;,|]", row.get("emails") or "") if e.strip())
    except FileNotFoundError:
        problems.append(f"units.contacts: {path} does not exist")
        return units
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"units.contacts: {path} is not a readable UTF-8 CSV ({exc})")
        return units
    return [replace(u, emails=emails.get(u.code, u.emails)) for u in units]


def _sources(raw: Mapping[str, Any], base_dir: Path, problems: list[str]) -> dict[str, SourceSpec]:
    sources = {}
    for name, spec in raw.items():
        where = f"sources.{name}"
        section = parse(SourceSection, spec, where, problems)
        if section is None:
            continue
        entry = BACKENDS[section.backend]  # the schema accepts only the registry's source names
        for key in entry.required:
            if not getattr(section, key):
                problems.append(f"{where}.{key}: is required for backend {section.backend}")
        settings = section.model_dump(exclude_none=True, exclude={"max_rejected"})
        if section.path:
            settings["path"] = str(_resolve(base_dir, section.path))
        sources[name] = SourceSpec(name, section.backend, entry.role, settings,  # type: ignore[arg-type]
                                   max_rejected=section.max_rejected)
    return sources


def _deliverables(raw: list[Any], sources: Mapping[str, SourceSpec], names: set[str],
                  problems: list[str]) -> list[Deliverable]:
    """`names`: every source named in the config, valid or not (a broken one has its own problem)."""
    found: list[Deliverable] = []
    ids: set[str] = set()
    for index, spec in enumerate(raw):
        where = f"deliverables[{index}]"
        section = parse(DeliverableSection, spec, where, problems)
        if section is None:
            continue
        if section.id in ids:
            problems.append(f"{where}.id: {section.id!r} is used twice")
        ids.add(section.id)
        if section.source not in sources and section.source not in names:
            problems.append(f"{where}.source: {section.source!r} is not a name under sources "
                            f"({', '.join(names) or 'none'})")
        elif section.source in sources and (section.kind == "response") != (sources[section.source].role == "responses"):
            problems.append(f"{where}.source: a {section.kind} deliverable cannot come from "
                            f"{sources[section.source].role} source {section.source!r}")
        if section.kind == "response" and not section.unit_question:
            problems.append(f"{where}.unit_question: is required: the question whose answer names the unit")
        found.append(Deliverable(
            id=section.id, title=section.title or section.id, source=section.source, kind=section.kind,
            expected=section.expected, due_at=section.due, opens_at=section.opens, grace=section.grace,
            unit_question=section.unit_question, dedupe_key=tuple(section.dedupe_key or ()),
            file_pattern=section.file_pattern, link=section.link,
            unit_label=section.unit_label or _COUNTER_WORD[section.kind],
            personal=tuple(q for q, c in (section.columns or {}).items() if c.personal),
            **_rules(section, f"{where}.rules", problems)))
    return found


def _rules(section: DeliverableSection, where: str, problems: list[str]) -> dict[str, Any]:
    """document_rules / photo_rules for the deliverable's kind; other kinds take no rules."""
    rules = section.rules or {}
    if section.kind == "document":
        doc = parse(DocumentRulesSection, rules, where, problems) or DocumentRulesSection()
        parts = DEFAULT_PARTS if doc.parts is None else tuple(
            RecordPart(p.number or i + 1, p.title, p.questions) for i, p in enumerate(doc.parts))
        return {"document_rules": DocumentRules(
            require_docx=doc.require_docx, forbid_pictures=doc.forbid_pictures, consent_pattern=doc.consent_pattern,
            min_text_chars=doc.min_text_chars, max_file_bytes=int(doc.max_file_mb * _MB),
            allow_google_docs=doc.allow_google_docs, record_parts=parts, require_all_answers=doc.require_all_answers)}
    if section.kind == "photo":
        photo = parse(PhotoRulesSection, rules, where, problems) or PhotoRulesSection()
        return {"photo_rules": PhotoRules(min_width=photo.min_width, min_height=photo.min_height,
                                          max_file_bytes=int(photo.max_file_mb * _MB),
                                          distinct_by_content=photo.distinct_by_content)}
    if rules:
        problems.append(f"{where}: rules apply only to document and photo deliverables; remove them")
    return {}


def _overrides(raw: list[Any], codes: set[str] | None, deliverable_ids: set[str], problems: list[str]) -> list[Override]:
    found = []
    for index, spec in enumerate(raw):
        where = f"overrides[{index}]"
        section = parse(OverrideSection, spec, where, problems)
        if section is None:
            continue
        if codes is not None and section.unit not in codes:
            problems.append(f"{where}.unit: {section.unit!r} is not one of the campaign's unit codes")
        if section.deliverable is not None and section.deliverable not in deliverable_ids:
            problems.append(f"{where}.deliverable: {section.deliverable!r} is not a deliverable id")
        if not section.excused and section.due is None:
            problems.append(f"{where}: needs `excused: true` or a later `due`")
        found.append(Override(section.unit, section.deliverable, section.excused, section.due, section.reason))
    return found


def _schedule(raw: Any, problems: list[str]) -> Schedule | None:
    if raw is None:
        return None
    section = parse(ScheduleSection, raw, "schedule", problems)
    if section is None:
        return None
    if (section.every is None) == (section.cron is None):
        problems.append("schedule: needs exactly one of `every: 15m` or `cron: \"*/15 7-20 * * *\"`")
    if section.every is not None and section.every < timedelta(seconds=1):
        problems.append("schedule.every: must be at least 1s")
    return Schedule(interval=section.every, cron=section.cron, full_every=section.full_every,
                    misfire_grace=section.misfire_grace, digest_at=section.digest_at)


def _mail(raw: Any, schedule: Schedule | None, problems: list[str]) -> AlertPolicy | None:
    """The alert policy, made here once so a bad `mail:` key fails every command early; None without
    a `mail:` section (no e-mail). The digest's hour falls back to `schedule.digest_at`."""
    if not raw:
        return None
    policy = alert_policy_from_config(raw, problems)
    if policy.digest_at is None and schedule is not None and schedule.digest_at:
        policy = replace(policy, digest_at=clock_time(schedule.digest_at))
    return policy


def _google(raw: Any, base_dir: Path, problems: list[str]) -> GoogleSettings:
    """Settings shared by the Google backends; the key file itself is read when a backend is built."""
    section = parse(GoogleSection, raw or {}, "google", problems)
    if section is None:
        return GoogleSettings()
    return GoogleSettings(
        credentials=str(_resolve(base_dir, section.credentials)) if section.credentials else None,
        subject=section.subject, api_base_url=section.api_base_url.rstrip("/") if section.api_base_url else None,
        max_attempts=section.max_attempts, max_retry_seconds=section.max_retry_seconds,
        timeout_seconds=section.timeout_seconds, drive_requests_per_minute=section.drive_requests_per_minute)


def _warehouse(raw: Any, base_dir: Path, problems: list[str]) -> WarehouseSpec:
    if raw is None:
        return WarehouseSpec("xlsx", {"path": str(base_dir / "tidtam-warehouse.xlsx")})
    section = parse(WarehouseSection, raw, "warehouse", problems)
    if section is None:
        return WarehouseSpec()  # not used: the problem stops the load
    for key in BACKENDS[section.backend].required:  # the schema accepts only warehouse names
        if not getattr(section, key):
            problems.append(f"warehouse.{key}: is required for backend {section.backend}")
    settings = section.model_dump(exclude_none=True, exclude={"backend"})
    if section.path:
        settings["path"] = str(_resolve(base_dir, section.path))
    return WarehouseSpec(section.backend, settings)
