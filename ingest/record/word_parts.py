"""The parts of a .docx the record reader reads (the main document's tree, its numbering's tree and
which styles number their paragraphs), taken from the package `safety.open_package` has already
unpacked and checked, and refused wherever python-docx's `Document()` refuses.

Why not `Document()` itself: it opens the zip a second time, inflates every part again and parses
every XML part it knows with lxml, a 341 KB styles.xml included (tidtam's own template is made from
python-docx's, and Word keeps every style of the file it saves). That parse was 4.7 ms of the
12.5 ms a bench record took to inspect, its package 6–9 ms in all, and python-docx's package being
a reference cycle cost a collection (0.9 ms) after every record. Of the styles, the reader needs only
which style numbers its paragraphs (`w:numPr`, through `w:basedOn`): that is kept per styles part's
content, since records filled in from one template carry it byte for byte.

The same packages are refused for the same reasons, since python-docx's own package reader
(`docx.opc.pkgreader`) walks the relationships over the inflated entries: a relationship to a part
the zip lacks, a part without a content type, a part python-docx would parse (by content type, as its
`PartFactory` does) that is not well-formed XML, a main part that is not a Word document, two styles
relationships. Each raises what python-docx raises (KeyError, ValueError, lxml's XMLSyntaxError),
and `ingest.file_checks` makes any of them one "unreadable" violation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import CONTENT_TYPES_URI, PACKAGE_URI, PackURI
from docx.opc.part import PartFactory, XmlPart

# python-docx's package reader: walking the relationships and looking content types up is the part of
# `Document()` kept, so that what it refuses stays refused (private names; uv.lock pins python-docx).
from docx.opc.pkgreader import PackageReader, _ContentTypeMap, _SerializedPart, _SerializedRelationship
from docx.oxml.parser import parse_xml
from lxml import etree

from ingest.record.safety import Package

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
# A style's id → (w:numId, w:ilvl, the style it is based on), from w:style/w:pPr/w:numPr and w:basedOn.
StyleNumbering = Mapping[str, tuple[str | None, str | None, str | None]]
# Styles parts read, by the SHA-256 of their bytes (0.2 ms for 341 KB where parsing takes 4.7 ms). A
# campaign's records come from a template or two and the editors that saved them; a worker process
# keeps the last few (each a dict of a few hundred short tuples).
_STYLES_KEPT = 32
_styles_read: dict[bytes, StyleNumbering] = {}


@dataclass(frozen=True)
class WordParts:
    """What the record reader needs of a .docx."""

    body: etree._Element | None  # w:body of the main document part
    styles: StyleNumbering
    numbering: etree._Element | None  # w:numbering of the main part's numbering part, if any


class _InflatedEntries:
    """python-docx's physical package reader (`docx.opc.phys_pkg._ZipPkgReader`'s three members) over
    the entries `open_package` inflated: a missing entry is a KeyError, as `ZipFile.read` raises."""

    def __init__(self, entries: Mapping[str, bytes]) -> None:
        self._entries = entries

    def blob_for(self, pack_uri: PackURI) -> bytes:
        return self._entries[pack_uri.membername]

    @property
    def content_types_xml(self) -> bytes:
        return self.blob_for(CONTENT_TYPES_URI)

    def rels_xml_for(self, source_uri: PackURI) -> bytes | None:
        return self._entries.get(source_uri.rels_uri.membername)


def word_parts(package: Package) -> WordParts:
    """The main document, its numbering and its styles' numbering; raises as `docx.Document()` would
    on a package it cannot open (see the module's docstring)."""
    reader = _InflatedEntries(package.entries)
    content_types = _ContentTypeMap.from_xml(reader.content_types_xml)
    package_rels = list(PackageReader._srels_for(reader, PACKAGE_URI))
    parts = {p.partname: p for p in PackageReader._load_serialized_parts(reader, package_rels, content_types)}
    trees: dict[str, etree._Element] = {}
    styles: dict[str, StyleNumbering] = {}
    for part in parts.values():
        if not _parsed_by_python_docx(part):
            continue
        if part.content_type == CT.WML_STYLES:
            styles[part.partname] = _styles_of(part.blob)
        else:
            trees[part.partname] = parse_xml(part.blob)
    main = parts[_only_target(package_rels, RT.OFFICE_DOCUMENT)]
    if main.content_type != CT.WML_DOCUMENT_MAIN:
        raise ValueError(f"file is not a Word file, content type is '{main.content_type}'")
    main_rels = list(main.srels)
    try:
        styles_name = _only_target(main_rels, RT.STYLES)
    except KeyError:  # python-docx then uses its default styles, which number no paragraph
        style_numbering: StyleNumbering = {}
    else:
        if styles_name not in styles:
            raise ValueError(f"{styles_name}: the styles relationship leads to a {parts[styles_name].content_type}")
        style_numbering = styles[styles_name]
    numbering = None
    numbering_rel = next((r for r in main_rels if r.reltype.endswith("/numbering") and not r.is_external), None)
    if numbering_rel is not None:
        if numbering_rel.target_partname not in trees:
            raise ValueError(f"{numbering_rel.target_partname}: the numbering relationship leads to no XML part")
        numbering = trees[numbering_rel.target_partname]
    return WordParts(body=trees[main.partname].find(f"{{{W_NS}}}body"), styles=style_numbering,
                     numbering=numbering)


def _parsed_by_python_docx(part: _SerializedPart) -> bool:
    """Whether `docx.Document()` parses this part: its `PartFactory` picks the class by content type,
    an image relationship first (`docx.part_class_selector`)."""
    if part.reltype == RT.IMAGE:
        return False
    part_class = PartFactory.part_type_for.get(part.content_type)
    return part_class is not None and issubclass(part_class, XmlPart)


def _only_target(rels: list[_SerializedRelationship], reltype: str) -> PackURI:
    """The part the one relationship of this type leads to, as python-docx's `part_related_by` finds it:
    KeyError without one, ValueError with two or an external one."""
    matching = [r for r in rels if r.reltype == reltype]
    if not matching:
        raise KeyError(f"no relationship of type '{reltype}' in collection")
    if len(matching) > 1:
        raise ValueError(f"multiple relationships of type '{reltype}' in collection")
    if matching[0].is_external:
        raise ValueError(f"the relationship of type '{reltype}' is external")
    return matching[0].target_partname


def _styles_of(blob: bytes) -> StyleNumbering:
    key = hashlib.sha256(blob).digest()
    if (known := _styles_read.get(key)) is not None:
        return known
    found = style_numbering(parse_xml(blob))
    if len(_styles_read) >= _STYLES_KEPT:
        _styles_read.pop(next(iter(_styles_read)), None)
    _styles_read[key] = found
    return found


def style_numbering(styles: etree._Element) -> StyleNumbering:
    """Each style's numbering and the style it is based on (a style without w:numPr may inherit one)."""
    found = {}
    for style in styles.iterfind(f"{{{W_NS}}}style"):
        num = style.find(f"{{{W_NS}}}pPr/{{{W_NS}}}numPr")
        based = style.find(f"{{{W_NS}}}basedOn")
        found[style.get(f"{{{W_NS}}}styleId", "")] = (
            child_val(num, "numId"), child_val(num, "ilvl"), based.get(f"{{{W_NS}}}val") if based is not None else None)
    return found


def child_val(parent: etree._Element | None, name: str) -> str | None:
    """The w:val of `parent`'s child w:`name`, if both are there."""
    if parent is None:
        return None
    node = parent.find(f"{{{W_NS}}}{name}")
    return node.get(f"{{{W_NS}}}val") if node is not None else None
