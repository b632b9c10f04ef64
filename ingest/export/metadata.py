"""Photo metadata that can name a person (EXIF owner and camera serial, GPS position, XMP, IPTC,
comments), stripped without re-encoding the picture, for a pseudonymised export.

JPEG: a file is segments, each a 0xFF marker, a two-byte big-endian length (which counts itself), then
the payload, up to Start of Scan (0xFFDA), after which the entropy-coded picture runs to the end
(ITU-T T.81, Annex B.1). APP1 holds Exif and XMP, APP13 IPTC (Photoshop), COM a comment; APP0 (JFIF),
APP2 (the ICC colour profile) and APP14 (Adobe colour transform) are kept, since the picture's colours
depend on them.
PNG: chunks of length, type, data, CRC after an 8-byte signature (PNG spec, 5.3); tEXt, zTXt, iTXt and
eXIf are ancillary (lower-case first letter), so dropping them leaves a valid picture.
"""

from __future__ import annotations

import struct

_JPEG_DROP = {0xE1, 0xED, 0xFE}  # APP1, APP13, COM
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def strip_metadata(content: bytes) -> bytes:
    """The same picture without personal metadata; bytes it cannot parse are returned unchanged."""
    if content.startswith(b"\xff\xd8"):
        return _jpeg(content)
    if content.startswith(_PNG_SIGNATURE):
        return _png(content)
    return content


def _jpeg(content: bytes) -> bytes:
    out = bytearray(content[:2])
    at = 2
    while at + 4 <= len(content):
        if content[at] != 0xFF:
            return content  # not a marker where one must be: leave the file as it is
        marker = content[at + 1]
        if marker == 0xFF:  # fill byte before a marker (T.81 B.1.1.2)
            at += 1
            continue
        if marker == 0xDA:  # Start of Scan: the rest is picture data
            out += content[at:]
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out += content[at:at + 2]
            at += 2
            continue
        length = struct.unpack(">H", content[at + 2:at + 4])[0]
        if length < 2 or at + 2 + length > len(content):
            return content
        if marker not in _JPEG_DROP:
            out += content[at:at + 2 + length]
        at += 2 + length
    return content


def _png(content: bytes) -> bytes:
    out = bytearray(_PNG_SIGNATURE)
    at = len(_PNG_SIGNATURE)
    while at + 12 <= len(content):
        length = struct.unpack(">I", content[at:at + 4])[0]
        kind = content[at + 4:at + 8]
        end = at + 12 + length
        if end > len(content):
            return content
        if kind not in _PNG_DROP:
            out += content[at:end]
        at = end
        if kind == b"IEND":
            return bytes(out)
    return content
