"""The backend registry agrees with the config schema, the wiring and `tidtam doctor`, entry by entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from connectors.base import Checkable
from connectors.google_auth import SCOPES
from ingest.alerts.policy import MAIL_BACKENDS
from ingest.backends import build_backends, build_mailer
from ingest.config import campaign_from_mapping
from ingest.config_schema import SourceSection, WarehouseSection
from ingest.demo import DEMO_CONFIG
from ingest.doctor import google_backends
from ingest.errors import ConfigError
from ingest.registry import BACKENDS, Backend, names
from tests.emulator import service_account_info

ENTRIES = [pytest.param(entry, id=name) for name, entry in BACKENDS.items()]
# The demo config's source that each source role replaces.
DEMO_SOURCE = {"responses": "questionnaire_form", "uploads": "uploads"}
ROLE_METHOD = {"responses": "responses", "uploads": "files", "warehouse": "write", "mailer": "send"}


def config_using(entry: Backend, tmp_path: Path) -> dict[str, Any]:
    """The demo config with `entry` in its role, every required key given; a key file for Google."""
    (tmp_path / "contacts.csv").write_text("code,emails\n95,a@example.com\n", encoding="utf-8")
    (tmp_path / "sa.json").write_text(json.dumps(service_account_info("http://127.0.0.1:9/token")), encoding="utf-8")
    raw = yaml.safe_load(DEMO_CONFIG)
    raw["google"] = {"credentials": "sa.json", "api_base_url": "http://127.0.0.1:9"}
    settings = {"backend": entry.name, **{key: f"given-{key}" for key in entry.required}}
    if entry.role == "mailer":
        raw["mail"]["backend"] = entry.name
        raw["mail"]["smtp"] = {"host": "127.0.0.1", "security": "none"} if entry.name == "smtp" else None
        raw["mail"] = {k: v for k, v in raw["mail"].items() if v is not None}
    elif entry.role == "warehouse":
        raw["warehouse"] = settings
    else:
        raw["sources"][DEMO_SOURCE[entry.role]] = settings
    return raw


def test_the_schema_accepts_exactly_the_registry_names():
    assert get_args(SourceSection.model_fields["backend"].annotation) == names("responses", "uploads")
    assert get_args(WarehouseSection.model_fields["backend"].annotation) == names("warehouse")
    assert names("mailer") == MAIL_BACKENDS  # the mail section is validated by ingest.alerts.policy
    assert set(names("responses", "uploads", "warehouse", "mailer")) == set(BACKENDS)


@pytest.mark.parametrize("entry", ENTRIES)
def test_each_entry_is_consistent(entry: Backend):
    assert entry.name and entry.role in ("responses", "uploads", "warehouse", "mailer")
    assert entry.scopes is None or entry.scopes in SCOPES
    section = WarehouseSection if entry.role == "warehouse" else SourceSection
    assert entry.role != "mailer" or entry.required == ()  # mail keys are checked by ingest.alerts.policy
    for key in entry.required:
        assert key in section.model_fields, f"{entry.name} requires {key}, which the {section.label} section lacks"


@pytest.mark.parametrize("entry", ENTRIES)
def test_each_entry_builds_from_its_config_and_doctor_checks_it_when_it_has_scopes(entry: Backend, tmp_path):
    campaign = campaign_from_mapping(config_using(entry, tmp_path), base_dir=tmp_path)
    if entry.role == "mailer":
        built: Any = build_mailer(campaign)
    else:
        backends = build_backends(campaign, email=False)
        role = {"responses": backends.responses, "uploads": backends.uploads}
        built = backends.warehouse if entry.role == "warehouse" else role[entry.role][DEMO_SOURCE[entry.role]]
        # doctor's access check is the connector's check(): every Google backend has one, no other does.
        assert isinstance(built, Checkable) == (entry.scopes is not None)
    assert callable(getattr(built, ROLE_METHOD[entry.role]))
    assert (entry in google_backends(campaign)) == (entry.scopes is not None)


@pytest.mark.parametrize("entry", [pytest.param(e, id=n) for n, e in BACKENDS.items() if e.required])
def test_each_required_key_is_required_by_the_config(entry: Backend, tmp_path):
    for key in entry.required:
        raw = config_using(entry, tmp_path)
        section = raw["warehouse"] if entry.role == "warehouse" else raw["sources"][DEMO_SOURCE[entry.role]]
        del section[key]
        with pytest.raises(ConfigError) as caught:
            campaign_from_mapping(raw, base_dir=tmp_path)
        assert any(p.endswith(f".{key}: is required for backend {entry.name}") for p in caught.value.problems)
