"""Retries, error translation, call counting and key hygiene of the one Google client module."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests

from connectors.google_api import RefusedHostError
from connectors.google_auth import SCOPES, load_key
from connectors.google_drive import DriveSource
from connectors.google_settings import GoogleSettings
from ingest.errors import FatalSourceError, RetryableSourceError
from tests.emulator import Emulator
from tests.google_workspace import SA_EMAIL, google_api


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


class Sleeps(list):
    """Records requested waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def list_root(api, folder: str) -> object:
    drive = api.service("drive", "v3", SCOPES["drive"])
    return api.execute(drive.files().list(q=f"'{folder}' in parents and trashed = false", fields="files(id)"),
                       what=f"Drive folder {folder}")


def test_a_burst_of_429s_honours_retry_after_then_succeeds(emu, tmp_path):
    folder = emu.drive.add_folder("f")
    emu.faults.add("drive.files.list", status=429, times=2, retry_after=0.4)
    api = google_api(emu, tmp_path, max_attempts=5, max_retry_seconds=2)
    started = time.monotonic()
    assert list_root(api, folder) == {"files": []}
    elapsed = time.monotonic() - started
    assert 0.8 <= elapsed < 2.0  # waited what Google asked, twice, and no more than the budget
    assert api.counts["drive.files.list"] == 3


def test_retry_after_and_backoff_waits_are_recorded_and_bounded(emu, tmp_path):
    folder = emu.drive.add_folder("f")
    emu.faults.add("drive.files.list", status=503, times=3)
    sleeps = Sleeps()
    api = google_api(emu, tmp_path, sleep=sleeps, max_attempts=6, max_retry_seconds=60)
    list_root(api, folder)
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2] <= 30  # exponential, capped
    emu.faults.add("drive.files.list", status=403, reason="userRateLimitExceeded", times=1, retry_after=7)
    sleeps.clear()
    list_root(api, folder)
    assert len(sleeps) == 1 and sleeps[0] >= 7


def test_a_retry_after_beyond_the_budget_gives_up_at_once(emu, tmp_path):
    folder = emu.drive.add_folder("f")
    emu.faults.add("drive.files.list", status=429, retry_after=600)
    sleeps = Sleeps()
    api = google_api(emu, tmp_path, sleep=sleeps, max_attempts=5, max_retry_seconds=30)
    with pytest.raises(RetryableSourceError) as caught:
        list_root(api, folder)
    assert sleeps == [] and api.counts["drive.files.list"] == 1
    assert f"Drive folder {folder}" in str(caught.value) and "asked to wait 600 s" in str(caught.value)


def test_server_errors_and_dropped_connections_are_retried_within_bounds(emu, tmp_path):
    folder = emu.drive.add_folder("f")
    emu.faults.add("drive.files.list", cut_connection=True, times=2)  # httplib2 itself retries once
    api = google_api(emu, tmp_path, sleep=Sleeps())
    assert list_root(api, folder) == {"files": []}
    emu.faults.add("drive.files.list", status=500)
    with pytest.raises(RetryableSourceError, match="after 4 attempt"):
        list_root(api, folder)


def test_403_and_404_are_fatal_and_say_what_to_share(emu, tmp_path):
    api = google_api(emu, tmp_path, sleep=Sleeps())
    emu.faults.add("drive.files.list", status=403, times=1)
    with pytest.raises(FatalSourceError) as caught:
        list_root(api, "1AbCfolder")
    assert str(caught.value).startswith(f"Drive folder 1AbCfolder is not shared with {SA_EMAIL}: share it as Viewer")
    assert api.counts["drive.files.list"] == 1  # never retried
    emu.faults.add("drive.files.list", status=403, reason="accessNotConfigured", times=1,
                   message="Google Drive API has not been used in project 123 before or it is disabled.")
    with pytest.raises(FatalSourceError, match="API is not enabled"):
        list_root(api, "1AbCfolder")


def test_missing_scopes_and_refused_tokens_name_the_fix(emu, tmp_path):
    api = google_api(emu, tmp_path, sleep=Sleeps())
    forms_only = api.service("drive", "v3", SCOPES["forms"])  # a token without a Drive scope
    with pytest.raises(FatalSourceError, match="lacks the scope"):
        api.execute(forms_only.files().list(q="trashed = false", fields="files(id)"), what="Drive")
    emu.faults.add("oauth2.token", status=400, message="unauthorized_client")
    fresh = google_api(emu, tmp_path, sleep=Sleeps(), subject="admin@example.go.th")
    with pytest.raises(FatalSourceError, match="refused an access token for admin@example.go.th"):
        fresh.check_token(SCOPES["gmail"], what="gmail")


def test_the_key_never_appears_in_errors_or_logs(emu, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    api = google_api(emu, tmp_path, sleep=Sleeps())
    private = json.loads((tmp_path / "service-account.json").read_text())["private_key"]
    secret_line = private.splitlines()[5]
    emu.faults.add("drive.*", status=503)
    with pytest.raises(RetryableSourceError) as retry:
        DriveSource(api, "1folder").files()
    emu.faults.clear()
    emu.faults.add("oauth2.token", status=400)
    with pytest.raises(FatalSourceError) as refused:
        google_api(emu, tmp_path, sleep=Sleeps()).check_token(SCOPES["drive"], what="drive")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"type": "service_account", "client_email": SA_EMAIL, "token_uri": "x",
                                  "private_key": private[:200]}))
    with pytest.raises(FatalSourceError) as bad_key:
        load_key(GoogleSettings(credentials=str(broken))).credentials(SCOPES["drive"])
    texts = [str(retry.value), str(refused.value), str(bad_key.value), caplog.text, repr(load_key(
        GoogleSettings(credentials=str(tmp_path / "service-account.json"))))]
    assert not any(secret_line in t or "PRIVATE KEY" in t for t in texts)
    assert str(broken) in str(bad_key.value)


def test_key_file_problems_say_how_to_get_a_key(tmp_path):
    with pytest.raises(FatalSourceError, match="does not exist: create a JSON key"):
        load_key(GoogleSettings(credentials=str(tmp_path / "nope.json")))
    client = tmp_path / "client.json"
    client.write_text(json.dumps({"installed": {"client_id": "x"}}))
    with pytest.raises(FatalSourceError, match="is not a service-account key"):
        load_key(GoogleSettings(credentials=str(client)))
    with pytest.raises(FatalSourceError, match="no service-account key is configured"):
        load_key(GoogleSettings(), environ={})


def test_gspread_traffic_cannot_leave_the_base_url(emu, tmp_path):
    http = google_api(emu, tmp_path).sheets_http(SCOPES["sheets"])
    with pytest.raises(RefusedHostError):
        http.session.get("https://example.com/")
    book = emu.sheets.create(title="x")
    reply = http.session.get(f"https://sheets.googleapis.com/v4/spreadsheets/{book}", params={"fields": "spreadsheetId"})
    assert reply.json() == {"spreadsheetId": book}
    assert isinstance(http.session, requests.Session)
