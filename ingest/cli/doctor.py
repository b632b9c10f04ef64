"""The `tidtam doctor` command (registered on the CLI group in ingest.cli.main)."""

from __future__ import annotations

from pathlib import Path

import click

from ingest.cli.options import config_option


@click.command("doctor")
@config_option
def doctor_command(config: Path) -> None:
    """Check the Google key, its scopes, and access to every configured form, folder and spreadsheet.

    Exits with 2 if anything needs fixing.

    Example: tidtam doctor --config config.yaml
    """
    from ingest.jobs import doctor_job

    findings = doctor_job(config)
    for finding in findings:
        click.echo(f"{'✓' if finding.ok else '✗'} {finding.subject}: {finding.detail}")
    if not all(f.ok for f in findings):
        raise SystemExit(2)
