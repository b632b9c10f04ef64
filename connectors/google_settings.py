"""The config's `google:` section as the Google connectors read it: the key, delegation, retry bounds.

Its own module, free of the Google libraries, so the campaign model can hold it without importing them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GoogleSettings:
    """Settings shared by the Google backends (ingest.config builds it; `credentials` is already an
    absolute path). None means "not set": the key then comes from GOOGLE_APPLICATION_CREDENTIALS
    and the retry bounds from connectors.google_api.RetryPolicy."""

    credentials: str | None = None  # the service account's JSON key file
    subject: str | None = None  # the Workspace user the service account acts as (domain-wide delegation)
    api_base_url: str | None = None  # undocumented: tests point the clients at the local emulator
    max_attempts: int | None = None
    max_retry_seconds: float | None = None
    timeout_seconds: float | None = None
    # Drive requests a minute, kept on our side (connectors.pacing): for a project that keeps Drive's
    # older quota of 12,000 queries a minute. None: no pacing (a project created since May 2026 has
    # 325,000 quota units a minute per user; over a quota Drive answers 403/429, which are retried).
    drive_requests_per_minute: int | None = None
