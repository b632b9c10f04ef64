"""The bytes of a counted photo: read from the uploads source where the file lies (a local mirror),
or downloaded once (Drive) and kept in a cache named by the content's SHA-256, which is also the
version the last sync inspected, so a later export of the same state downloads nothing.

A file whose bytes no longer match what the sync inspected changed since: it is not exported (its
verdict may not hold), and the export says to sync again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from connectors.base import UploadedFile, UploadsSource
from ingest.errors import ItemError, SourceError

log = logging.getLogger(__name__)


class PhotoBytes:
    def __init__(self, files: Mapping[str, tuple[str, UploadedFile]], cache: Path,
                 open_sources: Callable[[], Mapping[str, UploadsSource]]) -> None:
        self.files = files
        self.cache = cache
        self._open_sources = open_sources
        self._sources: Mapping[str, UploadsSource] | None = None
        self._lock = threading.Lock()  # read() runs on several download threads
        self.downloads = 0

    def read(self, file_id: str, sha256: str) -> bytes:
        """The file's bytes; ItemError (one photo, with its reason) when they cannot be had."""
        source_name, file = self.files[file_id]
        remote = file.md5 is not None  # a checksum the source computed: Drive's binary files, fetched over HTTP
        cached = self.cache / sha256[:2] / sha256
        if remote and cached.is_file():
            content = cached.read_bytes()
            if hashlib.sha256(content).hexdigest() == sha256:
                return content
        with self._lock:
            if self._sources is None:
                self._sources = self._open_sources()
        source = self._sources.get(source_name)
        if source is None:
            raise ItemError(f"{file.origin or file.name}: source {source_name} is no longer in the config")
        try:
            content = source.read(file)
        except (ItemError, SourceError) as exc:
            raise ItemError(f"{file.origin or file.name}: cannot be read ({exc})") from None
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ItemError(f"{file.origin or file.name}: changed since the last sync; run `tidtam sync`, then export")
        if remote:
            with self._lock:
                self.downloads += 1
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".part")
            partial.write_bytes(content)
            partial.replace(cached)  # never a half-written cache entry
        return content
