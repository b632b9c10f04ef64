"""Google Drive as an uploads source: the campaign folder tree, then the changes feed for what is new.

A full read walks the tree level by level, listing the children of as many folders as one GET URL
holds in one query (a level's queries run on a few threads); an incremental read asks
`changes.list` from the saved page token and keeps only changes under the tree. The cursor is JSON:
the page token plus the tree's folders (id → parent, name), so a file's folder names can be told
without walking again. A change to any folder of the tree (renamed,
moved, trashed, new) re-walks the tree, since the files under it changed place without changing.

Which corpus and change log hold the tree depends on membership. A root in a shared drive the account
is a member of is read from that drive (`corpora=drive`, the drive's change log). A folder of a shared
drive shared with the account directly, without membership, is not in the drive's log: "If a
non-member is granted file access to individual items in a shared drive, changes to those items are
tracked in the user change log, not the shared drive change log" (Drive guide "Identify which change
log to track", https://developers.google.com/workspace/drive/api/guides/about-changelogs), and Drive
answers a non-member's drive-scoped call with 404 "Shared drive not found". So `drives.get` decides:
it succeeds for members only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_plus

from connectors.base import FileListing, UploadedFile
from connectors.google_api import GoogleApi, GoogleApiError
from connectors.google_auth import SCOPES
from ingest.errors import FatalSourceError, ItemError

log = logging.getLogger(__name__)

FOLDER = "application/vnd.google-apps.folder"
SHORTCUT = "application/vnd.google-apps.shortcut"
DOCUMENT = "application/vnd.google-apps.document"
# Google's own file types have no bytes of their own: they are exported to these formats.
EXPORTS: Mapping[str, str] = {
    DOCUMENT: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.google-apps.spreadsheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.google-apps.presentation":
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.google-apps.drawing": "image/png",
}
# Where a person opens a folder in Drive. Google documents a file's `webViewLink` ("A link for opening
# the file in a relevant Google editor or viewer in a browser", Drive API v3 reference, Files) but not
# its form; for a folder it is this URL with the folder's id, the form Drive's address bar shows and
# tidyverse/googledrive's drive_link builds (R/drive_browse.R: "https://drive.google.com/drive/folders/{id}").
# Built here rather than asked for: a walk reads folders' ids only (a longer `fields` fits fewer
# folders per files.list URL), and an incremental read knows the tree only from its cursor.
FOLDER_URL = "https://drive.google.com/drive/folders/{}"
PAGE_SIZE = 1000  # Drive's maximum for files.list and changes.list; a page may hold fewer, even none
# Each files.list asks for the children of as many folders as fit in this many URL characters: one
# query per ~35 folders instead of one per folder is what makes a walk cheap. 2048 is googleapiclient's
# MAX_URI_LENGTH (googleapiclient/http.py): a longer GET is sent as POST with `X-HTTP-Method-Override:
# GET` and the query in the body, which Drive accepts too, so the bound is not Drive's. It is kept
# because Drive documents no limit on the length of `q`, so queries stay the size every client sends as
# a plain GET (a later page whose token would not fit re-lists the query's folders in two halves).
MAX_URL_CHARS = 2048
LIST_WORKERS = 8  # files.list queries of one tree level at a time
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
_ITEM = ("id,name,mimeType,parents,trashed,md5Checksum,headRevisionId,version,size,createdTime,modifiedTime,"
         "owners(emailAddress),lastModifyingUser(emailAddress),shortcutDetails(targetId,targetMimeType)")
# Listing asks `trashed = false` and finds binary files by md5Checksum, so it needs neither `trashed`
# nor `headRevisionId`; the shorter URL fits more folders per query.
_LISTED = ("id,name,mimeType,parents,md5Checksum,version,size,createdTime,modifiedTime,"
           "owners(emailAddress),lastModifyingUser(emailAddress),shortcutDetails(targetId,targetMimeType)")


@dataclass
class _Tree:
    """The campaign folder tree: every folder under the root, with its parent and name."""

    root: str
    drive_id: str | None  # the shared drive whose corpus and change log are read; None: the account's own
    folders: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → (parent id, name)
    shared_drive: str | None = None  # the shared drive the root is in, member or not

    def holds(self, folder_id: str) -> bool:
        return folder_id == self.root or folder_id in self.folders

    def path(self, folder_id: str) -> tuple[str, ...]:
        """Folder names from below the root down to `folder_id` (what unit matching reads)."""
        return self.place(folder_id)[0]

    def place(self, folder_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The names and the ids of the folders from below the root down to `folder_id`."""
        names: list[str] = []
        ids: list[str] = []
        seen: set[str] = set()
        while folder_id in self.folders and folder_id not in seen:
            seen.add(folder_id)
            ids.append(folder_id)
            folder_id, name = self.folders[folder_id][0], self.folders[folder_id][1]
            names.append(name)
        return tuple(reversed(names)), tuple(reversed(ids))


@dataclass
class _Cursor:
    token: str
    tree: _Tree

    @classmethod
    def parse(cls, text: str | None, root: str) -> _Cursor | None:
        try:
            data = json.loads(text or "")
            if data["root"] != root:
                return None  # the config now names another folder
            tree = _Tree(root, data.get("drive"), {k: (v[0], v[1]) for k, v in data["folders"].items()},
                         data.get("shared_drive", data.get("drive")))
            return cls(str(data["token"]), tree)
        except (ValueError, KeyError, TypeError, IndexError):
            return None

    def dump(self) -> str:
        return json.dumps({"root": self.tree.root, "drive": self.tree.drive_id, "token": self.token,
                           "shared_drive": self.tree.shared_drive,
                           "folders": {k: list(v) for k, v in self.tree.folders.items()}},
                          ensure_ascii=False, sort_keys=True)


class DriveSource:
    """Files under one Drive folder (My Drive or a shared drive), read with a read-only scope."""

    def __init__(self, api: GoogleApi, folder_id: str, *, max_download_bytes: int = MAX_DOWNLOAD_BYTES) -> None:
        self.api = api
        self.folder_id = folder_id
        self.max_download_bytes = max_download_bytes
        self._targets: dict[str, str] = {}  # shortcut id → target id, learnt while listing

    @property
    def _files(self) -> Any:
        return self.api.collection("drive", "v3", SCOPES["drive"], "files")

    @property
    def _changes_api(self) -> Any:
        return self.api.collection("drive", "v3", SCOPES["drive"], "changes")

    def check(self) -> str:
        root = self._root()
        shared = root.get("driveId")
        if not shared:
            return f"folder {root.get('name', '')!r} is readable (My Drive: the account's own change log)"
        if self._member_of(shared):
            return (f"folder {root.get('name', '')!r} in shared drive {shared} is readable (member of the drive: "
                    "read from the drive's files and change log)")
        return (f"folder {root.get('name', '')!r} in shared drive {shared} is readable (not a member of the drive, "
                "the folder is shared with the account directly: read from the account's own files and change "
                "log, where Google tracks such items)")

    # -- listing ---------------------------------------------------------------------------
    def files(self, since: str | None = None) -> FileListing:
        cursor = _Cursor.parse(since, self.folder_id) if since else None
        if cursor is None:
            return self._full()
        try:
            changes, token = self._changes(cursor.token, cursor.tree.drive_id)
        except GoogleApiError as exc:
            if exc.status not in (400, 404):
                raise
            log.warning("Drive changes token for folder %s no longer valid (%s): walking the tree", self.folder_id, exc)
            return self._full()
        tree = cursor.tree
        latest: dict[str, dict[str, Any]] = {}  # the last change of a file is its current state
        for change in changes:
            kind = change.get("changeType") or change.get("type") or "file"
            if kind == "drive":
                # A shared drive itself changed (renamed, restricted, hidden, membership): no fileId.
                # Only the tree's own drive matters; membership may have changed, so walk again.
                if tree.shared_drive and change.get("driveId") == tree.shared_drive:
                    log.info("Drive: shared drive %s of folder %s changed: walking the tree",
                             tree.shared_drive, self.folder_id)
                    return self._full(token, tree.drive_id)
                continue
            if kind != "file" or not change.get("fileId"):
                log.warning("Drive: skipping a change of unknown type %r (folder %s)", kind, self.folder_id)
                continue
            latest[change["fileId"]] = change
        if any(_moves_folders(c, tree) for c in latest.values()):
            return self._full(token, tree.drive_id)
        found, removed = [], []
        for file_id, change in latest.items():
            item = change.get("file")
            parent = next((p for p in (item or {}).get("parents", []) if tree.holds(p)), None)
            if change.get("removed") or not item or item.get("trashed") or parent is None:
                removed.append(file_id)  # gone, trashed, or moved out of the tree (unknown ids are harmless)
                continue
            uploaded = self._uploaded(item, *tree.place(parent))
            found.append(replace(uploaded, changed_at=_time(change["time"])) if change.get("time") else uploaded)
        return FileListing(found, removed_ids=removed, complete=False, cursor=_Cursor(token, tree).dump(), live=True)

    def _full(self, token: str | None = None, token_log: str | None = None) -> FileListing:
        """Walk the tree; `token` (from the change log of drive `token_log`, None: the account's own)
        is kept as the next cursor when the tree is still read from that log."""
        root = self._root()
        shared = root.get("driveId")
        tree = _Tree(self.folder_id, shared if shared and self._member_of(shared) else None, shared_drive=shared)
        if token is not None and token_log != tree.drive_id:
            token = None  # membership changed: the token belongs to the other log
        if token is None:
            # Taken before the walk, so nothing that changes during the walk is missed next time.
            token = self._start_token(tree.drive_id)
        found, problems = self._walk(tree, root.get("name", self.folder_id))
        return FileListing(found, complete=not problems, cursor=_Cursor(token, tree).dump(), problems=problems,
                           live=True)

    def _member_of(self, drive_id: str) -> bool:
        """Whether the account is a member of shared drive `drive_id`: drives.get answers members only
        (a non-member gets 404 "Shared drive not found")."""
        drives = self.api.service("drive", "v3", SCOPES["drive"]).drives()
        try:
            self.api.execute(drives.get(driveId=drive_id, fields="id"), what=f"shared drive {drive_id}")
        except GoogleApiError as exc:
            if exc.status != 404:
                raise
            return False
        return True

    def _root(self) -> dict[str, Any]:
        what = f"Drive folder {self.folder_id}"
        root = self.api.execute(self._files.get(fileId=self.folder_id, fields="id,name,mimeType,trashed,driveId",
                                                supportsAllDrives=True), what=what)
        if root.get("mimeType") != FOLDER:
            raise FatalSourceError(f"{what} ({root.get('name')!r}) is a {root.get('mimeType')}, not a folder: "
                                   "set folder_id to the id in the campaign folder's link", source=what)
        if root.get("trashed"):
            raise FatalSourceError(f"{what} ({root.get('name')!r}) is in the trash: restore it in Drive",
                                   source=what)
        return root

    def _start_token(self, drive_id: str | None) -> str:
        args: dict[str, Any] = {"supportsAllDrives": True}
        if drive_id:
            args["driveId"] = drive_id
        reply = self.api.execute(self._changes_api.getStartPageToken(**args),
                                 what=f"Drive changes of folder {self.folder_id}")
        return str(reply["startPageToken"])

    def _changes(self, token: str, drive_id: str | None) -> tuple[list[dict[str, Any]], str]:
        changes: list[dict[str, Any]] = []
        while True:
            args: dict[str, Any] = {
                "pageToken": token, "pageSize": PAGE_SIZE, "supportsAllDrives": True,
                "includeItemsFromAllDrives": True,
                "fields": f"nextPageToken,newStartPageToken,changes(changeType,fileId,driveId,time,removed,"
                          f"file({_ITEM}))"}
            if drive_id:
                args["driveId"] = drive_id
            page = self.api.execute(self._changes_api.list(**args), what=f"Drive changes of folder {self.folder_id}")
            changes.extend(page.get("changes", []))  # may be short or empty while a nextPageToken follows
            if page.get("newStartPageToken"):
                return changes, str(page["newStartPageToken"])
            token = page["nextPageToken"]

    def _walk(self, tree: _Tree, root_name: str) -> tuple[list[UploadedFile], list[str]]:
        found: list[UploadedFile] = []
        problems: list[str] = []
        level, visited = [tree.root], {tree.root}
        with ThreadPoolExecutor(max_workers=LIST_WORKERS, thread_name_prefix="drive-list") as pool:
            while level:
                next_level: list[str] = []
                # Every query of a level at once; results are taken in query order, so the walk is
                # the same whichever answers first.
                listed = pool.map(lambda chunk: self._children_of(chunk, tree, root_name),
                                  self._chunks(level, tree.drive_id))
                for children, refused in listed:
                    problems.extend(refused)
                    for item, parent in children:
                        folder_id = _folder_id(item)
                        if folder_id is None:
                            found.append(self._uploaded(item, *tree.place(parent)))
                        elif folder_id not in visited:  # a shortcut may point back up the tree
                            visited.add(folder_id)
                            tree.folders[folder_id] = (parent, item["name"])
                            next_level.append(folder_id)
                level = next_level
        return found, problems

    def _children_of(self, chunk: Sequence[str], tree: _Tree,
                     root_name: str) -> tuple[list[tuple[dict[str, Any], str]], list[str]]:
        problems: list[str] = []
        return self._children(chunk, tree, root_name, problems), problems

    def _chunks(self, folder_ids: Sequence[str], drive_id: str | None) -> list[list[str]]:
        """Folders grouped so that each group's files.list URL stays under MAX_URL_CHARS."""
        # The URL without any clause, less one " or " (n clauses need n - 1 of them).
        fixed = len(self._list_request(["x"], drive_id).uri) - len(_clause("x")) - len(_OR)
        chunks: list[list[str]] = [[]]
        length = fixed
        for folder_id in folder_ids:
            clause = len(_clause(folder_id)) + len(_OR)
            if chunks[-1] and length + clause > MAX_URL_CHARS:
                chunks.append([])
                length = fixed
            chunks[-1].append(folder_id)
            length += clause
        return [c for c in chunks if c]

    def _children(self, chunk: Sequence[str], tree: _Tree, root_name: str,
                  problems: list[str]) -> list[tuple[dict[str, Any], str]]:
        """Children of every folder in `chunk`; a folder that cannot be listed becomes a problem."""
        try:
            items, incomplete = self._list_children(chunk, tree.drive_id)
        except GoogleApiError as exc:
            if list(chunk) == [tree.root]:
                raise
            if len(chunk) == 1:
                where = "/".join(tree.path(chunk[0])) or root_name
                problems.append(f"{where}: {exc}")
                return []
            # Split the query to find which folder is refused; the others still sync.
            middle = len(chunk) // 2
            return (self._children(chunk[:middle], tree, root_name, problems)
                    + self._children(chunk[middle:], tree, root_name, problems))
        if incomplete:
            # FileList.incompleteSearch: "some search results might be missing, since all documents
            # were not searched". What was found is kept; the listing is not taken as complete, so no
            # known file is dropped for being absent from it.
            where = ", ".join("/".join(tree.path(f)) or root_name for f in chunk)
            problems.append(f"{where}: Drive answered that its search was incomplete (incompleteSearch); "
                            "files may be missing from this listing, the next run asks again")
        wanted = set(chunk)
        return [(item, next((p for p in item.get("parents", []) if p in wanted), chunk[0])) for item in items]

    def _list_request(self, parents: Sequence[str], drive_id: str | None, token: str | None = None) -> Any:
        query = "(" + " or ".join(f"'{_quote(p)}' in parents" for p in parents) + ") and trashed = false"
        args: dict[str, Any] = {"q": query, "pageSize": PAGE_SIZE,
                                "fields": f"nextPageToken,incompleteSearch,files({_LISTED})",
                                "supportsAllDrives": True, "includeItemsFromAllDrives": True}
        if drive_id:
            args.update(corpora="drive", driveId=drive_id)
        # else the default corpus, "user": My Drive and items shared with the account, including those
        # of a shared drive it is not a member of (with includeItemsFromAllDrives).
        if token:
            args["pageToken"] = token
        return self._files.list(**args)

    def _list_children(self, parents: Sequence[str], drive_id: str | None) -> tuple[list[dict[str, Any]], bool]:
        """Every page of one query, and whether Drive called any page's search incomplete."""
        what = f"Drive folder {parents[0]}" if len(parents) == 1 else f"Drive folders {', '.join(parents)}"
        items: list[dict[str, Any]] = []
        incomplete = False
        token = None
        while True:
            request = self._list_request(parents, drive_id, token)
            if len(request.uri) > MAX_URL_CHARS and len(parents) > 1:
                middle = len(parents) // 2
                first, first_incomplete = self._list_children(parents[:middle], drive_id)
                second, second_incomplete = self._list_children(parents[middle:], drive_id)
                return first + second, first_incomplete or second_incomplete or incomplete
            page = self.api.execute(request, what=what)
            # A page may be short, or empty, while a nextPageToken says there is more (files.list
            # pageSize: "The service may return fewer than this value"): only the token ends the query.
            items.extend(page.get("files", []))
            incomplete = incomplete or bool(page.get("incompleteSearch"))
            token = page.get("nextPageToken")
            if not token:
                return items, incomplete

    def _uploaded(self, item: Mapping[str, Any], folders: tuple[str, ...],
                  folder_ids: tuple[str, ...]) -> UploadedFile:
        content: Mapping[str, Any] = item
        if item.get("mimeType") == SHORTCUT:
            content = self._shortcut_target(item)
        mime = str(content.get("mimeType") or "application/octet-stream")
        size = content.get("size")
        modified = content.get("modifiedTime")
        return UploadedFile(
            file_id=item["id"], name=item["name"], folders=folders, mime_type=mime,
            created_at=_time(item["createdTime"]), size=int(size) if size else None,
            md5=content.get("md5Checksum"),
            version=content.get("md5Checksum") or content.get("headRevisionId") or content.get("version"),
            modified_at=_time(modified) if modified else None, uploader_email=_uploader(item),
            origin="/".join((*folders, item["name"])), exported_from=mime if mime in EXPORTS else None,
            folder_urls=tuple(FOLDER_URL.format(quote(i, safe="")) for i in folder_ids))

    def _shortcut_target(self, item: Mapping[str, Any]) -> Mapping[str, Any]:
        details = item.get("shortcutDetails") or {}
        target = details.get("targetId")
        if not target:
            return item
        self._targets[item["id"]] = target
        try:
            return self.api.execute(self._files.get(fileId=target, fields=_ITEM, supportsAllDrives=True),
                                    what=f"Drive file {target} (target of shortcut {item['name']!r})")
        except GoogleApiError as exc:
            # Listed all the same: reading it later turns this into an invalid item with the reason.
            log.warning("shortcut %s: %s", item["id"], exc)
            return {**item, "mimeType": details.get("targetMimeType") or SHORTCUT}

    # -- reading ---------------------------------------------------------------------------
    def read(self, file: UploadedFile) -> bytes:
        if file.size and file.size > self.max_download_bytes:
            raise ItemError(f"{file.origin or file.file_id}: {file.size:,} bytes is more than tidtam downloads "
                            f"({self.max_download_bytes:,})", reason_th="ไฟล์มีขนาดใหญ่เกินไป")
        target = self._targets.get(file.file_id, file.file_id)
        try:
            return self._download(target, file)
        except GoogleApiError as exc:
            if exc.reason in ("fileNotDownloadable", "fileNotExportable") and target == file.file_id:
                resolved = self._resolve_shortcut(file.file_id)
                if resolved:
                    return self.read(file)
            reason_th = ("ไฟล์ Google เอกสารใหญ่เกินกว่าจะแปลงได้" if exc.reason == "exportSizeLimitExceeded"
                         else "ระบบเปิดไฟล์ไม่ได้ (ไม่ได้แชร์ให้ระบบ หรือไฟล์ถูกลบ)")
            raise ItemError(str(exc), reason_th=reason_th) from None

    def _download(self, target: str, file: UploadedFile) -> bytes:
        what = f"Drive file {file.origin or file.name} ({target})"
        if file.exported_from:
            return self.api.execute(self._files.export(fileId=target, mimeType=EXPORTS[file.exported_from]),
                                    what=what)
        return self.api.execute(self._files.get_media(fileId=target, supportsAllDrives=True), what=what)

    def _resolve_shortcut(self, file_id: str) -> str | None:
        """A shortcut listed by an earlier run (this process never saw it): find its target now."""
        meta = self.api.execute(self._files.get(fileId=file_id, fields="mimeType,shortcutDetails(targetId)",
                                                supportsAllDrives=True), what=f"Drive file {file_id}")
        target = (meta.get("shortcutDetails") or {}).get("targetId")
        if meta.get("mimeType") != SHORTCUT or not target:
            return None
        self._targets[file_id] = target
        return target


def _folder_id(item: Mapping[str, Any]) -> str | None:
    """The folder an item opens (itself, or a shortcut's target folder); None for files."""
    if item.get("mimeType") == FOLDER:
        return str(item["id"])
    details = item.get("shortcutDetails") or {}
    if item.get("mimeType") == SHORTCUT and details.get("targetMimeType") == FOLDER:
        return details.get("targetId")
    return None


def _moves_folders(change: Mapping[str, Any], tree: _Tree) -> bool:
    """True for a change to a folder of the tree, or a folder appearing in it (new, or moved in)."""
    if tree.holds(change["fileId"]):
        return True
    item = change.get("file") or {}
    return _folder_id(item) is not None and any(tree.holds(p) for p in item.get("parents", []))


_OR = quote_plus(" or ")


def _clause(folder_id: str) -> str:
    """One folder's part of a files.list query, as it appears in the URL."""
    return quote_plus(f"'{_quote(folder_id)}' in parents")


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _uploader(item: Mapping[str, Any]) -> str | None:
    owners = item.get("owners") or []  # shared-drive items have no owners
    if owners and owners[0].get("emailAddress"):
        return str(owners[0]["emailAddress"])
    return (item.get("lastModifyingUser") or {}).get("emailAddress")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
