"""Find pictures in content a .docx imports through `w:altChunk`: HTML/XHTML, MHT, RTF, and Word's
XML formats. Word converts such a part into ordinary document content when it opens the file, so a
picture there shows up in the record as any other (ECMA-376 Part 1, §11.3.1 "Alternative Format
Import Part"; §17.17.2.1 `altChunk`).

The formats Word imports, by content type (Eric White, "Formats Supported for altChunk", MSDN blog):
text/html, application/xhtml+xml, message/rfc822 (MHT), application/rtf, text/plain, application/xml
(Word 2003 XML and flat OPC) and the WordprocessingML main types (a whole .docx; `docx_safety` opens
those as nested packages). The content type is a hint only: each part is judged by its own bytes.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from html.parser import HTMLParser

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
# HTML elements that show a picture or an embedded object. Word's own "Save as Web Page" writes VML
# (<v:imagedata src=...>, <v:shape>) beside or instead of <img>.
_PICTURE_TAGS = {"img": "picture", "image": "picture", "svg": "picture", "picture": "picture", "video": "picture",
                 "canvas": "picture", "v:imagedata": "picture", "object": "embedded object",
                 "embed": "embedded object", "iframe": "embedded object", "applet": "embedded object",
                 "v:shape": "text box", "v:textbox": "text box"}
# A picture set by CSS. Not any url(): Word's own web pages declare `behavior:url(#default#VML)`.
_CSS_IMAGE = re.compile(r"(background|list-style|content|border-image)[\w-]*\s*:[^;}]*(url|image-set)\s*\(",
                        re.IGNORECASE)
# RTF 1.5 specification, "Pictures" and "Objects": a picture is a {\pict ...} destination (Word 97 and
# later wrap it in {\*\shppict ...} and repeat it in {\nonshppict ...}); an OLE object is {\object ...}
# with its data in \objdata; a drawing shape is {\shp ...}. Control words end at the first non-letter.
_RTF_PICTURE = re.compile(rb"\\(pict|shppict|nonshppict|object|objdata|shp)(?![a-zA-Z])")
_RTF_KIND = {b"object": "embedded object", b"objdata": "embedded object", b"shp": "text box"}
# Word 2003 XML keeps pictures in <w:binData> and <w:pict>; a flat-OPC package keeps each part in a
# <pkg:part pkg:contentType="image/..."> with <pkg:binaryData>.
_XML_PICTURE = re.compile(rb"<(?:[\w.-]+:)?(pict|binData|drawing|imagedata|object)[\s/>]|"
                          rb"contentType\s*=\s*[\"']image/", re.IGNORECASE)


def chunk_pictures(data: bytes, content_type: str) -> list[tuple[str, str]]:
    """(kind, how) for each picture-like thing in one altChunk part; empty when there is none."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    ctype = content_type.split(";")[0].strip().lower()
    if data.startswith(_IMAGE_MAGIC) or data[8:12] == b"WEBP" or data[4:8] == b"ftyp":
        return [("image part", "altChunk holds image bytes")]
    if head.startswith(b"{\\rtf") or "rtf" in ctype:
        return _rtf(data)
    if ctype == "message/rfc822" or re.match(rb"(?i)(mime-version|content-type)\s*:", head):
        return _mht(data)
    if ctype == "application/xml" or (head.startswith(b"<?xml") and b"<html" not in data[:4096].lower()):
        marked = [("picture", f"XML {m.group(0)[:40].decode('ascii', 'replace')}") for m in _XML_PICTURE.finditer(data)]
        return _html(_decode(data)) + marked[:1]
    return _html(_decode(data))  # HTML, XHTML, plain text and anything unknown: look for markup


def _rtf(data: bytes) -> list[tuple[str, str]]:
    found = {match.group(1) for match in _RTF_PICTURE.finditer(data)}
    return [(_RTF_KIND.get(word, "picture"), f"RTF \\{word.decode()}") for word in sorted(found)]


def _mht(data: bytes) -> list[tuple[str, str]]:
    """An MHT file is a MIME multipart/related message: the HTML and each picture are parts of it
    (html-docx-js writes an image as a base64 part with its own Content-Type and Content-Location)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    found: list[tuple[str, str]] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        payload = part.get_payload(decode=True) if isinstance(part, EmailMessage) else None
        payload = payload if isinstance(payload, bytes) else b""
        if ctype.startswith("image/") or payload.startswith(_IMAGE_MAGIC):
            found.append(("image part", f"MHT part {ctype}"))
        elif ctype in ("text/html", "application/xhtml+xml", "text/xml"):
            charset = part.get_content_charset() or "utf-8"
            found.extend(_html(payload.decode(charset, "replace") if _known(charset) else _decode(payload)))
        elif ctype in ("application/rtf", "text/rtf"):
            found.extend(_rtf(payload))
    return found


class _PictureTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _PICTURE_TAGS:
            self.found.append((_PICTURE_TAGS[tag], f"HTML <{tag}>"))
        elif tag == "input" and any(k == "type" and (v or "").lower() == "image" for k, v in attrs):
            self.found.append(("picture", "HTML <input type=image>"))
        elif any(k == "background" and v for k, v in attrs):
            self.found.append(("picture", f"HTML <{tag} background>"))
        elif any(k == "style" and v and _CSS_IMAGE.search(v) for k, v in attrs):
            self.found.append(("picture", f"HTML <{tag}> style url()"))

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style" and _CSS_IMAGE.search(data):
            self.found.append(("picture", "HTML <style> url()"))


def _html(text: str) -> list[tuple[str, str]]:
    parser = _PictureTags()
    parser.feed(text)
    parser.close()
    return list(dict.fromkeys(parser.found))


def _decode(data: bytes) -> str:
    """Tag names are ASCII in every encoding an HTML file is saved in but UTF-16 (which Word's "Unicode"
    web page uses), so only a UTF-16 byte order mark changes how the bytes are read."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8", "replace")


def _known(charset: str) -> bool:
    try:
        "".encode(charset)
    except LookupError:
        return False
    return True
