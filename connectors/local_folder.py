"""A local folder of uploads (e.g. a Google Drive for desktop mirror) as an uploads source."""

from __future__ import annotations

import mimetypes
import os
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import FileListing, UploadedFile
from ingest.errors import FatalSourceError, ItemError

# Files that desktop tools leave behind, never uploads: Word lock files, Finder/Explorer metadata.
_IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
_GOOGLE_POINTERS = {".gdoc": "application/vnd.google-apps.document", ".gsheet": "application/vnd.google-apps.spreadsheet"}


class LocalFolderSource:
    """Lists every file under a root folder; the relative path is the file's id."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def files(self, since: str | None = None) -> FileListing:
        if not self.root.is_dir():
            raise FatalSourceError(f"upload folder {self.root} does not exist or is not a folder", source=str(self.root))
        found = []
        for folder, subfolders, names in os.walk(self.root):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(names):
                if name.startswith((".", "~$")) or name.lower() in _IGNORED_NAMES:
                    continue
                path = Path(folder) / name
                stat = path.stat()
                relative = path.relative_to(self.root)
                suffix = path.suffix.lower()
                mime = _GOOGLE_POINTERS.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
                modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
                found.append(UploadedFile(
                    file_id=relative.as_posix(), name=name, folders=relative.parent.parts, mime_type=mime,
                    created_at=modified, size=stat.st_size, version=f"{stat.st_size}-{stat.st_mtime_ns}",
                    modified_at=modified, origin=str(relative),
                    exported_from=_GOOGLE_POINTERS.get(suffix)))
        return FileListing(found, complete=True)

    def read(self, file: UploadedFile) -> bytes:
        # The id is a path we listed ourselves, but check it stays inside the root all the same.
        path = (self.root / file.file_id).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ItemError(f"{file.file_id}: outside the upload folder", reason_th="ตำแหน่งไฟล์ไม่ถูกต้อง")
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ItemError(f"{file.file_id}: cannot be read ({exc.strerror})", reason_th="อ่านไฟล์ไม่ได้") from None
