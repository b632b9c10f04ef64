"""Files that desktop software leaves in an uploads folder, which no person submitted (pure).

Word writes an owner file beside every open document, Finder and Explorer write folder metadata,
browsers and sync clients write partial files; Google's own sync clients (Backup and Sync, Drive
File Stream) write a desktop.ini into every folder they sync (prusa3d/PrusaSlicer#1298). They reach
tidtam through a Drive for desktop mirror and through Drive itself (a Windows folder uploaded whole
carries its desktop.ini: iikira/BaiduPCS-Go#916 asks to filter it on folder upload), so every
uploads backend's listing goes through `is_desktop_artefact` before anything is counted.
"""

from __future__ import annotations

from collections.abc import Sequence

# Exact names, lower case. desktop.ini, Thumbs.db: nextcloud/desktop sync-exclude.lst and
# FilenCloudDienste/filen-sync src/constants.ts (DEFAULT_IGNORED, which also names the Recycle Bin and
# System Volume Information folders of a Windows drive root); "Icon\r": the file macOS keeps a
# folder's custom icon in (sync-exclude.lst "]Icon\r*").
_NAMES = frozenset({"desktop.ini", "thumbs.db", "icon\r", "$recycle.bin", "system volume information"})
# Name starts. "~$": Word/Excel/PowerPoint owner (lock) files, "~$cument.docx" (Microsoft KB 211632
# "How Word for Windows uses temporary files"; sync-exclude.lst "~$*"). A leading dot is a hidden
# file or folder on macOS and Linux, and covers: ".DS_Store" (Finder), "._name" (AppleDouble resource
# forks, also inside __MACOSX/ of a zip made on a Mac), ".~lock.name#" (LibreOffice's lock file,
# sync-exclude.lst ".~lock.*"), ".tmp.drivedownload/" and ".tmp.driveupload/" (Drive for desktop's
# staging folders: public rclone bisync filter files exclude them beside desktop.ini and "~$*"),
# ".Trash-1000/", ".Spotlight-V100/", ".fseventsd/".
_STARTS = ("~$", ".")
# Name ends. ".tmp": Word's temporary files "~WRL0001.tmp", "~WRD0000.tmp" (KB 211632) and other
# programs' save-then-rename files; ".crdownload" (Chrome), ".part" / ".filepart" (Firefox and
# others) are downloads not finished yet; "~" is an editor's backup copy (all in sync-exclude.lst).
_ENDS = (".tmp", ".crdownload", ".part", ".filepart", "~")


def is_desktop_artefact(name: str, folders: Sequence[str] = ()) -> bool:
    """True when the file, or a folder it sits in, is something software wrote, not a submission."""
    return any(_is_artefact_name(part) for part in (*folders, name))


def _is_artefact_name(name: str) -> bool:
    lower = name.lower()
    return lower in _NAMES or lower.startswith(_STARTS) or lower.endswith(_ENDS)
