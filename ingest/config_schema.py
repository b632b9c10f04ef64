"""The shape of config.yaml: one pydantic model per section, every key declared, nothing else allowed.

The allowed `backend:` names are ingest.registry's: `Literal[names(...)]` is the same type as the
names written out (subscripting with a tuple is how Literal takes several values).

Each model is flat (its nested mappings are validated on their own), so an error's key path is
`where` plus pydantic's `loc`, and an unknown key's siblings are the model's own fields. A field's
`description` is the fix the message gives ("must be <description>").
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ingest.registry import names
from ingest.thaidate import DateParseError, parse_datetime

Kind = Literal["response", "document", "photo", "other"]


def _text(value: Any) -> Any:
    # YAML reads `unit: 96` and `id: 2565` as numbers; they are names here.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _moment(start_of_day: bool):
    def parse(value: Any) -> datetime:
        if isinstance(value, datetime):
            return parse_datetime(value.isoformat())
        text = value.isoformat() if isinstance(value, date) else _text(value)
        if not isinstance(text, str):
            raise ValueError(f"{value!r} is not a date (write 2565-11-15, 15/11/2565 or 15 พ.ย. 2565)")
        try:
            moment = parse_datetime(text)
        except DateParseError:
            raise ValueError(f"{text!r} is not a date (write 2565-11-15, 15/11/2565 or 15 พ.ย. 2565)") from None
        # "เปิดรับ 1 พ.ย." means from the start of that day, unlike a due date (the end of it).
        return moment.replace(hour=0, minute=0, second=0) if start_of_day and ":" not in text else moment
    return parse


def _duration(value: Any) -> timedelta:
    """Days as a number, or '12h' / '30m' / '2d'."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return timedelta(days=value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms])\s*", value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a duration (a number of days, or 12h, 30m, 45s)")
    amount, unit = float(match.group(1)), match.group(2)
    return timedelta(**{{"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[unit]: amount})


def _share(value: Any) -> float:
    """A share of rejected rows: 0.2, or "20%"."""
    share: Any = value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*%\s*", value):
        share = float(value.strip().rstrip("%")) / 100
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise ValueError(f'{value!r} must be a share from 0 to 1 (write 0.2 or "20%")')
    return float(share)


def _regex(value: str | None) -> str | None:
    if value:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a valid regular expression ({exc})") from None
    return value


def _crontab(value: str | None) -> str | None:
    if value is not None:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a crontab line ({exc})") from None
    return value


def _pattern(regex: str, fix: str):
    def check(value: str | None) -> str | None:
        if value is not None and not re.fullmatch(regex, value):
            raise ValueError(f"{value!r} {fix}")
        return value
    return check


Text = Annotated[str, BeforeValidator(_text)]
DueAt = Annotated[datetime, BeforeValidator(_moment(start_of_day=False))]
OpensAt = Annotated[datetime, BeforeValidator(_moment(start_of_day=True))]
Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Section(BaseModel):
    """A config mapping: unknown keys and wrong types are errors, nothing is coerced silently."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    label: ClassVar[str] = "config"  # "is not a <label> setting"
    fix: ClassVar[str] = "a mapping"  # what to write when the whole section has the wrong type


class CampaignSection(Section):
    label, fix = "campaign", "a mapping with id and title"
    id: Annotated[Text, Field(min_length=1, description="a short name such as cdd-lessons-2565")]
    title: Text | None = None


class UnitsSection(Section):
    label, fix = "units", "a mapping with `registry: province|district|subdistrict` or `file: units.csv`"
    registry: Text | None = Field(None, description="province, district or subdistrict")
    file: Text | None = Field(None, description="the path of a units CSV")
    within: list[Text] | None = Field(None, description='a list of parent unit codes, e.g. ["30"]')
    exclude: list[Text] | None = Field(None, description='a list of unit codes, e.g. ["10"]')
    contacts: Text | None = Field(None, description="the path of a CSV with columns code, emails")
    match_threshold: float = Field(85, ge=50, le=100, description="a number from 50 to 100")
    aliases: dict[Text, Text] = Field(default_factory=dict, description="a mapping of a name to a unit code")


class SourceSection(Section):
    label, fix = "source", "a mapping with a backend"
    backend: Literal[names("responses", "uploads")]  # type: ignore[valid-type]
    path: Text | None = Field(None, description="a file or folder path")
    form_id: Text | None = Field(None, description="the form's id (from its edit URL)")
    spreadsheet_id: Text | None = Field(None, description="the spreadsheet's id (from its URL)")
    worksheet: Text | None = Field(None, description="the name of the tab holding the responses")
    timestamp_order: Literal["dmy", "mdy"] | None = Field(None, description="dmy or mdy")
    folder_id: Text | None = Field(None, description="the Drive folder's id (from its URL)")
    max_rejected: Annotated[float, BeforeValidator(_share)] = Field(
        0.2, description="a share from 0 to 1 (write 0.2 or \"20%\")")


class PartSection(Section):
    label, fix = "record part", "a mapping with `questions: N` (and optionally number and title)"
    number: int | None = Field(None, ge=1, description="a whole number (the part's heading number)")
    title: Text = ""
    questions: int = Field(ge=1, description="the whole number of questions in this part")


class DocumentRulesSection(Section):
    label, fix = "document rules", "a mapping of rules (require_docx, forbid_pictures, ...)"
    require_docx: bool = Field(True, description="true or false")
    forbid_pictures: bool = Field(True, description="true or false")
    consent_pattern: Annotated[Text | None, AfterValidator(_regex)] = Field(
        None, description="a regular expression, e.g. ยินยอม")
    min_text_chars: int = Field(0, ge=0, description="a whole number of characters, e.g. 2000")
    max_file_mb: float = Field(25, gt=0, description="a number of megabytes, e.g. 25")
    allow_google_docs: bool = Field(False, description="true or false")
    parts: list[PartSection] | None = Field(None, description="a list of parts like [{questions: 10, title: ...}]")
    require_all_answers: bool = Field(False, description="true or false")


class PhotoRulesSection(Section):
    label, fix = "photo rules", "a mapping of rules (min_width, min_height, ...)"
    min_width: int = Field(0, ge=0, description="a whole number of pixels, e.g. 640")
    min_height: int = Field(0, ge=0, description="a whole number of pixels, e.g. 480")
    max_file_mb: float = Field(50, gt=0, description="a number of megabytes, e.g. 50")
    distinct_by_content: bool = Field(True, description="true or false")


class ColumnSection(Section):
    label, fix = "column", "a mapping like `{personal: true}`"
    personal: bool = Field(False, description="true or false (true: names a person; pseudonymised on export)")


class DeliverableSection(Section):
    label, fix = "deliverable", "a mapping with id, source, kind, expected and due"
    id: Annotated[Text, AfterValidator(_pattern(r"[a-z][a-z0-9_]*", "must be lower-case letters, digits and _ "
                                                                   "(e.g. photos)"))] = Field(
        description="an id of lower-case letters, digits and _ (e.g. photos)")
    title: Text | None = None
    source: Text = Field(description="the name of one of the sources")
    kind: Kind = Field(description="response, document, photo or other")
    expected: int = Field(1, ge=1, description="a whole number of at least 1")
    opens: OpensAt | None = None
    due: DueAt = Field(description="a date, e.g. 15 พ.ย. 2565")
    grace: Duration = timedelta(0)
    unit_question: Text | None = Field(None, description="the question whose answer names the unit")
    dedupe_key: Annotated[list[Text], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] | None = Field(
        None, description="a question, or a list of questions")
    file_pattern: Text | None = Field(None, description="a glob such as *.docx")
    link: Text | None = Field(None, description="the form or folder link sent in reminders")
    unit_label: Text | None = Field(None, description="the Thai counter word, e.g. ฉบับ")
    rules: dict[Text, Any] | None = Field(None, description="a mapping of rules")
    columns: dict[Text, ColumnSection] | None = Field(
        None, description="a mapping of a question to its settings, e.g. {ชื่อ-นามสกุล: {personal: true}}")


class OverrideSection(Section):
    label, fix = "override", "a mapping with unit and `excused: true` or a later `due`"
    unit: Text = Field(description="a unit code")
    deliverable: Text | None = Field(None, description="a deliverable id")
    excused: bool = Field(False, description="true or false")
    due: DueAt | None = None
    reason: Text = ""


class WarehouseSection(Section):
    label, fix = "warehouse", f"a mapping with a backend ({' or '.join(names('warehouse'))})"
    backend: Literal[names("warehouse")]  # type: ignore[valid-type]
    path: Text | None = Field(None, description="the workbook's path")
    spreadsheet_id: Text | None = Field(None, description="the spreadsheet's id (from its URL)")
    writes_per_minute: int | None = Field(None, ge=1, description="a whole number of at least 1 (Sheets allows 60)")


class StateSection(Section):
    label, fix = "state", "a mapping like `state: {path: tidtam-state.sqlite}`"
    path: Text = Field("tidtam-state.sqlite", description="the state file's path")


class GoogleSection(Section):
    """Settings shared by the Google backends; api_base_url is undocumented (tests point it at the emulator)."""

    label, fix = "google", "a mapping (credentials: path/to/service-account.json)"
    credentials: str | None = Field(None, min_length=1, description="the path of the service account's JSON key file")
    subject: Annotated[Text | None, AfterValidator(_pattern(
        r"[^@\s]+@[^@\s]+\.[^@\s]+", "must be the e-mail address the service account acts as"))] = None
    api_base_url: Annotated[Text | None, AfterValidator(_pattern(
        r"https?://[^/\s]+/?", "must be a URL like http://127.0.0.1:8080"))] = None
    max_attempts: int | None = Field(None, ge=1, le=20, description="a whole number from 1 to 20")
    max_retry_seconds: float | None = Field(None, ge=0.01, le=3600, description="a number from 0.01 to 3600")
    timeout_seconds: float | None = Field(None, ge=0.1, le=600, description="a number from 0.1 to 600")
    drive_requests_per_minute: int | None = Field(
        None, ge=1, description="a whole number of at least 1 (12000 for a project on Drive's older quota)")


class ScheduleSection(Section):
    label, fix = "schedule", "a mapping with `every: 15m` or `cron: \"*/15 7-20 * * *\"`"
    every: Duration | None = None
    cron: Annotated[Text | None, AfterValidator(_crontab)] = Field(None, description='a crontab line')
    full_every: Duration = timedelta(hours=24)
    misfire_grace: Duration = timedelta(minutes=5)
    digest_at: Annotated[Text | None, AfterValidator(_pattern(
        r"([01]?\d|2[0-3]):[0-5]\d", "must be a time like 08:00"))] = None


class TopLevel(Section):
    label, fix = "top-level", "a mapping with campaign, units, sources and deliverables"
    campaign: Any = Field(description="a mapping with id and title")
    units: Any = Field(description="a mapping with `registry:` or `file:`")
    sources: dict[Text, Any] = Field(min_length=1, description=(
        "a mapping naming each source (a form, an upload folder) with its backend"))
    deliverables: list[Any] = Field(min_length=1, description="a list of what each unit must send")
    overrides: list[Any] | None = Field(None, description="a list of overrides")
    warehouse: Any = None
    state: Any = None
    google: Any = None
    schedule: Any = None
    mail: Any = None  # validated by ingest.alerts.policy


S = TypeVar("S", bound=Section)


def parse(model: type[S], raw: Any, where: str, problems: list[str]) -> S | None:
    """`raw` as a `model`, or None after adding one "key.path: problem; fix" line per error."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(f"{_path(where, e['loc'])}: {_explain(model, e)}" for e in exc.errors())
        return None


def _path(where: str, loc: tuple[int | str, ...]) -> str:
    return where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc) if where else \
        ".".join(str(p) for p in loc)


def _model_at(model: type[Section], loc: tuple[int | str, ...]) -> type[Section]:
    """The model that holds the last key of `loc` (parts[2].questions is held by PartSection)."""
    for step in loc[:-1]:
        field = model.model_fields.get(step) if isinstance(step, str) else None
        if field is not None:
            nested = [a for a in _flat_args(field.annotation) if isinstance(a, type) and issubclass(a, Section)]
            model = nested[0] if nested else model
    return model


def _flat_args(annotation: Any) -> list[Any]:
    args = get_args(annotation)
    return [annotation] if not args else [x for a in args for x in _flat_args(a)]


def _explain(model: type[Section], error: dict[str, Any]) -> str:
    loc, kind, value = error["loc"], error["type"], error.get("input")
    if not loc or kind == "model_type":
        return f"{value!r} must be {model.fix}"
    holder = _model_at(model, loc)
    key = loc[-1]
    field = holder.model_fields.get(key) if isinstance(key, str) else None
    fix = field.description if field is not None else None
    if kind == "extra_forbidden":
        known = list(holder.model_fields)
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return f"is not a {holder.label} setting{hint} (known: {', '.join(known)})"
    if kind in ("value_error", "assertion_error"):
        return str(error["ctx"]["error"])
    if kind == "missing":
        return f"is required ({fix})" if fix else "is required"
    if kind == "literal_error":
        return f"{value!r} is not one of {error['ctx']['expected'].replace(' or ', ', ')}"
    if kind in ("too_short", "string_too_short") and not value:
        return f"is required ({fix})" if fix else "must not be empty"
    return f"{value!r} must be {fix}" if fix else f"{value!r}: {error['msg']}"
