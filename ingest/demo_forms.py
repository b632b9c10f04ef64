"""Forms "Download responses (.csv)" files written as Google writes them, for the demo and the tests.

Checked against four real downloads kept in PeterMoore24/Mentor-Scheduling-Tool ("Mentor Scheduling
Form.csv.zip" ×3, "ASU 101 Scheduling Form.csv.zip"): rebuilt from their CSV text and zip timestamps
by `forms_download_zip` below, each came out byte for byte the same. What they show:
- the zip is `<form title>.csv.zip` holding only `<form title>.csv`, deflated (zlib's default level),
  general-purpose flags 0x0808 (sizes in a data descriptor after the data; name in UTF-8, set even for
  an ASCII name), "made by" MS-DOS version 2.0, no extra fields, no comments, the download's local
  time as the entry's date;
- the CSV is UTF-8 without a BOM, every field in double quotes (empty ones too), rows ended by LF
  and no line break after the last row;
- arrival times read "2023/09/02 12:10:26 PM MDT": zero-padded date, hour without a leading zero,
  then the zone, written "GMT+7" where the zone has no English short name (Asia/Bangkok has none).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import datetime

from ingest.thaidate import BANGKOK

_UTF8_NAME_FLAG = 0x800


def forms_stamp(moment: datetime) -> str:
    """'2022/11/07 11:59:59 PM GMT+7' for a moment, in Bangkok time as a Thai owner downloads it."""
    local = moment.astimezone(BANGKOK)
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    zone = "GMT" if minutes == 0 else f"GMT{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
    hour = local.hour % 12 or 12
    return f"{local:%Y/%m/%d} {hour}:{local:%M:%S} {'PM' if local.hour >= 12 else 'AM'} {zone}"


def forms_csv_bytes(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    lines = [",".join('"' + str(v).replace('"', '""') + '"' for v in row) for row in [header, *rows]]
    return "\n".join(lines).encode("utf-8")


class _Unseekable(io.RawIOBase):
    """A sink zipfile cannot seek back in, so it writes sizes in a data descriptor as Google does."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


def forms_download_zip(title: str, csv_bytes: bytes, downloaded_at: datetime) -> bytes:
    """The `<title>.csv.zip` a Forms owner downloads, holding `<title>.csv`."""
    sink = _Unseekable()
    name = f"{title}.csv"
    local = downloaded_at.astimezone(BANGKOK)
    info = zipfile.ZipInfo(name, date_time=(local.year, local.month, local.day, local.hour, local.minute,
                                            local.second))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 0
    with zipfile.ZipFile(sink, "w") as archive:
        with archive.open(info, "w") as entry:
            entry.write(csv_bytes)
        info.external_attr = 0  # zipfile gives the entry Unix mode 0600; Google's has no attributes
    data = bytearray(sink.data)
    if name.isascii():
        # zipfile sets the UTF-8 flag only for a non-ASCII name; Google sets it always. The flags sit at
        # byte 6 of the local header and byte 8 of the central directory entry.
        central = data.rindex(b"PK\x01\x02")
        for at in (6, central + 8):
            data[at:at + 2] = (int.from_bytes(data[at:at + 2], "little") | _UTF8_NAME_FLAG).to_bytes(2, "little")
    return bytes(data)


def read_forms_download(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a download's CSV (for tests and the soak bench that edit an export)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (member,) = archive.infolist()
        text = archive.read(member).decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return header, rows
