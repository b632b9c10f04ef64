"""The offline demo workspace, mirrored into the Workspace emulator: the same responses as Forms
responses, the same upload tree as Drive files (same created times), a warehouse spreadsheet, a key
file, and `config.google.yaml` (the demo config on Google backends, pointed at the emulator)."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from connectors.forms_columns import EMAIL_HEADERS, TIMESTAMP_HEADERS
from connectors.forms_export import FormsExportSource
from ingest.demo import LIKERT_LABELS, QUESTIONS_LIKERT, DemoWorkspace, write_demo
from ingest.demo_forms import read_forms_download
from tests.emulator import Emulator, service_account_info

FORM_ID = "1FAIpQLSdemoQuestionnaire2565"
SA_EMAIL = "tidtam-test@tidtam-emulator.iam.gserviceaccount.com"


@dataclass
class GoogleWorkspace:
    demo: DemoWorkspace
    config: Path  # config.google.yaml
    form_id: str
    folder_id: str
    spreadsheet_id: str
    key_path: Path
    folders: dict[str, str] = field(default_factory=dict)  # folder path under the root → Drive id
    files: dict[str, str] = field(default_factory=dict)  # file path under the root → Drive id
    drive_id: str | None = None

    @property
    def root(self) -> Path:
        return self.demo.root


def seed_demo(emu: Emulator, root: Path, *, shared_drive: bool = False, demo: DemoWorkspace | None = None,
              state: str = "tidtam-state-google.sqlite", **google: Any) -> GoogleWorkspace:
    """Write the demo (unless given) and mirror it into `emu`; returns ids and the Google config."""
    demo = demo or write_demo(root)
    # The demo's review decisions are keyed by the offline sources' ids (export hash, file path), which
    # Google's differ from: both backends start without them, so their statuses compare equal.
    (demo.root / "tidtam-warehouse.xlsx").unlink(missing_ok=True)
    _seed_form(emu, demo.export)
    drive_id = emu.drive.add_shared_drive("ศูนย์ข้อมูล สพจ.") if shared_drive else None
    folder_id = emu.drive.add_folder("ถอดบทเรียน 2565 (ตัวอย่าง)", None, drive_id)
    folders, files = _seed_tree(emu, demo.root / "uploads", folder_id)
    spreadsheet_id = emu.sheets.create(title="tidtam warehouse")
    key_path = demo.root / "service-account.json"
    key_path.write_text(json.dumps(service_account_info(emu.token_uri, client_email=SA_EMAIL)), encoding="utf-8")
    config = write_google_config(demo.root, emu.base_url, folder_id=folder_id, spreadsheet_id=spreadsheet_id,
                                 state=state, **google)
    return GoogleWorkspace(demo, config, FORM_ID, folder_id, spreadsheet_id, key_path, folders, files, drive_id)


def write_google_config(root: Path, base_url: str, *, folder_id: str, spreadsheet_id: str,
                        state: str = "tidtam-state-google.sqlite", name: str = "config.google.yaml",
                        form_id: str = FORM_ID, **google: Any) -> Path:
    raw = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    raw["sources"] = {"questionnaire_form": {"backend": "forms_api", "form_id": form_id},
                      "uploads": {"backend": "drive", "folder_id": folder_id}}
    raw["warehouse"] = {"backend": "google_sheets", "spreadsheet_id": spreadsheet_id}
    raw["state"] = {"path": state}
    raw["google"] = {"credentials": "service-account.json", "api_base_url": base_url, "max_attempts": 3,
                     "max_retry_seconds": 2, "timeout_seconds": 10, **google}
    path = root / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _seed_form(emu: Emulator, export: Path) -> None:
    header, _ = read_forms_download(export.read_bytes())
    titles = [h for h in header if h.lower() not in TIMESTAMP_HEADERS | EMAIL_HEADERS]
    qids = {title: f"{0x1a2b3c00 + i:08x}" for i, title in enumerate(titles)}
    questions = [(qids[t], t, "choice", LIKERT_LABELS) if t in QUESTIONS_LIKERT else (qids[t], t, "text")
                 for t in titles]
    emu.forms.add_form(FORM_ID, "แบบสอบถาม ถอดบทเรียนอำเภอนำร่อง", questions)
    batch = FormsExportSource(export).responses()
    assert not batch.problems
    for index, response in enumerate(sorted(batch.responses, key=lambda r: r.created_at)):
        answers = {qids[title]: value for title, value in response.answers.items()}
        emu.forms.add_response(FORM_ID, f"ACYDBNj{index:05d}", response.created_at, answers,
                               respondent_email=response.respondent_email)


def _seed_tree(emu: Emulator, uploads: Path, root_id: str) -> tuple[dict[str, str], dict[str, str]]:
    folders: dict[str, str] = {}
    files: dict[str, str] = {}
    for path in sorted(uploads.rglob("*")):
        relative = path.relative_to(uploads).as_posix()
        parent = folders.get(path.parent.relative_to(uploads).as_posix(), root_id)
        created = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)  # the mirror's mtime is the upload time
        if path.is_dir():
            folders[relative] = emu.drive.add_folder(path.name, parent, created_time=created)
        else:
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            files[relative] = emu.drive.add_file(path.name, parent, path.read_bytes(), mime, created)
    return folders, files


def google_api(emu: Emulator, key_dir: Path, *, sleep: Any = None, subject: str | None = None,
               **settings: Any) -> Any:
    """A GoogleApi on the emulator with a runtime key (small retry bounds unless given)."""
    from connectors.google_api import open_google_api
    from connectors.google_settings import GoogleSettings

    key_path = key_dir / "service-account.json"
    if not key_path.exists():
        key_path.write_text(json.dumps(service_account_info(emu.token_uri, client_email=SA_EMAIL)), encoding="utf-8")
    google = GoogleSettings(**{"credentials": str(key_path), "api_base_url": emu.base_url, "max_attempts": 4,
                               "max_retry_seconds": 2, "timeout_seconds": 10, **settings})
    extra = {"sleep": sleep} if sleep is not None else {}
    return open_google_api(google, subject=subject, **extra)
