"""`tidtam alerts`: --dry-run shows what would go and why; without it, mails go to the outbox once."""

from __future__ import annotations

from click.testing import CliRunner

from ingest.cli.alerts import alerts_command

CONFIG = """\
campaign: {id: cli-test, title: ทดสอบ}
units: {registry: province, within: ["95", "96"], contacts: contacts.csv}
sources:
  form: {backend: forms_export, path: responses.csv}
  uploads: {backend: local_folder, path: uploads}
deliverables:
  - {id: questionnaire, title: แบบสอบถาม, source: form, kind: response, expected: 10, due: 7 พ.ย. 2565,
     unit_question: จังหวัด, link: "https://forms.gle/EXAMPLE"}
  - {id: photos, title: ภาพถ่าย, source: uploads, kind: photo, expected: 5, due: 15 พ.ย. 2565}
warehouse: {backend: xlsx, path: warehouse.xlsx}
state: {path: state.sqlite}
mail:
  backend: outbox
  outbox: outbox
  sender: "ทีมติดตาม <tidtam@example.go.th>"
  coordinators: [cdi@example.go.th]
  alerts: {stages: [-3, -1, 1], daily_budget: 100}
"""


def test_dry_run_then_send_once(tmp_path):
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "contacts.csv").write_text("code,emails\n95,cdd95@example.go.th\n96,not-an-address\n", encoding="utf-8")
    (tmp_path / "responses.csv").write_text("ประทับเวลา,จังหวัด\n", encoding="utf-8")
    (tmp_path / "uploads").mkdir()
    args = ["--config", str(tmp_path / "config.yaml"), "--as-of", "2022-11-04T09:00"]
    runner = CliRunner()

    dry = runner.invoke(alerts_command, [*args, "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "questionnaire before_3d (deadline 7 พ.ย. 65)" in dry.output and "no address" in dry.output
    assert not (tmp_path / "outbox").exists()

    sent = runner.invoke(alerts_command, args, catch_exceptions=False)
    assert sent.exit_code == 0, sent.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2  # the digest and unit 95's reminder
    again = runner.invoke(alerts_command, args, catch_exceptions=False)
    assert again.exit_code == 0 and len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def test_help_has_an_example():
    result = CliRunner().invoke(alerts_command, ["--help"])
    assert result.exit_code == 0 and "Example: tidtam alerts" in result.output
