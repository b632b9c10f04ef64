"""The `google:` config section and the wiring of the Google backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from connectors.google_drive import DriveSource
from connectors.google_forms import FormsApiSource, FormsSheetSource
from connectors.google_settings import GoogleSettings
from connectors.google_sheets import GoogleSheetsWarehouse
from ingest.backends import build_backends
from ingest.config import campaign_from_mapping
from ingest.demo import DEMO_CONFIG
from ingest.errors import ConfigError
from tests.emulator import service_account_info


def google_config(tmp_path: Path, **google) -> dict:
    (tmp_path / "contacts.csv").write_text("code,emails\n95,a@example.com\n", encoding="utf-8")
    raw = yaml.safe_load(DEMO_CONFIG)
    raw["sources"] = {"questionnaire_form": {"backend": "forms_api", "form_id": "1Form"},
                      "sheet_form": {"backend": "forms_sheet", "spreadsheet_id": "1Sheet"},
                      "uploads": {"backend": "drive", "folder_id": "1Folder"}}
    raw["warehouse"] = {"backend": "google_sheets", "spreadsheet_id": "1Warehouse"}
    raw["google"] = google
    return raw


def test_settings_are_parsed_and_paths_resolved(tmp_path):
    raw = google_config(tmp_path, credentials="keys/sa.json", subject="admin@example.go.th", max_attempts=3,
                        max_retry_seconds=30, timeout_seconds=20, api_base_url="http://127.0.0.1:9/",
                        drive_requests_per_minute=12000)
    campaign = campaign_from_mapping(raw, base_dir=tmp_path)
    assert campaign.google == GoogleSettings(credentials=str(tmp_path / "keys/sa.json"), subject="admin@example.go.th",
                                             max_attempts=3, max_retry_seconds=30.0, timeout_seconds=20.0,
                                             api_base_url="http://127.0.0.1:9", drive_requests_per_minute=12000)


@pytest.mark.parametrize(("google", "problem"), [
    ({"credentials": 3}, "google.credentials: 3 must be the path"),
    ({"subject": "admin"}, "google.subject: 'admin' must be the e-mail address"),
    ({"max_attempts": 0}, "google.max_attempts: 0 must be a whole number from 1 to 20"),
    ({"max_attempts": 2.5}, "google.max_attempts: 2.5 must be a whole number"),
    ({"timeout_seconds": "x"}, "google.timeout_seconds: 'x' must be a number"),
    ({"api_base_url": "ftp://x"}, "google.api_base_url: 'ftp://x' must be a URL"),
    ({"drive_requests_per_minute": 0}, "google.drive_requests_per_minute: 0 must be a whole number of at least 1"),
    ({"key": "x"}, "google.key: is not a google setting"),
])
def test_bad_settings_name_their_key(tmp_path, google, problem):
    with pytest.raises(ConfigError) as caught:
        campaign_from_mapping(google_config(tmp_path, **google), base_dir=tmp_path)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_backends_are_wired_from_the_config(tmp_path):
    key = tmp_path / "sa.json"
    key.write_text(json.dumps(service_account_info("http://127.0.0.1:9/token")))
    campaign = campaign_from_mapping(google_config(tmp_path, credentials="sa.json", api_base_url="http://127.0.0.1:9"),
                                     base_dir=tmp_path)
    backends = build_backends(campaign)
    assert isinstance(backends.responses["questionnaire_form"], FormsApiSource)
    assert isinstance(backends.responses["sheet_form"], FormsSheetSource)
    assert isinstance(backends.uploads["uploads"], DriveSource)
    assert isinstance(backends.warehouse, GoogleSheetsWarehouse)
    shared = {backends.responses["questionnaire_form"].api, backends.uploads["uploads"].api, backends.warehouse.api}
    assert shared == {backends.google}  # one client factory, one call counter per campaign
    assert backends.api_calls() == {}
    assert backends.warehouse.pacer.per_minute == 60  # Sheets' write quota unless the config says otherwise


def test_a_missing_key_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    campaign = campaign_from_mapping(google_config(tmp_path, credentials="missing.json"), base_dir=tmp_path)
    with pytest.raises(ConfigError, match="google.credentials: service-account key .*missing.json does not exist"):
        build_backends(campaign)
