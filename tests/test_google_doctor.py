"""`tidtam doctor` on the emulator: every configured Google object checked, fixes spelled out."""

from __future__ import annotations

import base64
import json

import pytest
import requests
import yaml
from click.testing import CliRunner

from ingest.cli.doctor import doctor_command
from tests.emulator import Emulator
from tests.google_workspace import SA_EMAIL, seed_demo


@pytest.fixture(scope="module")
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


@pytest.fixture(scope="module")
def ws(emu, tmp_path_factory):
    return seed_demo(emu, tmp_path_factory.mktemp("doctor"))


def test_all_good(emu, ws):
    emu.reset_counts()
    result = CliRunner().invoke(doctor_command, ["--config", str(ws.config)])
    assert result.exit_code == 0, result.output
    assert f"✓ google.credentials: {ws.key_path}: service account {SA_EMAIL}" in result.output
    assert "✓ sources.questionnaire_form: form 'แบบสอบถาม ถอดบทเรียนอำเภอนำร่อง' is readable" in result.output
    assert "✓ sources.uploads: folder 'ถอดบทเรียน 2565 (ตัวอย่าง)' is readable" in result.output
    assert "✓ warehouse: spreadsheet is writable" in result.output
    assert "✓ scopes drive: granted: drive.readonly" in result.output
    calls = {k: v for k, v in emu.counts.items() if k != "oauth2.token"}
    assert calls == {"forms.forms.get": 1, "drive.files.get": 1, "sheets.spreadsheets.get": 1,
                     "sheets.spreadsheets.batchUpdate": 1}


def test_an_unshared_folder_exits_2_with_the_fix(emu, ws):
    emu.faults.add("drive.files.get", status=404, match={"path_contains": ws.folder_id})
    try:
        result = CliRunner().invoke(doctor_command, ["--config", str(ws.config)])
    finally:
        emu.faults.clear()
    assert result.exit_code == 2
    assert (f"✗ sources.uploads: Drive folder {ws.folder_id} was not found, or is not shared with {SA_EMAIL}"
            in result.output)
    assert "✓ sources.questionnaire_form" in result.output


def test_a_missing_key_exits_2(ws, tmp_path):
    config = ws.config.read_text(encoding="utf-8").replace("credentials: service-account.json",
                                                           f"credentials: {tmp_path / 'gone.json'}")
    path = ws.root / "config.nokey.yaml"
    path.write_text(config, encoding="utf-8")
    result = CliRunner().invoke(doctor_command, ["--config", str(path)])
    assert result.exit_code == 2 and "✗ google.credentials:" in result.output and "does not exist" in result.output


def test_a_refused_token_is_reported(emu, ws):
    emu.faults.add("oauth2.token", status=400, message="unauthorized_client")
    try:
        result = CliRunner().invoke(doctor_command, ["--config", str(ws.config)])
    finally:
        emu.faults.clear()
    assert result.exit_code == 2
    assert "✗ scopes forms: Google refused an access token" in result.output
    assert "access: not checked" in result.output


def _gmail_config(ws, sender: str) -> str:
    raw = yaml.safe_load(ws.config.read_text(encoding="utf-8"))
    raw["mail"] = {**raw["mail"], "backend": "gmail", "sender": sender}
    raw["mail"].pop("outbox", None)
    path = ws.root / "config.gmail.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


def test_gmail_delegation_is_checked_as_the_bare_sender_address(emu, ws):
    """Bug 3: the sender carries a display name; the delegated subject must be the bare address,
    which the emulator's token endpoint insists on, as Google's does."""
    emu.auth.workspace_domains = {"example.go.th"}
    emu.auth.grants.clear()
    try:
        result = CliRunner().invoke(doctor_command, [
            "--config", _gmail_config(ws, "ทีมติดตาม สถาบันการพัฒนาชุมชน <tidtam@example.go.th>")])
    finally:
        emu.auth.workspace_domains = set()
    assert result.exit_code == 0, result.output
    assert "✓ mail (gmail): granted: gmail.send as tidtam@example.go.th" in result.output
    (grant,) = [g for g in emu.auth.grants if g.subject]
    assert grant.subject == "tidtam@example.go.th" and grant.scopes == ("https://www.googleapis.com/auth/gmail.send",)


def test_gmail_sender_outside_the_delegated_domain_is_reported(emu, ws):
    emu.auth.workspace_domains = {"example.go.th"}
    try:
        result = CliRunner().invoke(doctor_command, [
            "--config", _gmail_config(ws, "ทีมติดตาม <tidtam@other.example.org>")])
    finally:
        emu.auth.workspace_domains = set()
    assert result.exit_code == 2
    assert "✗ mail (gmail): Google refused an access token for tidtam@other.example.org" in result.output
    assert "unauthorized_client" in result.output


@pytest.mark.parametrize("sub, error, status", [
    ("tidtam@example.go.th", None, 200),
    ("ทีมติดตาม <tidtam@example.go.th>", "invalid_request", 400),
    ("example.go.th", "invalid_request", 400),
    ("tidtam@elsewhere.example.com", "unauthorized_client", 401),
])
def test_the_token_endpoint_takes_only_a_bare_address_of_the_domain(emu, sub, error, status):
    """The emulator's token endpoint, spoken to directly: Google's answers for a bad delegated subject."""
    emu.auth.workspace_domains = {"example.go.th"}
    claims = {"iss": SA_EMAIL, "scope": "https://www.googleapis.com/auth/gmail.send", "sub": sub}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    try:
        reply = requests.post(emu.token_uri, timeout=5, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": f"e30.{payload}.sig"})
    finally:
        emu.auth.workspace_domains = set()
    assert reply.status_code == status
    if error:
        assert reply.json()["error"] == error
    if error == "invalid_request":
        assert reply.json()["error_description"].startswith("Invalid impersonation &quot;sub&quot; field: ")


def test_doctor_says_which_drive_log_it_reads_and_why(tmp_path):
    with Emulator() as emulator:
        shared = seed_demo(emulator, tmp_path / "member", shared_drive=True)
        result = CliRunner().invoke(doctor_command, ["--config", str(shared.config)])
        assert result.exit_code == 0, result.output
        assert "in shared drive" in result.output and "(member of the drive: read from the drive's" in result.output
        # The same folder, its drive now closed to the account: shared with it directly instead.
        emulator.drive.drives[shared.drive_id].members = {"admin@cdd.go.th"}
        emulator.drive.share(shared.folder_id, SA_EMAIL, "reader")
        result = CliRunner().invoke(doctor_command, ["--config", str(shared.config)])
        assert result.exit_code == 0, result.output
        assert "not a member of the drive, the folder is shared with the account directly" in result.output
        assert emulator.violations == []
