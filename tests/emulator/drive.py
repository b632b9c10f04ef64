"""Drive v3: files, folders, Google Docs, shortcuts, shared drives and the changes feed."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .drive_query import compile_query
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

    @property
    def is_google_type(self) -> bool:
        return self.mime_type.startswith("application/vnd.google-apps.")


@dataclass
class Change:
    seq: int
    file_id: str
    removed: bool
    time: datetime
    drive_id: str | None


@dataclass
class SharedDrive:
    id: str
    name: str
    created: datetime


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
        self.drives: dict[str, SharedDrive] = {}
        self.changes: list[Change] = []
        self._changed_ids: set[str] = set()
        self._next_seq = 1
        self.root_id = "0A" + self._random_id(17) + "Uk9PVA"
        # When set, files.list/changes.list return at most this many items per page even if
        # pageSize is larger; Drive really does answer short pages with a nextPageToken.
        self.page_size_cap: int | None = None
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
    def add_shared_drive(self, name: str, drive_id: str | None = None) -> str:
        with self._lock:
            did = drive_id or "0A" + self._random_id(17) + "Uk9PVA"
            self.drives[did] = SharedDrive(did, name, self.now())
            return did

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
        if corpora == "drive":
            if drive_id not in self.drives:
                raise ApiError(
                    404, f"Shared drive not found: {drive_id}", reason="notFound", location="driveId"
                )
            return lambda f: f.drive_id == drive_id
        if corpora == "allDrives" or all_drives:
            return lambda f: True
        if corpora not in ("user", "domain"):
            raise ApiError(400, "Invalid Value", reason="invalid", location="corpora")
        return lambda f: f.drive_id is None

    def _page(self, call: Call) -> int:
        size = call.int_param("pageSize", 100)
        return min(size, self.page_size_cap) if self.page_size_cap else size

    def h_files_list(self, call: Call) -> Reply:
        with self._lock:
            visible = self._check_corpora(call)
            pred = compile_query(call.param("q", "") or "", self.root_id)
            order = call.param("orderBy") or ""
            matched = [f for f in self.files.values() if visible(f) and pred(f)]
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
            offset = _decode_token(call.param("pageToken"), fingerprint)
            size = self._page(call)
            page = matched[offset : offset + size]
            body: dict[str, Any] = {
                "kind": "drive#fileList",
                "incompleteSearch": False,
                "files": [self.resource(f) for f in page],
            }
            if offset + size < len(matched):
                body["nextPageToken"] = _encode_token(offset + size, fingerprint)
            return Reply(json=body, default_fields=DEFAULT_LIST_FIELDS)

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
        return Reply(json={"kind": "drive#startPageToken", "startPageToken": self.start_page_token()})

    def h_changes_list(self, call: Call) -> Reply:
        with self._lock:
            token = call.param("pageToken") or ""
            if not token.isdigit() or int(token) > self._next_seq:
                raise ApiError(400, "Invalid Value", reason="invalid", location="pageToken")
            start = int(token)
            drive_id = call.param("driveId")
            all_drives = call.flag("includeItemsFromAllDrives")
            if all_drives and not call.flag("supportsAllDrives"):
                raise ApiError(
                    403,
                    "The includeItemsFromAllDrives parameter can only be set to true when supportsAllDrives is also set to true.",
                    reason="teamDrivesSupportRequired",
                )
            include_removed = call.flag("includeRemoved", True)
            restrict = call.flag("restrictToMyDrive")

            def wanted(c: Change) -> bool:
                if drive_id:
                    return c.drive_id == drive_id
                if c.drive_id and (restrict or not all_drives):
                    return False
                return include_removed or not c.removed

            pending = [c for c in self.changes if c.seq >= start and wanted(c)]
            size = self._page(call)
            page = pending[:size]
            out = []
            for c in page:
                item: dict[str, Any] = {
                    "kind": "drive#change",
                    "changeType": "file",
                    "type": "file",
                    "time": rfc3339(c.time),
                    "removed": c.removed,
                    "fileId": c.file_id,
                }
                if c.drive_id:
                    item["driveId"] = c.drive_id
                if not c.removed and c.file_id in self.files:
                    item["file"] = self.resource(self.files[c.file_id])
                out.append(item)
            body: dict[str, Any] = {"kind": "drive#changeList", "changes": out}
            if len(pending) > size:
                body["nextPageToken"] = str(pending[size].seq)
            else:
                body["newStartPageToken"] = str(self._next_seq)
            return Reply(json=body, default_fields=DEFAULT_CHANGE_FIELDS)

    def h_drives_list(self, call: Call) -> Reply:
        with self._lock:
            drives = sorted(self.drives.values(), key=lambda d: (d.created, d.id))
            fingerprint = _fingerprint(call, ("q",))
            offset = _decode_token(call.param("pageToken"), fingerprint)
            size = call.int_param("pageSize", 10)
            body: dict[str, Any] = {
                "kind": "drive#driveList",
                "drives": [self._drive_json(d) for d in drives[offset : offset + size]],
            }
            if offset + size < len(drives):
                body["nextPageToken"] = _encode_token(offset + size, fingerprint)
            return Reply(json=body)

    def h_drives_get(self, call: Call) -> Reply:
        d = self.drives.get(call.path_params["driveId"])
        if d is None:
            raise ApiError(404, f"Shared drive not found: {call.path_params['driveId']}", reason="notFound")
        return Reply(json=self._drive_json(d))

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


def _encode_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode().rstrip("=")


def _decode_token(token: str | None, fingerprint: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "Invalid Value", reason="invalid", location="pageToken") from None
    if data.get("f") != fingerprint:
        # The page token belongs to a different query.
        raise ApiError(400, "Invalid Value", reason="invalid", location="pageToken")
    return offset


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
