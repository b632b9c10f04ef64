"""Drive v3: files, folders, Google Docs, shortcuts, shared drives and the changes feed.

Who asks matters: a caller that is not a member of a shared drive sees its items only where they
were shared with it (directly or through a folder), and finds them in its own corpus and change
log, never in the drive's. A caller the emulator cannot name (no token it issued) is treated as a
member of every drive, as before this was modelled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .drive_query import compile_query, required_parents
from .errors import ApiError
from .protocol import Call, Handler, Reply, require_aware, rfc3339

FOLDER = "application/vnd.google-apps.folder"
DOCUMENT = "application/vnd.google-apps.document"
SPREADSHEET = "application/vnd.google-apps.spreadsheet"
SHORTCUT = "application/vnd.google-apps.shortcut"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXPORT_LIMIT = 10 * 1024 * 1024  # files.export refuses bigger results

# Drive v3 answers this small set when the caller sends no `fields` (a common client bug).
DEFAULT_FILE_FIELDS = "kind,id,name,mimeType"
DEFAULT_LIST_FIELDS = "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)"
DEFAULT_CHANGE_FIELDS = (
    "kind,nextPageToken,newStartPageToken,"
    "changes(kind,changeType,type,time,removed,fileId,driveId,file(kind,id,name,mimeType))"
)
DEFAULT_OWNER = "owner@example.org"


@dataclass
class DriveFile:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    created: datetime
    modified: datetime
    content: bytes | None = None  # binary files only
    exports: dict[str, bytes] = field(default_factory=dict)  # Google Docs: mime -> bytes
    trashed: bool = False
    explicitly_trashed: bool = False
    owner_email: str | None = DEFAULT_OWNER
    last_modifier_email: str | None = DEFAULT_OWNER
    drive_id: str | None = None
    shortcut_target: str | None = None
    version: int = 1
    head_revision: str | None = None
    description: str | None = None
    permissions: dict[str, str] = field(default_factory=dict)  # email -> role, granted on this item

    @property
    def is_google_type(self) -> bool:
        return self.mime_type.startswith("application/vnd.google-apps.")


@dataclass
class Change:
    seq: int
    file_id: str  # "" for a change to a shared drive itself
    removed: bool
    time: datetime
    drive_id: str | None
    # "file" or "drive": Drive v3 `Change.changeType` ("Possible values are file and drive").
    # https://developers.google.com/workspace/drive/api/reference/rest/v3/changes
    change_type: str = "file"


@dataclass
class SharedDrive:
    id: str
    name: str
    created: datetime
    members: set[str] | None = None  # None: every caller is a member

    def has_member(self, who: str | None) -> bool:
        return who is None or self.members is None or who.lower() in self.members


# Roles that count for `'x' in writers` / `'x' in readers` ("Search query terms and operators",
# https://developers.google.com/workspace/drive/api/guides/ref-search-terms: writers are users who may
# modify the file, readers those who may read it; owners are a collection of their own).
WRITER_ROLES = frozenset({"owner", "organizer", "fileOrganizer", "writer"})
READER_ROLES = WRITER_ROLES | {"commenter", "reader"}


def _user(email: str) -> dict[str, Any]:
    return {
        "kind": "drive#user",
        "displayName": email.split("@")[0],
        "emailAddress": email,
        "me": False,
        "permissionId": hashlib.sha1(email.encode()).hexdigest()[:20],
    }


class DriveState:
    def __init__(self, clock: Callable[[], datetime], seed: int = 0) -> None:
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self.files: dict[str, DriveFile] = {}
        # parent id -> its children, built on the first `'<id>' in parents` query after the tree changed
        # (every method that adds, removes or moves a file drops it). Without it every files.list scanned
        # all files: a reconciliation's ~480 list requests at 7,436 units walked 60k files each, under
        # the lock, and the bench counted that emulator time against tidtam on the same cores.
        self._children: dict[str, list[DriveFile]] | None = None
        self.drives: dict[str, SharedDrive] = {}
        self.changes: list[Change] = []
        self._changed_ids: set[str] = set()
        self._next_seq = 1
        self.root_id = "0A" + self._random_id(17) + "Uk9PVA"
        # When set, files.list/changes.list return at most this many items per page even if
        # pageSize is larger; Drive really does answer short pages with a nextPageToken.
        self.page_size_cap: int | None = None
        # When set, files.list and changes.list answer an empty page (with a nextPageToken) before
        # every page that has items. The discovery document of both methods: "The service may return
        # fewer than this value"; FileList.files: "If nextPageToken is populated, then this list may
        # be incomplete and an additional page of results should be fetched."
        self.empty_pages = False
        # When set, a files.list that spans more than one corpus (corpora=allDrives, or user/domain
        # with includeItemsFromAllDrives) leaves out shared-drive items and says incompleteSearch:
        # true. FileList.incompleteSearch: "some search results might be missing, since all
        # documents were not searched. This can occur when searching multiple drives with the
        # allDrives corpora" (drive v3 discovery document / files.list reference).
        self.incomplete_search = False
        # Names the caller of a request (service account, or its delegated subject); set by Emulator.
        self.identify: Callable[[Call], str | None] = lambda call: None
        self.on_spreadsheet_created: Callable[[str, str], None] | None = None

    # -- ids and time ----------------------------------------------------------------------
    def _random_id(self, n: int) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def new_id(self) -> str:
        return "1" + self._random_id(32)

    def now(self) -> datetime:
        return self._clock()

    # -- seeding ---------------------------------------------------------------------------
    def add_shared_drive(self, name: str, drive_id: str | None = None, *,
                         members: set[str] | list[str] | None = None) -> str:
        """A shared drive; with `members`, only those accounts are members (others see only what is
        shared with them item by item)."""
        with self._lock:
            did = drive_id or "0A" + self._random_id(17) + "Uk9PVA"
            who = None if members is None else {m.lower() for m in members}
            self.drives[did] = SharedDrive(did, name, self.now(), who)
            return did

    def rename_drive(self, drive_id: str, name: str) -> None:
        """Lands in each member's own change log as a `changeType: "drive"` entry ("Track changes
        for users and shared drives": a user's change log shows changes directly relevant to a
        shared drive they are a member of, e.g. the shared drive is renamed).
        https://developers.google.com/workspace/drive/api/guides/about-changes"""
        with self._lock:
            self.drives[drive_id].name = name
            self._record_drive(drive_id)

    def add_drive_member(self, drive_id: str, email: str) -> None:
        """Also a `drive` change: "The user becomes a member of a shared drive" (same guide)."""
        with self._lock:
            drive = self.drives[drive_id]
            if drive.members is not None:
                drive.members.add(email.lower())
            self._record_drive(drive_id)

    def share(self, file_id: str, email: str, role: str = "reader") -> None:
        """Grant `email` a role on one item (and, through it, on everything under a folder)."""
        if role not in READER_ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self._lock:
            f = self._get(file_id)
            f.permissions[email.lower()] = role
            # Sharing is a change to the item: its `version` moves, its content and modifiedTime do
            # not. Items under a shared folder become visible to the grantee, so they appear in its log.
            f.version += 1
            self._record(f)
            for d in self.descendants(file_id):
                self._record(d)

    def _parent_ids(self, parent: str | None, drive_id: str | None) -> list[str]:
        if parent is None:
            return [drive_id] if drive_id else [self.root_id]
        if parent != self.root_id and parent not in self.files and parent not in self.drives:
            raise KeyError(f"unknown parent {parent!r}")
        return [parent]

    def _drive_of(self, parent: str | None, drive_id: str | None) -> str | None:
        if drive_id:
            return drive_id
        if parent in self.drives:
            return parent
        if parent and parent in self.files:
            return self.files[parent].drive_id
        return None

    def _add(self, f: DriveFile) -> str:
        with self._lock:
            if f.id in self.files:
                raise ValueError(f"duplicate file id {f.id!r}")
            if f.drive_id:
                f.owner_email = None  # shared-drive items have no owners
            self.files[f.id] = f
            self._children = None
            self._record(f)
            return f.id

    def add_folder(
        self,
        name: str,
        parent: str | None = None,
        drive_id: str | None = None,
        *,
        file_id: str | None = None,
        created_time: datetime | None = None,
        owner_email: str = DEFAULT_OWNER,
    ) -> str:
        created = require_aware(created_time) if created_time else self.now()
        return self._add(
            DriveFile(
                id=file_id or self.new_id(),
                name=name,
                mime_type=FOLDER,
                parents=self._parent_ids(parent, drive_id),
                created=created,
                modified=created,
                owner_email=owner_email,
                last_modifier_email=owner_email,
                drive_id=self._drive_of(parent, drive_id),
            )
        )

    def add_file(
        self,
        name: str,
        parent: str | None,
        content: bytes,
        mime_type: str = "application/octet-stream",
        created_time: datetime | None = None,
        owner_email: str = DEFAULT_OWNER,
        *,
        file_id: str | None = None,
        modified_time: datetime | None = None,
        drive_id: str | None = None,
        description: str | None = None,
    ) -> str:
        created = require_aware(created_time) if created_time else self.now()
        modified = require_aware(modified_time) if modified_time else created
        fid = file_id or self.new_id()
        return self._add(
            DriveFile(
                id=fid,
                name=name,
                mime_type=mime_type,
                parents=self._parent_ids(parent, drive_id),
                created=created,
                modified=modified,
                content=bytes(content),
                owner_email=owner_email,
                last_modifier_email=owner_email,
                drive_id=self._drive_of(parent, drive_id),
                head_revision=self._revision_id(),
                description=description,
            )
        )

    def add_google_doc(
        self,
        name: str,
        parent: str | None,
        export_docx: bytes,
        created_time: datetime | None = None,
        owner_email: str = DEFAULT_OWNER,
        *,
        file_id: str | None = None,
        mime_type: str = DOCUMENT,
        exports: dict[str, bytes] | None = None,
        drive_id: str | None = None,
    ) -> str:
        created = require_aware(created_time) if created_time else self.now()
        all_exports = {DOCX: bytes(export_docx)} if mime_type == DOCUMENT else {}
        all_exports.update(exports or {})
        return self._add(
            DriveFile(
                id=file_id or self.new_id(),
                name=name,
                mime_type=mime_type,
                parents=self._parent_ids(parent, drive_id),
                created=created,
                modified=created,
                exports=all_exports,
                owner_email=owner_email,
                last_modifier_email=owner_email,
                drive_id=self._drive_of(parent, drive_id),
            )
        )

    def add_shortcut(
        self,
        name: str,
        parent: str | None,
        target_id: str,
        created_time: datetime | None = None,
        *,
        file_id: str | None = None,
        owner_email: str = DEFAULT_OWNER,
    ) -> str:
        created = require_aware(created_time) if created_time else self.now()
        return self._add(
            DriveFile(
                id=file_id or self.new_id(),
                name=name,
                mime_type=SHORTCUT,
                parents=self._parent_ids(parent, None),
                created=created,
                modified=created,
                owner_email=owner_email,
                last_modifier_email=owner_email,
                drive_id=self._drive_of(parent, None),
                shortcut_target=target_id,
            )
        )

    def _revision_id(self) -> str:
        return "0B" + self._random_id(40)

    # -- mutations (each one lands in the changes feed) -------------------------------------
    def _get(self, file_id: str) -> DriveFile:
        try:
            return self.files[file_id]
        except KeyError:
            raise KeyError(f"unknown file {file_id!r}") from None

    def _touch(self, f: DriveFile, modifier: str | None = None) -> None:
        f.modified = self.now()
        f.version += 1
        if modifier:
            f.last_modifier_email = modifier
        self._record(f)

    def _record_drive(self, drive_id: str) -> None:
        with self._lock:
            key = "drive:" + drive_id
            if key in self._changed_ids:
                self.changes = [c for c in self.changes if not (c.change_type == "drive" and c.drive_id == drive_id)]
            self._changed_ids.add(key)
            self.changes.append(Change(self._next_seq, "", False, self.now(), drive_id, "drive"))
            self._next_seq += 1

    # -- who sees what ---------------------------------------------------------------------
    def roles(self, f: DriveFile) -> dict[str, str]:
        """Every account's role on `f`: its owner, then grants on it and on the folders above it
        (Drive permissions are inherited by a folder's contents)."""
        out: dict[str, str] = {}
        seen: set[str] = set()
        stack = [f]
        while stack:
            item = stack.pop()
            if item.id in seen:
                continue
            seen.add(item.id)
            for email, role in item.permissions.items():
                out.setdefault(email, role)
            stack.extend(self.files[p] for p in item.parents if p in self.files)
        if f.owner_email:
            out[f.owner_email.lower()] = "owner"
        return out

    def is_member(self, drive_id: str | None, who: str | None) -> bool:
        drive = self.drives.get(drive_id or "")
        return drive is None or drive.has_member(who)

    def in_user_corpus(self, f: DriveFile, who: str | None) -> bool:
        """My Drive items, and shared-drive items a non-member was given access to one by one
        ("Identify which change log to track": if a non-member is granted file access to individual
        items in a shared drive, changes to those items are tracked in the user change log, not the
        shared drive change log; https://developers.google.com/workspace/drive/api/guides/about-changelogs)."""
        if f.drive_id is None:
            return True
        return not self.is_member(f.drive_id, who) and who is not None and who.lower() in self.roles(f)

    def visible(self, f: DriveFile, who: str | None) -> bool:
        return self.is_member(f.drive_id, who) or self.in_user_corpus(f, who)

    def _require_member(self, drive_id: str, who: str | None) -> None:
        # A non-member asking for a shared drive's corpus or log is told the drive does not exist,
        # as Drive answers files.list with corpora=drive for a folder shared from a drive the account
        # is not a member of (tidyverse/googledrive#439: 404 "Shared drive not found: 0AEm…",
        # reason notFound, location driveId), and drives.get for a non-member
        # (xyou365/AutoRclone#74: "Error 404: Shared drive not found").
        if drive_id not in self.drives or not self.drives[drive_id].has_member(who):
            raise ApiError(404, f"Shared drive not found: {drive_id}", reason="notFound", location="driveId")

    def _record(self, f: DriveFile, removed: bool = False) -> None:
        with self._lock:
            # Drive reports the latest state of a file once, not every intermediate change. (A new
            # file has no earlier change to drop: skipping the scan keeps seeding 50,000 files linear.)
            if f.id in self._changed_ids:
                self.changes = [c for c in self.changes if c.file_id != f.id]
            self._changed_ids.add(f.id)
            self.changes.append(Change(self._next_seq, f.id, removed, self.now(), f.drive_id))
            self._next_seq += 1

    def children(self, folder_id: str) -> list[DriveFile]:
        return [f for f in self.files.values() if folder_id in f.parents]

    def descendants(self, folder_id: str) -> list[DriveFile]:
        out: list[DriveFile] = []
        stack = [folder_id]
        while stack:
            for child in self.children(stack.pop()):
                out.append(child)
                if child.mime_type == FOLDER:
                    stack.append(child.id)
        return out

    def trash(self, file_id: str, trashed: bool = True) -> None:
        with self._lock:
            f = self._get(file_id)
            f.trashed = trashed
            f.explicitly_trashed = trashed
            self._touch(f)
            for d in self.descendants(file_id):
                if not d.explicitly_trashed:
                    d.trashed = trashed
                    self._record(d)

    def untrash(self, file_id: str) -> None:
        self.trash(file_id, trashed=False)

    def delete(self, file_id: str) -> None:
        with self._lock:
            f = self._get(file_id)
            self._children = None
            for d in [*self.descendants(file_id), f]:
                self.files.pop(d.id, None)
                self._record(d, removed=True)

    def rename(self, file_id: str, name: str) -> None:
        with self._lock:
            f = self._get(file_id)
            f.name = name
            self._touch(f)

    def move(self, file_id: str, new_parent: str) -> None:
        with self._lock:
            f = self._get(file_id)
            f.parents = self._parent_ids(new_parent, None)
            self._children = None
            f.drive_id = self._drive_of(new_parent, None)
            self._touch(f)

    def update_content(self, file_id: str, content: bytes, modifier_email: str | None = None) -> None:
        with self._lock:
            f = self._get(file_id)
            if f.is_google_type:
                raise ValueError("update_content is for binary files; use set_export for Google Docs")
            f.content = bytes(content)
            f.head_revision = self._revision_id()
            self._touch(f, modifier_email)

    def set_export(self, file_id: str, mime_type: str, data: bytes) -> None:
        with self._lock:
            f = self._get(file_id)
            f.exports[mime_type] = bytes(data)
            self._touch(f)

    def start_page_token(self) -> str:
        return str(self._next_seq)

    # -- JSON ------------------------------------------------------------------------------
    def resource(self, f: DriveFile) -> dict[str, Any]:
        r: dict[str, Any] = {
            "kind": "drive#file",
            "id": f.id,
            "name": f.name,
            "mimeType": f.mime_type,
            "parents": list(f.parents),
            "createdTime": rfc3339(f.created),
            "modifiedTime": rfc3339(f.modified),
            "trashed": f.trashed,
            "explicitlyTrashed": f.explicitly_trashed,
            "version": str(f.version),  # int64 -> JSON string
            "starred": False,
            "spaces": ["drive"],
            "webViewLink": f"https://drive.google.com/file/d/{f.id}/view?usp=drivesdk",
        }
        if f.description is not None:
            r["description"] = f.description
        if f.owner_email:
            r["owners"] = [_user(f.owner_email)]
            r["ownedByMe"] = False
        if f.last_modifier_email:
            r["lastModifyingUser"] = _user(f.last_modifier_email)
        if f.drive_id:
            r["driveId"] = f.drive_id
        if f.content is not None:
            data = f.content
            r["size"] = str(len(data))
            r["md5Checksum"] = hashlib.md5(data).hexdigest()
            r["sha1Checksum"] = hashlib.sha1(data).hexdigest()
            r["sha256Checksum"] = hashlib.sha256(data).hexdigest()
            r["headRevisionId"] = f.head_revision
            r["originalFilename"] = f.name
            if "." in f.name:
                r["fileExtension"] = f.name.rsplit(".", 1)[1]
                r["fullFileExtension"] = f.name.split(".", 1)[1]
        elif f.mime_type not in (FOLDER, SHORTCUT):
            # Docs Editors files report a size but no checksum and no head revision.
            r["size"] = str(max((len(v) for v in f.exports.values()), default=0))
        if f.mime_type == SHORTCUT and f.shortcut_target:
            target = self.files.get(f.shortcut_target)
            details: dict[str, Any] = {"targetId": f.shortcut_target}
            if target is not None:
                details["targetMimeType"] = target.mime_type
            r["shortcutDetails"] = details
        return r

    # -- HTTP handlers ---------------------------------------------------------------------
    def handlers(self) -> dict[str, Handler]:
        return {
            "drive.files.list": self.h_files_list,
            "drive.files.get": self.h_files_get,
            "drive.files.export": self.h_files_export,
            "drive.files.create": self.h_files_create,
            "drive.files.update": self.h_files_update,
            "drive.files.delete": self.h_files_delete,
            "drive.changes.getStartPageToken": self.h_start_token,
            "drive.changes.list": self.h_changes_list,
            "drive.drives.list": self.h_drives_list,
            "drive.drives.get": self.h_drives_get,
            "drive.about.get": self.h_about_get,
        }

    def _lookup(self, call: Call, file_id: str, *, all_drives_flag: bool = True) -> DriveFile:
        fid = self.root_id if file_id == "root" else file_id
        f = self.files.get(fid)
        if f is not None and not self.visible(f, self.identify(call)):
            f = None  # neither a member of its drive nor given access to it
        # Without supportsAllDrives, shared-drive items are invisible: Drive says 404. Methods that
        # have no such parameter (files.export) see them all the same.
        if f is None or (
            all_drives_flag
            and f.drive_id
            and not call.flag("supportsAllDrives")
            and not call.flag("supportsTeamDrives")
        ):
            raise ApiError(404, f"File not found: {file_id}.", reason="notFound", location="fileId")
        return f

    def _check_corpora(self, call: Call) -> Callable[[DriveFile], bool]:
        corpora = call.param("corpora", "user") or "user"
        drive_id = call.param("driveId") or call.param("teamDriveId")
        all_drives = call.flag("includeItemsFromAllDrives") or call.flag("includeTeamDriveItems")
        supports = call.flag("supportsAllDrives") or call.flag("supportsTeamDrives")
        if all_drives and not supports:
            raise ApiError(
                403,
                "The includeItemsFromAllDrives parameter can only be set to true when supportsAllDrives is also set to true.",
                reason="teamDrivesSupportRequired",
            )
        if (corpora == "drive") != bool(drive_id):
            raise ApiError(
                400,
                "The driveId parameter must be specified if and only if corpora is set to drive.",
                reason="invalid",
                location="driveId",
            )
        if corpora in ("drive", "allDrives") and not all_drives:
            raise ApiError(
                403,
                "The includeItemsFromAllDrives parameter must be set to true when corpora is set to drive or allDrives.",
                reason="teamDrivesParameterRequired",
            )
        who = self.identify(call)
        if corpora == "drive":
            self._require_member(str(drive_id), who)
            return lambda f: f.drive_id == drive_id
        if corpora not in ("user", "domain", "allDrives"):
            raise ApiError(400, "Invalid Value", reason="invalid", location="corpora")
        if self.incomplete_search and all_drives:
            return lambda f: f.drive_id is None
        if corpora == "allDrives":
            # The user corpus plus every shared drive the caller is a member of.
            return lambda f: self.in_user_corpus(f, who) or (f.drive_id is not None and self.is_member(f.drive_id, who))
        if all_drives:
            # The user corpus: a member's shared-drive items are not in it ("Files owned by or shared
            # to the user. If a user has permissions on a Shared Drive, the files inside it won't be
            # retrieved unless the user has created, opened, or shared the file": the Drive v3 .NET
            # reference of the `corpus` enum), only items shared with a non-member one by one.
            return lambda f: self.in_user_corpus(f, who) and (f.drive_id is None or not self.is_member(f.drive_id, who))
        return lambda f: f.drive_id is None

    def _page(self, call: Call) -> int:
        size = call.int_param("pageSize", 100)
        return min(size, self.page_size_cap) if self.page_size_cap else size

    def h_files_list(self, call: Call) -> Reply:
        with self._lock:
            visible = self._check_corpora(call)
            pred = compile_query(call.param("q", "") or "", self.root_id, self.roles)
            order = call.param("orderBy") or ""
            items: Iterable[DriveFile] = self.files.values()
            if (parents := required_parents(pred)) is not None:
                items = self._children_of(parents)
            matched = [f for f in items if pred(f) and visible(f)]  # the query first: cheaper
            matched.sort(key=lambda f: (f.created, f.id))
            for key in reversed([k.strip() for k in order.split(",") if k.strip()]):
                name, _, direction = key.partition(" ")
                attr = {
                    "name": "name",
                    "createdTime": "created",
                    "modifiedTime": "modified",
                    "folder": "mime_type",
                    "name_natural": "name",
                }.get(name)
                if attr is None:
                    raise ApiError(400, "Invalid Value", reason="invalid", location="orderBy")
                reverse = direction.strip().lower() == "desc"
                if name == "folder":
                    matched.sort(key=lambda f: f.mime_type != FOLDER, reverse=reverse)
                else:
                    matched.sort(key=lambda f, a=attr: getattr(f, a), reverse=reverse)
            fingerprint = _fingerprint(
                call, ("q", "orderBy", "corpora", "driveId", "includeItemsFromAllDrives")
            )
            offset, emptied = _decode_token(call.param("pageToken"), fingerprint)
            incomplete = self.incomplete_search and self._spans_corpora(call)
            if self.empty_pages and not emptied and offset < len(matched):
                body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": incomplete, "files": [],
                                        "nextPageToken": _encode_token(offset, fingerprint, emptied=True)}
                return Reply(json=body, default_fields=DEFAULT_LIST_FIELDS)
            size = self._page(call)
            page = matched[offset : offset + size]
            body = {
                "kind": "drive#fileList",
                "incompleteSearch": incomplete,
                "files": [self.resource(f) for f in page],
            }
            if offset + size < len(matched):
                body["nextPageToken"] = _encode_token(offset + size, fingerprint)
            return Reply(json=body, default_fields=DEFAULT_LIST_FIELDS)

    def _children_of(self, parents: Iterable[str]) -> list[DriveFile]:
        """The files with at least one of `parents` among theirs, each once."""
        if self._children is None:
            children: dict[str, list[DriveFile]] = {}
            for f in self.files.values():
                for parent in f.parents:
                    children.setdefault(parent, []).append(f)
            self._children = children
        found: dict[str, DriveFile] = {}
        for parent in parents:
            for f in self._children.get(parent, ()):
                found[f.id] = f
        return list(found.values())

    @staticmethod
    def _spans_corpora(call: Call) -> bool:
        corpora = call.param("corpora", "user") or "user"
        return corpora == "allDrives" or (corpora != "drive" and call.flag("includeItemsFromAllDrives"))

    def h_files_get(self, call: Call) -> Reply:
        with self._lock:
            f = self._lookup(call, call.path_params["fileId"])
            if call.param("alt") == "media":
                if f.content is None:
                    raise ApiError(
                        403,
                        "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
                        reason="fileNotDownloadable",
                        location="alt",
                    )
                return _media(call, f.content, f.mime_type)
            return Reply(json=self.resource(f), default_fields=DEFAULT_FILE_FIELDS)

    def h_files_export(self, call: Call) -> Reply:
        with self._lock:
            f = self._lookup(call, call.path_params["fileId"], all_drives_flag=False)
            mime = call.param("mimeType") or ""
            if not f.is_google_type or f.mime_type in (FOLDER, SHORTCUT):
                raise ApiError(403, "Export only supports Docs Editors files.", reason="fileNotExportable")
            if mime not in f.exports:
                raise ApiError(
                    400,
                    "The requested conversion is not supported.",
                    reason="badRequest",
                    location="mimeType",
                )
            data = f.exports[mime]
            if len(data) > EXPORT_LIMIT:
                raise ApiError(
                    403, "This file is too large to be exported.", reason="exportSizeLimitExceeded"
                )
            return _media(call, data, mime)

    def h_files_create(self, call: Call) -> Reply:
        meta = call.body_json()
        upload = call.upload
        with self._lock:
            parents = meta.get("parents") or [None]
            parent = parents[0]
            if (
                parent is not None
                and parent not in self.files
                and parent not in self.drives
                and parent != self.root_id
            ):
                raise ApiError(404, f"File not found: {parent}.", reason="notFound", location="parents")
            name = meta.get("name") or "Untitled"
            mime = meta.get("mimeType")
            if upload is not None:
                fid = self.add_file(name, parent, upload.media, mime or upload.media_type)
            elif mime == FOLDER:
                fid = self.add_folder(name, parent)
            elif mime and mime.startswith("application/vnd.google-apps."):
                fid = self.add_google_doc(name, parent, b"", mime_type=mime)
                if mime == SPREADSHEET and self.on_spreadsheet_created:
                    self.on_spreadsheet_created(fid, name)
            else:
                fid = self.add_file(name, parent, b"", mime or "application/octet-stream")
            return Reply(json=self.resource(self.files[fid]), default_fields=DEFAULT_FILE_FIELDS)

    def h_files_update(self, call: Call) -> Reply:
        meta = call.body_json()
        with self._lock:
            f = self._lookup(call, call.path_params["fileId"])
            if "name" in meta:
                f.name = meta["name"]
            if "description" in meta:
                f.description = meta["description"]
            self._children = None
            for pid in (call.param("removeParents") or "").split(","):
                if pid and pid in f.parents:
                    f.parents.remove(pid)
            for pid in (call.param("addParents") or "").split(","):
                if pid and pid not in f.parents:
                    f.parents.append(pid)
            self._touch(f)
            if "trashed" in meta:
                self.trash(f.id, bool(meta["trashed"]))
            return Reply(json=self.resource(f), default_fields=DEFAULT_FILE_FIELDS)

    def h_files_delete(self, call: Call) -> Reply:
        with self._lock:
            f = self._lookup(call, call.path_params["fileId"])
            self.delete(f.id)
            return Reply(status=204, data=b"", content_type="")

    def h_start_token(self, call: Call) -> Reply:
        drive_id = call.param("driveId")
        if drive_id:
            self._require_member(drive_id, self.identify(call))
        return Reply(json={"kind": "drive#startPageToken", "startPageToken": self.start_page_token()})

    def h_changes_list(self, call: Call) -> Reply:
        with self._lock:
            token = call.param("pageToken") or ""
            number, _, emptied = token.partition("~")  # "~": the empty page before it was served
            if not number.isdigit() or int(number) > self._next_seq or emptied not in ("", "e"):
                raise ApiError(400, "Invalid Value", reason="invalid", location="pageToken")
            start = int(number)
            drive_id = call.param("driveId")
            who = self.identify(call)
            if drive_id:
                self._require_member(drive_id, who)
            all_drives = call.flag("includeItemsFromAllDrives")
            if all_drives and not call.flag("supportsAllDrives"):
                raise ApiError(
                    403,
                    "The includeItemsFromAllDrives parameter can only be set to true when supportsAllDrives is also set to true.",
                    reason="teamDrivesSupportRequired",
                )
            include_removed = call.flag("includeRemoved", True)
            restrict = call.flag("restrictToMyDrive")

            def in_drive_log(c: Change) -> bool:
                return c.change_type == "file" and c.drive_id == drive_id

            def in_user_log(c: Change) -> bool:
                # Drive changes go to the logs of the drive's members only (about-changes guide).
                if c.change_type == "drive":
                    return not restrict and self.is_member(c.drive_id, who)
                if c.drive_id is None:
                    return True
                if restrict or not all_drives:
                    return False
                f = self.files.get(c.file_id)
                if f is None:  # gone: a removal is harmless to report to anyone who may have seen it
                    return not self.is_member(c.drive_id, who)
                # A member's shared-drive items are tracked in the drive's log; items shared with a
                # non-member one by one in that user's own log (about-changelogs guide).
                return self.in_user_corpus(f, who)

            def wanted(c: Change) -> bool:
                return (in_drive_log(c) if drive_id else in_user_log(c)) and (include_removed or not c.removed)

            pending = [c for c in self.changes if c.seq >= start and wanted(c)]
            if self.empty_pages and not emptied and pending:
                return Reply(json={"kind": "drive#changeList", "changes": [], "nextPageToken": f"{start}~e"},
                             default_fields=DEFAULT_CHANGE_FIELDS)
            size = self._page(call)
            page = pending[:size]
            out = [self._change_json(c) for c in page]
            body: dict[str, Any] = {"kind": "drive#changeList", "changes": out}
            if len(pending) > size:
                body["nextPageToken"] = str(pending[size].seq)
            else:
                body["newStartPageToken"] = str(self._next_seq)
            return Reply(json=body, default_fields=DEFAULT_CHANGE_FIELDS)

    def _change_json(self, c: Change) -> dict[str, Any]:
        item: dict[str, Any] = {
            "kind": "drive#change",
            "changeType": c.change_type,
            "type": c.change_type,
            "time": rfc3339(c.time),
            "removed": c.removed,
        }
        if c.change_type == "drive":
            # No fileId: "driveId" names the drive, "drive" its state (Change.drive: "Present if the
            # changeType is drive, the user is still a member of the shared drive, and the shared
            # drive has not been deleted").
            item["driveId"] = c.drive_id
            if c.drive_id in self.drives:
                item["drive"] = self._drive_json(self.drives[c.drive_id])
            return item
        item["fileId"] = c.file_id
        if c.drive_id:
            item["driveId"] = c.drive_id
        if not c.removed and c.file_id in self.files:
            item["file"] = self.resource(self.files[c.file_id])
        return item

    def h_drives_list(self, call: Call) -> Reply:
        with self._lock:
            # Without useDomainAdminAccess, "only the shared drives for which the current user of your
            # app is a member are returned" ("Search for shared drives" guide).
            who = self.identify(call)
            drives = sorted((d for d in self.drives.values() if d.has_member(who)), key=lambda d: (d.created, d.id))
            fingerprint = _fingerprint(call, ("q",))
            offset, _ = _decode_token(call.param("pageToken"), fingerprint)
            size = call.int_param("pageSize", 10)
            body: dict[str, Any] = {
                "kind": "drive#driveList",
                "drives": [self._drive_json(d) for d in drives[offset : offset + size]],
            }
            if offset + size < len(drives):
                body["nextPageToken"] = _encode_token(offset + size, fingerprint)
            return Reply(json=body)

    def h_drives_get(self, call: Call) -> Reply:
        drive_id = call.path_params["driveId"]
        self._require_member(drive_id, self.identify(call))
        return Reply(json=self._drive_json(self.drives[drive_id]))

    @staticmethod
    def _drive_json(d: SharedDrive) -> dict[str, Any]:
        return {"kind": "drive#drive", "id": d.id, "name": d.name, "createdTime": rfc3339(d.created)}

    def h_about_get(self, call: Call) -> Reply:
        if not call.param("fields"):
            # about.get is one of the Drive methods that insists on a field selection.
            raise ApiError(
                400,
                "The 'fields' parameter is required for this method.",
                reason="required",
                location="fields",
            )
        return Reply(json={"kind": "drive#about", "user": _user(DEFAULT_OWNER)})


def _fingerprint(call: Call, names: tuple[str, ...]) -> str:
    raw = json.dumps([call.param(n) for n in names])
    return hashlib.sha1(raw.encode()).hexdigest()[:10]


def _encode_token(offset: int, fingerprint: str, *, emptied: bool = False) -> str:
    data: dict[str, Any] = {"o": offset, "f": fingerprint}
    if emptied:
        data["e"] = 1  # the empty page before this offset was served
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode_token(token: str | None, fingerprint: str) -> tuple[int, bool]:
    if not token:
        return 0, False
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "Invalid Value", reason="invalid", location="pageToken") from None
    if data.get("f") != fingerprint:
        # The page token belongs to a different query.
        raise ApiError(400, "Invalid Value", reason="invalid", location="pageToken")
    return offset, bool(data.get("e"))


def _media(call: Call, data: bytes, mime: str) -> Reply:
    """Bytes, honouring a single `Range: bytes=a-b` like Google's media endpoints."""
    rng = call.headers.get("range")
    if rng and rng.startswith("bytes=") and "," not in rng:
        first, _, last = rng[6:].partition("-")
        total = len(data)
        try:
            start = int(first) if first else max(total - int(last), 0)
            end = min(int(last), total - 1) if (last and first) else total - 1
        except ValueError:
            start, end = 0, total - 1
        if total == 0:
            return Reply(data=b"", content_type=mime)
        if start >= total:
            return Reply(
                status=416, data=b"", content_type=mime, headers={"Content-Range": f"bytes */{total}"}
            )
        return Reply(
            status=206,
            data=data[start : end + 1],
            content_type=mime,
            headers={"Content-Range": f"bytes {start}-{end}/{total}"},
        )
    return Reply(data=data, content_type=mime)
