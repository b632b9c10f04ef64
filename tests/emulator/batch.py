"""Google's HTTP batch (multipart/mixed) as googleapiclient's BatchHttpRequest sends it.

Each part is an `application/http` request; the emulator runs each through the normal pipeline
(so every inner call is routed, logged, faulted and validated on its own) and answers one part per
request with Content-ID `<response-ID>`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from http.client import responses as reasons

from .errors import ApiError
from .server import RawRequest, RawResponse

MAX_PARTS = 100  # Google's per-batch limit


def run_batch(req: RawRequest, dispatch: Callable[[RawRequest], RawResponse | None]) -> RawResponse | None:
    content_type = req.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/mixed"):
        raise ApiError(400, "Batch requests must be multipart/mixed.")
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + req.body
    )
    parts = list(msg.iter_parts())
    if len(parts) > MAX_PARTS:
        raise ApiError(400, f"A batch can hold at most {MAX_PARTS} requests.")
    boundary = "batch_" + uuid.uuid4().hex
    out: list[bytes] = []
    for part in parts:
        content_id = part.get("Content-ID", "")
        inner = _parse_inner(part.get_payload(decode=True) or b"", req.headers)
        response = dispatch(inner)
        if response is None:
            return None  # a cut connection drops the whole batch
        response_id = "<response-" + content_id.strip("<>") + ">"
        head = [f"HTTP/1.1 {response.status} {reasons.get(response.status, '')}"]
        for k, v in response.headers.items():
            if k.lower() != "content-length":
                head.append(f"{k}: {v}")
        head.append(f"Content-Length: {len(response.body)}")
        embedded = ("\r\n".join(head) + "\r\n\r\n").encode() + response.body
        out.append(
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {response_id}\r\n\r\n".encode()
            + embedded
            + b"\r\n"
        )
    out.append(f"--{boundary}--\r\n".encode())
    return RawResponse(200, b"".join(out), {"Content-Type": f"multipart/mixed; boundary={boundary}"})


def _parse_inner(data: bytes, outer_headers: dict[str, str]) -> RawRequest:
    head, _, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    method, target, *_ = lines[0].split(" ")
    headers = {}
    if "authorization" in outer_headers:
        headers["authorization"] = outer_headers["authorization"]
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return RawRequest(method.upper(), target, headers, body.rstrip(b"\n") if body.strip() else b"")
