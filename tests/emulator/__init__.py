"""A local, stateful Google Workspace emulator (Drive v3, Forms v1, Sheets v4, Gmail v1, OAuth).

See README.md in this folder. Typical use::

    with Emulator() as emu:
        folder = emu.drive.add_folder("Campaign")
        drive = build_service("drive", "v3", emu.base_url, creds)
"""

from __future__ import annotations

from .auth import Grant
from .clients import (
    ForeignHostError,
    LocalOnlyAdapter,
    build_service,
    discovery_document,
    gspread_client,
    local_session,
    service_account_credentials,
)
from .drive import DOCUMENT, DOCX, FOLDER, SHORTCUT, SPREADSHEET
from .emulator import Emulator, RequestRecord, Violation
from .errors import ApiError
from .faults import Fault
from .forms import FileUpload
from .gmail import SentMessage
from .keys import service_account_info
from .sheets import CELL_LIMIT, Cell

__all__ = [
    "CELL_LIMIT",
    "DOCUMENT",
    "DOCX",
    "FOLDER",
    "SHORTCUT",
    "SPREADSHEET",
    "ApiError",
    "Cell",
    "Emulator",
    "Fault",
    "FileUpload",
    "ForeignHostError",
    "Grant",
    "LocalOnlyAdapter",
    "RequestRecord",
    "SentMessage",
    "Violation",
    "build_service",
    "discovery_document",
    "gspread_client",
    "local_session",
    "service_account_credentials",
    "service_account_info",
]
