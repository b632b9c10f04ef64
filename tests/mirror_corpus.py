"""Builds a Drive for desktop mirror as it really looks, on a real file system (git cannot hold most of it).

Every name below comes from evidence, cited beside it (the same sources as `ingest/artefacts.py`).
Contents of the artefacts do not matter (tidtam skips them by name and never opens them), so they
are short placeholders. The Google pointers are the files in `fixtures/real/drive_mirror/`.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ingest.record.template import make_record_docx

POINTERS = Path(__file__).parent / "fixtures/real/drive_mirror"

# Name → where it comes from. All sit in a unit's folder beside its real upload.
ARTEFACTS = {
    "~$บบันทึก_ยะลา.docx": "Word's owner file while แบบบันทึก_ยะลา.docx is open: its first two characters become ~$ "
                           "(Microsoft KB 211632; nextcloud sync-exclude.lst ~$*)",
    "~WRL0001.tmp": "Word's temporary file (KB 211632: ~wrlxxxx.tmp)",
    "~WRD0000.tmp": "Word's temporary file (KB 211632: ~wrdxxxx.tmp)",
    ".~lock.แบบบันทึก_ยะลา.docx#": "LibreOffice's lock file (sync-exclude.lst .~lock.*)",
    "desktop.ini": "folder settings, written by Google's sync client into every synced folder (prusa3d/PrusaSlicer#1298)",
    "Thumbs.db": "Explorer thumbnail cache (sync-exclude.lst; filen-sync)",
    ".DS_Store": "Finder folder metadata (sync-exclude.lst)",
    "._IMG_2001.jpg": "AppleDouble resource fork that macOS writes beside a file on a non-Apple disk (filen-sync: ._.ds_store)",
    "Icon\r": "macOS custom folder icon (sync-exclude.lst ]Icon\\r*)",
    "IMG_2002.jpg.crdownload": "Chrome download not finished (sync-exclude.lst *.crdownload)",
    "IMG_2003.jpg.part": "Firefox download not finished (sync-exclude.lst *.part)",
    "แบบบันทึก_ยะลา.docx~": "an editor's backup copy (sync-exclude.lst *~)",
}
# Folders that hold only what software wrote: Drive for desktop's staging folders (public rclone
# bisync filter files exclude them), a Mac zip's __MACOSX (AppleDouble files inside).
ARTEFACT_FOLDERS = {
    ".tmp.drivedownload": "0123456789.tmp",
    ".tmp.driveupload": "9876543210",
    "__MACOSX/ยะลา": "._แบบบันทึก_ยะลา.docx",
}


@dataclass
class Mirror:
    root: Path
    submissions: list[str] = field(default_factory=list)  # relative paths that are real uploads
    specials: dict[str, str] = field(default_factory=dict)  # relative path → what it is (one problem each)
    device: bool = False  # whether a character device could be made here (needs CAP_MKNOD)


def build_mirror(root: Path, outside: Path) -> Mirror:
    """A mirror with two attributable uploads, two Google pointers, every artefact and every special file.

    `outside` is a folder beside the mirror, for links that point out of it.
    """
    mirror = Mirror(root)
    yala = root / "ยะลา"
    (yala / "ภาพถ่าย").mkdir(parents=True)
    (yala / "แบบบันทึก_ยะลา.docx").write_bytes(make_record_docx("ยะลา"))
    mirror.submissions.append("ยะลา/แบบบันทึก_ยะลา.docx")
    for name in ARTEFACTS:
        (yala / name).write_bytes(b"artefact")
    # What Google's sync client writes there (its shape: prusa3d/PrusaSlicer#1298).
    (yala / "desktop.ini").write_text("[.ShellClassInfo]\r\nInfoTip=This folder is shared online.\r\n", encoding="utf-8")
    for folder, name in ARTEFACT_FOLDERS.items():
        (root / folder).mkdir(parents=True)
        (root / folder / name).write_bytes(b"artefact")
    for pointer, unit in (("แบบบันทึก_ราชบุรี.gdoc", "ราชบุรี"), ("แบบบันทึก_ลำปาง.gdoc", "ลำปาง"),
                          ("รายชื่อผู้เข้าร่วม.gsheet", "ยะลา")):
        (root / unit).mkdir(exist_ok=True)
        shutil.copyfile(POINTERS / pointer, root / unit / pointer)
        mirror.submissions.append(f"{unit}/{pointer}")

    # What is not a file at all: one problem row each, and nothing may block on it.
    odd = root / "ปัตตานี"
    odd.mkdir()
    os.mkfifo(odd / "fifo.jpg")
    mirror.specials["ปัตตานี/fifo.jpg"] = "named pipe (FIFO)"
    _bind_socket(odd, "sock.jpg")
    mirror.specials["ปัตตานี/sock.jpg"] = "socket"
    (odd / "broken.jpg").symlink_to(odd / "deleted-long-ago.jpg")
    mirror.specials["ปัตตานี/broken.jpg"] = "broken symbolic link"
    (odd / "loop-a.jpg").symlink_to("loop-b.jpg")
    (odd / "loop-b.jpg").symlink_to("loop-a.jpg")
    mirror.specials["ปัตตานี/loop-a.jpg"] = mirror.specials["ปัตตานี/loop-b.jpg"] = "loops back on itself"
    (odd / "self.jpg").symlink_to("self.jpg")
    mirror.specials["ปัตตานี/self.jpg"] = "loops back on itself"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("not an upload")
    (odd / "escape.txt").symlink_to(outside / "secret.txt")
    mirror.specials["ปัตตานี/escape.txt"] = "outside the upload folder"
    (odd / "elsewhere").symlink_to(outside, target_is_directory=True)
    mirror.specials["ปัตตานี/elsewhere"] = "folder outside the upload folder"
    (odd / "null.jpg").symlink_to("/dev/null")
    mirror.specials["ปัตตานี/null.jpg"] = "outside the upload folder"
    (odd / "fifo-link.jpg").symlink_to("fifo.jpg")
    mirror.specials["ปัตตานี/fifo-link.jpg"] = "link to a named pipe (FIFO)"
    try:
        os.mknod(odd / "zero.jpg", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # the same device as /dev/zero
    except PermissionError:  # no CAP_MKNOD (an unprivileged CI runner): the link to /dev/null stands in
        pass
    else:
        mirror.device = True
        mirror.specials["ปัตตานี/zero.jpg"] = "character device"

    # A link inside the mirror to a real upload is followed, under the link's own path; a link to a
    # folder inside the mirror is not followed (its files are listed where they are): no problem.
    nan = root / "น่าน"
    nan.mkdir()
    (nan / "แบบบันทึก_น่าน.docx").symlink_to(yala / "แบบบันทึก_ยะลา.docx")
    mirror.submissions.append("น่าน/แบบบันทึก_น่าน.docx")
    (nan / "ภาพถ่ายยะลา").symlink_to(yala / "ภาพถ่าย", target_is_directory=True)
    (nan / "วน").symlink_to(nan, target_is_directory=True)
    return mirror


def _bind_socket(folder: Path, name: str) -> None:
    """A listening Unix socket left in the folder (its path may exceed sun_path's 108 bytes, so bind relatively)."""
    here = os.getcwd()
    os.chdir(folder)
    try:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(name)
        server.close()  # the socket file stays, as it does when a program dies without unlinking it
    finally:
        os.chdir(here)
