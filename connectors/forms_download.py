"""Open a responses file as a person downloaded it: the Forms .csv.zip, the extracted CSV, or an XLSX.

Forms' "Download responses (.csv)" arrives as `<form title>.csv.zip` holding one `<form title>.csv`
(a real one: PeterMoore24/Mentor-Scheduling-Tool "Mentor Scheduling Form.csv.zip"; a survey report
in another repository describes "`Untitled form.csv.zip`, containing only `Untitled form.csv`"). The
CSV inside is UTF-8 without a BOM, every field quoted, rows ended by LF, no newline after the last
row; a linked sheet's own CSV download ends rows with CRLF. Both are read with the csv module, so
quoted newlines and either line ending work; a BOM (Excel's "CSV UTF-8") is dropped.
The zip is read in memory, never extracted, and only if it holds exactly one CSV of sane size.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from connectors.pandas_text import pd
from ingest.errors import InputError

MAX_CSV_BYTES = 200 * 1024 * 1024  # 760 responses are ~1 MB; this is far beyond any form
MAX_ZIP_ENTRIES = 64
_ZIP_MAGIC = b"PK\x03\x04"
_HOW_TO_GET_IT = "download it from the form's Responses tab (⋮ → Download responses (.csv))"


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a Forms responses file; InputError naming the file when it cannot be used."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except FileNotFoundError:
        raise InputError(f"responses export {path} does not exist: {_HOW_TO_GET_IT} and save it there") from None
    except OSError as exc:
        raise InputError(f"responses export {path} cannot be opened ({exc.strerror})") from None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx(path)
    if path.suffix.lower() == ".zip" or head == _ZIP_MAGIC:
        return _csv(path, _zip_member(path))
    return _csv(path, path.read_bytes())


def _zip_member(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise InputError(f"{path}: a Forms download holds one CSV, this .zip holds {len(entries)} entries")
            # A zip re-made on a Mac carries AppleDouble copies under __MACOSX/: not data.
            files = [e for e in entries if not e.is_dir() and not e.filename.startswith("__MACOSX/")]
            csvs = [e for e in files if e.filename.lower().endswith(".csv")]
            if len(csvs) != 1 or len(files) != 1:
                names = ", ".join(repr(e.filename) for e in files[:5]) or "nothing"
                raise InputError(f"{path}: expected the one .csv a Forms download holds, found {names}; "
                                 f"{_HOW_TO_GET_IT} again, or point the config at the extracted .csv")
            member = csvs[0]
            name = PurePosixPath(member.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or ":" in member.filename:
                raise InputError(f"{path}: member name {member.filename!r} points outside the archive; refused")
            if member.flag_bits & 0x1:
                raise InputError(f"{path}: {member.filename!r} is password-protected; download the responses again")
            if member.file_size > MAX_CSV_BYTES:
                raise InputError(f"{path}: {member.filename!r} would unpack to {member.file_size} bytes "
                                 f"(limit {MAX_CSV_BYTES}); refused")
            with archive.open(member) as stream:
                data = stream.read(MAX_CSV_BYTES + 1)  # the size in the header is the sender's word: cap the read
            if len(data) > MAX_CSV_BYTES:
                raise InputError(f"{path}: {member.filename!r} unpacks to more than {MAX_CSV_BYTES} bytes; refused")
            return data
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise InputError(f"{path}: not a readable .zip ({exc}); {_HOW_TO_GET_IT} again") from None


def _csv(path: Path, data: bytes) -> tuple[list[str], list[list[Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); a re-saved copy may use another "
                         f"encoding: {_HOW_TO_GET_IT} again") from None
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc})") from None
    if not table:
        raise InputError(f"{path}: empty file; {_HOW_TO_GET_IT} again")
    return table[0], [list(row) for row in table[1:]]


def _xlsx(path: Path) -> tuple[list[str], list[list[Any]]]:
    try:
        frame = pd.read_excel(path, dtype=object)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot read as an .xlsx workbook ({exc})") from None
    return [str(c) for c in frame.columns], [list(row) for row in frame.itertuples(index=False, name=None)]
