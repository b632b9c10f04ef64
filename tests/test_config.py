"""Config errors name the key path and the problem, all at once; the CLI exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ingest.config import campaign_from_mapping, load_campaign
from ingest.demo import DEMO_CONFIG
from ingest.errors import ConfigError


def base() -> dict:
    return yaml.safe_load(DEMO_CONFIG)


def problems_of(config: dict, tmp_path: Path) -> list[str]:
    (tmp_path / "contacts.csv").write_text("code,emails\n95,a@example.com\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        campaign_from_mapping(config, base_dir=tmp_path)
    return caught.value.problems


def test_demo_config_is_valid(tmp_path):
    (tmp_path / "contacts.csv").write_text("code,emails\n95,a@example.com\n", encoding="utf-8")
    campaign = campaign_from_mapping(base(), base_dir=tmp_path)
    assert len(campaign.units) == 76
    assert [d.id for d in campaign.deliverables] == ["questionnaire", "record", "photos"]
    assert campaign.deliverable("record").due_at.isoformat() == "2022-11-15T23:59:59+07:00"
    assert campaign.deliverable("questionnaire").opens_at.isoformat() == "2022-11-01T00:00:00+07:00"
    assert campaign.unit("95").emails == ("a@example.com",)


EDITS = {
    "bad month": (lambda c: c["deliverables"][1].update(due="2565-13-01"),
                  'deliverables[1].due: \'2565-13-01\' is not a date'),
    "unknown kind": (lambda c: c["deliverables"][2].update(kind="picture"), "deliverables[2].kind: 'picture' is not one of"),
    "unknown source": (lambda c: c["deliverables"][0].update(source="form2"), "deliverables[0].source: 'form2' is not a name"),
    "expected zero": (lambda c: c["deliverables"][2].update(expected=0), "deliverables[2].expected: 0 must be"),
    "bad backend": (lambda c: c["sources"]["uploads"].update(backend="dropbox"), "sources.uploads.backend: 'dropbox'"),
    "override of unknown unit": (lambda c: c["overrides"].append({"unit": "10", "excused": True}),
                                 "overrides[2].unit: '10' is not one of"),
    "bad regex": (lambda c: c["deliverables"][1]["rules"].update(consent_pattern="(ยินยอม"),
                  "deliverables[1].rules.consent_pattern: is not a valid regular expression"),
    "no units": (lambda c: c.pop("units"), "units: is required"),
    "write pace not a number": (lambda c: c.update(warehouse={"backend": "google_sheets", "spreadsheet_id": "1W",
                                                              "writes_per_minute": "fast"}),
                                "warehouse.writes_per_minute: 'fast' is not a positive whole number"),
}


@pytest.mark.parametrize(("edit", "message"), EDITS.values(), ids=EDITS.keys())
def test_each_problem_names_its_key(edit, message, tmp_path):
    config = base()
    edit(config)
    problems = problems_of(config, tmp_path)
    assert any(message in p for p in problems), problems


def test_all_problems_at_once(tmp_path):
    config = base()
    config["deliverables"][0]["due"] = "พรุ่งนี้"
    config["deliverables"][2]["kind"] = "video"
    assert len(problems_of(config, tmp_path)) == 2


def test_cli_exits_2_with_the_key_path(tmp_path):
    config = base()
    config["deliverables"][1]["due"] = "2565-13-01"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    (tmp_path / "contacts.csv").write_text("code,emails\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "ingest", "sync", "--config", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "deliverables[1].due" in result.stderr


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_campaign(tmp_path / "nope.yaml")


def test_the_shipped_config_yaml_is_valid(tmp_path):
    shipped = Path(__file__).parent.parent / "config.yaml"
    (tmp_path / "contacts.csv").write_text("code,emails\n95,cdd95@example.go.th\n", encoding="utf-8")
    campaign = campaign_from_mapping(yaml.safe_load(shipped.read_text(encoding="utf-8")), base_dir=tmp_path)
    assert campaign.sources["uploads"].backend == "drive"
    assert campaign.deliverable("photos").expected == 5
