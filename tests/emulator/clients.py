"""Point the real Google client libraries at the emulator (or any base URL).

- `discovery_document(api, version, base_url)`: the shipped discovery JSON with rootUrl moved, for
  `googleapiclient.discovery.build_from_document` (simple, media, upload and batch URLs all follow).
- `build_service(...)`: that, plus an httplib2 transport with a timeout.
- `local_session(...)`: a requests Session (optionally authorised) that rewrites Google API hosts to
  the emulator and refuses every other host, for gspread or raw requests.
- `gspread_client(...)`: a gspread.Client over `local_session`.
- `service_account_credentials(...)`: real google-auth service-account credentials whose token
  refresh goes to the emulator's /token.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import google.auth.credentials
import google_auth_httplib2
import gspread
import httplib2
import requests
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document
from requests.adapters import HTTPAdapter

from .discovery import load_document
from .keys import service_account_info

# Hosts the libraries talk to; everything else is refused by LocalOnlyAdapter.
GOOGLE_HOSTS = frozenset(
    {
        "www.googleapis.com",
        "sheets.googleapis.com",
        "forms.googleapis.com",
        "gmail.googleapis.com",
        "drive.googleapis.com",
        "oauth2.googleapis.com",
    }
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def discovery_document(api: str, version: str, base_url: str) -> dict[str, Any]:
    """The shipped discovery document for api/version with every URL rebased on base_url."""
    doc = copy.deepcopy(load_document(api, version))
    root = base_url.rstrip("/") + "/"
    doc["rootUrl"] = root
    doc.pop("mtlsRootUrl", None)  # else googleapiclient may pick the mTLS endpoint
    doc["baseUrl"] = root + doc.get("servicePath", "")
    return doc


def build_service(
    api: str,
    version: str,
    base_url: str,
    credentials: google.auth.credentials.Credentials | None = None,
    *,
    timeout: float = 10.0,
) -> Any:
    """googleapiclient Resource for api/version talking to base_url."""
    http: Any = httplib2.Http(timeout=timeout)
    if credentials is not None:
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=http)
    return build_from_document(discovery_document(api, version, base_url), http=http)


class ForeignHostError(ConnectionError):
    """A request tried to leave the loopback emulator."""


class LocalOnlyAdapter(HTTPAdapter):
    """Rewrites https://*.googleapis.com to the emulator; refuses any other non-local host."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host in LOCAL_HOSTS:
            pass  # already local: untouched
        elif host in GOOGLE_HOSTS:
            path = parts.path
            if host == "oauth2.googleapis.com":
                path = "/token"
            request.url = urlunsplit((self._scheme, self._netloc, path, parts.query, parts.fragment))
            request.headers["Host"] = self._netloc
        else:
            raise ForeignHostError(f"refusing to contact {host!r} from a test: only the emulator is allowed")
        return super().send(request, *args, **kwargs)


def local_session(
    base_url: str,
    credentials: google.auth.credentials.Credentials | None = None,
) -> requests.Session:
    """A requests Session that can only reach the emulator (AuthorizedSession when credentials given)."""
    plain = requests.Session()
    plain.mount("https://", LocalOnlyAdapter(base_url))
    plain.mount("http://", LocalOnlyAdapter(base_url))
    if credentials is None:
        return plain
    # The token refresh session is guarded too, so a real token_uri cannot leak out.
    session = AuthorizedSession(credentials, auth_request=AuthRequest(plain))
    session.mount("https://", LocalOnlyAdapter(base_url))
    session.mount("http://", LocalOnlyAdapter(base_url))
    return session


def gspread_client(
    base_url: str,
    credentials: google.auth.credentials.Credentials | None = None,
    *,
    timeout: float = 10.0,
) -> gspread.Client:
    """gspread.Client whose every request goes to the emulator."""
    client = gspread.Client(auth=credentials, session=local_session(base_url, credentials))  # type: ignore[arg-type]
    client.set_timeout(timeout)
    return client


def service_account_credentials(
    token_uri: str,
    scopes: Sequence[str],
    subject: str | None = None,
) -> service_account.Credentials:
    """Real service-account credentials (fresh runtime key) refreshing against token_uri."""
    info = service_account_info(token_uri)
    creds = service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
    if subject:
        creds = creds.with_subject(subject)
    return creds
