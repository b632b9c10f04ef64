"""manifest.json: every file of the export with its size and SHA-256, what it was made from, and the
counts. `exported_at` is the only value that differs between two exports of the same state."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

FILE_NAME = "manifest.json"


def _version() -> str:
    try:
        return version("tidtam")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(out: Path, files: list[Path], *, campaign: dict[str, str], as_of: datetime, exported_at: datetime,
             pseudonymised: bool, counts: dict[str, Any]) -> dict[str, Any]:
    return {
        "campaign": campaign,
        "as_of": as_of.isoformat(),
        "exported_at": exported_at.isoformat(),
        "tidtam_version": _version(),
        "pseudonymised": pseudonymised,
        "counts": counts,
        "files": [{"path": p.relative_to(out).as_posix(), "size": p.stat().st_size, "sha256": sha256_of(p)}
                  for p in sorted(files, key=lambda p: p.relative_to(out).as_posix())],
    }


def write_manifest(out: Path, data: dict[str, Any]) -> Path:
    path = out / FILE_NAME
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def previous_files(out: Path) -> list[Path]:
    """The files a previous export wrote here (from its manifest), so that a new export replaces them
    and nothing stale stays behind; [] when there is none or it cannot be read."""
    path = out / FILE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [out / entry["path"] for entry in data.get("files", [])]
    except (OSError, ValueError, KeyError, TypeError):
        return []
