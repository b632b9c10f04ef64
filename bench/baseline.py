"""The naive sync tidtam is measured against: no state, no batching, no concurrency.

Every sync it reads the form's questions and every response page, lists every folder of the tree one
query at a time (Drive's default 100 items a page), downloads and inspects every file, then writes
the warehouse with gspread one `append_row` per row. It writes the same rows tidtam's warehouse
holds, so the two do the same work. At large scales it can run on a sample of each phase: each
phase's mean time per call, times that phase's exact call count, is the extrapolated time.
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.campaign import DocumentRules, PhotoRules
from ingest.file_checks import inspect_document, inspect_photo
from tests.emulator import build_service, gspread_client, service_account_credentials

SCOPES = ["https://www.googleapis.com/auth/drive.readonly", "https://www.googleapis.com/auth/forms.responses.readonly",
          "https://www.googleapis.com/auth/forms.body.readonly", "https://www.googleapis.com/auth/spreadsheets"]
DRIVE_PAGE = 100  # files.list's default pageSize
FORMS_PAGE = 5000  # responses.list's default (and maximum) page


@dataclass
class BaselineJob:
    base_url: str
    form_id: str
    folder_id: str
    spreadsheet_id: str  # an empty spreadsheet of its own
    folders: list[tuple[str, int]]  # every folder of the tree with its number of children
    files: list[tuple[str, str]]  # every file: (id, mime type)
    tabs: list[tuple[str, list[list[Any]]]]  # the rows tidtam's warehouse holds, per tab
    responses: int
    sample: int | None = None  # calls per phase; None runs every phase in full


@dataclass
class Phase:
    calls: int  # what a full run makes (exact)
    measured_calls: int = 0
    seconds: float = 0.0

    @property
    def estimated_seconds(self) -> float:
        if self.measured_calls >= self.calls:
            return self.seconds
        return self.seconds / max(self.measured_calls, 1) * self.calls


@dataclass
class BaselineResult:
    phases: dict[str, Phase] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    @property
    def calls(self) -> int:
        return sum(p.calls for p in self.phases.values())

    @property
    def seconds(self) -> float:
        return sum(p.estimated_seconds for p in self.phases.values())

    @property
    def sampled(self) -> bool:
        return any(p.measured_calls < p.calls for p in self.phases.values())


def naive_sync(job: BaselineJob) -> BaselineResult:
    creds = service_account_credentials(job.base_url + "/token", SCOPES)
    forms = build_service("forms", "v1", job.base_url, creds, timeout=60)
    drive = build_service("drive", "v3", job.base_url, creds, timeout=60)
    result = BaselineResult()
    limit = job.sample or math.inf

    phase = result.phases["forms"] = Phase(1 + max(1, math.ceil(job.responses / FORMS_PAGE)))
    started = time.perf_counter()
    forms.forms().get(formId=job.form_id).execute()
    token = None
    while True:
        page = forms.forms().responses().list(formId=job.form_id, pageToken=token).execute()
        phase.measured_calls += 1
        token = page.get("nextPageToken")
        if not token:
            break
    phase.measured_calls += 1
    phase.seconds = time.perf_counter() - started

    phase = result.phases["list"] = Phase(sum(max(1, math.ceil(n / DRIVE_PAGE)) for _, n in job.folders))
    started = time.perf_counter()
    listed: list[tuple[str, str]] = []
    queue = [job.folder_id] if job.sample is None else [f for f, _ in _spread(job.folders, job.sample)]
    while queue and phase.measured_calls < limit:
        folder = queue.pop(0)
        token = None
        while True:
            page = drive.files().list(q=f"'{folder}' in parents and trashed = false", pageToken=token,
                                      fields="nextPageToken,files(id,name,mimeType,md5Checksum,size,createdTime,"
                                             "parents)").execute()
            phase.measured_calls += 1
            for item in page.get("files", []):
                if item["mimeType"] == "application/vnd.google-apps.folder":
                    if job.sample is None:
                        queue.append(item["id"])
                else:
                    listed.append((item["id"], item["mimeType"]))
            token = page.get("nextPageToken")
            if not token:
                break
    phase.seconds = time.perf_counter() - started

    phase = result.phases["download"] = Phase(len(job.files))
    started = time.perf_counter()
    document, photo = DocumentRules(consent_pattern="ยินยอม"), PhotoRules(min_width=640, min_height=480)
    for file_id, mime in (listed if job.sample is None else _spread(job.files, job.sample)):
        content = drive.files().get_media(fileId=file_id).execute()
        phase.measured_calls += 1
        if mime.startswith("image/"):
            inspect_photo(content, photo)
        else:
            inspect_document(content, document)
    phase.seconds = time.perf_counter() - started

    rows = sum(len(r) for _, r in job.tabs)
    phase = result.phases["append"] = Phase(1 + len(job.tabs) + rows)
    started = time.perf_counter()
    book = gspread_client(job.base_url, creds).open_by_key(job.spreadsheet_id)
    phase.measured_calls += 1
    budget = limit
    for tab, tab_rows in job.tabs:
        if budget <= 0:
            break
        sheet = book.add_worksheet(tab, rows=1, cols=max((len(r) for r in tab_rows), default=1))
        phase.measured_calls += 1
        for row in tab_rows[: int(min(len(tab_rows), budget))]:
            sheet.append_row(row, value_input_option="RAW")
            phase.measured_calls += 1
        budget -= len(tab_rows) + 1
    phase.seconds = time.perf_counter() - started
    result.peak_rss_mb = peak_rss_mb()
    return result


def peak_rss_mb() -> float:
    """This process's peak RSS. Not getrusage's ru_maxrss where /proc has it: Linux keeps that across
    fork and exec, so a spawned child would report the bench's own peak (the emulator holds every file)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _spread(items: list[Any], count: int) -> list[Any]:
    """`count` items spread evenly over the list (so a sample mixes records and photos as the whole does)."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]
