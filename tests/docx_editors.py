"""Focus-group records as the editors people use write them: LibreOffice Writer (run here), Google
Docs' "Download → Microsoft Word (.docx)", WPS Office, Word for Mac, Apple Pages and Word writing its
main part under another name.

LibreOffice is the only one of these that runs here, so its files are real: `libreoffice_files()`
converts, in two `soffice` runs per test session, (a) the corpus's python-docx records round-tripped
through .odt and re-saved as .docx, and (b) records typed the Writer way (`writer_record_fodt`: a
native numbered list, tables, tracked changes, fields, soft line breaks, tabs, bookmarks and
placeholder fields), so every construct in them is what Writer's own .docx export makes of it.

The other editors cannot run here. Their traits were read from real files they wrote, found in public
repositories (cited beside each function), and are reproduced on our own records; no file or XML
from those repositories is copied.
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import subprocess
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from docx_corpus import libreoffice, part, rezip, valid_record
from lxml import etree

from ingest.record.template import (
    CONSENT_TEXT,
    FOCUS_GROUP_PARTS,
    FOCUS_GROUP_QUESTIONS,
    STYLES,
    default_answers,
)

WRITER_LAYOUTS = ("list", "table", "placeholders", "outline")


def require_libreoffice() -> str:
    """soffice's path; skips where it is missing, except under CI, where a skip would leave the
    LibreOffice tests untested (`.ci/run` installs it)."""
    office = libreoffice()
    if office is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is missing under CI; .ci/run installs libreoffice-writer-nogui")
        pytest.skip("LibreOffice (soffice) is not installed")
    return office


# --- LibreOffice Writer, typed natively (flat ODF) -----------------------------------------------

_ODF_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
}


def _p(content: str, style: str = "Standard") -> str:
    return f'<text:p text:style-name="{style}">{content}</text:p>'


def _change_info() -> str:
    return "<office:change-info><dc:creator>ผู้บันทึก</dc:creator><dc:date>2022-11-09T10:00:00</dc:date></office:change-info>"


def writer_record_fodt(province: str = "ยะลา", layout: str = "list") -> str:
    """A record as typed in Writer, as a flat ODF text document (.fodt).

    layout "list": questions in Writer's own numbered list (one list per part, restarting at 1),
    answers in the paragraphs under them; the date is a date field, the facilitator's name sits in a
    bookmark, one answer has a soft line break (Shift+Enter), one answer follows a tab, one answer has
    a tracked deletion and a tracked insertion left unaccepted, and the footer holds page fields.
    layout "table": each part a 3-column table (ข้อ | ประเด็นคำถาม | ผลการสนทนา).
    layout "placeholders": the blank template sent out with Writer placeholder fields
    (Insert → Field → More Fields → Functions → Placeholder) where the answers go, left unfilled.
    layout "outline": as "list", but each part heading is Heading 2 with only its title typed; the
    "ส่วนที่ n" in front is Writer's chapter numbering (Tools → Heading Numbering).
    """
    if layout not in WRITER_LAYOUTS:
        raise ValueError(f"layout {layout!r} is not one of {', '.join(WRITER_LAYOUTS)}")
    answers = default_answers(province)
    body: list[str] = [
        _p("แบบบันทึกประเด็นสนทนากลุ่ม (Focus Group)", "Heading_20_1"),
        _p(f"จังหวัด {escape(province)}<text:tab/>อำเภอ เมือง{escape(province)}"),
        _p('วันที่ <text:date style:data-style-name="ThaiDate" text:date-value="2022-11-09" text:fixed="true">'
           "9 พฤศจิกายน 2565</text:date>"),
        _p('ผู้ดำเนินการสนทนา <text:bookmark-start text:name="facilitator"/>นางสาวสมใจ ใจดี'
           '<text:bookmark-end text:name="facilitator"/>'),
        _p("ผู้เข้าร่วมสนทนากลุ่ม จำนวน 10 คน"),
        _p(escape(CONSENT_TEXT)),
    ]
    changes: list[str] = []
    for part_index, (info, questions) in enumerate(zip(FOCUS_GROUP_PARTS, FOCUS_GROUP_QUESTIONS, strict=True)):
        if layout == "outline":  # "ส่วนที่ n" comes from chapter numbering, not typed
            body.append(f'<text:h text:style-name="Heading_20_2" text:outline-level="2">{escape(info.title)}</text:h>')
        else:
            body.append(_p(f"ส่วนที่ {info.number} {escape(info.title)}", "Bold"))
        if layout == "table":
            body.append(_writer_table(part_index, questions, answers[part_index]))
            continue
        items = []
        for i, question in enumerate(questions):
            answer = escape(answers[part_index][i])
            if layout == "placeholders":
                answer_p = _p('ตอบ <text:placeholder text:placeholder-type="text" text:description="คำตอบ">'
                              "&lt;พิมพ์คำตอบที่นี่&gt;</text:placeholder>")
            elif (part_index, i) == (0, 1):  # a soft line break inside the answer
                text = answers[part_index][i]
                cut = soft_break_at(text)
                answer_p = _p(f"ตอบ {escape(text[:cut])}<text:line-break/>{escape(text[cut + 1:])}")
            elif (part_index, i) == (0, 2):
                answer_p = _p(f"ตอบ<text:tab/>{answer}")
            elif (part_index, i) == (1, 0):  # tracked changes, not yet accepted
                changes.append(f'<text:changed-region text:id="del1"><text:deletion>{_change_info()}'
                               "<text:p>ข้อความที่ลบไปแล้ว</text:p></text:deletion></text:changed-region>")
                changes.append(f'<text:changed-region text:id="ins1"><text:insertion>{_change_info()}'
                               "</text:insertion></text:changed-region>")
                head, tail = answer[:20], answer[20:]
                answer_p = _p(f'ตอบ <text:change text:change-id="del1"/><text:change-start text:change-id="ins1"/>'
                              f'{head}<text:change-end text:change-id="ins1"/>{tail}')
            else:
                answer_p = _p(f"ตอบ {answer}")
            items.append(f"<text:list-item>{_p(escape(question), 'List_20_Number')}{answer_p}</text:list-item>")
        # A new list per part: Writer restarts its numbering at 1 (text:continue-numbering="false").
        body.append(f'<text:list text:style-name="Numbering_20_123" text:continue-numbering="false">'
                    f'{"".join(items)}</text:list>')
    body.append(_p("ลงชื่อ ........................................ ผู้บันทึก"))
    tracked = f'<text:tracked-changes text:track-changes="true">{"".join(changes)}</text:tracked-changes>' \
        if changes else ""
    namespaces = " ".join(f'xmlns:{k}="{v}"' for k, v in _ODF_NS.items())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document {namespaces} office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:font-face-decls><style:font-face style:name="TH Sarabun New" svg:font-family="'TH Sarabun New'"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"/></office:font-face-decls>
<office:styles>
<style:default-style style:family="paragraph"><style:text-properties style:font-name="TH Sarabun New"
 style:font-name-complex="TH Sarabun New" fo:font-size="16pt" style:font-size-complex="16pt" fo:language="th"
 fo:country="TH" style:language-complex="th" style:country-complex="TH"/></style:default-style>
<style:style style:name="Standard" style:family="paragraph" style:class="text"/>
<style:style style:name="Heading_20_1" style:display-name="Heading 1" style:family="paragraph"
 style:parent-style-name="Standard" style:default-outline-level="1"><style:text-properties fo:font-weight="bold"/></style:style>
<style:style style:name="Bold" style:family="paragraph" style:parent-style-name="Standard">
 <style:text-properties fo:font-weight="bold" style:font-weight-complex="bold"/></style:style>
<style:style style:name="List_20_Number" style:display-name="List Number" style:family="paragraph"
 style:parent-style-name="Standard"/>
<style:style style:name="Heading_20_2" style:display-name="Heading 2" style:family="paragraph"
 style:parent-style-name="Standard" style:default-outline-level="2"><style:text-properties fo:font-weight="bold"/></style:style>
<text:outline-style style:name="Outline">
 <text:outline-level-style text:level="1" style:num-format=""/>
 <text:outline-level-style text:level="2" style:num-prefix="ส่วนที่ " style:num-suffix=" " style:num-format="1"/>
</text:outline-style>
<text:list-style style:name="Numbering_20_123" style:display-name="Numbering 123">
 <text:list-level-style-number text:level="1" style:num-suffix="." style:num-format="1">
  <style:list-level-properties text:list-level-position-and-space-mode="label-alignment">
   <style:list-level-label-alignment text:label-followed-by="listtab" fo:text-indent="-0.635cm" fo:margin-left="1.27cm"/>
  </style:list-level-properties></text:list-level-style-number>
</text:list-style>
<number:date-style style:name="ThaiDate"><number:day/><number:text> </number:text><number:month number:textual="true"
 number:style="long"/><number:text> </number:text><number:year number:style="long" number:calendar="buddhist"/></number:date-style>
</office:styles>
<office:automatic-styles><style:page-layout style:name="pm1"/></office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1"><style:footer>
{_p('หน้า <text:page-number text:select-page="current">1</text:page-number> จาก <text:page-count>1</text:page-count>')}
</style:footer></style:master-page></office:master-styles>
<office:body><office:text>{tracked}{"".join(body)}</office:text></office:body>
</office:document>
"""


def soft_break_at(answer: str) -> int:
    """Where the Writer record's answer 1.2 has its soft line break: the space nearest its middle."""
    return answer.index(" ", len(answer) // 2)


def _writer_table(part_index: int, questions: tuple[str, ...], answers: list[str]) -> str:
    rows = ["<table:table-row>" + "".join(
        f'<table:table-cell office:value-type="string">{_p(h)}</table:table-cell>'
        for h in ("ข้อ", "ประเด็นคำถาม", "ผลการสนทนา")) + "</table:table-row>"]
    for i, (question, answer) in enumerate(zip(questions, answers, strict=True)):
        cells = (str(i + 1), escape(question), escape(answer))
        rows.append("<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string">{_p(c)}</table:table-cell>' for c in cells)
            + "</table:table-row>")
    return (f'<table:table table:name="ส่วนที่{part_index + 1}"><table:table-column table:number-columns-repeated="3"/>'
            f'{"".join(rows)}</table:table>')


@functools.cache
def _convert_all(office: str) -> dict[str, bytes]:
    """Every LibreOffice-written file of the session, by name; two soffice runs (~10–20 s)."""
    with tempfile.TemporaryDirectory(prefix="tidtam-lo-") as tmp:
        work = Path(tmp)
        src, odt, out = work / "src", work / "odt", work / "out"
        for d in (src, odt, out):
            d.mkdir()
        for style in STYLES:
            (src / f"roundtrip-{style}.docx").write_bytes(valid_record(style))
            (odt / f"resave-{style}.docx").write_bytes(valid_record(style))
        for layout in WRITER_LAYOUTS:
            (odt / f"writer-{layout}.fodt").write_text(writer_record_fodt("ยะลา", layout), encoding="utf-8")
        profile = f"-env:UserInstallation=file://{work / 'profile'}"
        # Run 1: python-docx .docx → .odt (what Writer keeps of them); run 2: everything → .docx.
        subprocess.run([office, profile, "--headless", "--convert-to", "odt", "--outdir", str(odt),
                        *sorted(map(str, src.iterdir()))], check=True, capture_output=True, timeout=300)
        subprocess.run([office, profile, "--headless", "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out),
                        *sorted(map(str, odt.iterdir()))], check=True, capture_output=True, timeout=300)
        files = {p.name: p.read_bytes() for p in out.iterdir()}
        files.update({f"odt/{p.name}": p.read_bytes() for p in odt.glob("roundtrip-*.odt")})
        return files


def libreoffice_file(name: str) -> bytes:
    """One LibreOffice-written file: "roundtrip-<style>.docx" (python-docx → .odt → .docx),
    "resave-<style>.docx" (opened and saved as .docx), "writer-<layout>.docx" (typed in Writer),
    "odt/roundtrip-<style>.odt"."""
    return _convert_all(require_libreoffice())[name]


# --- shared package surgery -------------------------------------------------------------------------

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"


def _w(name: str) -> str:
    return f"{{{_W}}}{name}"


def _el(tag: str, **attrs: str) -> etree._Element:
    node = etree.Element(_w(tag))
    for key, value in attrs.items():
        node.set(_w(key), value)
    return node


def _xml(docx: bytes, name: str) -> etree._Element:
    return etree.fromstring(part(docx, name).encode())


def _dump(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _with_namespaces(root: etree._Element, extra: dict[str, str], ignorable: str | None) -> etree._Element:
    """The same element under a root that declares more prefixes (and mc:Ignorable), as other writers do."""
    nsmap = {**root.nsmap, **extra}
    new = etree.Element(root.tag, nsmap=nsmap)
    for key, value in root.attrib.items():
        new.set(key, value)
    if ignorable:
        new.set(f"{{{_MC}}}Ignorable", ignorable)
    new.extend(list(root))
    return new


def _drop_package_parts(docx: bytes, prefixes: tuple[str, ...]) -> bytes:
    """Remove parts (and their package relationships and content types) whose names start so."""
    names = zipfile.ZipFile(io.BytesIO(docx)).namelist()
    replace = {}
    for rels_name, base in (("_rels/.rels", ""), ("word/_rels/document.xml.rels", "word/")):
        rels = _xml(docx, rels_name)
        for rel in list(rels):
            target = posixpath.normpath(posixpath.join(base, rel.get("Target", ""))).lstrip("/")
            if rel.get("TargetMode") != "External" and target.startswith(prefixes):
                rels.remove(rel)
        replace[rels_name] = _dump(rels)
    types = _xml(docx, "[Content_Types].xml")
    for node in list(types):
        if node.get("PartName", "").lstrip("/").startswith(prefixes):
            types.remove(node)
    replace["[Content_Types].xml"] = _dump(types)
    return rezip(docx, replace=replace, drop=tuple(n for n in names if n.startswith(prefixes)))


def _list_numbers(docx: bytes) -> tuple[etree._Element, dict[str, str]]:
    """document.xml, and each numbered paragraph's list instance (numId), direct or from its style."""
    document = _xml(docx, "word/document.xml")
    style_num = {}
    for style in _xml(docx, "word/styles.xml").iterfind(_w("style")):
        num = style.find(f"{_w('pPr')}/{_w('numPr')}/{_w('numId')}")
        if num is not None:
            style_num[style.get(_w("styleId"))] = num.get(_w("val"))
    return document, style_num


# --- Google Docs: File → Download → Microsoft Word (.docx) ----------------------------------------

def google_docs_export(docx: bytes) -> bytes:
    """A record as Google Docs exports it. Traits read from two real exports:
    jgm/pandoc test/docx/google_docs_list_items.docx @e91d34e06615274ed1de90f19025e235388cb1a2 and
    ShayHill/docx2python test/resources/test-docx2python-conversion-google_docs.docx
    @3e8ca0f4407fea3a89241bc003843c192f641e55:
    - no docProps at all (no app.xml naming the writer, no core.xml, no thumbnail);
    - every w:p carries w:rsidR/rsidDel/rsidP/rsidRDefault/rsidRPr="00000000" and a counting
      w14:paraId ("00000001", …); every run has rsid "00000000" and <w:rtl w:val="0"/> in its rPr; the
      paragraph mark has an empty <w:rPr/>;
    - lists are direct w:numPr with w:ind on each paragraph (no list paragraph style), one
      w:abstractNum per list, numbered from 1 (abstractNumId="1", numId="1");
    - styles.xml: docDefaults in Arial 11 pt, the normal style named "normal", headings/Title/Subtitle;
      settings.xml with compatibilityMode 15 and a w:background.
    """
    document, style_num = _list_numbers(docx)
    lists: dict[str, int] = {}
    for counter, p in enumerate(document.iter(_w("p")), start=1):
        for attr in ("rsidR", "rsidDel", "rsidP", "rsidRDefault", "rsidRPr"):
            p.set(_w(attr), "00000000")
        p.set(f"{{{_W14}}}paraId", f"{counter:08X}")
        ppr = p.find(_w("pPr"))
        if ppr is None:
            ppr = _el("pPr")
            p.insert(0, ppr)
        style = ppr.find(_w("pStyle"))
        num = ppr.find(f"{_w('numPr')}/{_w('numId')}")
        num_id = num.get(_w("val")) if num is not None else style_num.get(style.get(_w("val"))) if style is not None else None
        if style is not None and style.get(_w("val")) in style_num:
            ppr.remove(style)
        if ppr.find(_w("numPr")) is not None:
            ppr.remove(ppr.find(_w("numPr")))
        if num_id is not None:
            google_id = lists.setdefault(num_id, len(lists) + 1)
            num_pr = _el("numPr")
            num_pr.append(_el("ilvl", val="0"))
            num_pr.append(_el("numId", val=str(google_id)))
            ppr.insert(0, num_pr)
            ppr.append(_el("ind", left="720", hanging="360"))
        if ppr.find(_w("rPr")) is None:
            ppr.append(_el("rPr"))
        for r in p.iter(_w("r")):
            for attr in ("rsidDel", "rsidR", "rsidRPr"):
                r.set(_w(attr), "00000000")
            rpr = r.find(_w("rPr"))
            if rpr is None:
                rpr = _el("rPr")
                r.insert(0, rpr)
            rpr.append(_el("rtl", val="0"))
    for tbl_style in document.iter(_w("tblStyle")):
        tbl_style.getparent().remove(tbl_style)
    body = document.find(_w("body"))
    document.insert(list(document).index(body), _el("background", color="FFFFFF"))
    document = _with_namespaces(document, {"w14": _W14, "mc": _MC}, None)
    numbering = _google_numbering(len(lists))
    docx = rezip(docx, replace={"word/document.xml": _dump(document), "word/numbering.xml": numbering,
                                "word/styles.xml": _GOOGLE_STYLES.encode(), "word/settings.xml": _GOOGLE_SETTINGS.encode()})
    return _drop_package_parts(docx, ("docProps/", "customXml/", "word/stylesWithEffects", "word/webSettings"))


def _google_numbering(count: int) -> bytes:
    levels = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%{i + 1}."/>'
        f'<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="{720 * (i + 1)}" w:hanging="360"/></w:pPr></w:lvl>'
        for i in range(9))
    abstracts = "".join(f'<w:abstractNum w:abstractNumId="{k}">{levels}</w:abstractNum>' for k in range(1, count + 1))
    nums = "".join(f'<w:num w:numId="{k}"><w:abstractNumId w:val="{k}"/></w:num>' for k in range(1, count + 1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:numbering xmlns:w="{_W}">'
            f"{abstracts}{nums}</w:numbering>").encode()


_GOOGLE_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="{_W}"><w:docDefaults><w:rPrDefault>'
    '<w:rPr><w:rFonts w:ascii="Arial" w:cs="Arial" w:eastAsia="Arial" w:hAnsi="Arial"/><w:sz w:val="22"/>'
    '<w:szCs w:val="22"/><w:lang w:val="th"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>'
    '<w:spacing w:line="276" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>'
    '<w:style w:type="paragraph" w:styleId="Normal" w:default="1"><w:name w:val="normal"/></w:style>'
    '<w:style w:type="table" w:styleId="TableNormal" w:default="1"><w:name w:val="Table Normal"/></w:style>'
    + "".join(f'<w:style w:type="paragraph" w:styleId="Heading{n}"><w:name w:val="heading {n}"/>'
              '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:pPr><w:keepNext w:val="1"/>'
              '<w:keepLines w:val="1"/><w:pageBreakBefore w:val="0"/></w:pPr></w:style>' for n in range(1, 7))
    + '<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/></w:style>'
    '<w:style w:type="paragraph" w:styleId="Subtitle"><w:name w:val="Subtitle"/><w:basedOn w:val="Normal"/></w:style>'
    "</w:styles>")
_GOOGLE_SETTINGS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:settings xmlns:w="{_W}">'
    '<w:displayBackgroundShape w:val="1"/><w:defaultTabStop w:val="720"/><w:compat><w:compatSetting '
    'w:val="15" w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word"/></w:compat></w:settings>')


def _set_app(docx: bytes, application: str, version: str | None) -> bytes:
    app = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Properties '
           'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Template>Normal.dotm</Template>'
           f"<TotalTime>12</TotalTime><Pages>3</Pages><Application>{application}</Application><DocSecurity>0</DocSecurity>"
           + (f"<AppVersion>{version}</AppVersion>" if version else "") + "</Properties>")
    return rezip(docx, replace={"docProps/app.xml": app.encode()})


# --- WPS Office ---------------------------------------------------------------------------------------

_WPS_CUSTOM_DATA = "http://www.wps.cn/officeDocument/2013/wpsCustomData"


def wps_office(docx: bytes) -> bytes:
    """A record as WPS Office saves it. Traits read from a real WPS file,
    VolodymyrBaydalka/docxjs tests/render-test/text-box-wps/document.docx @7927d202309500f37e08b77d89965045f1822e7a
    (docProps/app.xml: "WPS Office_12.1.0.26880_…"), and from mwilliamson/mammoth.js
    test/test-data/empty-r-id.docx (blob 483a48decb, a file WPS touched: KSOProductBuildVer 2052-10.1.0.5777):
    - docProps/app.xml names "WPS Office_<version>_<GUID>" and has no AppVersion; docProps/custom.xml
      holds KSOProductBuildVer "<LCID>-<version>" (the LCID is the UI language: 1036 in the French
      file; 1054 is Thai) and ICV;
    - the zip lists folder entries ("_rels/", "word/", …) besides the files;
    - document.xml declares xmlns:wpsCustomData and mc:Ignorable="w14 w15 wp14"; every paragraph has a
      w14:paraId and no rsid; every run and paragraph mark has <w:rFonts w:hint="default"/> and a w:lang;
    - settings.xml ends with an mc:AlternateContent whose only branch is
      <mc:Choice Requires="wpsCustomData"><wpsCustomData:typoFeatureVersion/>, with no mc:Fallback
      (reported from WPS desktop files in deepseek-ai/DeepSeek-V3 issue #1652; WPS omitting the
      fallback: mwilliamson/python-mammoth issue #163).
    """
    document = _xml(docx, "word/document.xml")
    for i, p in enumerate(document.iter(_w("p"))):
        for key in [k for k in p.attrib if k.startswith(_w("rsid"))]:
            del p.attrib[key]
        p.set(f"{{{_W14}}}paraId", f"{(0x1A2B3C4D * (i + 1)) & 0x7FFFFFFF:08X}")
        ppr = p.find(_w("pPr"))
        if ppr is None:
            ppr = _el("pPr")
            p.insert(0, ppr)
        marks = [ppr] + list(p.iter(_w("r")))
        for holder in marks:
            rpr = holder.find(_w("rPr"))
            if rpr is None:
                rpr = _el("rPr")
                if holder is ppr:
                    holder.append(rpr)  # the paragraph mark's properties close w:pPr
                else:
                    holder.insert(0, rpr)
            rpr.insert(0, _el("rFonts", hint="default"))
            rpr.append(_el("lang", val="en-US", eastAsia="zh-CN", bidi="th-TH"))
    document = _with_namespaces(document, {"wpsCustomData": _WPS_CUSTOM_DATA, "w14": _W14}, "w14 w15 wp14")
    custom = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Properties '
              'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
              'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
              '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="KSOProductBuildVer">'
              "<vt:lpwstr>1054-12.1.0.26880</vt:lpwstr></property>"
              '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="3" name="ICV">'
              "<vt:lpwstr>5D0C9B1E2F3A4B5C6D7E8F9012345678_11</vt:lpwstr></property></Properties>")
    rels, types = _xml(docx, "_rels/.rels"), _xml(docx, "[Content_Types].xml")
    rels.append(etree.Element(f"{{{_REL}}}Relationship", Id="rIdCustom", Target="docProps/custom.xml",
                              Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"))
    types.append(etree.Element(f"{{{_CT}}}Override", PartName="/docProps/custom.xml",
                               ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"))
    settings = _with_namespaces(_xml(docx, "word/settings.xml"), {"wpsCustomData": _WPS_CUSTOM_DATA, "mc": _MC}, None)
    settings.append(etree.fromstring(
        f'<mc:AlternateContent xmlns:mc="{_MC}" xmlns:wpsCustomData="{_WPS_CUSTOM_DATA}"><mc:Choice '
        'Requires="wpsCustomData"><wpsCustomData:typoFeatureVersion val="1"/></mc:Choice></mc:AlternateContent>'))
    docx = rezip(docx, replace={"word/document.xml": _dump(document), "_rels/.rels": _dump(rels),
                                "[Content_Types].xml": _dump(types), "word/settings.xml": _dump(settings)},
                 add={"docProps/custom.xml": custom.encode(),
                      **{folder: b"" for folder in ("_rels/", "docProps/", "word/", "word/_rels/", "word/theme/")}})
    return _set_app(docx, "WPS Office_12.1.0.26880_F1E327BC-269C-435d-A152-05C5408002CA", None)


# --- Word for Mac -------------------------------------------------------------------------------------

def word_for_mac(docx: bytes, *, moved_answer: bool = True) -> bytes:
    """A record saved by Word for Mac, numbered with the toolbar's numbering button and with one answer
    moved (cut and pasted) while Track Changes was on, the change not yet accepted.

    python-docx's own template is a Word for Mac 2011 package (app.xml "Microsoft Macintosh Word",
    the mo:/mv: namespaces, mc:Ignorable="w14 wp14"), so the package traits are those of every corpus
    record; added here, from real Word for Mac files: AppVersion 15.0000 (mwilliamson/mammoth.js
    test/test-data/empty-r-id.docx, blob 483a48decb); numbering as Word's button writes it:
    pStyle ListParagraph + direct w:numPr, a hybridMultilevel w:abstractNum with w:nsid/w:tmpl and
    w:tplc on each level, higher levels w:tentative, "Restart at 1" as a new w:num with a
    w:startOverride (jgm/pandoc test/docx/table_with_list_cell.docx @3caf2b1e, Word for Mac 14); the
    "_GoBack" bookmark Word leaves at the last edit; and a tracked move: the old place keeps the text in
    w:moveFrom/w:r/w:t (not w:delText), the new place in w:moveTo (jgm/pandoc
    test/docx/track_changes_move.docx @18ab8642, Word for Mac 14).
    """
    document, style_num = _list_numbers(docx)
    lists: dict[str, int] = {}
    for p in document.iter(_w("p")):
        ppr = p.find(_w("pPr"))
        if ppr is None:
            continue
        style = ppr.find(_w("pStyle"))
        num = ppr.find(f"{_w('numPr')}/{_w('numId')}")
        num_id = num.get(_w("val")) if num is not None else style_num.get(style.get(_w("val"))) if style is not None else None
        if num_id is None:
            continue
        if style is not None:
            ppr.remove(style)
        if ppr.find(_w("numPr")) is not None:
            ppr.remove(ppr.find(_w("numPr")))
        num_pr = _el("numPr")
        num_pr.append(_el("ilvl", val="0"))
        num_pr.append(_el("numId", val=str(lists.setdefault(num_id, len(lists) + 1))))
        ppr.insert(0, num_pr)
        ppr.insert(0, _el("pStyle", val="ListParagraph"))
    body = document.find(_w("body"))
    answers = [p for p in body.iter(_w("p")) if "".join(p.itertext()).startswith("ตอบ ")]
    if moved_answer and len(answers) >= 5:
        _track_move(answers[3], answers[4])
    last = answers[-1] if answers else body.find(_w("p"))
    last.insert(1, _el("bookmarkStart", id="90", name="_GoBack"))
    last.insert(2, _el("bookmarkEnd", id="90"))
    styles = _xml(docx, "word/styles.xml")
    list_paragraph = etree.fromstring(
        f'<w:style xmlns:w="{_W}" w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/>'
        '<w:basedOn w:val="Normal"/><w:uiPriority w:val="34"/><w:qFormat/><w:pPr><w:ind w:left="720"/>'
        "<w:contextualSpacing/></w:pPr></w:style>")
    styles.append(list_paragraph)
    docx = rezip(docx, replace={"word/document.xml": _dump(document), "word/styles.xml": _dump(styles),
                                "word/numbering.xml": _mac_numbering(len(lists))})
    return _set_app(docx, "Microsoft Macintosh Word", "15.0000")


def _track_move(destination: etree._Element, source_after: etree._Element) -> None:
    """The answer in `destination` was typed under the next question first, then moved here: the new
    place wraps its runs in w:moveTo, the old place (a paragraph after `source_after`) keeps a copy of
    them in w:moveFrom."""
    info = {"author": "ผู้บันทึก", "date": "2022-11-09T10:00:00Z"}
    runs = [r for r in destination if r.tag == _w("r")]
    old = _el("p")
    old.append(_el("moveFromRangeStart", id="80", name="move1", **info))
    move_from = _el("moveFrom", id="81", **info)
    for r in runs:
        move_from.append(etree.fromstring(etree.tostring(r)))
    old.append(move_from)
    old.append(_el("moveFromRangeEnd", id="80"))
    source_after.addnext(old)
    move_to = _el("moveTo", id="83", **info)
    destination.insert(list(destination).index(runs[0]), _el("moveToRangeStart", id="82", name="move1", **info))
    for r in runs:
        move_to.append(r)
    destination.append(move_to)
    destination.append(_el("moveToRangeEnd", id="82"))


def _mac_numbering(count: int) -> bytes:
    formats = ("decimal", "lowerLetter", "lowerRoman") * 3
    tplc = ("0409000F", "04090019", "0409001B") * 3
    levels = "".join(
        f'<w:lvl w:ilvl="{i}" w:tplc="{tplc[i]}"' + (' w:tentative="1"' if i else "") + '><w:start w:val="1"/>'
        f'<w:numFmt w:val="{formats[i]}"/><w:lvlText w:val="%{i + 1}."/><w:lvlJc w:val="left"/>'
        f'<w:pPr><w:ind w:left="{720 * (i + 1)}" w:hanging="360"/></w:pPr></w:lvl>' for i in range(9))
    abstract = (f'<w:abstractNum w:abstractNumId="0"><w:nsid w:val="05E85078"/><w:multiLevelType w:val="hybridMultilevel"/>'
                f'<w:tmpl w:val="BC64BFA4"/>{levels}</w:abstractNum>')
    nums = "".join(f'<w:num w:numId="{k}"><w:abstractNumId w:val="0"/>'
                   + ('<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride>' if k > 1 else "")
                   + "</w:num>" for k in range(1, count + 1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:numbering xmlns:w="{_W}">'
            f"{abstract}{nums}</w:numbering>").encode()


# --- Apple Pages: File → Export To → Word -------------------------------------------------------------

def apple_pages(docx: bytes) -> bytes:
    """A record exported by Apple Pages, with the template's instruction under "ส่วนที่ 1" as a bullet.
    Traits read from ShayHill/docx2python tests/resources/created-in-pages-bulleted-lists.docx
    (blob 48a746c533): docProps/app.xml an empty <Properties/> (no Application); no rsid, no w14;
    paragraph style "Body A" (a styleId with a space); every run <w:rtl w:val="0"/><w:lang/>; and every
    list numbered through a list style: the paragraph's w:num points to an w:abstractNum that holds no
    levels, only <w:numStyleLink w:val="Numbered"/>; the numbering style "Numbered" has its own w:numId,
    whose w:abstractNum (w:styleLink "Numbered") holds the levels. A list restarting takes a new w:num
    on the level-less w:abstractNum with a w:startOverride.
    """
    document, style_num = _list_numbers(docx)
    lists: dict[str, int] = {}
    for p in document.iter(_w("p")):
        ppr = p.find(_w("pPr"))
        if ppr is None:
            ppr = _el("pPr")
            p.insert(0, ppr)
        style = ppr.find(_w("pStyle"))
        num = ppr.find(f"{_w('numPr')}/{_w('numId')}")
        num_id = num.get(_w("val")) if num is not None else style_num.get(style.get(_w("val"))) if style is not None else None
        if style is not None and style.get(_w("val")) in ("Normal", *style_num):
            ppr.remove(style)
            style = None
        if ppr.find(_w("numPr")) is not None:
            ppr.remove(ppr.find(_w("numPr")))
        if num_id is not None:
            ppr.insert(0, _num_pr(10 + lists.setdefault(num_id, len(lists))))
        if style is None:
            ppr.insert(0, _el("pStyle", val="Body A"))
        for r in p.iter(_w("r")):
            rpr = r.find(_w("rPr"))
            if rpr is None:
                rpr = _el("rPr")
                r.insert(0, rpr)
            rpr.append(_el("rtl", val="0"))
            rpr.append(_el("lang", val="th-TH"))
    paragraphs = list(document.iter(_w("p")))
    heading = next((p for p in paragraphs if "".join(p.itertext()).startswith("ส่วนที่ 1")), paragraphs[0])
    note = _el("p")
    note_ppr = _el("pPr")
    note_ppr.append(_el("pStyle", val="Body A"))
    note_ppr.append(_num_pr(2))
    note.append(note_ppr)
    run = _el("r")
    text = _el("t")
    text.text = "กรุณาตอบให้ครบทุกข้อ"
    run.append(text)
    note.append(run)
    heading.addnext(note)
    styles = _xml(docx, "word/styles.xml")
    for xml in ('<w:style w:type="paragraph" w:styleId="Body A"><w:name w:val="Body A"/><w:next w:val="Body A"/></w:style>',
                '<w:style w:type="numbering" w:styleId="Numbered"><w:name w:val="Numbered"/><w:pPr><w:numPr>'
                '<w:numId w:val="1"/></w:numPr></w:pPr></w:style>',
                '<w:style w:type="numbering" w:styleId="Bullet"><w:name w:val="Bullet"/><w:pPr><w:numPr>'
                '<w:numId w:val="3"/></w:numPr></w:pPr></w:style>'):
        styles.append(etree.fromstring(xml.replace("<w:style ", f'<w:style xmlns:w="{_W}" ', 1)))
    empty_app = ('<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.openxmlformats.org/'
                 'officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/'
                 'officeDocument/2006/docPropsVTypes"/>')
    return rezip(docx, replace={"word/document.xml": _dump(document), "word/styles.xml": _dump(styles),
                                "word/numbering.xml": _pages_numbering(len(lists)), "docProps/app.xml": empty_app.encode()})


def _num_pr(num_id: int) -> etree._Element:
    num_pr = _el("numPr")
    num_pr.append(_el("ilvl", val="0"))
    num_pr.append(_el("numId", val=str(num_id)))
    return num_pr


def _pages_numbering(count: int) -> bytes:
    def levels(fmt: str, text: str) -> str:
        return "".join(f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:suff w:val="tab"/>'
                       f'<w:lvlText w:val="{text.replace("N", str(i + 1))}"/><w:lvlJc w:val="left"/>'
                       f'<w:pPr><w:ind w:left="{360 * (i + 1)}" w:hanging="360"/></w:pPr></w:lvl>' for i in range(9))
    hybrid = '<w:multiLevelType w:val="hybridMultilevel"/>'
    abstracts = (f'<w:abstractNum w:abstractNumId="0">{hybrid}<w:numStyleLink w:val="Numbered"/></w:abstractNum>'
                 f'<w:abstractNum w:abstractNumId="1">{hybrid}<w:styleLink w:val="Numbered"/>{levels("decimal", "%N.")}'
                 "</w:abstractNum>"
                 f'<w:abstractNum w:abstractNumId="2">{hybrid}<w:numStyleLink w:val="Bullet"/></w:abstractNum>'
                 f'<w:abstractNum w:abstractNumId="3">{hybrid}<w:styleLink w:val="Bullet"/>{levels("bullet", "•")}'
                 "</w:abstractNum>")
    nums = ('<w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num><w:num w:numId="2"><w:abstractNumId w:val="2"/>'
            '</w:num><w:num w:numId="3"><w:abstractNumId w:val="3"/></w:num>'
            + "".join(f'<w:num w:numId="{10 + k}"><w:abstractNumId w:val="0"/>'
                      + ('<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride>' if k else "")
                      + "</w:num>" for k in range(count)))
    return (f'<?xml version="1.0" encoding="UTF-8"?><w:numbering xmlns:w="{_W}">{abstracts}{nums}</w:numbering>').encode()


# --- Word naming its main part word/document2.xml -----------------------------------------------------

def main_part_renamed(docx: bytes) -> bytes:
    """The main part stored as word/document2.xml, found through the package relationship
    (Target="/word/document2.xml"), as in jgm/pandoc test/docx/alternate_document_path.docx
    @1847bdbb833cfdd7abb34e7f906ab9a1f74dfa17, whose app.xml says "Microsoft Office Word", AppVersion
    00.0001 (reported from Word users in harshankur/officeParser issue #28). OPC locates the main part
    by that relationship, never by its name."""
    rels, types = _xml(docx, "_rels/.rels"), _xml(docx, "[Content_Types].xml")
    for rel in rels:
        if rel.get("Target", "").lstrip("/") == "word/document.xml":
            rel.set("Target", "/word/document2.xml")
    for node in types:
        if node.get("PartName") == "/word/document.xml":
            node.set("PartName", "/word/document2.xml")
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        document = archive.read("word/document.xml")
        document_rels = archive.read("word/_rels/document.xml.rels")
    docx = rezip(docx, replace={"_rels/.rels": _dump(rels), "[Content_Types].xml": _dump(types)},
                 drop=("word/document.xml", "word/_rels/document.xml.rels"),
                 add={"word/document2.xml": document, "word/_rels/document2.xml.rels": document_rels})
    return _set_app(docx, "Microsoft Office Word", "00.0001")


EDITORS = {"google_docs": google_docs_export, "wps_office": wps_office, "word_for_mac": word_for_mac,
           "apple_pages": apple_pages, "main_part_renamed": main_part_renamed}
