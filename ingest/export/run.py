"""`tidtam export`: one snapshot of the stored state, written as the analysts' files, then the manifest.

The output folder is empty or holds an earlier export (its manifest lists what it wrote, and only
those files are replaced); any other folder is refused, so an export never mixes with someone's files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.base import UploadsSource
from ingest.campaign import Campaign
from ingest.errors import InputError
from ingest.export import compendium, manifest, questionnaire
from ingest.export.frames import analysis_frames
from ingest.export.photo_bytes import PhotoBytes
from ingest.export.photos import export_photos
from ingest.export.private import pseudonymise
from ingest.export.pseudonym import Pseudonymiser, key_from_environment
from ingest.export.snapshot import load_snapshot
from ingest.export.tables import write_tables

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
TABLES_FOLDER = "tables"


@dataclass
class ExportReport:
    out: Path
    as_of: datetime
    files: list[Path] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    skipped_photos: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.files)


def _open_uploads(campaign: Campaign) -> Callable[[], Mapping[str, UploadsSource]]:
    def open_sources() -> Mapping[str, UploadsSource]:
        from ingest.backends import build_backends  # only when a photo must be read (it may open Google)

        return build_backends(campaign, email=False).uploads
    return open_sources


def prepare_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder (it is created if missing)")
    out.mkdir(parents=True, exist_ok=True)
    earlier = manifest.previous_files(out)
    if not earlier and any(out.iterdir()):
        raise InputError(f"--out {out} is not empty and holds no earlier tidtam export (no {manifest.FILE_NAME}); "
                         "give an empty or new folder")
    for path in earlier:
        resolved = path.resolve()
        if out.resolve() in resolved.parents and resolved.is_file():
            resolved.unlink()
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def export(campaign: Campaign, out: Path, *, as_of: datetime | None = None, pseudonymised: bool = False,
           progress: Progress | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
           open_sources: Callable[[], Mapping[str, UploadsSource]] | None = None,
           environ: dict[str, str] | None = None) -> ExportReport:
    key = key_from_environment(environ) if pseudonymised else None  # before any work: a missing key stops here
    snapshot = load_snapshot(campaign, as_of)
    if key is not None:
        snapshot = pseudonymise(snapshot, Pseudonymiser(key))
    prepare_folder(out)
    report = ExportReport(out, snapshot.as_of)
    frames = analysis_frames(snapshot)
    report.files += write_tables(frames, out / TABLES_FOLDER, title=campaign.title, pseudonymised=pseudonymised)
    data, records = compendium.build_compendium(snapshot, pseudonymised=pseudonymised)
    report.files.append(_write(out / compendium.FILE_NAME, data))
    data, responses = questionnaire.build_questionnaire(snapshot)
    report.files.append(_write(out / questionnaire.FILE_NAME, data))
    reader = PhotoBytes(snapshot.files, Path(f"{campaign.state_path}.export-cache"),
                        open_sources or _open_uploads(campaign))
    photos = export_photos(snapshot, out, reader, pseudonymised=pseudonymised, progress=progress)
    report.files += photos.files
    report.skipped_photos = photos.skipped
    evaluation = snapshot.evaluation
    report.counts = {
        "units": len(campaign.units), "units_complete": evaluation.rates.units_complete,
        "responses": len(snapshot.tables.responses), "responses_counted": responses,
        "files": len(snapshot.tables.files), "records_in_compendium": records,
        "photos_exported": photos.copied, "photos_downloaded": reader.downloads,
        "photos_skipped": len(photos.skipped), "problems": len(snapshot.tables.problems)}
    data_manifest = manifest.manifest(
        out, report.files, campaign={"id": campaign.id, "title": campaign.title}, as_of=snapshot.as_of,
        exported_at=clock(), pseudonymised=pseudonymised, counts=report.counts)
    if photos.skipped:
        data_manifest["photos_skipped"] = photos.skipped
    report.files.append(manifest.write_manifest(out, data_manifest))
    return report


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
