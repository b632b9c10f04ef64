"""Every backend tidtam can use, declared once: its config name, its role, the settings it requires,
the Google scopes it needs, and how it is built.

The config schema takes the allowed `backend:` names and required keys from here, ingest.backends
builds the connectors from here, and `tidtam doctor` checks exactly the entries that have scopes.
Adding a source or a warehouse is one connector module and one entry in BACKENDS.

Each build function imports its connector when it runs: every command reads the config, which
reads this table, and must not pay for loading the Google client libraries it may never use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from connectors.base import Mailer, ResponsesSource, UploadsSource, Warehouse
from ingest.errors import ConfigError

if TYPE_CHECKING:
    from ingest.backends import Wiring

Role = Literal["responses", "uploads", "warehouse", "mailer"]
Settings = Mapping[str, Any]  # a backend's own keys, validated, paths resolved against the config's folder
Connector = ResponsesSource | UploadsSource | Warehouse | Mailer


@dataclass(frozen=True)
class Backend:
    name: str  # the config's `backend:` value
    role: Role
    build: Callable[[Settings, Wiring], Connector]
    required: tuple[str, ...] = ()  # keys its config section must give (the mail section checks its own)
    # The connectors.google_auth.SCOPES set it uses. `tidtam doctor` asks for an access token with it,
    # then runs the built connector's check() (connectors.base.Checkable); a mailer's token is asked
    # as the mailbox it sends as.
    scopes: str | None = None


def _forms_export(s: Settings, w: Wiring) -> ResponsesSource:
    from connectors.forms_export import FormsExportSource

    return FormsExportSource(s["path"], timestamp_order=s.get("timestamp_order"))


def _forms_api(s: Settings, w: Wiring) -> ResponsesSource:
    from connectors.google_forms import FormsApiSource

    return FormsApiSource(w.google(), str(s["form_id"]))


def _forms_sheet(s: Settings, w: Wiring) -> ResponsesSource:
    from connectors.google_forms import FormsSheetSource

    return FormsSheetSource(w.google(), str(s["spreadsheet_id"]), worksheet=s.get("worksheet"),
                            timestamp_order=s.get("timestamp_order"))


def _local_folder(s: Settings, w: Wiring) -> UploadsSource:
    from connectors.local_folder import LocalFolderSource

    return LocalFolderSource(s["path"])


def _drive(s: Settings, w: Wiring) -> UploadsSource:
    from connectors.google_drive import DriveSource

    return DriveSource(w.google(), str(s["folder_id"]))


def _xlsx(s: Settings, w: Wiring) -> Warehouse:
    from connectors.xlsx_warehouse import XlsxWarehouse

    return XlsxWarehouse(s["path"])


def _google_sheets(s: Settings, w: Wiring) -> Warehouse:
    from connectors.google_sheets import WRITES_PER_MINUTE, GoogleSheetsWarehouse

    return GoogleSheetsWarehouse(w.google(), str(s["spreadsheet_id"]), memo=w.memo,
                                 writes_per_minute=int(s.get("writes_per_minute") or WRITES_PER_MINUTE))


# A mailer's settings are its transport's (ingest.alerts.policy.MailTransport) plus `sender`.
def _outbox(s: Settings, w: Wiring) -> Mailer:
    from connectors.outbox import OutboxMailer

    return OutboxMailer(w.resolve(s["path"]))


def _smtp(s: Settings, w: Wiring) -> Mailer:
    from connectors.smtp import SmtpMailer

    password = ""
    if s["username"]:
        password = os.environ.get(s["password_env"], "")
        if not password:
            raise ConfigError([f"mail.smtp.password_env: the environment variable {s['password_env']} "
                               "is not set (it must hold the SMTP password)"])
    return SmtpMailer(s["host"], s["port"], security=s["security"], username=s["username"], password=password,
                      timeout=s["timeout"])


def _gmail(s: Settings, w: Wiring) -> Mailer:
    from connectors.gmail import gmail_mailer

    # The service account acts as the bare address (connectors.google_auth.delegated_subject); the
    # display name stays in the From header the message already carries.
    return gmail_mailer(s["sender"], w.campaign.google)


# The order is the order of the names in config error messages.
BACKENDS: Mapping[str, Backend] = {b.name: b for b in (
    Backend("forms_export", "responses", _forms_export, required=("path",)),
    Backend("forms_api", "responses", _forms_api, required=("form_id",), scopes="forms"),
    Backend("forms_sheet", "responses", _forms_sheet, required=("spreadsheet_id",), scopes="sheets_readonly"),
    Backend("local_folder", "uploads", _local_folder, required=("path",)),
    Backend("drive", "uploads", _drive, required=("folder_id",), scopes="drive"),
    Backend("xlsx", "warehouse", _xlsx, required=("path",)),
    Backend("google_sheets", "warehouse", _google_sheets, required=("spreadsheet_id",), scopes="sheets"),
    Backend("outbox", "mailer", _outbox),
    Backend("smtp", "mailer", _smtp),
    Backend("gmail", "mailer", _gmail, scopes="gmail"),
)}


def names(*roles: Role) -> tuple[str, ...]:
    """The backend names that play one of `roles`, in the order of BACKENDS."""
    return tuple(b.name for b in BACKENDS.values() if b.role in roles)


def backend(name: str, *roles: Role) -> Backend | None:
    """The entry called `name` that plays one of `roles`; None when this build has no such backend."""
    entry = BACKENDS.get(name)
    return entry if entry is not None and entry.role in roles else None
