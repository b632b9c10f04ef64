"""HTTP plumbing: a ThreadingHTTPServer on loopback that hands raw requests to a dispatcher."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RawRequest:
    method: str
    target: str  # path + query as sent, still percent-encoded
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class RawResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def method_override(request: RawRequest) -> RawRequest:
    """The request the client meant when it tunnels a method through POST.

    googleapiclient (http.py, `HttpRequest.execute`) sends a GET whose URI is longer than
    MAX_URI_LENGTH (2048) as `POST` with `X-HTTP-Method-Override: GET`, the query string moved into
    an `application/x-www-form-urlencoded` body; Google's front ends honour the header. Without this a
    long `files.list` would be routed as `files.create`.
    """
    override = request.headers.get("x-http-method-override", "").strip().upper()
    if request.method != "POST" or not override:
        return request
    target = request.target
    headers = dict(request.headers)
    headers.pop("x-http-method-override")
    body = request.body
    if "x-www-form-urlencoded" in headers.get("content-type", "") and body:
        target += ("&" if "?" in target else "?") + body.decode("ascii", "replace")
        body = b""
        headers.pop("content-type")
        headers["content-length"] = "0"
    return RawRequest(override, target, headers, body)


# None means "drop the connection without answering" (fault injection).
Dispatcher = Callable[[RawRequest], RawResponse | None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Google's frontends
    timeout = 30  # an idle keep-alive connection must not pin a thread forever
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = method_override(
            RawRequest(
                method=self.command,
                target=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        )
        response = self.server.dispatcher(request)
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        headers = {k.lower(): (k, v) for k, v in response.headers.items()}
        for key, value in headers.values():
            self.send_header(key, value)
        if "content-length" not in headers:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # the emulator keeps its own request log

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the body until
        # the client's delayed ACK (~40 ms), which would add to every download a latency Google has not.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive handler threads must not block stop()
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._open_lock:
            if add:
                self._open.add(conn)
            else:
                self._open.discard(conn)

    def close_all(self) -> None:
        with self._open_lock:
            conns = list(self._open)
            self._open.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class LoopbackServer:
    """Start/stop a dispatcher on 127.0.0.1 in a background thread."""

    def __init__(self, dispatcher: Dispatcher, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator only listens on loopback")
        self._dispatcher = dispatcher
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = _Server(self._address, self._dispatcher)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="google-emulator",
            daemon=True,
        )
        self._thread.start()
        return int(self._server.server_address[1])

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_all()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None
