"""Service-account credentials for the Google backends: the key file, delegation, least-privilege scopes.

The key's private part lives only inside `ServiceAccountKey` (never in its repr, a log line or an
error message); everything else sees the service account's e-mail address.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.oauth2 import service_account

from connectors.google_settings import GoogleSettings
from ingest.alerts.addresses import mailbox
from ingest.errors import FatalSourceError

_AUTH = "https://www.googleapis.com/auth/"
# One scope set per backend, each the narrowest Google offers for what that backend does.
SCOPES: Mapping[str, tuple[str, ...]] = {
    "forms": (_AUTH + "forms.body.readonly", _AUTH + "forms.responses.readonly"),
    "drive": (_AUTH + "drive.readonly",),
    "sheets_readonly": (_AUTH + "spreadsheets.readonly",),
    "sheets": (_AUTH + "spreadsheets",),
    "gmail": (_AUTH + "gmail.send",),
}
KEY_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
_KEY_HELP = ("create a JSON key for the service account (Cloud console → IAM → Service accounts → Keys) and "
             "give its path as google.credentials in the config or in GOOGLE_APPLICATION_CREDENTIALS")


@dataclass(frozen=True)
class ServiceAccountKey:
    """A loaded service-account key; `email` is what sharing dialogs and messages name."""

    path: str
    email: str
    client_id: str
    info: Mapping[str, Any] = field(repr=False)  # holds the private key: never print or log it

    def credentials(self, scopes: Sequence[str], *, subject: str | None = None,
                    token_uri: str | None = None) -> service_account.Credentials:
        info = dict(self.info)
        if token_uri:
            info["token_uri"] = token_uri
        try:
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
        except ValueError:
            # The library's message can quote key fields; ours names only the file.
            raise FatalSourceError(f"service-account key {self.path} cannot be used (is the private key intact?): "
                                   + _KEY_HELP, source=self.path) from None
        return creds.with_subject(subject) if subject else creds


def delegated_subject(text: str) -> str:
    """The bare address a service account acts as, from `mail.sender` ("ทีมติดตาม <tidtam@…>") or
    `google.subject`. Google's token endpoint takes only a bare address as the JWT `sub`: with a display
    name it answers `invalid_request: Invalid impersonation "sub" field` (GAM-team/GAM issue #1595), which
    reads like a delegation problem an administrator cannot fix. FatalSourceError if it is no address."""
    try:
        return mailbox(text).addr_spec
    except ValueError as exc:
        raise FatalSourceError(f"cannot act as {exc}: give the mailbox's address, e.g. tidtam@example.go.th",
                               source="mail.sender") from None


def key_path(google: GoogleSettings, environ: Mapping[str, str] = os.environ) -> str | None:
    return google.credentials or environ.get(KEY_ENV) or None


def load_key(google: GoogleSettings, environ: Mapping[str, str] = os.environ) -> ServiceAccountKey:
    """The service-account key named by the config (or the environment). Raises FatalSourceError."""
    path = key_path(google, environ)
    if path is None:
        raise FatalSourceError(f"no service-account key is configured: {_KEY_HELP}", source="google.credentials")
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FatalSourceError(f"service-account key {path} does not exist: {_KEY_HELP}", source=path) from None
    except OSError as exc:
        raise FatalSourceError(f"service-account key {path} cannot be read ({exc.strerror})", source=path) from None
    try:
        info = json.loads(text)
    except ValueError:
        raise FatalSourceError(f"service-account key {path} is not JSON: {_KEY_HELP}", source=path) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else None
        raise FatalSourceError(f"{path} is not a service-account key (type {kind!r}; an OAuth client file will not do): "
                               + _KEY_HELP, source=path)
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise FatalSourceError(f"service-account key {path} lacks {', '.join(missing)}: download a fresh key",
                               source=path)
    return ServiceAccountKey(path, str(info["client_email"]), str(info.get("client_id", "")), info)
