"""Same content, same bytes: Office files are zip packages whose entries carry the time they were
written, and whose core properties (docProps/core.xml) say when the document was created and last
modified; openpyxl stamps `modified` with the clock on every save (openpyxl/writer/excel.py,
save_workbook). Both are set to the export's as-of here, and entries are written in the same order
with the same compression.

Zip entry times are MS-DOS date/time fields, which start in 1980 (APPNOTE.TXT 4.4.6; Python's ZipInfo
refuses earlier years), so the as-of serves as long as it is after 1980.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

from ingest.thaidate import BANGKOK

CORE = "docProps/core.xml"


def _w3cdtf(moment: datetime) -> str:
    # dcterms:created/modified are xsi:type="dcterms:W3CDTF" in UTC (ECMA-376 Part 2, 11.1; openpyxl and
    # python-docx both write "2022-11-12T10:00:00Z").
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pin_core_times(xml: bytes, moment: datetime) -> bytes:
    stamp = _w3cdtf(moment).encode()
    for tag in (b"created", b"modified"):
        xml = re.sub(rb"(<dcterms:" + tag + rb"\b[^>]*>)[^<]*(</dcterms:" + tag + rb">)",
                     lambda m: m.group(1) + stamp + m.group(2), xml)
    return xml


def pin_package(data: bytes, moment: datetime) -> bytes:
    """The same package with every entry dated `moment` (Bangkok wall time) and core times set to it."""
    local = moment.astimezone(BANGKOK).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == CORE:
                content = pin_core_times(content, moment)
            entry = zipfile.ZipInfo(info.filename, date_time=local)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content, compresslevel=6)
    return out.getvalue()
