"""Wiring: one explicit mapping from the config's `backend:` names to connector constructors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Mailer, ResponsesSource, UploadsSource, Warehouse
from connectors.forms_export import FormsExportSource
from connectors.google_api import GoogleApi, open_google_api
from connectors.google_drive import DriveSource
from connectors.google_forms import FormsApiSource, FormsSheetSource
from connectors.google_sheets import WRITES_PER_MINUTE, GoogleSheetsWarehouse
from connectors.local_folder import LocalFolderSource
from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.alerts.send import build_mailer
from ingest.campaign import Campaign
from ingest.errors import ConfigError, FatalSourceError
from ingest.state import StateStore


class StateMemo:
    """The state database's key-value table, opened only for each use (the pipeline holds its own)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def value(self, key: str) -> str | None:
        state = StateStore(self.path)
        try:
            return state.value(key)
        finally:
            state.close()

    def set_values(self, values: dict[str, str]) -> None:
        state = StateStore(self.path)
        try:
            state.set_values(values)
        finally:
            state.close()


class Wiring:
    """What constructors may need besides their settings: the campaign's one GoogleApi, a memo."""

    def __init__(self, campaign: Campaign, google_api: GoogleApi | None = None) -> None:
        self.campaign = campaign
        self._google_api = google_api
        self.memo = StateMemo(campaign.state_path)

    def google(self) -> GoogleApi:
        # Opened on first use: an offline campaign never needs a key. One GoogleApi per campaign, so
        # credentials are shared and every call lands in one counter.
        if self._google_api is None:
            self._google_api = open_google_api(self.campaign.google)
        return self._google_api

    @property
    def opened(self) -> GoogleApi | None:
        return self._google_api


Make = Callable[[Mapping[str, Any], Wiring], Any]

RESPONSES_BACKENDS: Mapping[str, Make] = {
    "forms_export": lambda s, w: FormsExportSource(s["path"], timestamp_order=s.get("timestamp_order")),
    "forms_api": lambda s, w: FormsApiSource(w.google(), str(s["form_id"])),
    "forms_sheet": lambda s, w: FormsSheetSource(w.google(), str(s["spreadsheet_id"]), worksheet=s.get("worksheet"),
                                                 timestamp_order=s.get("timestamp_order")),
}
UPLOADS_BACKENDS: Mapping[str, Make] = {
    "local_folder": lambda s, w: LocalFolderSource(s["path"]),
    "drive": lambda s, w: DriveSource(w.google(), str(s["folder_id"])),
}
WAREHOUSES: Mapping[str, Make] = {
    "xlsx": lambda s, w: XlsxWarehouse(s["path"]),
    "google_sheets": lambda s, w: GoogleSheetsWarehouse(
        w.google(), str(s["spreadsheet_id"]), memo=w.memo,
        writes_per_minute=int(s.get("writes_per_minute") or WRITES_PER_MINUTE)),
}


@dataclass
class Backends:
    responses: dict[str, ResponsesSource]
    uploads: dict[str, UploadsSource]
    warehouse: Warehouse
    google: GoogleApi | None = field(default=None, repr=False)
    mailer: Mailer | None = None  # None: the campaign has no `mail:` section, or e-mail is off for this run

    def api_calls(self) -> Counter[str]:
        """Google API calls so far, per method id (a copy: subtract two to get one run's calls)."""
        counts = Counter(self.google.counts) if self.google else Counter()
        mail_api = getattr(self.mailer, "api", None)  # the Gmail mailer acts as its own mailbox
        if mail_api is not None:
            counts.update(mail_api.counts)
        return counts

    def close(self) -> None:
        close = getattr(self.mailer, "close", None)
        if close:
            close()


def build_backends(campaign: Campaign, *, google_api: GoogleApi | None = None, email: bool = True) -> Backends:
    """Every connector the config names. With `email=False` (or no `mail:` section) there is no mailer:
    the run still plans alerts, so the `alerts` tab and the log say what would have gone out."""
    problems = []
    wiring = Wiring(campaign, google_api)
    responses: dict[str, ResponsesSource] = {}
    uploads: dict[str, UploadsSource] = {}
    try:
        for name, spec in campaign.sources.items():
            table = RESPONSES_BACKENDS if spec.role == "responses" else UPLOADS_BACKENDS
            make = table.get(spec.backend)
            if make is None:
                problems.append(f"sources.{name}.backend: {spec.backend!r} is not available in this build of tidtam "
                                f"(available: {', '.join(table)})")
                continue
            (responses if spec.role == "responses" else uploads)[name] = make(spec.settings, wiring)
        make_warehouse = WAREHOUSES.get(campaign.warehouse.get("backend", ""))
        if make_warehouse is None:
            problems.append(f"warehouse.backend: {campaign.warehouse.get('backend')!r} is not available in this build "
                            f"(available: {', '.join(WAREHOUSES)})")
        warehouse = make_warehouse(campaign.warehouse, wiring) if make_warehouse else None
    except FatalSourceError as exc:  # the service-account key is missing or unusable
        problems.append(f"google.credentials: {exc}")
    if problems:
        raise ConfigError(problems)
    mailer = build_mailer(campaign) if email and campaign.mail else None
    return Backends(responses, uploads, warehouse, wiring.opened, mailer)
