"""The campaign model: units × deliverables × due dates, plus the backends that feed it.

Plain frozen dataclasses built by `ingest.config`; nothing here reads files or the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from connectors.google_settings import GoogleSettings
from ingest.alerts.policy import AlertPolicy

Kind = Literal["response", "document", "photo", "other"]
SourceKind = Literal["responses", "uploads"]


@dataclass(frozen=True)
class Unit:
    code: str
    name: str  # Thai name as coordinators write it
    name_en: str = ""
    parent: str = ""  # parent unit's code, or its name when codes are not known
    aliases: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    level: str = "unit"  # province / district / subdistrict / area
    group: str = ""  # a units CSV's `group` column: what the `summary` tab rolls the unit up into


@dataclass(frozen=True)
class RecordPart:
    """One part of the focus-group record: its heading number and how many questions it has."""

    number: int
    title: str
    questions: int


@dataclass(frozen=True)
class DocumentRules:
    """Rules an uploaded document must meet (Word only, no pictures, consent certified)."""

    require_docx: bool = True
    forbid_pictures: bool = True
    consent_pattern: str | None = None  # a regular expression searched in the document's text
    min_text_chars: int = 0
    max_file_bytes: int = 25 * 1024 * 1024
    allow_google_docs: bool = False  # a Google Doc exported to .docx is not an uploaded Word file
    record_parts: tuple[RecordPart, ...] = ()
    require_all_answers: bool = False  # a missing or unanswered question makes the record invalid


@dataclass(frozen=True)
class PhotoRules:
    min_width: int = 0
    min_height: int = 0
    max_file_bytes: int = 50 * 1024 * 1024
    distinct_by_content: bool = True


@dataclass(frozen=True)
class SourceSpec:
    """A configured backend; `settings` holds its own keys (path, form_id, folder_id, ...)."""

    name: str
    backend: str
    role: SourceKind
    settings: Mapping[str, Any] = field(default_factory=dict)
    # The share of rows (or files) a run may reject before it counts as degraded (ingest.health).
    max_rejected: float = 0.2


@dataclass(frozen=True)
class WarehouseSpec:
    """The configured warehouse; `settings` holds its backend's own keys (path, spreadsheet_id, ...)."""

    backend: str = "xlsx"
    settings: Mapping[str, Any] = field(default_factory=lambda: {"path": "tidtam-warehouse.xlsx"})


@dataclass(frozen=True)
class Deliverable:
    id: str
    title: str  # Thai, shown to coordinators and provinces
    source: str  # name of a SourceSpec
    kind: Kind
    expected: int
    due_at: datetime
    opens_at: datetime | None = None
    grace: timedelta = timedelta(0)
    unit_question: str | None = None  # responses: the question whose answer names the unit
    dedupe_key: tuple[str, ...] = ()  # responses: questions identifying one respondent
    file_pattern: str | None = None  # uploads: optional glob on the file name or folder path
    link: str | None = None  # the form or folder link sent in reminders
    unit_label: str = "ชุด"  # the counter word in Thai: ชุด, ฉบับ, ภาพ
    document_rules: DocumentRules = field(default_factory=DocumentRules)
    photo_rules: PhotoRules = field(default_factory=PhotoRules)
    personal: tuple[str, ...] = ()  # responses: questions whose answers name a person (config `personal: true`)


@dataclass(frozen=True)
class Override:
    unit: str
    deliverable: str | None  # None: every deliverable
    excused: bool = False
    due_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class Schedule:
    """When `tidtam serve` syncs: every `interval`, or by a crontab line, in Asia/Bangkok."""

    interval: timedelta | None = None
    cron: str | None = None
    full_every: timedelta = timedelta(hours=24)  # a full re-read catches what incremental reads miss
    misfire_grace: timedelta = timedelta(minutes=5)
    digest_at: str | None = None  # "08:00": the coordinators' daily digest

    @property
    def stale_after(self) -> timedelta | None:
        """A sync older than twice the interval means the job has stopped."""
        return self.interval * 2 if self.interval else None


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str
    units: tuple[Unit, ...]
    deliverables: tuple[Deliverable, ...]
    sources: Mapping[str, SourceSpec]
    overrides: tuple[Override, ...] = ()
    warehouse: WarehouseSpec = field(default_factory=WarehouseSpec)
    mail: AlertPolicy | None = None  # the `mail:` section, made once by ingest.config; None: no e-mail
    schedule: Schedule | None = None
    google: GoogleSettings = field(default_factory=GoogleSettings)  # credentials, subject, retry bounds
    state_path: str = "tidtam-state.sqlite"
    match_threshold: float = 85.0
    unit_aliases: Mapping[str, str] = field(default_factory=dict)  # extra alias → unit code
    base_dir: str = "."

    @cached_property
    def digest(self) -> str:
        """What of the campaign the tables and statuses depend on, as a digest (mail, schedule and the
        warehouse do not enter them): equal digests, equal rules (ingest.memo, ingest.collect)."""
        parts = (self.id, self.title, self.units, self.deliverables, sorted(self.sources.items()), self.overrides,
                 self.match_threshold, sorted(self.unit_aliases.items()), self.base_dir)
        return hashlib.sha1(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()

    def resolve(self, value: str) -> Path:
        """A path from the config, relative to the config's folder unless absolute."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else Path(self.base_dir) / path

    def deliverable(self, deliverable_id: str) -> Deliverable:
        for d in self.deliverables:
            if d.id == deliverable_id:
                return d
        raise KeyError(deliverable_id)

    def unit(self, code: str) -> Unit:
        for u in self.units:
            if u.code == code:
                return u
        raise KeyError(code)

    def override_for(self, unit_code: str, deliverable_id: str) -> Override | None:
        """The most specific override: one naming the deliverable beats one for the whole unit."""
        general = None
        for o in self.overrides:
            if o.unit != unit_code:
                continue
            if o.deliverable == deliverable_id:
                return o
            if o.deliverable is None:
                general = o
        return general

    def deadline_for(self, unit_code: str, deliverable: Deliverable) -> datetime:
        """When the unit's `deliverable` is due: the override's date if one moves it, plus the grace."""
        override = self.override_for(unit_code, deliverable.id)
        due = override.due_at if override and override.due_at else deliverable.due_at
        return due + deliverable.grace
