"""Records that import content through `w:altChunk`, built in memory: each format Word imports, with and
without a picture in it.

Shapes reproduced from evidence (our own generators; nothing copied):
- ECMA-376 Part 1 §11.3.1 (Alternative Format Import Part) and §17.17.2.1 (`altChunk`): a `<w:altChunk
  r:id>` in a story part, a relationship of type .../relationships/aFChunk to a part in the package.
- Content types Word imports (Eric White, "Formats Supported for altChunk", MSDN blog): text/html,
  application/xhtml+xml, message/rfc822 (MHT), application/rtf, text/plain, and the WordprocessingML
  main content type for a whole .docx.
- html-docx-js (evidenceprime/html-docx-js, src/templates/mht_document.tpl, mht_part.tpl,
  src/utils.coffee, src/assets/document.xml.rels): `word/afchunk.mht`, a multipart/related MHT whose
  HTML part is quoted-printable and each picture a base64 part with its own Content-Type and a
  Content-Location the HTML's <img src> points at; older versions an `afchunk.htm` targeted absolutely
  ("/word/afchunk.htm").
- A nested .docx is typed either as the WordprocessingML main part (the Open XML SDK's
  AlternativeFormatImportPartType.WordprocessingML, in Eric White's table) or as the package type
  application/vnd.openxmlformats-officedocument.wordprocessingml.document (an AltChunkPart added to a
  python-docx fork, docx/parts/altchunk.py, which also notes that python-docx fails to load a nested
  .docx typed as the main part: it parses the zip as XML).
- RTF 1.5 specification, "Pictures": {\\*\\shppict{\\pict\\pngblip ...hex...}}{\\nonshppict ...}.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from email.message import EmailMessage

from docx_corpus import RULES, Case, image_bytes, valid_record, with_body_xml

from ingest.record.template import make_record_docx

AFCHUNK_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/aFChunk"
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCX_PACKAGE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_PNG = image_bytes("PNG", 8, 8)


def with_chunk(data: bytes, name: str, content_type: str, *, base: bytes | None = None,
               target: str | None = None) -> bytes:
    """`base` (a valid record) with `data` imported through one altChunk at the end of its body."""
    return with_body_xml(
        base if base is not None else valid_record(),
        '<w:altChunk r:id="rIdChunk1"/>',
        rels=f'<Relationship Id="rIdChunk1" Type="{AFCHUNK_REL}" Target="{target or name.removeprefix("word/")}"/>',
        content_types=f'<Override PartName="/{name}" ContentType="{content_type}"/>',
        add={name: data})


def html_page(body: str, *, doctype: str = "<!DOCTYPE html>") -> bytes:
    return f'{doctype}<html><head><meta charset="utf-8"><title>บันทึก</title></head><body>{body}</body></html>'.encode()


def xhtml_page(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
            f'<head><title>บันทึก</title></head><body>{body}</body></html>').encode()


def mht(html: str, *, picture: bool) -> bytes:
    """An MHT as html-docx-js writes it: the page, then each picture as a part of its own."""
    message = EmailMessage()
    message.make_related()
    page = EmailMessage()
    page.set_content(html, subtype="html", cte="quoted-printable")
    page["Content-Location"] = "file:///C:/fake/document.html"
    message.attach(page)
    if picture:
        image = EmailMessage()
        image.set_content(_PNG, maintype="image", subtype="png")  # base64, as a data: URI was
        image["Content-Location"] = "file:///C:/fake/image0.png"
        message.attach(image)
    return message.as_bytes()


def rtf(picture: bool) -> bytes:
    text = r"{\rtf1\ansi\ansicpg874\deff0{\fonttbl{\f0 Tahoma;}}\f0 \u3610?\u3633?\u3609?\u3607?\u3638?\u3585? \par "
    if picture:
        text += r"{\*\shppict{\pict\pngblip\picw8\pich8 " + _PNG.hex() + r"}}{\nonshppict{\pict\wmetafile8 0100}}"
    return (text + "}").encode("ascii")


def nested(depth: int, *, picture: bool, content_type: str = DOCX_PACKAGE) -> bytes:
    """A record importing a record importing ... `depth` levels; the innermost may hold a picture."""
    inner = make_record_docx("ยะลา", picture=picture)
    for _ in range(depth):
        inner = with_chunk(inner, "word/chunk.docx", content_type)
    return inner


def _case(name: str, build: Callable[[], bytes], codes: tuple[str, ...]) -> Case:
    return Case(name, build, codes, RULES)


ALT_CHUNK_CASES: tuple[Case, ...] = (
    _case("altchunk_html_img", lambda: with_chunk(
        html_page(f'<p>ภาพกิจกรรม</p><img src="data:image/png;base64,{base64.b64encode(_PNG).decode()}">'),
        "word/afchunk.htm", "text/html", target="/word/afchunk.htm"), ("has_pictures",)),
    _case("altchunk_html_css_background", lambda: with_chunk(
        html_page('<div style="background-image: url(image0.png)">ภาพ</div>'), "word/afchunk.htm", "text/html"),
        ("has_pictures",)),
    _case("altchunk_xhtml_img", lambda: with_chunk(xhtml_page('<p><img src="image0.png" alt="ภาพ"/></p>'),
                                                   "word/chunk.xhtml", "application/xhtml+xml"), ("has_pictures",)),
    _case("altchunk_mht_picture", lambda: with_chunk(
        mht('<p>ภาพกิจกรรม</p><img src="file:///C:/fake/image0.png">', picture=True),
        "word/afchunk.mht", "message/rfc822"), ("has_pictures",)),
    _case("altchunk_rtf_pict", lambda: with_chunk(rtf(picture=True), "word/chunk.rtf", "application/rtf"),
          ("has_pictures",)),
    _case("altchunk_nested_docx_picture", lambda: nested(1, picture=True), ("has_pictures",)),
    _case("altchunk_nested_twice_docx_picture", lambda: nested(2, picture=True), ("has_pictures",)),
    # Text-only imports are no picture; an HTML or XHTML doctype is not an XML DTD attack either.
    _case("altchunk_html_text_only", lambda: with_chunk(html_page("<p>ความเห็นเพิ่มเติม</p>"),
                                                        "word/afchunk.htm", "text/html"), ()),
    _case("altchunk_xhtml_text_only", lambda: with_chunk(xhtml_page("<p>ความเห็นเพิ่มเติม</p>"),
                                                         "word/chunk.xhtml", "application/xhtml+xml"), ()),
    _case("altchunk_mht_text_only", lambda: with_chunk(mht("<p>ความเห็น</p>", picture=False),
                                                       "word/afchunk.mht", "message/rfc822"), ()),
    _case("altchunk_rtf_text_only", lambda: with_chunk(rtf(picture=False), "word/chunk.rtf", "application/rtf"), ()),
    _case("altchunk_nested_docx_text_only", lambda: nested(1, picture=False), ()),
    _case("altchunk_nested_too_deep", lambda: nested(4, picture=False), ("too_complex",)),
)
