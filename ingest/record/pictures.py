"""Find every picture-like thing in a .docx package: drawings, VML, OLE objects, text boxes, picture
bullets and fills in any story part (body, headers, footers, notes, comments), and any image part.

Elements are matched on their local names, so Strict Open XML (other namespace URIs) is caught too.
The package thumbnail (docProps/thumbnail.*, written by Word's "save preview picture") is not a
picture the province put in the record, so it is ignored. Content imported through `w:altChunk` is
looked into too (`chunk_pictures`), and a .docx imported that way is searched like the record itself.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from ingest.record.altchunk import chunk_pictures
from ingest.record.safety import Package

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_MEDIA_DIRS = ("word/media/", "word/embeddings/")
_THUMBNAIL = "/metadata/thumbnail"
# Relationship types (last path segment) that bring a picture or an object into a story.
_PICTURE_RELS = {"image": "image part", "oleObject": "embedded object", "package": "embedded object",
                 "chart": "chart", "diagramData": "chart", "video": "image part", "audio": "embedded object"}
_GRAPHIC_KINDS = {"picture": "picture", "chart": "chart", "diagram": "chart", "wordprocessingShape": "text box",
                  "wordprocessingGroup": "picture", "wordprocessingCanvas": "picture", "chartex": "chart"}

# Thai names shown to provinces: what was found, and where.
_KIND_TH = {"picture": "รูปภาพ", "linked picture": "รูปภาพที่ลิงก์ไว้", "text box": "กล่องข้อความหรือรูปวาด",
            "embedded object": "วัตถุ OLE ที่ฝังไว้", "chart": "แผนภูมิหรือแผนผัง", "image part": "ไฟล์รูปภาพแฝง",
            "picture bullet": "สัญลักษณ์หัวข้อที่เป็นรูปภาพ"}
_PLACE_TH = {"body": "ในเนื้อหา", "header": "ในหัวกระดาษ", "footer": "ในท้ายกระดาษ", "notes": "ในเชิงอรรถ",
             "comments": "ในข้อคิดเห็น", "package": "ในไฟล์"}


@dataclass(frozen=True)
class PictureFinding:
    part: str  # the package part it was found in, e.g. "word/header1.xml"
    kind: str  # "picture", "text box", "embedded object", "chart", "picture bullet", "image part", ...
    how: str  # the markup or evidence, e.g. "wp:anchor", "v:imagedata", "content type image/png"

    def __str__(self) -> str:
        return f"{self.part}: {self.kind} ({self.how})"


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(element: Element, local_name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == local_name:
            return value
    return None


def _place(part: str) -> str:
    base = posixpath.basename(part)
    if base.startswith("header"):
        return "header"
    if base.startswith("footer"):
        return "footer"
    if base.startswith(("footnotes", "endnotes")):
        return "notes"
    if base.startswith("comments"):
        return "comments"
    if part.endswith(".xml") and part.startswith("word/"):
        return "body"
    return "package"


def _graphic_kind(element: Element) -> str:
    """What a wp:inline / wp:anchor holds, from its a:graphicData uri."""
    for node in element.iter():
        if _local(node.tag) == "graphicData":
            uri = node.get("uri", "")
            return _GRAPHIC_KINDS.get(uri.rsplit("/", 1)[-1], "picture")
    return "picture"


def _markup(part: str, root: Element) -> list[PictureFinding]:
    """Drawings in one XML part; inside mc:AlternateContent only the first choice is read, since the
    fallback repeats the same object in VML."""
    found: list[PictureFinding] = []
    stack = [root]
    while stack:
        node = stack.pop()
        name = _local(node.tag)
        if name in ("inline", "anchor"):
            kind = _graphic_kind(node)
            if kind == "picture" and any(_local(n.tag) == "txbxContent" for n in node.iter()):
                kind = "text box"
            found.append(PictureFinding(part, kind, f"wp:{name}"))
            continue
        if name == "pict":
            kinds = {_local(n.tag) for n in node.iter()}
            if "imagedata" in kinds or ("fill" in kinds and _has_rel(node)):
                found.append(PictureFinding(part, "picture", "w:pict v:imagedata"))
            elif "OLEObject" in kinds:
                found.append(PictureFinding(part, "embedded object", "w:pict o:OLEObject"))
            elif _is_horizontal_line(node):
                pass  # Word's "horizontal line" is a VML rectangle with o:hr; it shows no picture
            else:
                found.append(PictureFinding(part, "text box", "w:pict v:shape"))
            continue
        if name in ("object", "OLEObject", "control"):
            found.append(PictureFinding(part, "embedded object", f"w:{name}"))
            continue
        if name == "txbxContent":
            found.append(PictureFinding(part, "text box", "w:txbxContent"))
            continue
        if name == "numPicBullet":
            found.append(PictureFinding(part, "picture bullet", "w:numPicBullet"))
            continue
        if name in ("blip", "imagedata") and (_attr(node, "embed") or _attr(node, "link") or _attr(node, "id")):
            found.append(PictureFinding(part, "picture", f"{name} outside a drawing"))
            continue
        if name == "AlternateContent":
            choices = [c for c in node if _local(c.tag) == "Choice"]
            stack.extend(choices[:1] or list(node))
            continue
        stack.extend(node)
    return found


def _is_horizontal_line(pict: Element) -> bool:
    shapes = [n for n in pict if _local(n.tag) in ("rect", "shape", "line")]
    return bool(shapes) and all(_attr(n, "hr") in ("t", "true") and len(n) == 0 for n in shapes)


def _has_rel(element: Element) -> bool:
    return any(_attr(n, "id") or _attr(n, "relid") for n in element.iter() if _local(n.tag) == "fill")


def _content_types(package: Package) -> tuple[dict[str, str], dict[str, str]]:
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    root = package.xml.get("[Content_Types].xml")
    if root is None:
        return defaults, overrides
    for node in root:
        name = _local(node.tag)
        if name == "Default":
            defaults[node.get("Extension", "").lower()] = node.get("ContentType", "")
        elif name == "Override":
            overrides[node.get("PartName", "").lstrip("/")] = node.get("ContentType", "")
    return defaults, overrides


def _thumbnails(package: Package) -> set[str]:
    root = package.xml.get("_rels/.rels")
    if root is None:
        return set()
    return {node.get("Target", "").lstrip("/") for node in root
            if node.get("Type", "").endswith(_THUMBNAIL)}


def _relationships(package: Package) -> list[PictureFinding]:
    found = []
    for name, root in package.xml.items():
        if not name.endswith(".rels") or name == "_rels/.rels":
            continue
        source = name.replace("_rels/", "").removesuffix(".rels")
        for node in root:
            rel = node.get("Type", "").rsplit("/", 1)[-1]
            if rel not in _PICTURE_RELS:
                continue
            if node.get("TargetMode", "") == "External":
                found.append(PictureFinding(source, "linked picture", f"external {rel} {node.get('Target', '')[:80]}"))
            else:
                found.append(PictureFinding(source, _PICTURE_RELS[rel], f"{rel} relationship"))
    return found


def _image_parts(package: Package, skip: set[str]) -> list[PictureFinding]:
    defaults, overrides = _content_types(package)
    found = []
    for name, data in package.entries.items():
        if name in skip:
            continue
        ext = posixpath.splitext(name)[1].lstrip(".").lower()
        ctype = overrides.get(name) or defaults.get(ext, "")
        if ctype.startswith("image/"):  # SVG is XML, so this is checked for parsed parts too
            found.append(PictureFinding(name, "image part", f"content type {ctype}"))
        elif name.startswith(_MEDIA_DIRS):
            found.append(PictureFinding(name, "image part", "media folder"))
        elif name in package.xml:
            continue
        elif data.startswith(_IMAGE_MAGIC) or data[8:12] == b"WEBP" or data[4:8] == b"ftyp":
            found.append(PictureFinding(name, "image part", "image bytes under another name"))
    return found


def _alt_chunks(package: Package) -> list[PictureFinding]:
    """Pictures inside altChunk imports; a nested .docx's findings are named "outer!inner"."""
    defaults, overrides = _content_types(package)
    found = []
    for name, data in sorted(package.chunks.items()):
        if name in package.nested:
            found.extend(PictureFinding(f"{name}!{f.part}", f.kind, f.how) for f in find_pictures(package.nested[name]))
            continue
        ctype = overrides.get(name) or defaults.get(posixpath.splitext(name)[1].lstrip(".").lower(), "")
        found.extend(PictureFinding(name, kind, how) for kind, how in chunk_pictures(data, ctype))
    return found


def find_pictures(package: Package) -> tuple[PictureFinding, ...]:
    """Every picture-like finding, in a stable order; empty for a text-only record."""
    skip = _thumbnails(package)
    found: list[PictureFinding] = []
    for name in sorted(package.xml):
        if name.endswith(".rels") or name == "[Content_Types].xml" or name in skip:
            continue
        found.extend(_markup(name, package.xml[name]))
    found.extend(_relationships(package))
    found.extend(_image_parts(package, skip | set(package.chunks)))
    found.extend(_alt_chunks(package))
    return tuple(dict.fromkeys(found))


def describe_th(findings: tuple[PictureFinding, ...], limit: int = 3) -> str:
    """'รูปภาพในหัวกระดาษ, กล่องข้อความหรือรูปวาดในเนื้อหา': what a province official can look for.

    Markup findings say more than the parts behind them, so parts and relationships are only named
    when nothing in the text shows where the picture is.
    """
    visible = [f for f in findings if _place(f.part) != "package" and f.kind != "image part"
               and "relationship" not in f.how and not f.how.startswith("external")]
    chosen = visible or list(findings)
    phrases = list(dict.fromkeys(f"{_KIND_TH.get(f.kind, 'รูปภาพ')}{_PLACE_TH[_place(f.part)]}" for f in chosen))
    text = ", ".join(phrases[:limit])
    return text + (" และอื่น ๆ" if len(phrases) > limit else "")
