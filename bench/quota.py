"""The time Google's documented per-user rate limits alone force on a sync's calls (issue 17 item 4).

`quota_bound_seconds(calls)` takes a scenario's calls, keyed as bench/scale.py counts them
(`drive.files.get (download)`, `forms.forms.responses.list`, `sheets.spreadsheets.values.batchUpdate`,
...), and returns the least wall time any client could make those calls in without exceeding a quota.
It does not count latency, bandwidth or CPU: only the quotas.

The model:
  * A per-minute quota is a rolling window: "the time period resets 1 minute after the first request in
    a rolling window" (https://developers.google.com/workspace/guides/quota-overview). So n requests
    against a limit of L a minute can start at t = 0 (the first L), 60 s (the next L), ...: the last one
    cannot start before floor((n - 1) / L) minutes. Fewer than L + 1 requests cost no quota time at all.
    (connectors/pacing.py's Pacer paces the warehouse's Sheets writes by the same window.)
  * Pools that do not depend on each other overlap: the Forms reads, the Drive reads (lists and
    downloads, one pool: Drive counts every request against the same per-user budget) and the Sheets
    reads (layout, review columns) can all run at once, so that phase takes the longest of them (max).
  * The Sheets writes come after: the warehouse rows are computed from what was read, so the write
    phase starts when the read phase ends and the two add up (sum).
  So  bound = max(forms, drive, sheets reads) + sheets writes.

The rates are per user per project, since a sync runs as one user (or one service account, which Google
counts as one user). Where a rate changed, the default is the one for a project created now; the older
rate is kept as LEGACY for comparison and printed beside it by bench/scale.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MINUTE = 60.0


@dataclass(frozen=True)
class Rates:
    """Requests a minute per user per project for each pool."""
    name: str
    drive: float
    sheets_read: float
    sheets_write: float
    forms_read: float
    forms_expensive_read: float


# Drive: projects created from 1 May 2026 get 325,000 quota units a minute per user per project
# (https://developers.google.com/workspace/drive/api/guides/limits; the change and its date:
# https://developers.google.com/workspace/tools-safety). The limits page does not say what one request
# costs in units (not found in the pages searched, Dec 2026); a counted request costs at least one unit,
# so 325,000 requests a minute is the most the quota can allow, and the bound below is the smallest the
# quota could force. That is the conservative choice for a bound we are measured against: if requests
# cost more than one unit the true bound is larger and our ratio better than printed.
DRIVE_UNITS_PER_MINUTE_PER_USER = 325_000
DRIVE_UNITS_PER_REQUEST = 1
# Before that date (and for older projects, kept "for at least 60 days"): 12,000 queries per 60 seconds
# per user (https://developers.google.com/drive/api/guides/limits, older version of the page).
DRIVE_LEGACY_QUERIES_PER_MINUTE_PER_USER = 12_000
# Sheets: 60 read requests and 60 write requests a minute per user per project
# (https://developers.google.com/workspace/sheets/api/limits).
SHEETS_READS_PER_MINUTE_PER_USER = 60
SHEETS_WRITES_PER_MINUTE_PER_USER = 60
# Forms: 390 reads a minute per user per project; `responses.list` is an "expensive read", 180 a minute
# per user per project (https://developers.google.com/workspace/forms/api/limits). Counted as two pools
# that overlap (the smaller bound, if Google counts an expensive read against both).
FORMS_READS_PER_MINUTE_PER_USER = 390
FORMS_EXPENSIVE_READS_PER_MINUTE_PER_USER = 180

CURRENT = Rates("project created now (Drive 325,000 units/min/user, 1 unit a request assumed)",
                drive=DRIVE_UNITS_PER_MINUTE_PER_USER / DRIVE_UNITS_PER_REQUEST,
                sheets_read=SHEETS_READS_PER_MINUTE_PER_USER, sheets_write=SHEETS_WRITES_PER_MINUTE_PER_USER,
                forms_read=FORMS_READS_PER_MINUTE_PER_USER,
                forms_expensive_read=FORMS_EXPENSIVE_READS_PER_MINUTE_PER_USER)
LEGACY = Rates("project older than May 2026 (Drive 12,000 queries/min/user)",
               drive=DRIVE_LEGACY_QUERIES_PER_MINUTE_PER_USER,
               sheets_read=SHEETS_READS_PER_MINUTE_PER_USER, sheets_write=SHEETS_WRITES_PER_MINUTE_PER_USER,
               forms_read=FORMS_READS_PER_MINUTE_PER_USER,
               forms_expensive_read=FORMS_EXPENSIVE_READS_PER_MINUTE_PER_USER)

SHEETS_READS = ("sheets.spreadsheets.get", "sheets.spreadsheets.values.get", "sheets.spreadsheets.values.batchGet")


def window_seconds(requests: int, per_minute: float) -> float:
    """When the last of `requests` can start under a rolling one-minute window of `per_minute`."""
    if requests <= 0:
        return 0.0
    return math.floor((requests - 1) / per_minute) * MINUTE


def _pools(calls: Mapping[str, int]) -> dict[str, int]:
    pools = dict.fromkeys(("drive", "forms_read", "forms_expensive_read", "sheets_read", "sheets_write"), 0)
    for name, count in calls.items():
        if name.startswith("drive."):
            pools["drive"] += count
        elif name.startswith("forms.") and name.endswith("responses.list"):
            pools["forms_expensive_read"] += count
        elif name.startswith("forms."):
            pools["forms_read"] += count
        elif name in SHEETS_READS:
            pools["sheets_read"] += count
        elif name.startswith("sheets."):
            pools["sheets_write"] += count
        else:
            raise ValueError(f"no documented quota pool for {name!r}")
    return pools


def quota_bound_seconds(calls: Mapping[str, int], rates: Rates = CURRENT) -> float:
    """max(Forms reads, Drive requests, Sheets reads) + Sheets writes, each from `window_seconds`."""
    pools = _pools(calls)
    reads = max(window_seconds(pools["forms_read"], rates.forms_read),
                window_seconds(pools["forms_expensive_read"], rates.forms_expensive_read),
                window_seconds(pools["drive"], rates.drive),
                window_seconds(pools["sheets_read"], rates.sheets_read))
    return reads + window_seconds(pools["sheets_write"], rates.sheets_write)
