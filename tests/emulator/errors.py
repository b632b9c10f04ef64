"""Google's JSON error envelope, shared by every emulated API.

Google answers errors as ``{"error": {"code", "message", "status", "errors": [...]}}``. The newer
APIs (Sheets, Forms) often omit ``errors``; we always include it because client retry logic
(googleapiclient's ``_should_retry_response``) reads ``errors[0].reason`` and it does no harm.
"""

from __future__ import annotations

from typing import Any

# HTTP status -> google.rpc canonical code name, as Google puts it in error.status.
STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# Default (reason, domain, message) per status when a caller gives none.
DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: ("badRequest", "global", "Bad Request"),
    401: ("authError", "global", "Request had invalid authentication credentials."),
    403: ("forbidden", "global", "The caller does not have permission"),
    404: ("notFound", "global", "Requested entity was not found."),
    409: ("conflict", "global", "Conflict"),
    429: ("rateLimitExceeded", "usageLimits", "Rate Limit Exceeded"),
    500: ("backendError", "global", "Internal Error"),
    501: ("notImplemented", "global", "Method not implemented by the emulator."),
    502: ("backendError", "global", "Bad Gateway"),
    503: ("backendError", "global", "The service is currently unavailable."),
    504: ("backendError", "global", "Deadline exceeded"),
}

# Reasons that live in the usageLimits domain on real Google errors.
USAGE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded", "quotaExceeded"}


class ApiError(Exception):
    """Raised by handlers; the server turns it into Google's error response."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        reason: str | None = None,
        domain: str | None = None,
        location: str | None = None,
        location_type: str | None = None,
        headers: dict[str, str] | None = None,
        status: str | None = None,
    ) -> None:
        default_reason, default_domain, default_message = DEFAULTS.get(code, ("unknown", "global", "Error"))
        self.code = code
        self.message = message or default_message
        self.reason = reason or default_reason
        if domain is None:
            domain = "usageLimits" if self.reason in USAGE_LIMIT_REASONS else default_domain
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.headers = dict(headers or {})
        # Google's canonical name when it differs from the HTTP code's usual one: Gmail's 400
        # failedPrecondition carries FAILED_PRECONDITION (see gmail.py), injected faults included.
        if status is None and self.reason == "failedPrecondition":
            status = "FAILED_PRECONDITION"
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        super().__init__(f"{code} {self.reason}: {self.message}")

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"message": self.message, "domain": self.domain, "reason": self.reason}
        if self.location:
            detail["location"] = self.location
            detail["locationType"] = self.location_type or "parameter"
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [detail],
                "status": self.status,
            }
        }


def invalid_argument(message: str, *, location: str | None = None) -> ApiError:
    return ApiError(400, message, reason="invalid" if location else "badRequest", location=location)


def not_found(message: str, *, location: str | None = None) -> ApiError:
    return ApiError(404, message, reason="notFound", location=location)
