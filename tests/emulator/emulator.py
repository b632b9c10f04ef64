"""The Emulator: state of every API, the request log, and the dispatch pipeline.

Pipeline per request: route (discovery) -> log -> faults -> auth/scopes -> validation
(query, body, fields) -> handler -> `fields` mask -> response.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import fields as fieldmask
from .auth import Auth, TokenError
from .batch import run_batch
from .discovery import Discovery, MethodSpec
from .drive import DriveState
from .errors import ApiError
from .faults import FaultInjector
from .forms import FormsState
from .gmail import GmailState
from .protocol import Call, Handler, Reply
from .server import LoopbackServer, RawRequest, RawResponse
from .sheets import SheetsState
from .uploads import ResumableSessions, Upload, add_chunk, parse_upload


@dataclass(frozen=True)
class RequestRecord:
    api: str  # drive, forms, sheets, gmail, oauth2, or "unknown"
    method_id: str  # discovery id, e.g. drive.files.list ("oauth2.token", "unknown")
    http_method: str
    path: str
    query: dict[str, list[str]]
    body: Any = field(default=None, compare=False)
    body_bytes: int = field(default=0, compare=False)  # the request body's size as sent
    # When the request arrived (time.monotonic), before any latency a fault adds: tells requests sent at
    # once from requests sent one after the other's answer.
    at: float = field(default_factory=time.monotonic, compare=False)


@dataclass(frozen=True)
class Violation:
    method_id: str | None
    http_method: str
    path: str
    problem: str


class Emulator:
    """A local Google Workspace (Drive v3, Forms v1, Sheets v4, Gmail v1, OAuth token) on 127.0.0.1.

    Use as a context manager, or call start()/stop().
    """

    def __init__(
        self,
        *,
        port: int = 0,
        enforce_scopes: bool = True,
        require_auth: bool = False,
        seed: int = 0,
    ) -> None:
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.discovery = Discovery()
        self.auth = Auth(enforce_scopes=enforce_scopes, require_auth=require_auth)
        self.faults = FaultInjector()
        self.drive = DriveState(lambda: self.clock(), seed)
        self.forms = FormsState(lambda: self.clock())
        self.sheets = SheetsState(seed)
        self.gmail = GmailState(self.auth)
        self.drive.on_spreadsheet_created = lambda fid, name: self.sheets.create(fid, name)
        self.drive.identify = self._caller
        self.requests: list[RequestRecord] = []
        self.counts: Counter[str] = Counter()
        self.violations: list[Violation] = []
        self.unimplemented: list[str] = []  # method ids called that the emulator does not model
        self._uploads = ResumableSessions()
        self._log_lock = threading.Lock()
        self._before: list[tuple[str, Callable[[], None]]] = []
        self._handlers: dict[str, Handler] = {}
        for state in (self.drive, self.forms, self.sheets, self.gmail):
            self._handlers.update(state.handlers())
        self._server = LoopbackServer(self.handle, port=port)
        self.port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Emulator:
        self.port = self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def running(self) -> bool:
        return self._server.running

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("emulator not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    def reset_counts(self) -> None:
        """Forget the request log and counters (state, violations and faults stay)."""
        with self._log_lock:
            self.requests.clear()
            self.counts.clear()

    def before(self, method: str, action: Callable[[], None]) -> None:
        """Run `action` once, just before the next `method` request (fnmatch pattern) takes effect:
        what a person does in the browser while a client is between two requests."""
        with self._log_lock:
            self._before.append((method, action))

    def _take_before(self, method_id: str) -> list[Callable[[], None]]:
        with self._log_lock:
            due = [a for m, a in self._before if fnmatch.fnmatchcase(method_id, m)]
            self._before = [(m, a) for m, a in self._before if not fnmatch.fnmatchcase(method_id, m)]
        return due

    def calls(self, method_id: str) -> list[RequestRecord]:
        with self._log_lock:
            return [r for r in self.requests if r.method_id == method_id]

    def _caller(self, call: Call) -> str | None:
        """The account a request acts as: the delegated subject, else the service account; None for
        a token the emulator did not issue (such a caller sees every shared drive as a member)."""
        authorization = call.headers.get("authorization") or ""
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else call.param("access_token")
        grant = self.auth.grant_for(token) if token else None
        if grant is None:
            return None
        return grant.subject or grant.issuer

    # -- dispatch --------------------------------------------------------------------------
    def _log(self, record: RequestRecord) -> None:
        with self._log_lock:
            self.requests.append(record)
            self.counts[record.method_id] += 1

    def _violate(self, spec: MethodSpec | None, req: RawRequest, path: str, problems: list[str]) -> None:
        with self._log_lock:
            for p in problems:
                self.violations.append(Violation(spec.method_id if spec else None, req.method, path, p))

    def handle(self, req: RawRequest) -> RawResponse | None:
        parts = urlsplit(req.target)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if path == "/token":
                return self._token(req, path, query, parts.query)
            if path.startswith("/batch") and req.method == "POST":
                self._log(RequestRecord("batch", "batch", req.method, path, query))
                return run_batch(req, self.handle)
            upload_id = query.get("upload_id", [None])[0]
            if upload_id and self._uploads.get(upload_id):
                return self._resumable_chunk(req, upload_id)
            routed = self.discovery.match(req.method, path)
            if routed is None:
                self._log(RequestRecord("unknown", "unknown", req.method, path, query))
                problem = f"no discovery method matches {req.method} {path}"
                self._violate(None, req, path, [problem])
                raise ApiError(
                    404,
                    f"The requested URL {path} was not found on this server. ({problem})",
                    reason="notFound",
                )
            spec, path_params = routed
            return self._api_call(req, spec, path_params, path, query, parts.query)
        except ApiError as err:
            return _error_response(err)

    def _token(self, req: RawRequest, path: str, query: dict[str, list[str]], qs: str) -> RawResponse | None:
        self._log(RequestRecord("oauth2", "oauth2.token", req.method, path, query))
        decision = self.faults.decide("oauth2.token", path, qs, query)
        if decision.latency:
            time.sleep(decision.latency)
        if decision.fault is not None:
            if decision.fault.cut_connection:
                return None
            raise decision.fault.error()
        if req.method != "POST":
            raise ApiError(405, "The token endpoint only accepts POST.")
        try:
            body = self.auth.token_request(req.body)
        except TokenError as exc:
            return _json_response(exc.status, exc.body())
        return _json_response(200, body)

    def _api_call(
        self,
        req: RawRequest,
        spec: MethodSpec,
        path_params: dict[str, str],
        path: str,
        query: dict[str, list[str]],
        qs: str,
    ) -> RawResponse | None:
        body_json: Any = None
        if not spec.upload and len(req.body or b"") > PAYLOAD_LIMIT:
            self._log(RequestRecord(spec.api, spec.method_id, req.method, path, query, None, len(req.body)))
            raise ApiError(400, f"Request payload size exceeds the limit: {PAYLOAD_LIMIT} bytes.", reason="badRequest")
        is_json = bool(req.body) and not spec.upload and "json" in req.headers.get("content-type", "json")
        if is_json:
            try:
                body_json = json.loads(req.body)
            except ValueError:
                body_json = _INVALID
        self._log(
            RequestRecord(
                spec.api,
                spec.method_id,
                req.method,
                path,
                query,
                None if body_json is _INVALID else body_json,
                len(req.body or b""),
            )
        )

        decision = self.faults.decide(spec.method_id, path, qs, query)
        if decision.latency:
            time.sleep(decision.latency)
        after = decision.fault if decision.fault is not None and decision.fault.after_handler else None
        if decision.fault is not None and after is None:
            if decision.fault.cut_connection:
                return None
            raise decision.fault.error()

        self.auth.check(
            req.headers.get("authorization"), (query.get("access_token") or [None])[0], spec.scopes
        )

        problems = self.discovery.check_query(spec, query, path_params)
        mask = None
        if query.get("fields"):
            try:
                mask = fieldmask.parse(query["fields"][0])
            except fieldmask.FieldMaskError as exc:
                problems.append(str(exc))
            else:
                problems.extend(self.discovery.check_fields(spec, mask))
        if body_json is _INVALID:
            problems.append("Invalid JSON payload received.")
        elif body_json is not None:
            problems.extend(self.discovery.check_body(spec, body_json))
        upload = None
        upload_type = (query.get("uploadType") or [None])[0]
        if spec.upload:
            if upload_type not in ("media", "multipart", "resumable"):
                problems.append(
                    f"upload path needs uploadType media, multipart or resumable, got {upload_type!r}"
                )
            elif upload_type == "resumable":
                if req.body:
                    try:
                        body_json = json.loads(req.body)
                    except ValueError:
                        problems.append("Invalid JSON metadata in resumable upload start.")
                if isinstance(body_json, dict):
                    problems.extend(self.discovery.check_body(spec, body_json))
            else:
                try:
                    upload = parse_upload(upload_type, req.headers.get("content-type", ""), req.body)
                except ApiError as exc:
                    problems.append(exc.message)
                else:
                    if upload.metadata is not None:
                        problems.extend(self.discovery.check_body(spec, upload.metadata))
                        body_json = upload.metadata
        if problems:
            self._violate(spec, req, path, problems)
            raise ApiError(400, "; ".join(problems), reason="invalid" if mask is None else "invalidParameter")

        if spec.upload and upload_type == "resumable":
            session = self._uploads.open(
                spec.method_id,
                path_params,
                query,
                body_json if isinstance(body_json, dict) else None,
                req.headers.get("x-upload-content-type", "application/octet-stream"),
            )
            location = f"{self.base_url}{path}?uploadType=resumable&upload_id={session.upload_id}"
            return RawResponse(200, b"", {"Location": location, "Content-Length": "0"})

        for action in self._take_before(spec.method_id):
            action()
        call = Call(spec, path_params, query, req.headers, req.body, body_json, self.base_url, upload)
        response = self._run(call, mask)
        if after is not None:  # the work is done; the answer is lost (see faults.py)
            if after.cut_connection:
                return None
            raise after.error()
        return response

    def _resumable_chunk(self, req: RawRequest, upload_id: str) -> RawResponse | None:
        session = self._uploads.get(upload_id)
        assert session is not None
        done = add_chunk(session, req.headers.get("content-range"), req.body)
        if not done:
            headers = {"Range": f"bytes=0-{len(session.data) - 1}"} if session.data else {}
            return RawResponse(308, b"", headers)
        self._uploads.close(upload_id)
        spec = self.discovery.by_id[session.method_id]
        upload = Upload(session.metadata, bytes(session.data), session.media_type)
        call = Call(
            spec,
            session.path_params,
            session.query,
            req.headers,
            req.body,
            session.metadata,
            self.base_url,
            upload,
        )
        wanted = session.query.get("fields")
        return self._run(call, fieldmask.parse(wanted[0]) if wanted else None)

    def _run(self, call: Call, mask: dict[str, Any] | None) -> RawResponse:
        handler = self._handlers.get(call.method_id)
        if handler is None:
            with self._log_lock:
                self.unimplemented.append(call.method_id)
            raise ApiError(501, f"{call.method_id} is valid but not implemented by the emulator.")
        reply: Reply = handler(call)
        if reply.data is not None:
            headers = dict(reply.headers)
            if reply.content_type:
                headers["Content-Type"] = reply.content_type
            return RawResponse(reply.status, reply.data, headers)
        payload = reply.json if reply.json is not None else {}
        if mask is None and reply.default_fields:
            mask = fieldmask.parse(reply.default_fields)
        payload = fieldmask.apply(payload, mask)
        # The standard `prettyPrint` parameter (default true: Google indents its answers). Without the
        # indentation json.dumps runs in C, so a client that asks for compact answers gets them fast.
        compact = (call.query.get("prettyPrint") or [""])[0].lower() == "false"
        return _json_response(reply.status, payload, reply.headers, pretty=not compact)


_INVALID = object()


def _json_response(status: int, payload: Any, headers: dict[str, str] | None = None, *, pretty: bool = True
                   ) -> RawResponse:
    body = json.dumps(payload, ensure_ascii=False, indent=2 if pretty else None,
                      separators=None if pretty else (",", ":")).encode("utf-8")
    out = {"Content-Type": "application/json; charset=UTF-8"}
    out.update(headers or {})
    return RawResponse(status, body, out)


# Google's front end refuses a request body over 10 MiB, whatever the API: HTTP 400, status
# INVALID_ARGUMENT, reason badRequest, "Request payload size exceeds the limit: 10485760 bytes." (the
# error as Sheets API users met it: jlolling/talendcomp_tGoogleSheet#1, SCRT-HQ/PSGSuite#62; "The API
# infrastructure does have a size limit for a single request ... break your work into multiple
# requests", Google's reply in googleworkspace/dotnet-samples#23). Uploads' media are not JSON bodies.
PAYLOAD_LIMIT = 10_485_760


def _error_response(err: ApiError) -> RawResponse:
    return _json_response(err.code, err.body(), err.headers)
