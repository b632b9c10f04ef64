"""Wiring: build every connector the campaign's config names, from the entries of ingest.registry."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.base import CallCounting, Closeable, Mailer, ResponsesSource, UploadsSource, Warehouse
from ingest.campaign import Campaign
from ingest.errors import ConfigError, FatalSourceError
from ingest.registry import backend, names
from ingest.state import StateStore

if TYPE_CHECKING:
    from connectors.google_api import GoogleApi


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
        # Opened on first use: an offline campaign never needs a key (nor loads the Google libraries).
        # One GoogleApi per campaign, so credentials are shared and every call lands in one counter.
        if self._google_api is None:
            from connectors.google_api import open_google_api

            self._google_api = open_google_api(self.campaign.google)
        return self._google_api

    def resolve(self, value: str) -> Path:
        """A path from the config, relative to the config's folder unless absolute."""
        return self.campaign.resolve(value)

    @property
    def opened(self) -> GoogleApi | None:
        return self._google_api


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
        if isinstance(self.mailer, CallCounting):
            counts.update(self.mailer.api_calls())
        return counts

    def after_fork(self) -> None:
        """In a forked child (ingest.apart): no connection of the parent's is used there."""
        if self.google:
            self.google.after_fork()

    def add_api_calls(self, calls: Counter[str]) -> None:
        """Google API calls made for this run in a child process (ingest.apart), counted as this one's."""
        if self.google and calls:
            self.google.add_counts(calls)

    def close(self) -> None:
        if isinstance(self.mailer, Closeable):
            self.mailer.close()


def build_backends(campaign: Campaign, *, google_api: GoogleApi | None = None, email: bool = True) -> Backends:
    """Every connector the config names. With `email=False` (or no `mail:` section) there is no mailer:
    the run still plans alerts, so the `alerts` tab and the log say what would have gone out."""
    problems = []
    wiring = Wiring(campaign, google_api)
    responses: dict[str, ResponsesSource] = {}
    uploads: dict[str, UploadsSource] = {}
    try:
        for name, spec in campaign.sources.items():
            entry = backend(spec.backend, spec.role)
            if entry is None:
                problems.append(f"sources.{name}.backend: {spec.backend!r} is not available in this build of tidtam "
                                f"(available: {', '.join(names(spec.role))})")
                continue
            (responses if spec.role == "responses" else uploads)[name] = entry.build(spec.settings, wiring)
        store = backend(campaign.warehouse.backend, "warehouse")
        if store is None:
            problems.append(f"warehouse.backend: {campaign.warehouse.backend!r} is not available in this build "
                            f"(available: {', '.join(names('warehouse'))})")
        warehouse = store.build(campaign.warehouse.settings, wiring) if store else None
    except FatalSourceError as exc:  # the service-account key is missing or unusable
        problems.append(f"google.credentials: {exc}")
    if problems:
        raise ConfigError(problems)
    mailer = build_mailer(campaign) if email and campaign.mail else None
    return Backends(responses, uploads, warehouse, wiring.opened, mailer)


def build_mailer(campaign: Campaign) -> Mailer:
    """The mailer the alert policy's transport names (`mail.backend`); the outbox without a `mail:` section."""
    from ingest.alerts.policy import AlertPolicy

    policy = campaign.mail or AlertPolicy()
    transport = policy.transport
    entry = backend(transport.backend, "mailer")
    if entry is None:
        raise ConfigError([f"mail.backend: {transport.backend!r} is not available in this build "
                           f"(available: {', '.join(names('mailer'))})"])
    return entry.build({**transport.settings, "sender": policy.sender}, Wiring(campaign))
