"""The test corpus, built in memory: focus-group records in several template styles, one file per
rule break (pictures hidden every way Word allows, wrong formats, hostile zips and XML), and photos.

Each `Case` carries the violation codes the inspection must report, so tests and the report table
read from one list.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from docx import Document
from PIL import Image

from ingest.campaign import DocumentRules
from ingest.record.template import CONSENT_PATTERN, FOCUS_GROUP_PARTS, make_record_docx

RULES = DocumentRules(consent_pattern=CONSENT_PATTERN, min_text_chars=2000, record_parts=FOCUS_GROUP_PARTS)
STRICT = DocumentRules(consent_pattern=CONSENT_PATTERN, min_text_chars=2000, record_parts=FOCUS_GROUP_PARTS,
                       require_all_answers=True)
IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
OLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# --- images -------------------------------------------------------------------------------------

def image_bytes(fmt: str, width: int = 64, height: int = 48, *, exif_orientation: int | None = None,
                color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """An image in `fmt` (JPEG, PNG, WEBP, GIF, HEIF); HEIF needs pillow-heif's encoder."""
    image = Image.new("RGB", (width, height), color)
    buffer = io.BytesIO()
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb for photo checks)."""
    small = image_bytes("PNG", 1, 1)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    import zlib

    chunk = b"IHDR" + ihdr
    patched = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    start = small.index(b"IHDR") - 4
    return small[:start] + patched + small[start + 25:]


# --- zip surgery ----------------------------------------------------------------------------------

def rezip(docx: bytes, *, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
          drop: tuple[str, ...] = ()) -> bytes:
    """The same package with parts replaced, added or dropped (deflated, as Word writes them)."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, data in add.items():
            dst.writestr(name, data)
    return out.getvalue()


def part(docx: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return archive.read(name).decode("utf-8")


def with_body_xml(docx: bytes, fragment: str, *, rels: str = "", content_types: str = "",
                  add: dict[str, bytes] | None = None) -> bytes:
    """Insert raw WordprocessingML before the final sectPr, plus relationships and content types."""
    document = part(docx, "word/document.xml")
    at = document.rindex("<w:sectPr")
    replace = {"word/document.xml": (document[:at] + fragment + document[at:]).encode()}
    if rels:
        xml = part(docx, "word/_rels/document.xml.rels")
        replace["word/_rels/document.xml.rels"] = xml.replace("</Relationships>", rels + "</Relationships>").encode()
    if content_types:
        xml = part(docx, "[Content_Types].xml")
        replace["[Content_Types].xml"] = xml.replace("</Types>", content_types + "</Types>").encode()
    return rezip(docx, replace=replace, add=add)


def patch_central_directory(docx: bytes, name: str, *, file_size: int | None = None,
                            flag_bits: int | None = None) -> bytes:
    """Lie in the zip's headers about one entry, as hand-crafted hostile files do."""
    data = bytearray(docx)
    encoded = name.encode()
    # (signature, offset of uncompressed size, of flags, of name length, of name) in each header kind
    for signature, size_at, flag_at, len_at, name_at in ((b"PK\x01\x02", 24, 8, 28, 46),
                                                        (b"PK\x03\x04", 22, 6, 26, 30)):
        pos = data.find(signature)
        while pos != -1:
            name_len = struct.unpack_from("<H", data, pos + len_at)[0]
            if bytes(data[pos + name_at:pos + name_at + name_len]) == encoded:
                if file_size is not None:
                    struct.pack_into("<I", data, pos + size_at, file_size)
                if flag_bits is not None:
                    struct.pack_into("<H", data, pos + flag_at, flag_bits)
            pos = data.find(signature, pos + 4)
    return bytes(data)


# --- records ------------------------------------------------------------------------------------

def valid_record(style: str = "paragraphs", province: str = "ยะลา") -> bytes:
    return make_record_docx(province, style=style)


def docx_from_lines(lines: list[str], *, list_number: tuple[int, ...] = ()) -> bytes:
    """A free-form document, one paragraph per line; lines at `list_number` use Word's List Number."""
    document = Document()
    for i, line in enumerate(lines):
        document.add_paragraph(line, style="List Number" if i in list_number else None)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def header_picture() -> bytes:
    document = Document(io.BytesIO(valid_record()))
    run = document.sections[0].header.paragraphs[0].add_run()
    run.add_picture(io.BytesIO(image_bytes("PNG")))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def footer_picture() -> bytes:
    document = Document(io.BytesIO(valid_record()))
    document.sections[0].footer.paragraphs[0].add_run().add_picture(io.BytesIO(image_bytes("JPEG")))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def anchored_picture() -> bytes:
    """The inline picture turned into a floating one (wp:anchor), as "wrap text: square" does."""
    docx = make_record_docx("ยะลา", picture=True)
    document = part(docx, "word/document.xml")
    start = document.index("<wp:inline")
    end = document.index(">", start)
    namespaces = " ".join(re.findall(r'xmlns:\w+="[^"]+"', document[start:end]))  # python-docx declares a:, pic: here
    anchor_open = (f'<wp:anchor {namespaces} distT="0" distB="0" distL="114300" distR="114300" simplePos="0" relativeHeight="1" '
                   'behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1">'
                   '<wp:simplePos x="0" y="0"/><wp:positionH relativeFrom="column"><wp:posOffset>0</wp:posOffset>'
                   '</wp:positionH><wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>')
    body = document[end + 1:document.index("</wp:inline>")].replace("<wp:docPr", '<wp:wrapSquare wrapText="bothSides"/><wp:docPr', 1)
    document = document[:start] + anchor_open + body + "</wp:anchor>" + document[document.index("</wp:inline>") + 12:]
    return rezip(docx, replace={"word/document.xml": document.encode()})


def vml_picture() -> bytes:
    fragment = ('<w:p><w:r><w:pict><v:shape id="vml1" style="width:40pt;height:30pt">'
                '<v:imagedata r:id="rIdVml1" o:title="ภาพ"/></v:shape></w:pict></w:r></w:p>')
    return with_body_xml(valid_record(), fragment,
                         rels=f'<Relationship Id="rIdVml1" Type="{IMAGE_REL}" Target="media/vml1.png"/>',
                         content_types='<Default Extension="png" ContentType="image/png"/>',
                         add={"word/media/vml1.png": image_bytes("PNG")})


def ole_object(with_preview: bool = True) -> bytes:
    preview = ('<v:shape id="ole1" style="width:72pt;height:72pt"><v:imagedata r:id="rIdPrev" o:title=""/></v:shape>'
               if with_preview else "")
    fragment = (f'<w:p><w:r><w:object w:dxaOrig="1440" w:dxaDest="1440">{preview}'
                '<o:OLEObject Type="Embed" ProgID="Excel.Sheet.12" ShapeID="ole1" DrawAspect="Icon" '
                'ObjectID="_1000" r:id="rIdOle"/></w:object></w:r></w:p>')
    rels = f'<Relationship Id="rIdOle" Type="{OLE_REL}" Target="embeddings/oleObject1.bin"/>'
    add = {"word/embeddings/oleObject1.bin": OLE_MAGIC + bytes(504)}
    types = '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/>'
    if with_preview:
        rels += f'<Relationship Id="rIdPrev" Type="{IMAGE_REL}" Target="media/ole1.emf"/>'
        add["word/media/ole1.emf"] = b"\x01\x00\x00\x00" + bytes(36) + b" EMF" + bytes(40)
        types += '<Default Extension="emf" ContentType="image/x-emf"/>'
    return with_body_xml(valid_record(), fragment, rels=rels, content_types=types, add=add)


def text_box() -> bytes:
    """A DrawingML text box as Word 2010+ writes it: mc:AlternateContent with a VML fallback."""
    fragment = (
        '<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
        '<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="2" behindDoc="0" locked="0" '
        'layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/><wp:positionH relativeFrom="column">'
        '<wp:posOffset>0</wp:posOffset></wp:positionH><wp:positionV relativeFrom="paragraph"><wp:posOffset>0'
        '</wp:posOffset></wp:positionV><wp:extent cx="914400" cy="457200"/><wp:wrapNone/><wp:docPr id="9" name="Text Box 9"/>'
        '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        '<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp>'
        '<wps:cNvSpPr txBox="1"/><wps:txbx><w:txbxContent><w:p><w:r><w:t>ข้อความในกล่อง</w:t></w:r></w:p>'
        '</w:txbxContent></wps:txbx><wps:bodyPr/></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>'
        '</mc:Choice><mc:Fallback><w:pict><v:shape id="tb9" style="width:72pt;height:36pt"><v:textbox>'
        '<w:txbxContent><w:p><w:r><w:t>ข้อความในกล่อง</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape>'
        '</w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>')
    return with_body_xml(valid_record(), fragment)


def linked_picture() -> bytes:
    """A picture linked from the web (r:link, external target): shown by Word, absent from the zip."""
    docx = make_record_docx("ยะลา", picture=True)
    document = part(docx, "word/document.xml").replace('r:embed="', 'r:link="')
    rels = part(docx, "word/_rels/document.xml.rels").replace(
        'Target="media/image1.png"', 'Target="http://example.invalid/photo.png" TargetMode="External"')
    return rezip(docx, replace={"word/document.xml": document.encode(),
                                "word/_rels/document.xml.rels": rels.encode()}, drop=("word/media/image1.png",))


def hidden_image_part() -> bytes:
    return rezip(valid_record(), add={"word/media/image7.png": image_bytes("PNG")})


def disguised_image_part() -> bytes:
    return rezip(valid_record(), add={"customXml/blob.dat": image_bytes("JPEG")})


def macro_enabled() -> bytes:
    docx = valid_record()
    types = part(docx, "[Content_Types].xml").replace(
        "wordprocessingml.document.main+xml", "INVALID").replace(
        "application/vnd.openxmlformats-officedocument.INVALID", "application/vnd.ms-word.document.macroEnabled.main+xml")
    return rezip(docx, replace={"[Content_Types].xml": types.encode()}, add={"word/vbaProject.bin": OLE_MAGIC + bytes(504)})


def xxe() -> bytes:
    document = part(valid_record(), "word/document.xml")
    head, rest = document.split("?>", 1)
    doctype = '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    document = head + "?>" + doctype + rest.replace("ผู้ดำเนินการสนทนา", "&xxe;", 1)
    return rezip(valid_record(), replace={"word/document.xml": document.encode()})


def billion_laughs() -> bytes:
    styles = part(valid_record(), "word/styles.xml")
    head, rest = styles.split("?>", 1)
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    return rezip(valid_record(), replace={"word/styles.xml": (head + "?><!DOCTYPE w:styles [" + entities + "]>" + rest).encode()})


def dtd_in_settings() -> bytes:
    """A DTD in a part whose prolog alone is checked (ingest.record.safety.check_prolog)."""
    settings = part(valid_record(), "word/settings.xml")
    head, rest = settings.split("?>", 1)
    doctype = '<!DOCTYPE w:settings [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return rezip(valid_record(), replace={"word/settings.xml": (head + "?>" + doctype + rest).encode()})


def styles_cut_after_root() -> bytes:
    """styles.xml well-formed up to its root's start tag and cut there: python-docx, which reads it,
    fails, so the record is unreadable (its prolog alone is checked before)."""
    styles = part(valid_record(), "word/styles.xml")
    root = styles.index("<w:styles")
    return rezip(valid_record(), replace={"word/styles.xml": styles[: styles.index(">", root) + 1].encode() + b"<w:style"})


def undeclared_entity_in_styles() -> bytes:
    """An entity used in styles.xml's body with no DTD to declare it: not an expansion, an error."""
    styles = part(valid_record(), "word/styles.xml")
    at = styles.index("<w:style ")
    return rezip(valid_record(), replace={"word/styles.xml": (styles[:at] + "&lol9;" + styles[at:]).encode()})


def dtd_in_content_types() -> bytes:
    types = part(valid_record(), "[Content_Types].xml")
    head, rest = types.split("?>", 1)
    return rezip(valid_record(), replace={"[Content_Types].xml": (head + '?><!DOCTYPE Types SYSTEM "http://example.invalid/t.dtd">' + rest).encode()})


def zip_bomb_ratio() -> bytes:
    return rezip(valid_record(), add={"word/padding.bin": bytes(30 * 1024 * 1024)})


def zip_bomb_declared() -> bytes:
    """An entry whose header claims 3 GB: refused from the directory, nothing is inflated."""
    return patch_central_directory(valid_record(), "word/settings.xml", file_size=3_000_000_000)


def zip_bomb_understated() -> bytes:
    """An entry that inflates to far more than its header says (the header lies small)."""
    docx = rezip(valid_record(), add={"word/padding.xml": b"<a>" + b" " * (5 * 1024 * 1024) + b"</a>"})
    return patch_central_directory(docx, "word/padding.xml", file_size=1000)


def too_many_entries() -> bytes:
    return rezip(valid_record(), add={f"customXml/n{i}.xml": b"<a/>" for i in range(1200)})


def duplicate_entry() -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on the duplicate name we are making on purpose
        return rezip(valid_record(), add={"word/document.xml": make_record_docx("ยะลา", picture=True)[:10]})


def encrypted_entry() -> bytes:
    return patch_central_directory(valid_record(), "word/document.xml", flag_bits=0x1)


def corrupted_deflate() -> bytes:
    docx = bytearray(valid_record())
    start = docx.find(b"word/document.xml") + 17 + 40  # inside the deflated data of the body
    for i in range(start, start + 64):
        docx[i] ^= 0x5A
    return bytes(docx)


def malformed_xml() -> bytes:
    return rezip(valid_record(), replace={"word/document.xml": b"<?xml version='1.0'?><w:document><w:body><w:p>"})


def truncated() -> bytes:
    docx = valid_record()
    return docx[: len(docx) // 2]


def fake_doc() -> bytes:
    return OLE_MAGIC + bytes(2048)


def encrypted_docx() -> bytes:
    """What Word writes for "Encrypt with password": an OLE2 file holding an EncryptedPackage stream."""
    return OLE_MAGIC + bytes(512) + "EncryptedPackage".encode("utf-16-le") + bytes(1024)


def minimal_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def minimal_odt() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def xlsx_like() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


def bloated_record(part_bytes: int, parts: int = 4, seed: int = 7) -> bytes:
    """A valid record whose document.xml is padded to `part_bytes` with paragraphs of short runs of
    random Thai letters, plus `parts - 1` more XML parts as big: well-formed, no entity, no DTD, and
    compressing only ~5:1, so every zip cap is met. (The issue-13 attack: four 19 MB parts in a 15.7 MB
    .docx.) Short runs make many elements per megabyte, which is what costs memory to parse."""
    rng = random.Random(seed)
    letters = [chr(c) for c in range(0x0E01, 0x0E2F)]  # ก..ฮ, 3 bytes each in UTF-8
    words = ["".join(rng.choices(letters, k=12)) for _ in range(8192)]  # far beyond deflate's 32 KB window

    def paragraphs(size: int) -> str:
        count = max(1, size // 8 // 58)  # a run of 12 letters is 58 bytes
        runs = [f"<w:r><w:t>{word}</w:t></w:r>" for word in rng.choices(words, k=count * 8)]
        return "".join(f"<w:p>{''.join(runs[i:i + 8])}</w:p>" for i in range(0, len(runs), 8))

    base = valid_record()
    document = part(base, "word/document.xml")
    at = document.rindex("<w:sectPr")
    padded = document[:at] + paragraphs(part_bytes - len(document.encode())) + document[at:]
    namespace = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    extra = {f"word/notes{i}.xml": f'<w:ftr xmlns:w="{namespace}">{paragraphs(part_bytes - 80)}</w:ftr>'.encode()
             for i in range(1, parts)}
    return rezip(base, replace={"word/document.xml": padded.encode()}, add=extra)


def blank_template() -> bytes:
    """The template as sent out: every answer a dotted line."""
    return make_record_docx("ยะลา", answers=[[""] * 10, [""] * 5, [""] * 5])


def libreoffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    codes: tuple[str, ...]  # expected violation codes, in order
    rules: DocumentRules = RULES
    exported_from: str | None = None


def _small_cap() -> DocumentRules:
    return DocumentRules(consent_pattern=CONSENT_PATTERN, record_parts=FOCUS_GROUP_PARTS, max_file_bytes=10_000)


RULE_CASES: tuple[Case, ...] = (
    *(Case(f"valid_{s}", lambda s=s: valid_record(s), ()) for s in (
        "paragraphs", "thai_digits", "kho", "paren", "autonum", "autonum_continuous", "no_headings", "table",
        "table_marked")),
    Case("picture_inline", lambda: make_record_docx("ยะลา", picture=True), ("has_pictures",)),
    Case("picture_anchored", anchored_picture, ("has_pictures",)),
    Case("picture_in_header", header_picture, ("has_pictures",)),
    Case("picture_in_footer", footer_picture, ("has_pictures",)),
    Case("picture_vml", vml_picture, ("has_pictures",)),
    Case("ole_object", ole_object, ("has_pictures",)),
    Case("ole_object_no_preview", lambda: ole_object(with_preview=False), ("has_pictures",)),
    Case("text_box", text_box, ("has_pictures",)),
    Case("picture_linked", linked_picture, ("has_pictures",)),
    Case("image_part_unreferenced", hidden_image_part, ("has_pictures",)),
    Case("image_part_disguised", disguised_image_part, ("has_pictures",)),
    Case("doc_renamed_docx", fake_doc, ("not_docx",)),
    Case("docx_password_protected", encrypted_docx, ("encrypted",)),
    Case("pdf", minimal_pdf, ("not_docx",)),
    Case("odt", minimal_odt, ("not_docx",)),
    Case("xlsx_renamed", xlsx_like, ("not_docx",)),
    Case("rtf_renamed", lambda: b"{\\rtf1\\ansi Thai text}", ("not_docx",)),
    Case("jpeg_as_record", lambda: image_bytes("JPEG"), ("not_docx",)),
    Case("docm_renamed", macro_enabled, ("not_docx",)),
    Case("empty_file", lambda: b"", ("not_docx",)),
    Case("random_bytes", lambda: random.Random(7).randbytes(4096), ("not_docx",)),
    Case("zip_bomb_ratio", zip_bomb_ratio, ("unsafe_file",)),
    Case("zip_bomb_declared_size", zip_bomb_declared, ("unsafe_file",)),
    Case("zip_bomb_understated_size", zip_bomb_understated, ("unreadable",)),
    Case("zip_too_many_entries", too_many_entries, ("unsafe_file",)),
    Case("zip_duplicate_entry", duplicate_entry, ("unsafe_file",)),
    Case("zip_encrypted_entry", encrypted_entry, ("encrypted",)),
    Case("zip_path_traversal_name", lambda: rezip(valid_record(), add={"../../tmp/evil.xml": b"<a/>"}), ("unsafe_file",)),
    Case("xxe_external_entity", xxe, ("unsafe_file",)),
    Case("billion_laughs", billion_laughs, ("unsafe_file",)),
    Case("dtd_in_content_types", dtd_in_content_types, ("unsafe_file",)),
    Case("dtd_in_settings", dtd_in_settings, ("unsafe_file",)),
    Case("styles_cut_after_root", styles_cut_after_root, ("unreadable",)),
    Case("undeclared_entity_in_styles", undeclared_entity_in_styles, ("unreadable",)),
    Case("truncated_zip", truncated, ("unreadable",)),
    Case("corrupted_deflate", corrupted_deflate, ("unreadable",)),
    Case("malformed_xml", malformed_xml, ("unreadable",)),
    Case("no_consent", lambda: make_record_docx("ยะลา", consent=False), ("no_consent",)),
    Case("blank_template", blank_template, ("too_short",)),
    Case("blank_template_strict", blank_template, ("too_short", "incomplete_record"), rules=STRICT),
    Case("missing_questions_strict", lambda: make_record_docx("ยะลา", answers=[["ตอบแล้ว " * 20] * 10, ["ตอบ"] * 3]),
         ("incomplete_record",), rules=STRICT),
    Case("google_doc_export", valid_record, ("google_doc",), exported_from="application/vnd.google-apps.document"),
    Case("too_large", valid_record, ("too_large",), rules=_small_cap()),
)
