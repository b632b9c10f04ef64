"""The reminder policy and mail transport from the config's `mail:` section, validated with key paths.

Keys (everything optional except `sender` once the section exists; no `mail:` section = no e-mail):

    mail:
      backend: outbox            # outbox (a folder of .eml files) | smtp | gmail
      outbox: outbox             # outbox backend: the folder, relative to the config file
      smtp:                      # smtp backend
        host: smtp.gmail.com
        port: 587                # default: 587 starttls, 465 ssl, 25 none
        security: starttls       # starttls | ssl | none (none only for a server on this machine)
        username: tidtam@example.go.th
        password_env: TIDTAM_SMTP_PASSWORD   # the password is read from this environment variable
        timeout: 30              # seconds per SMTP command
      sender: "ทีมติดตาม สถาบันการพัฒนาชุมชน <tidtam@example.go.th>"
      reply_to: cdi@example.go.th
      coordinators: [cdi@example.go.th]    # receive the daily digest (and Cc of reminders if asked)
      templates: mail-templates  # a folder of edited copies of ingest/alerts/templates/*.j2 (any subset)
      alerts:
        enabled: true            # false: plan and show, never send
        stages: [-3, -1, 1]      # days relative to each deliverable's deadline (-3 = 3 days before)
        repeat_every: 3          # then every 3 days while still owed ...
        repeat_max: 3            # ... at most 3 more times (0: no repeats)
        daily_budget: 100        # recipients per Bangkok day: 100 consumer Gmail, 1500 Workspace
        quiet_hours: "20:00-07:00"   # nothing is sent in this window (Asia/Bangkok); optional
        cc_coordinators: false   # Cc the coordinators on every reminder
        digest: true             # one summary per day to the coordinators
        digest_at: "08:00"       # not before this time of day
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from ingest.alerts.addresses import address_problem, mailbox
from ingest.thaidate import BANGKOK, thai_digits_to_arabic

MAIL_BACKENDS = ("outbox", "smtp", "gmail")
SMTP_SECURITY = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_STAGES = (-3, -1, 1)
_MAIL_KEYS = {"backend", "outbox", "smtp", "sender", "reply_to", "coordinators", "templates", "alerts"}
_ALERT_KEYS = {"enabled", "stages", "repeat_every", "repeat_max", "daily_budget", "quiet_hours", "cc_coordinators",
               "digest", "digest_at"}
_SMTP_KEYS = {"host", "port", "security", "username", "password_env", "timeout"}
_DAYS = re.compile(r"^[+-]?\d+$")
_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        """True when `moment` (any zone) falls in the window in Bangkok; windows may wrap midnight."""
        clock = moment.astimezone(BANGKOK).time()
        if self.start <= self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


@dataclass(frozen=True)
class MailTransport:
    backend: str = "outbox"
    settings: Mapping[str, Any] = field(default_factory=dict)  # outbox: {path}; smtp: the `smtp:` keys


@dataclass(frozen=True)
class Stage:
    """One reminder moment: `offset` whole days from the deadline's date (Asia/Bangkok)."""

    name: str  # before_3d, before_1d, due_day, after_1d, repeat_1, ... (analyst columns, logs)
    offset: int


@dataclass(frozen=True)
class AlertPolicy:
    enabled: bool = False
    sender: str = ""
    reply_to: str | None = None
    coordinators: tuple[str, ...] = ()
    cc_coordinators: bool = False
    stage_days: tuple[int, ...] = DEFAULT_STAGES
    repeat_every: int = 3
    repeat_max: int = 3
    daily_budget: int = 100
    quiet_hours: QuietHours | None = None
    digest: bool = True
    digest_at: time | None = None
    templates: str | None = None
    transport: MailTransport = field(default_factory=MailTransport)

    @property
    def stages(self) -> tuple[Stage, ...]:
        """Configured stages in time order, then the repeats after the last one."""
        named = [Stage(_stage_name(d), d) for d in sorted(self.stage_days)]
        last = named[-1].offset if named else 0
        named += [Stage(f"repeat_{i}", last + i * self.repeat_every) for i in range(1, self.repeat_max + 1)]
        return tuple(named)


def _stage_name(days: int) -> str:
    if days < 0:
        return f"before_{-days}d"
    return "due_day" if days == 0 else f"after_{days}d"


def alert_policy_from_config(section: Mapping | None, problems: list[str], *, path: str = "mail") -> AlertPolicy:
    """The policy for a `mail:` section; each problem is appended as "key.path: what is wrong"."""
    if section is None or section == {}:
        return AlertPolicy()
    if not isinstance(section, Mapping):
        problems.append(f"{path}: must be a mapping (see the keys in ingest/alerts/policy.py)")
        return AlertPolicy()
    _unknown(section, _MAIL_KEYS, path, problems)
    alerts = section.get("alerts") or {}
    if not isinstance(alerts, Mapping):
        problems.append(f"{path}.alerts: must be a mapping")
        alerts = {}
    _unknown(alerts, _ALERT_KEYS, f"{path}.alerts", problems)
    where = f"{path}.alerts"

    sender = str(section.get("sender") or "").strip()
    if not sender:
        problems.append(f"{path}.sender: is required, e.g. \"ทีมติดตาม <tidtam@example.go.th>\"")
    else:
        try:
            mailbox(sender)
        except ValueError as exc:
            problems.append(f"{path}.sender: {exc}")
    reply_to = section.get("reply_to")
    if reply_to is not None:
        try:
            mailbox(str(reply_to))
        except ValueError as exc:
            problems.append(f"{path}.reply_to: {exc}")
    coordinators = _addresses(section.get("coordinators"), f"{path}.coordinators", problems)

    stage_days = _stage_days(alerts.get("stages", list(DEFAULT_STAGES)), f"{where}.stages", problems)
    repeat_every = _whole(alerts.get("repeat_every", 3), f"{where}.repeat_every", problems, minimum=1, default=3)
    repeat_max = _whole(alerts.get("repeat_max", 3), f"{where}.repeat_max", problems, minimum=0, default=3)
    budget = _whole(alerts.get("daily_budget", 100), f"{where}.daily_budget", problems, minimum=1, default=100)
    quiet = _quiet_hours(alerts.get("quiet_hours"), f"{where}.quiet_hours", problems)
    digest_at = _clock(alerts.get("digest_at"), f"{where}.digest_at", problems) if alerts.get("digest_at") else None
    flags = {key: _flag(alerts.get(key, default), f"{where}.{key}", problems)
             for key, default in (("enabled", True), ("cc_coordinators", False), ("digest", True))}
    if flags["cc_coordinators"] and not coordinators:
        problems.append(f"{where}.cc_coordinators: is true but {path}.coordinators lists nobody")

    templates = section.get("templates")
    transport = _transport(section, path, problems)
    return AlertPolicy(
        enabled=flags["enabled"], sender=sender, reply_to=str(reply_to) if reply_to else None,
        coordinators=coordinators, cc_coordinators=flags["cc_coordinators"], stage_days=stage_days,
        repeat_every=repeat_every, repeat_max=repeat_max, daily_budget=budget, quiet_hours=quiet,
        digest=flags["digest"], digest_at=digest_at, templates=str(templates) if templates else None,
        transport=transport)


def _unknown(section: Mapping, known: set[str], path: str, problems: list[str]) -> None:
    for key in section:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            problems.append(f"{path}.{key}: is not a known key{hint} (known: {', '.join(sorted(known))})")


def _addresses(value: Any, path: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.append(f"{path}: must be a list of e-mail addresses")
        return ()
    good = []
    for i, item in enumerate(value):
        text = str(item).strip()
        problem = address_problem(text)
        if problem:
            problems.append(f"{path}[{i}]: {text!r} {problem}")
        else:
            good.append(text)
    return tuple(good)


def _stage_days(value: Any, path: str, problems: list[str]) -> tuple[int, ...]:
    if not isinstance(value, list):
        problems.append(f"{path}: must be a list of days relative to the deadline, e.g. [-3, -1, 1]")
        return DEFAULT_STAGES
    days = []
    for i, item in enumerate(value):
        text = thai_digits_to_arabic(str(item)).strip()
        if isinstance(item, bool) or not _DAYS.match(text):
            problems.append(f"{path}[{i}]: {str(item)!r} is not a number of days "
                            "(-3 means 3 days before the deadline, 1 means 1 day after)")
            continue
        if int(text) in days:
            problems.append(f"{path}[{i}]: {text} appears twice")
            continue
        days.append(int(text))
    return tuple(sorted(days))


def _whole(value: Any, path: str, problems: list[str], *, minimum: int, default: int) -> int:
    text = thai_digits_to_arabic(str(value)).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < minimum:
        problems.append(f"{path}: {str(value)!r} must be a whole number of at least {minimum}")
        return default
    return int(text)


def _flag(value: Any, path: str, problems: list[str]) -> bool:
    if not isinstance(value, bool):
        problems.append(f"{path}: {value!r} must be true or false")
        return False
    return value


def _clock(value: Any, path: str, problems: list[str]) -> time | None:
    # YAML 1.1 reads an unquoted 08:00 as the number 480 (sexagesimal): accept it as minutes.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    match = _CLOCK.match(thai_digits_to_arabic(str(value)).strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        problems.append(f"{path}: {str(value)!r} is not a time of day such as \"08:00\"")
        return None
    return time(int(match[1]), int(match[2]))


def clock_time(text: str) -> time | None:
    """'08:00' → 08:00 (e.g. `schedule.digest_at`, the digest's hour when `mail.alerts.digest_at` is unset)."""
    return _clock(text, "", [])


def _quiet_hours(value: Any, path: str, problems: list[str]) -> QuietHours | None:
    if value in (None, "", False):
        return None
    parts = str(value).split("-")
    if len(parts) != 2:
        problems.append(f"{path}: {str(value)!r} must be a window such as \"20:00-07:00\"")
        return None
    start, end = (_clock(p.strip(), path, problems) for p in parts)
    if start is None or end is None:
        return None
    if start == end:
        problems.append(f"{path}: {str(value)!r} starts and ends at the same time")
        return None
    return QuietHours(start, end)


def _transport(section: Mapping, path: str, problems: list[str]) -> MailTransport:
    backend = str(section.get("backend") or "outbox")
    if backend not in MAIL_BACKENDS:
        problems.append(f"{path}.backend: {backend!r} is not one of {', '.join(MAIL_BACKENDS)}")
        return MailTransport()
    if backend == "outbox":
        return MailTransport("outbox", {"path": str(section.get("outbox") or "outbox")})
    if backend == "gmail":
        return MailTransport("gmail", {})
    smtp = section.get("smtp")
    if not isinstance(smtp, Mapping) or not smtp.get("host"):
        problems.append(f"{path}.smtp.host: is required for backend smtp (e.g. smtp.gmail.com)")
        return MailTransport("smtp", {})
    _unknown(smtp, _SMTP_KEYS, f"{path}.smtp", problems)
    security = str(smtp.get("security") or "starttls")
    if security not in SMTP_SECURITY:
        problems.append(f"{path}.smtp.security: {security!r} is not one of {', '.join(SMTP_SECURITY)}")
        security = "starttls"
    port = _whole(smtp.get("port", SMTP_SECURITY[security]), f"{path}.smtp.port", problems, minimum=1,
                  default=SMTP_SECURITY[security])
    timeout = _whole(smtp.get("timeout", 30), f"{path}.smtp.timeout", problems, minimum=1, default=30)
    if smtp.get("username") and not smtp.get("password_env"):
        problems.append(f"{path}.smtp.password_env: names the environment variable holding the password "
                        "(passwords are never written in the config)")
    if security == "none" and str(smtp["host"]) not in ("localhost", "127.0.0.1", "::1"):
        problems.append(f"{path}.smtp.security: none sends the password and mail in clear text; "
                        "use starttls or ssl for a server that is not on this machine")
    settings = {"host": str(smtp["host"]), "port": port, "security": security, "timeout": timeout,
                "username": str(smtp.get("username") or ""), "password_env": str(smtp.get("password_env") or "")}
    return MailTransport("smtp", settings)
