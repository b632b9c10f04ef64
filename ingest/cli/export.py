"""`tidtam export`: the analysts' files from what the last sync stored (ingest.export)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ingest.cli.options import as_of_option, config_option


@click.command("export")
@config_option
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Folder to write to (new, empty, or an earlier export's).")
@as_of_option("Export what had arrived by this time [default: the last sync's as-of].")
@click.option("--pseudonymise/--no-pseudonymise", default=False, show_default=True,
              help="Replace names and e-mails with stable pseudonyms (key: env TIDTAM_PSEUDONYM_KEY).")
def export_command(config: Path, out: Path, as_of: datetime | None, pseudonymise: bool) -> None:
    """Write analysis tables, the focus-group compendium, the questionnaire summary and photos.

    Reads only the state of the last sync (run `tidtam sync` first); photos on Drive are downloaded
    once and cached beside the state file.

    Example: tidtam export --config config.yaml --out export-2565-11-16 --pseudonymise
    """
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest.jobs import export_job

    console, err_console = Console(), Console(stderr=True, soft_wrap=True)
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(f"copying {what}", total=total)
            bar.update(tasks[what], completed=done)

        report = export_job(config, out, as_of=as_of, pseudonymise=pseudonymise, progress=progress)
    counts = report.counts
    console.print(f"exported to {out}: {len(report.files)} files, {report.size / 2**20:.1f} MiB "
                  f"in {time.perf_counter() - started:.1f} s (as of {report.as_of:%Y-%m-%d %H:%M})")
    console.print(f"records in the compendium: {counts['records_in_compendium']}, counted responses: "
                  f"{counts['responses_counted']}, photos: {counts['photos_exported']}"
                  + (" [pseudonymised]" if pseudonymise else ""))
    for skipped in report.skipped_photos:
        err_console.print(f"[yellow]photo not exported:[/] {skipped}")
