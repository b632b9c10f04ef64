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
                                "warehouse.writes_per_minute: 'fast' must be a whole number of at least 1"),
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


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    """`tidtam ARGS` through the real entry point (errors become exit codes in `main`)."""
    from ingest.cli.main import main

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["tidtam", *args])
        with pytest.raises(SystemExit) as caught:
            main()
    return caught.value.code, capsys.readouterr().err


def write_config(config: dict, tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text("code,emails\n95,a@example.com\n", encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


UNKNOWN_KEYS = {
    "rules typo": (lambda c: c["deliverables"][1]["rules"].update(forbid_picture=False),
                   "deliverables[1].rules.forbid_picture: is not a document rules setting; "
                   "did you mean `forbid_pictures`?"),
    "top level": (lambda c: c.update(deliverable=[]), "deliverable: is not a top-level setting; "
                                                      "did you mean `deliverables`?"),
    "source": (lambda c: c["sources"]["uploads"].update(pth="x"), "sources.uploads.pth: is not a source setting; "
                                                                  "did you mean `path`?"),
    "mail": (lambda c: c["mail"]["alerts"].update(repeat_evry=2), "mail.alerts.repeat_evry: is not a known key; "
                                                                  "did you mean `repeat_every`?"),
    "photo rules": (lambda c: c["deliverables"][2]["rules"].update(min_widht=1), "did you mean `min_width`?"),
}


@pytest.mark.parametrize(("edit", "message"), UNKNOWN_KEYS.values(), ids=UNKNOWN_KEYS.keys())
def test_an_unknown_key_is_an_error_with_a_suggestion(edit, message, tmp_path):
    config = base()
    edit(config)
    assert any(message in p for p in problems_of(config, tmp_path)), problems_of(config, tmp_path)


# The seven wrong types that ended in a traceback (issue 13, item 4), and a string for the state mapping.
WRONG_TYPES = {
    "min_width": (lambda c: c["deliverables"][2]["rules"].update(min_width="640px"),
                  "deliverables[2].rules.min_width: '640px' must be a whole number of pixels"),
    "max_file_mb": (lambda c: c["deliverables"][1]["rules"].update(max_file_mb="25"),
                    "deliverables[1].rules.max_file_mb: '25' must be a number of megabytes"),
    "min_text_chars": (lambda c: c["deliverables"][1]["rules"].update(min_text_chars="many"),
                       "deliverables[1].rules.min_text_chars: 'many' must be a whole number"),
    "units.exclude": (lambda c: c["units"].update(exclude=10), "units.exclude: 10 must be a list of unit codes"),
    "overrides": (lambda c: c.update(overrides=5), "overrides: 5 must be a list of overrides"),
    "dedupe_key": (lambda c: c["deliverables"][0].update(dedupe_key=5),
                   "deliverables[0].dedupe_key: 5 must be a question, or a list of questions"),
    "parts": (lambda c: c["deliverables"][1]["rules"].update(parts=3), "deliverables[1].rules.parts: 3 must be a list"),
    "state as a string": (lambda c: c.update(state="other.sqlite"),
                          "state: 'other.sqlite' must be a mapping like `state: {path: tidtam-state.sqlite}`"),
}


@pytest.mark.parametrize(("edit", "message"), WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_a_wrong_type_exits_2_with_its_key_path(edit, message, tmp_path, capsys):
    config = base()
    edit(config)
    code, err = run_cli(["sync", "--config", str(write_config(config, tmp_path))], capsys)
    assert code == 2, err
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err
    assert not (tmp_path / ".lock").exists() and not list(tmp_path.glob("*.sqlite*"))


def test_an_impossible_yaml_date_is_a_config_error(tmp_path, capsys):
    # PyYAML turns an unquoted 2565-13-01 into a ValueError while loading, not a YAMLError.
    path = write_config(base(), tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("due: 15 พ.ย. 2565", "due: 2565-13-01", 1),
                    encoding="utf-8")
    code, err = run_cli(["sync", "--config", str(path)], capsys)
    assert code == 2 and "not valid YAML" in err, err
