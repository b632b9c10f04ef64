"""Open an uploaded .docx zip without trusting it: caps on size, entries and compression, and every
XML part parsed by defusedxml (no DTD, no entity) before python-docx or anything else reads it.
Parts imported through `w:altChunk` (HTML, MHT, RTF, a nested .docx) are kept whole and unparsed for
`docx_pictures`; a nested .docx is opened the same way, a few levels deep at most.

Nothing here touches the filesystem: entry names are compared as strings, never joined into a path.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, fromstring

from ingest.errors import ItemError
from ingest.facts import TOO_COMPLEX_TH

T = TypeVar("T")

_CHUNK = 64 * 1024
_HEAD_BYTES = 64
# Word only ever writes stored or deflated entries; anything else is a crafted file.
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_XML_SUFFIXES = (".xml", ".rels", ".vml")
# Parts only python-docx reads, or nothing does (and never hold pictures): only their prologs are
# checked, for a DTD, and no tree is built (`check_prolog`). Tokenizing python-docx's styles.xml
# (341 KB) and stylesWithEffects.xml (428 KB) to their ends was 12 of the 13 ms the checks took on a
# record made from python-docx's template (bench/bench_docx.py: 29.0 -> 16.2 ms a record in all).
_UNREAD_PARTS = ("word/styles", "word/stylesWithEffects", "word/theme/", "word/settings", "word/webSettings",
                 "word/fontTable", "word/people", "word/commentsExtended", "word/commentsIds", "docProps/",
                 "customXml/")


# ECMA-376 Part 1, §11.3.1 "Alternative Format Import Part": the relationship from a story part to
# content Word converts on opening (HTML, MHT, RTF, plain text, XML, another WordprocessingML package).
AFCHUNK_REL = "/aFChunk"
_ZIP_MAGIC = b"PK\x03\x04"
_EXPAT_NO_MEMORY = 1  # xml.parsers.expat.errors.XML_ERROR_NO_MEMORY


@dataclass(frozen=True)
class ZipLimits:
    """Caps for one package, from measured real records (README, "File checks"): a 20-question record's
    document.xml is 18-25 KB, one of 100,000 typed Thai characters (40-odd pages) 280 KB whether
    python-docx or LibreOffice wrote it; the largest part of any record measured is python-docx's
    stylesWithEffects.xml, 438 KB; all XML of a record together is at most 1.1 MB."""

    max_entries: int = 1000
    max_total_bytes: int = 100 * 1024 * 1024  # uncompressed, all entries together (media included)
    max_xml_part_bytes: int = 4 * 1024 * 1024  # 9x the largest real part, 14x a 40-page document.xml
    max_xml_total_bytes: int = 12 * 1024 * 1024  # every XML part together: 10x the largest real record
    max_ratio: float = 100.0  # uncompressed / compressed; Word's styles.xml is ~30
    ratio_floor_bytes: int = 1024 * 1024  # below this a high ratio is harmless (a blank styles part)
    max_nesting: int = 3  # a .docx imported into a .docx (altChunk), into another, ...


class UnsafePackage(ItemError):
    """The package must not be read further; `code` is "unsafe_file", "unreadable" or "encrypted"."""

    def __init__(self, code: str, reason_th: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail, reason_th=reason_th)


@dataclass
class Package:
    """The entries of a zip that passed the checks, and every XML part already parsed (safely)."""

    entries: dict[str, bytes] = field(default_factory=dict)  # XML parts whole; other parts' first bytes
    xml: dict[str, Element] = field(default_factory=dict)  # parsed parts: all but `_UNREAD_PARTS` and chunks
    chunks: dict[str, bytes] = field(default_factory=dict)  # altChunk targets, whole and unparsed
    nested: dict[str, Package] = field(default_factory=dict)  # altChunk targets that are .docx packages

    def names_under(self, prefix: str) -> list[str]:
        return [n for n in self.entries if n.startswith(prefix)]


def _bomb(detail: str) -> UnsafePackage:
    return UnsafePackage("unsafe_file", "ไฟล์บีบอัดผิดปกติ (อาจเป็นไฟล์อันตราย) ระบบไม่เปิดอ่าน", detail)


def _too_complex(detail: str) -> UnsafePackage:
    return UnsafePackage("too_complex", TOO_COMPLEX_TH, detail)


def _damaged(detail: str) -> UnsafePackage:
    return UnsafePackage("unreadable", "ไฟล์เสียหายหรืออัปโหลดไม่ครบ เปิดอ่านไม่ได้ กรุณาอัปโหลดใหม่", detail)


def check_archive(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Refuse an archive from its central directory alone, before one byte is decompressed."""
    if len(infos) > limits.max_entries:
        raise _bomb(f"{len(infos)} entries > {limits.max_entries}")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        # Two parts with one name: readers disagree on which one counts, a way to hide content.
        raise UnsafePackage("unsafe_file", "ไฟล์มีโครงสร้างผิดปกติ ระบบไม่เปิดอ่าน", "duplicate entry names")
    if any(_escapes(n) for n in names):
        # Word never writes such names; they only serve to escape a folder when unpacked. We never
        # unpack, but a crafted package is not a record.
        raise UnsafePackage("unsafe_file", "ไฟล์มีโครงสร้างผิดปกติ ระบบไม่เปิดอ่าน", "entry name leaves the package root")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise _bomb(f"{total} bytes uncompressed > {limits.max_total_bytes}")
    # XML is what costs memory to check (a parsed tree is many times its text), so its size is capped
    # from the directory, before a byte is inflated; parts that only look like XML once read are
    # counted again in `open_package`.
    xml = [i for i in infos if i.filename.lower().endswith(_XML_SUFFIXES)]
    if big := next((i for i in xml if i.file_size > limits.max_xml_part_bytes), None):
        raise _too_complex(f"{big.filename}: XML part of {big.file_size} bytes > {limits.max_xml_part_bytes}")
    if (xml_total := sum(i.file_size for i in xml)) > limits.max_xml_total_bytes:
        raise _too_complex(f"{xml_total} bytes of XML > {limits.max_xml_total_bytes}")
    packed = sum(i.compress_size for i in infos)
    if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(packed, 1):
        raise _bomb(f"compression ratio {total / max(packed, 1):.0f} > {limits.max_ratio:.0f}")
    for info in infos:
        if info.flag_bits & 0x1:
            raise UnsafePackage("encrypted", "ไฟล์ถูกตั้งรหัสผ่าน กรุณาเอารหัสผ่านออกแล้วอัปโหลดใหม่",
                                f"{info.filename} is encrypted")
        if info.compress_type not in _METHODS:
            raise _damaged(f"{info.filename}: compression method {info.compress_type}")
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _bomb(f"{info.filename}: ratio {info.file_size / max(info.compress_size, 1):.0f}")


def _escapes(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, *,
                 whole: bool = False) -> tuple[bytes, int]:
    """Read one entry in chunks, stopping at the cap whatever its header claims; an XML part (or any
    part when `whole`) is kept whole, any other part (media, fonts, binaries) only by its first bytes,
    enough to tell an image. Every byte is still inflated, so a damaged entry fails its CRC check here."""
    out = bytearray()
    size = 0
    keep: bool | None = True if whole else None
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise _bomb(f"{info.filename}: more than {cap} bytes when unpacked")
            if keep is None:
                keep = _looks_like_xml(info.filename, chunk)
            if keep or len(out) < _HEAD_BYTES:
                out += chunk if keep else chunk[: _HEAD_BYTES - len(out)]
    return bytes(out), size


def _looks_like_xml(name: str, data: bytes) -> bool:
    if name.lower().endswith(_XML_SUFFIXES):
        return True
    head = data[:8].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") or data[:2] in (b"\xff\xfe", b"\xfe\xff")


class _Discard:
    """A parser target without start/end methods: expat then runs at C speed, building nothing,
    while defusedxml's DTD and entity handlers still fire."""

    def close(self) -> None:
        return None


class _RootReached(Exception):
    """The parse reached the root element's start tag: nothing after it can declare anything."""


def check_prolog(name: str, data: bytes) -> None:
    """Refuse a part whose prolog holds a DTD (so any entity or external reference), or that does not
    reach a root element as well-formed XML; read no further than the root's start tag. XML 1.0 §2.8
    (`document ::= prolog element Misc*`) puts the document type declaration before the root element,
    the only place an entity can be declared, so the rest of the part cannot declare one: python-docx's
    own lxml parser (`resolve_entities=False`, docx/oxml/parser.py) reads it, and its errors make the
    record unreadable (`ingest.file_checks._read_word`). A part nothing reads is never parsed at all."""
    _guarded(name, lambda: _feed_prolog(data))


def _feed_prolog(data: bytes) -> None:
    parser = DefusedXMLParser(target=_Discard(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    # ElementTree's catch-all handler runs Python for every text run; the DTD handlers stay installed.
    parser.parser.DefaultHandlerExpand = None
    parser.parser.StartElementHandler = _stop_at_root
    try:
        parser.feed(data)
        parser.close()  # no root element at all: expat says what is wrong
    except _RootReached:
        return


def _stop_at_root(*_: object) -> None:
    raise _RootReached


def parse_xml(name: str, data: bytes) -> Element:
    """Parse one XML part with DTDs, entities and external references all refused."""
    return _guarded(name, lambda: fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True))


def _guarded(name: str, parse: Callable[[], T]) -> T:
    try:
        return parse()
    except DefusedXmlException as exc:
        raise UnsafePackage("unsafe_file", "ไฟล์มีโครงสร้าง XML ที่ไม่ปลอดภัย ระบบไม่เปิดอ่าน",
                            f"{name}: {type(exc).__name__}") from None
    except ParseError as exc:
        if getattr(exc, "code", None) == _EXPAT_NO_MEMORY:
            raise MemoryError(f"{name}: {exc}") from None  # the worker's memory cap, not a damaged file
        raise _damaged(f"{name}: {exc}") from None
    except (ValueError, UnicodeError) as exc:
        raise _damaged(f"{name}: {exc}") from None


def open_package(content: bytes, limits: ZipLimits | None = None, *, depth: int = 0) -> Package:
    """Every entry of the zip, XML parts parsed, altChunk targets kept whole (a nested .docx opened
    the same way); raises UnsafePackage with a Thai reason."""
    limits = limits or ZipLimits()
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
            check_archive(infos, limits)
            package = Package()
            budget = limits.max_total_bytes
            for info in infos:
                if info.is_dir():
                    continue
                cap = min(budget, info.file_size)
                data, size = _read_capped(archive, info, cap)
                budget -= size
                package.entries[info.filename] = data
            _parse_xml_parts(package, limits)
            for name in sorted(_chunk_targets(package)):
                info = archive.getinfo(name)
                package.chunks[name] = package.entries[name] if _looks_like_xml(name, package.entries[name]) \
                    else _read_capped(archive, info, info.file_size, whole=True)[0]
                package.entries[name] = package.chunks[name][:_HEAD_BYTES]
    except UnsafePackage:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
            RuntimeError, NotImplementedError) as exc:
        # What zipfile raises on truncated, CRC-failing, lying or encrypted archives.
        raise _damaged(f"zip: {type(exc).__name__}: {exc}") from None
    for name, data in package.chunks.items():
        if data.startswith(_ZIP_MAGIC):
            if depth >= limits.max_nesting:
                raise _too_complex(f"{name}: a .docx nested more than {limits.max_nesting} deep")
            package.nested[name] = open_package(data, limits, depth=depth + 1)
    return package


def _parse_xml_parts(package: Package, limits: ZipLimits) -> None:
    """Relationships and content types first (they say which parts are altChunk imports, which are
    not WordprocessingML and are left unparsed), then every other XML part."""
    xml_total = 0
    for name, data in package.entries.items():
        if _looks_like_xml(name, data):
            if len(data) > limits.max_xml_part_bytes:
                raise _too_complex(f"{name}: XML part of {len(data)} bytes > {limits.max_xml_part_bytes}")
            xml_total += len(data)
    if xml_total > limits.max_xml_total_bytes:
        raise _too_complex(f"{xml_total} bytes of XML > {limits.max_xml_total_bytes}")
    for name, data in package.entries.items():
        if name.endswith(".rels") or name == "[Content_Types].xml":
            package.xml[name] = parse_xml(name, data)
    chunks = _chunk_targets(package)
    for name, data in package.entries.items():
        if name in package.xml or name in chunks or not _looks_like_xml(name, data):
            continue
        if name.startswith(_UNREAD_PARTS):
            check_prolog(name, data)
        else:
            package.xml[name] = parse_xml(name, data)


def _chunk_targets(package: Package) -> set[str]:
    """Parts an aFChunk relationship points at (and that exist: a dangling one imports nothing)."""
    targets = set()
    for name, root in package.xml.items():
        if not name.endswith(".rels"):
            continue
        base = posixpath.dirname(posixpath.dirname(name))  # word/_rels/document.xml.rels -> word
        for node in root:
            if node.get("Type", "").endswith(AFCHUNK_REL) and node.get("TargetMode", "") != "External":
                target = node.get("Target", "")
                # Targets are relative to the source part's folder, or absolute from the package root
                # (html-docx-js writes "/word/afchunk.htm").
                path = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
                path = posixpath.normpath(path)
                if path in package.entries:
                    targets.add(path)
    return targets
