"""`tidtam doctor`: is the Google key usable, with the scopes each backend needs, and can it reach
every configured form, folder and spreadsheet? One cheap call each; every finding says what to fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.base import Checkable
from connectors.google_api import GoogleApi, open_google_api
from connectors.google_auth import SCOPES, delegated_subject, load_key
from ingest.backends import build_backends
from ingest.campaign import Campaign
from ingest.errors import ConfigError, SourceError
from ingest.registry import Backend, backend


@dataclass(frozen=True)
class Finding:
    subject: str  # what was checked, named as in the config
    ok: bool
    detail: str  # what was found, or what to fix


def google_backends(campaign: Campaign) -> list[Backend]:
    """The configured backends doctor checks: those that need a Google scope, in config order."""
    configured = [backend(s.backend, s.role) for s in campaign.sources.values()]
    configured.append(backend(campaign.warehouse.backend, "warehouse"))
    if campaign.mail:
        configured.append(backend(campaign.mail.transport.backend, "mailer"))
    return [b for b in configured if b is not None and b.scopes is not None]


def diagnose(campaign: Campaign, *, google_api: GoogleApi | None = None) -> list[Finding]:
    """Every check's finding, in config order; nothing raises for a problem it can describe."""
    google = google_backends(campaign)
    mailers = [b for b in google if b.role == "mailer"]
    needed = [b.scopes for b in google if b.role != "mailer" and b.scopes]
    if not google:
        return [Finding("google", True, "no Google backend is configured: nothing to check")]
    try:
        key = load_key(campaign.google)
    except SourceError as exc:
        return [Finding("google.credentials", False, str(exc))]
    findings = [Finding("google.credentials", True, f"{key.path}: service account {key.email}")]
    api = google_api or open_google_api(campaign.google)
    refused = set()
    for name in dict.fromkeys(needed):
        finding = _check(f"scopes {name}", lambda name=name: _token(api, name))
        findings.append(finding)
        if not finding.ok:
            refused.add(name)
    findings += [_mailer(campaign, mailer) for mailer in mailers]
    if refused:
        findings.append(Finding("access", False, "not checked: fix the token problems above first"))
        return findings
    try:
        backends = build_backends(campaign, google_api=api)
    except ConfigError as exc:
        return [*findings, Finding("config", False, str(exc))]
    for name, source in {**backends.responses, **backends.uploads}.items():
        if isinstance(source, Checkable):
            findings.append(_check(f"sources.{name}", source.check))
    if isinstance(backends.warehouse, Checkable):
        findings.append(_check("warehouse", backends.warehouse.check))
    return findings


def _token(api: GoogleApi, name: str) -> str:
    api.check_token(SCOPES[name], what=f"access token for {name}")
    return "granted: " + " ".join(s.rsplit("/", 1)[-1] for s in SCOPES[name])


def _mailer(campaign: Campaign, mailer: Backend) -> Finding:
    """A mailer on a Google API sends as a Workspace mailbox: its token is asked for as that mailbox."""
    sender = campaign.mail.sender or campaign.google.subject
    if not sender:
        return Finding("mail.sender", False, "a service account sends mail only as a Workspace mailbox, through "
                                             "domain-wide delegation: set mail.sender to that address")
    try:
        # Delegation is granted to the mailbox, so the token is asked for as its bare address, exactly
        # as the mailer asks for it; the display name only belongs in the From header.
        subject = delegated_subject(sender)
        api = open_google_api(campaign.google, subject=subject)
    except SourceError as exc:
        return Finding("mail.sender", False, str(exc))
    return _check(f"mail ({mailer.name})", lambda: f"{_token(api, str(mailer.scopes))} as {subject}")


def _check(subject: str, check: Callable[[], str]) -> Finding:
    try:
        return Finding(subject, True, check())
    except SourceError as exc:
        return Finding(subject, False, str(exc))
