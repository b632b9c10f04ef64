"""The one module that builds Google clients and runs every Google call: retries, errors, call counts.

Nothing else catches googleapiclient's `HttpError` or gspread's `APIError`: here they become a
`RetryableSourceError` (429, 5xx, 403 rate limits and dropped connections, after bounded, jittered
retries that honour Retry-After) or a `FatalSourceError` that names the object and the fix.

A call that must not happen twice (`once=True`: Gmail's messages.send, which has no idempotency key)
is retried only after failures that prove the request never reached Google (429 and rate-limit 403
refusals, a connection that could not be opened, a token that could not be fetched); a 5xx, a
timeout or a connection lost after the request was written becomes a `DeliveryUnknownError`.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import google.auth.exceptions
import google_auth_httplib2
import gspread
import httplib2
import requests
import urllib3.exceptions
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as AuthRequest
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from gspread.http_client import HTTPClient
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay

from connectors.google_auth import delegated_subject, load_key
from connectors.google_settings import GoogleSettings
from connectors.pacing import Pacer
from ingest.errors import DeliveryUnknownError, FatalSourceError, RetryableSourceError

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, http.client.HTTPException, httplib2.ServerNotFoundError,
    requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError,
    google.auth.exceptions.TransportError,
)
_API_NAMES = {"drive": "Google Drive", "forms": "Google Forms", "sheets": "Google Sheets", "gmail": "Gmail"}
# Hosts the client libraries use; with a base URL override every other host is refused.
GOOGLE_HOSTS = frozenset({"www.googleapis.com", "sheets.googleapis.com", "forms.googleapis.com",
                          "gmail.googleapis.com", "drive.googleapis.com", "oauth2.googleapis.com"})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries: attempts and total seconds bound it; `timeout` bounds each request."""

    attempts: int = 6
    total_seconds: float = 120.0
    first_wait: float = 1.0
    max_wait: float = 32.0
    timeout: float = 60.0

    @classmethod
    def from_settings(cls, google: GoogleSettings) -> RetryPolicy:
        default = cls()
        total = default.total_seconds if google.max_retry_seconds is None else float(google.max_retry_seconds)
        return cls(attempts=default.attempts if google.max_attempts is None else google.max_attempts,
                   total_seconds=total, first_wait=min(default.first_wait, total / 8),
                   max_wait=min(default.max_wait, total / 2),
                   timeout=default.timeout if google.timeout_seconds is None else float(google.timeout_seconds))


class GoogleApiError(FatalSourceError):
    """A Google call failed in a way that needs a person; `status`/`reason` are Google's."""

    def __init__(self, message: str, *, status: int | None, reason: str, source: str = "",
                 google_message: str = "") -> None:
        super().__init__(message, source=source)
        self.status, self.reason = status, reason
        self.google_message = google_message  # Google's own words, e.g. "Mail service not enabled"


class GoogleRetryableError(RetryableSourceError):
    """Google kept answering 429/5xx (or the connection kept dropping) for the whole retry budget."""

    def __init__(self, message: str, *, status: int | None, reason: str, source: str = "") -> None:
        super().__init__(message, source=source)
        self.status, self.reason = status, reason


class GoogleDeliveryUnknownError(DeliveryUnknownError):
    """A call that must not be repeated failed after its request may have reached Google."""

    def __init__(self, message: str, *, status: int | None, reason: str, source: str = "") -> None:
        super().__init__(message, source=source)
        self.status, self.reason = status, reason


class RefusedHostError(ValueError):
    """A request tried to leave the configured API base URL (tests must never reach Google)."""


@dataclass(frozen=True)
class _Failure:
    status: int | None  # None: no HTTP answer (dropped connection, timeout, token endpoint)
    reason: str
    message: str
    retry_after: float | None = None
    token_refused: bool = False
    not_connected: bool = False  # the connection was never opened: no request left this machine

    @property
    def nothing_sent(self) -> bool:
        """True when the failure proves Google did not act on the request (safe to send it again)."""
        if self.status is None:
            # A token that could not be fetched stops the call before the API request is made.
            return self.not_connected or self.reason == "tokenRefused"
        # Quota refusals are answered before the request is processed (Gmail "Resolve errors":
        # https://developers.google.com/workspace/gmail/api/guides/handle-errors, 403/429).
        return self.status == 429 or (self.status == 403 and self.reason in RATE_LIMIT_REASONS)

    @property
    def transient(self) -> bool:
        if self.token_refused:
            return False
        if self.status is None:
            return True
        return self.status in TRANSIENT_STATUS or (self.status == 403 and self.reason in RATE_LIMIT_REASONS)

    @property
    def label(self) -> str:
        return f"{self.status} {self.reason}" if self.status else self.reason


def _error_body(content: bytes | str) -> tuple[str, str]:
    """(reason, message) from Google's JSON error envelope."""
    try:
        error = json.loads(content)["error"]
    except (ValueError, KeyError, TypeError):
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
        return "", text.strip()[:300]
    if not isinstance(error, dict):
        return str(error), str(error)
    details = error.get("errors") or []
    reason = (details[0].get("reason") if details and isinstance(details[0], dict) else None) or ""
    return reason or str(error.get("status") or ""), str(error.get("message") or "")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def _failure(exc: BaseException) -> _Failure | None:
    """What went wrong, for the errors this module handles; None for anything else (a bug: let it raise)."""
    if isinstance(exc, HttpError):
        reason, message = _error_body(exc.content)
        return _Failure(exc.resp.status, reason, message or str(exc.reason), _retry_after(exc.resp.get("retry-after")))
    if isinstance(exc, gspread.exceptions.APIError):
        reason, message = _error_body(exc.response.content)
        return _Failure(exc.response.status_code, reason, message,
                        _retry_after(exc.response.headers.get("Retry-After")))
    if isinstance(exc, google.auth.exceptions.RefreshError):
        # args[0] is the token endpoint's own answer ("invalid_grant: ..."), never key material.
        summary = str(exc.args[0]) if exc.args else "refused"
        return _Failure(None, "tokenRefused", summary, token_refused=not getattr(exc, "retryable", False))
    if isinstance(exc, _TRANSPORT_ERRORS):
        return _Failure(None, type(exc).__name__, str(exc)[:200], not_connected=_not_connected(exc))
    return None


def _not_connected(exc: BaseException) -> bool:
    """A failure to open the connection (refused, unresolvable host, connect timeout), as opposed to
    one after the request may have been written (reset, read timeout, no answer)."""
    if isinstance(exc, ConnectionRefusedError | httplib2.ServerNotFoundError | requests.exceptions.ConnectTimeout
                  | google.auth.exceptions.TransportError):
        return True  # google-auth's TransportError: the token endpoint, before the API call
    if isinstance(exc, requests.exceptions.ConnectionError):
        cause = exc.args[0] if exc.args else None
        return isinstance(getattr(cause, "reason", cause), urllib3.exceptions.NewConnectionError)
    return False


def _is_transient(exc: BaseException) -> bool:
    failure = _failure(exc)
    return failure is not None and failure.transient


def _surely_unsent(exc: BaseException) -> bool:
    failure = _failure(exc)
    return failure is not None and failure.transient and failure.nothing_sent


class _SingleShotHttp:
    """The httplib2.Http interface googleapiclient calls, over requests, for calls that must not be
    sent twice. httplib2 itself re-sends a request whose connection closed before the answer came
    (`Http._conn_request` retries a "stale" connection once whatever RETRIES says), so a message Gmail
    had accepted could go out again beneath any retry policy of ours. requests (urllib3, no retries)
    sends each request once and tells a refused connection from a lost answer."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self._session, self._timeout = session, timeout

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Mapping[str, str] | None = None,
                **_: Any) -> tuple[httplib2.Response, bytes]:
        reply = self._session.request(method, uri, data=body, headers=dict(headers or {}), timeout=self._timeout,
                                      allow_redirects=False)
        # requests has already decoded a gzip body; the header would tell the client to do it again.
        info = {k.lower(): v for k, v in reply.headers.items() if k.lower() != "content-encoding"}
        info["status"] = str(reply.status_code)
        response = httplib2.Response(info)
        response.reason = reply.reason or ""
        return response, reply.content


class GoogleApi:
    """Builds Google clients for one principal and runs their calls; `counts` is calls per method id."""

    def __init__(self, credentials_for: Callable[[tuple[str, ...]], Credentials], *, principal: str,
                 client_id: str = "", base_url: str | None = None, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, per_minute: Mapping[str, int] | None = None) -> None:
        """`per_minute`: requests a minute allowed per API ("drive"), every attempt counted (see
        connectors.pacing); APIs not named are not paced here."""
        self._credentials_for = credentials_for
        self.principal = principal  # the address people share forms, folders and sheets with
        self.client_id = client_id
        self.base_url = base_url.rstrip("/") if base_url else None
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.pacers = {api: Pacer(n, what=f"{api} requests", sleep=sleep)
                       for api, n in (per_minute or {}).items()}
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._credentials: dict[tuple[str, ...], Credentials] = {}
        self._credentials_lock = threading.Lock()
        # httplib2 is not thread-safe: each thread gets its own services, each with its own Http.
        self._local = threading.local()
        self._sheets: dict[tuple[str, ...], HTTPClient] = {}

    def after_fork(self) -> None:
        """In a forked child (ingest.apart): connections, clients and locks of its own. The parent's
        pooled connections stay the parent's (one HTTPS connection used by two processes corrupts its
        TLS state) and a lock another thread held at the fork would never be released here. Tokens and
        counts carry over."""
        self._local = threading.local()
        self._sheets = {}
        self._counts_lock = threading.Lock()
        self._credentials_lock = threading.Lock()
        for pacer in self.pacers.values():
            pacer.after_fork()

    def add_counts(self, calls: Counter[str]) -> None:
        """Calls made on this API's behalf elsewhere (a child process: ingest.apart), counted here too."""
        with self._counts_lock:
            self.counts.update(calls)

    # -- clients ---------------------------------------------------------------------------
    def credentials(self, scopes: Sequence[str]) -> Credentials:
        key = tuple(scopes)
        with self._credentials_lock:
            if key not in self._credentials:
                self._credentials[key] = self._credentials_for(key)
            return self._credentials[key]

    def service(self, api: str, version: str, scopes: Sequence[str], *, single_shot: bool = False) -> Any:
        """A googleapiclient Resource built from the discovery document shipped with the library, one per
        thread (so downloads can run in a thread pool; credentials, and so tokens, are shared).
        `single_shot`: over a transport that never re-sends a request (for `execute(..., once=True)`)."""
        key = (api, version, tuple(scopes), single_shot)
        services: dict[tuple[str, str, tuple[str, ...], bool], Any] = self._local.__dict__.setdefault("services", {})
        if key not in services:
            doc = _discovery(api, version)  # parsed afresh, so rebasing it touches no other copy
            if self.base_url:
                # Rebasing rootUrl (not client_options) moves media, upload and batch URLs too.
                doc["rootUrl"] = self.base_url + "/"
                doc.pop("mtlsRootUrl", None)
                doc["baseUrl"] = doc["rootUrl"] + doc.get("servicePath", "")
            transport: Any
            if single_shot:
                transport = _SingleShotHttp(self._session(scopes), self.policy.timeout)
            else:
                transport = google_auth_httplib2.AuthorizedHttp(self.credentials(scopes),
                                                                http=httplib2.Http(timeout=self.policy.timeout))
            services[key] = build_from_document(doc, http=transport)
        return services[key]

    def collection(self, api: str, version: str, scopes: Sequence[str], name: str) -> Any:
        """`service(api, version, scopes).<name>()`, kept per thread like the service: googleapiclient
        builds every method of a collection, docstrings from the schemas included, each time one is asked
        for (1.4 ms for Drive's `files()`, measured here: 72 s of CPU under the GIL over the 52,000
        downloads of a first sync at 7,436 units when asked for per download)."""
        key = (api, version, tuple(scopes), name)
        collections: dict[tuple[str, str, tuple[str, ...], str], Any] = self._local.__dict__.setdefault("collections", {})
        if key not in collections:
            collections[key] = getattr(self.service(api, version, scopes), name)()
        return collections[key]

    def _session(self, scopes: Sequence[str]) -> AuthorizedSession:
        """A requests session that adds (and refreshes) the token, kept to the base URL when one is set."""
        creds = self.credentials(scopes)
        if not self.base_url:
            return AuthorizedSession(creds)
        plain = requests.Session()
        _mount(plain, _BaseUrlAdapter(self.base_url))
        session = AuthorizedSession(creds, auth_request=AuthRequest(plain))
        _mount(session, _BaseUrlAdapter(self.base_url))
        return session

    def sheets_http(self, scopes: Sequence[str]) -> HTTPClient:
        """gspread's HTTP client (its URL building and JSON handling) with our timeout and host guard."""
        key = tuple(scopes)
        if key not in self._sheets:
            creds = self.credentials(scopes)
            session = self._session(scopes)
            client = gspread.Client(auth=creds, session=session)
            client.set_timeout(self.policy.timeout)
            self._sheets[key] = client.http_client
        return self._sheets[key]

    def check_token(self, scopes: Sequence[str], *, what: str) -> None:
        """Fetch an access token for `scopes` (what `tidtam doctor` uses to test key and delegation)."""
        creds = self.credentials(scopes)
        session = requests.Session()
        if self.base_url:
            _mount(session, _BaseUrlAdapter(self.base_url))
        self.call("oauth2.token", lambda: creds.refresh(AuthRequest(session)), what=what)

    # -- calls -----------------------------------------------------------------------------
    def execute(self, request: Any, *, what: str, role: str = "Viewer", denied: str | None = None,
                once: bool = False) -> Any:
        """Run a googleapiclient request (counted under its discovery method id)."""
        return self.call(request.methodId, lambda: request.execute(num_retries=0), what=what, role=role,
                         denied=denied, once=once)

    def call(self, method_id: str, fn: Callable[[], T], *, what: str, role: str = "Viewer",
             denied: str | None = None, once: bool = False) -> T:
        """Run one Google call with retries; `what` names the object, `role` the sharing it needs.
        `once`: the call must not take effect twice; build its request on `service(..., single_shot=True)`."""
        started = time.monotonic()
        attempts = 0

        pacer = self.pacers.get(method_id.partition(".")[0])

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            if pacer is not None:
                pacer.wait()
            with self._counts_lock:
                self.counts[method_id] += 1
            return fn()

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts) | stop_before_delay(self.policy.total_seconds),
            wait=self._wait, retry=retry_if_exception(_surely_unsent if once else _is_transient), sleep=self.sleep,
            before_sleep=lambda state: self._log_retry(method_id, what, state), reraise=True)
        try:
            return retrying(attempt)
        except (HttpError, gspread.exceptions.APIError, google.auth.exceptions.GoogleAuthError,
                *_TRANSPORT_ERRORS) as exc:
            failure = _failure(exc)
            if failure is None:
                raise
            if once and failure.transient and not failure.nothing_sent:
                raise GoogleDeliveryUnknownError(
                    f"{what}: Google may have accepted it but did not confirm ({failure.label}: {failure.message}); "
                    "it is not sent again, so check whether it arrived", status=failure.status,
                    reason=failure.reason, source=what) from None
            raise self._error(failure, method_id, what, role, denied, attempts,
                              time.monotonic() - started) from None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        failure = _failure(exc) if exc else None
        ceiling = min(self.policy.max_wait, self.policy.first_wait * 2 ** (state.attempt_number - 1))
        backoff = ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter spreads out clients that failed together
        asked = failure.retry_after if failure and failure.retry_after is not None else 0.0
        # Retry-After is honoured in full; stop_before_delay gives up if it exceeds the total budget.
        return max(backoff, asked)

    @staticmethod
    def _log_retry(method_id: str, what: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        failure = _failure(exc) if exc else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s for %s: %s; retry %d in %.1f s", method_id, what, failure.label if failure else "error",
                    state.attempt_number, wait)

    def _error(self, failure: _Failure, method_id: str, what: str, role: str, denied: str | None,
               attempts: int, elapsed: float) -> Exception:
        status, reason, text = failure.status, failure.reason, failure.message
        if failure.transient:
            asked = f"; Google asked to wait {failure.retry_after:.0f} s" if failure.retry_after else ""
            return GoogleRetryableError(
                f"{what}: Google kept failing ({failure.label}: {text}) after {attempts} attempt(s) in "
                f"{elapsed:.0f} s{asked}; the next run will try again", status=status, reason=reason, source=what)
        api = _API_NAMES.get(method_id.split(".")[0], "Google")
        if failure.token_refused:
            message = (f"Google refused an access token for {self.principal} ({text}): check the key is current "
                       f"(Cloud console → IAM → Service accounts → Keys); with domain-wide delegation, authorise "
                       f"client id {self.client_id or '(see the key file)'} for the scopes `tidtam doctor` lists")
        elif status == 401:
            message = (f"{what}: Google did not accept the credentials of {self.principal} ({text}): "
                       "check the key is current and not disabled")
        elif status == 403 and (reason in ("accessNotConfigured", "SERVICE_DISABLED")
                                or "has not been used" in text or "is disabled" in text):
            message = (f"{what}: the {api} API is not enabled in the Cloud project of {self.principal}: enable it "
                       "(Cloud console → APIs & Services → Library) and run again")
        elif status == 403 and (reason in ("insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT")
                                or "insufficient authentication scopes" in text):
            message = (f"{what}: the access token of {self.principal} lacks the scope this call needs ({text}); "
                       f"with domain-wide delegation, authorise client id {self.client_id} for the scopes "
                       "`tidtam doctor` lists")
        elif status in (403, 404):
            if denied:
                message = f"{what}: {denied}"
            elif status == 404:
                message = (f"{what} was not found, or is not shared with {self.principal}: check the id in the "
                           f"config and share it with that address as {role}")
            else:
                message = f"{what} is not shared with {self.principal}: share it as {role}"
            message += f" (Google: {status} {reason or ''} {text})".replace("  ", " ")
        else:
            message = f"{what}: Google refused the request ({failure.label}: {text})"
        return GoogleApiError(message, status=status, reason=reason, source=what, google_message=text)


@cache
def _discovery(api: str, version: str) -> dict[str, Any]:
    text = get_static_doc(api, version)
    if text is None:
        raise LookupError(f"google-api-python-client ships no discovery document for {api} {version}")
    return json.loads(text)


class _BaseUrlAdapter(HTTPAdapter):
    """Sends every Google API request to the base URL instead, and refuses any other host."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        if parts.netloc != self._netloc:
            if parts.hostname not in GOOGLE_HOSTS:
                raise RefusedHostError(f"refusing to contact {parts.hostname!r}: only {self._netloc} is configured")
            path = "/token" if parts.hostname == "oauth2.googleapis.com" else parts.path
            request.url = urlunsplit((self._scheme, self._netloc, path, parts.query, parts.fragment))
            request.headers["Host"] = self._netloc
        return super().send(request, *args, **kwargs)


def _mount(session: requests.Session, adapter: HTTPAdapter) -> None:
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def open_google_api(google: GoogleSettings, *, subject: str | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> GoogleApi:
    """The GoogleApi a campaign's `google:` settings describe (the key file is read now, no network)."""
    key = load_key(google)
    base_url = google.api_base_url or None
    subject = subject or google.subject or None
    subject = delegated_subject(subject) if subject else None
    token_uri = base_url.rstrip("/") + "/token" if base_url else None
    principal = f"{subject} (through {key.email})" if subject else key.email
    return GoogleApi(lambda scopes: key.credentials(scopes, subject=subject, token_uri=token_uri),
                     principal=principal, client_id=key.client_id, base_url=base_url,
                     policy=RetryPolicy.from_settings(google), sleep=sleep,
                     per_minute={"drive": google.drive_requests_per_minute} if google.drive_requests_per_minute else None)
