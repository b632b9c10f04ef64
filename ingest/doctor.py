"""`tidtam doctor`: is the Google key usable, with the scopes each backend needs, and can it reach
every configured form, folder and spreadsheet? One cheap call each; every finding says what to fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.google_api import GoogleApi, open_google_api
from connectors.google_auth import SCOPES, delegated_subject, load_key
from ingest.backends import build_backends
from ingest.campaign import Campaign
from ingest.errors import ConfigError, SourceError

# backend name → the scope set (connectors.google_auth.SCOPES) it uses
SOURCE_SCOPES = {"forms_api": "forms", "forms_sheet": "sheets_readonly", "drive": "drive"}
WAREHOUSE_SCOPES = {"google_sheets": "sheets"}


@dataclass(frozen=True)
class Finding:
    subject: str  # what was checked, named as in the config
    ok: bool
    detail: str  # what was found, or what to fix


def diagnose(campaign: Campaign, *, google_api: GoogleApi | None = None) -> list[Finding]:
    """Every check's finding, in config order; nothing raises for a problem it can describe."""
    needed = [SOURCE_SCOPES[s.backend] for s in campaign.sources.values() if s.backend in SOURCE_SCOPES]
    needed += [WAREHOUSE_SCOPES[b] for b in [campaign.warehouse.get("backend")] if b in WAREHOUSE_SCOPES]
    gmail = campaign.mail is not None and campaign.mail.transport.backend == "gmail"
    if not needed and not gmail:
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
    if gmail:
        findings.append(_gmail(campaign))
    if refused:
        findings.append(Finding("access", False, "not checked: fix the token problems above first"))
        return findings
    try:
        backends = build_backends(campaign, google_api=api)
    except ConfigError as exc:
        return [*findings, Finding("config", False, str(exc))]
    for name, source in {**backends.responses, **backends.uploads}.items():
        check = getattr(source, "check", None)
        if check is not None:
            findings.append(_check(f"sources.{name}", check))
    check = getattr(backends.warehouse, "check", None)
    if check is not None:
        findings.append(_check("warehouse", check))
    return findings


def _token(api: GoogleApi, name: str) -> str:
    api.check_token(SCOPES[name], what=f"access token for {name}")
    return "granted: " + " ".join(s.rsplit("/", 1)[-1] for s in SCOPES[name])


def _gmail(campaign: Campaign) -> Finding:
    sender = (campaign.mail.sender if campaign.mail else "") or campaign.google.get("subject")
    if not sender:
        return Finding("mail.sender", False, "a service account sends mail only as a Workspace mailbox, through "
                                             "domain-wide delegation: set mail.sender to that address")
    try:
        # Delegation is granted to the mailbox, so the token is asked for as its bare address, exactly
        # as the mailer asks for it; the display name only belongs in the From header.
        subject = delegated_subject(str(sender))
        api = open_google_api(campaign.google, subject=subject)
    except SourceError as exc:
        return Finding("mail.sender", False, str(exc))
    return _check("mail (gmail)", lambda: f"{_token(api, 'gmail')} as {subject}")


def _check(subject: str, check: Callable[[], str]) -> Finding:
    try:
        return Finding(subject, True, check())
    except SourceError as exc:
        return Finding(subject, False, str(exc))
