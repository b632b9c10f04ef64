"""When an uploaded file arrived: its creation time, unless it came into the upload tree later.

Drive keeps `createdTime` when a file is moved between folders, so a record uploaded elsewhere on
time and moved into its province folder after the deadline would count as on time. The rule:

- a file tidtam already holds keeps the arrival it was given (a replay with `--as-of` reads the same);
- a file seen at a source's first clean listing arrives at its creation time (nothing better is known);
- a new file created after the previous clean listing arrives at its creation time;
- a new file created before the previous clean listing was somewhere else then (or not visible), so
  it arrives when it came in: the time of the change that brought it (changes feed), else the moment
  of the listing that first saw it (full walk); never before its creation time.

"Clean" means a listing without problems: files under a folder tidtam could not read are not taken
as moved in once the folder becomes readable. The previous listing time is one kv entry per source.
Only a live listing (Drive's API) counts: a Drive-for-desktop mirror may download an upload after
the next sync, so what it lists late was not moved in; its files arrive at their (modification) time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from connectors.base import FileListing, UploadedFile
from ingest.state import StateStore


def arrival(file: UploadedFile, *, known: datetime | None, last_listed: datetime | None,
            listed_at: datetime) -> datetime:
    """Pure: one file's arrival (see the module docstring)."""
    if known is not None:
        return known
    if last_listed is None or file.created_at > last_listed:
        return file.created_at
    return max(file.created_at, file.changed_at or listed_at)


def _key(source: str) -> str:
    return f"arrival.listed_at:{source}"


def settle(source: str, listing: FileListing, state: StateStore, listed_at: datetime) -> FileListing:
    """The listing with every file's `arrived_at` set, and the source's clean-listing time moved on."""
    known = state.arrivals(source, None if listing.complete else [f.file_id for f in listing.files])
    stored = state.value(_key(source)) if listing.live else None
    last_listed = datetime.fromisoformat(stored) if stored else None
    # `changed_at` is spent once the arrival is decided, and left out of what is stored: a full walk
    # cannot know it, so a file stored from the changes feed would otherwise differ from the same file
    # walked, and every reconciliation after new uploads would recompute the whole campaign (ingest.memo).
    files = [replace(f, arrived_at=arrival(f, known=known.get(f.file_id), last_listed=last_listed,
                                           listed_at=listed_at), changed_at=None) for f in listing.files]
    if listing.live and not listing.problems:
        # Never backwards: a replay with an earlier --as-of must not make files seen since look new.
        latest = max(listed_at, last_listed) if last_listed else listed_at
        state.set_values({_key(source): latest.isoformat()})
    return replace(listing, files=files)
