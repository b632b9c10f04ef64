"""`tidtam export` on the synced demo: the compendium, typed tables, the questionnaire summary, photos,
idempotent bytes, and a pseudonymised export with no respondent's name or e-mail in any file."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from cli_run import run_cli
from docx import Document
from openpyxl import load_workbook
from PIL import Image

from ingest.config import load_campaign
from ingest.demo import DEMO_EXPORT, write_demo
from ingest.export.frames import analysis_frames
from ingest.export.metadata import strip_metadata
from ingest.export.package import pin_package
from ingest.export.pseudonym import KEY_VARIABLE, Pseudonymiser
from ingest.export.run import export
from ingest.export.snapshot import load_snapshot
from ingest.export.thai_font import thai_font_file
from ingest.jobs import sync_job
from ingest.record.template import FOCUS_GROUP_QUESTIONS, default_answers

KEY = "a-test-key-of-enough-length-0123456789"
# Upload scenarios whose focus-group record counts (tests/test_e2e_demo.py UPLOADS: record "complete").
RECORD_COUNTS = {"complete", "photos_short", "duplicate_photos", "loose_files"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workspace = write_demo(tmp_path_factory.mktemp("demo"))
    sync_job(workspace.config, as_of=workspace.as_of, full=True, email=False)
    return workspace


@pytest.fixture(scope="module")
def exported(demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "out"
    export(load_campaign(demo.config), out)
    return out


@pytest.fixture(scope="module")
def pseudonymised(demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pseudo") / "out"
    export(load_campaign(demo.config), out, pseudonymised=True, environ={KEY_VARIABLE: KEY})
    return out


def _compendium_answers(path: Path) -> dict[tuple[str, int, int], str]:
    """(unit code, part, number) → the answer text under that unit's heading, read by heading level."""
    found: dict[tuple[str, int, int], list[str]] = {}
    part = number = None
    unit = None
    for paragraph in Document(str(path)).paragraphs:
        style = paragraph.style.name
        if style == "Heading 1":
            part = int(paragraph.text.split()[1]) if paragraph.text.startswith("ส่วนที่") else None
            number = unit = None
        elif style == "Heading 2":
            number = int(paragraph.text.split()[1]) if paragraph.text.startswith("ข้อ") else None
            unit = None
        elif style == "Heading 3":
            unit = paragraph.text.split()[0]
        elif part and number and unit:
            found.setdefault((unit, part, number), []).append(paragraph.text)
    return {k: "\n".join(v) for k, v in found.items()}


def test_the_compendium_holds_each_counted_record_under_its_question_and_unit(demo, exported):
    path = exported / "รวมแบบบันทึกสนทนากลุ่ม.docx"
    answers = _compendium_answers(path)
    campaign = load_campaign(demo.config)
    counted = sorted(code for code, (_, uploads) in demo.scenarios.items() if uploads in RECORD_COUNTS)
    assert len(counted) == 50
    for code in counted:
        expected = default_answers(campaign.unit(code).name)  # what the demo typed into that record
        for part, questions in enumerate(FOCUS_GROUP_QUESTIONS, start=1):
            for number in range(1, len(questions) + 1):
                assert answers[(code, part, number)] == expected[part - 1][number - 1], (code, part, number)
    assert {k[0] for k in answers} == set(counted)  # counted records only
    document = Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    assert headings[0] == f"ข้อ 1 {FOCUS_GROUP_QUESTIONS[0][0]}" and len(headings) == 20
    units_under_first = [p.text.split()[0] for p in document.paragraphs[:400] if p.style.name == "Heading 3"]
    assert units_under_first[:len(counted)] == counted  # unit-code order


def test_the_compendium_has_cover_toc_page_numbers_thai_font_and_an_appendix(demo, exported):
    document = Document(str(exported / "รวมแบบบันทึกสนทนากลุ่ม.docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "ข้อมูล ณ วันที่ 12 พฤศจิกายน 2565 เวลา 17.00 น." in text  # the as-of in the Thai calendar
    body = document.element.xml
    assert 'TOC \\o "1-3"' in body
    assert "PAGE" in document.sections[0].footer.paragraphs[0]._p.xml
    normal = document.styles["Normal"]
    assert normal.font.name == "TH Sarabun New" and normal.font.size.pt == 16
    assert 'w:cs="TH Sarabun New"' in normal.element.xml and 'w:szCs w:val="32"' in normal.element.xml
    with zipfile.ZipFile(exported / "รวมแบบบันทึกสนทนากลุ่ม.docx") as package:
        assert b'w:altName w:val="TH SarabunPSK,Laksaman"' in package.read("word/fontTable.xml")
        assert b"updateFields" in package.read("word/settings.xml")
    appendix = {row.cells[0].text: row.cells[2].text for row in document.tables[-1].rows[1:]}
    missing = {code for code, (_, uploads) in demo.scenarios.items() if uploads not in RECORD_COUNTS}
    assert set(appendix) == missing
    for code, reason in appendix.items():
        uploads = demo.scenarios[code][1]
        if uploads == "record_picture":
            assert "รูปภาพ" in reason
        if uploads == "nothing":
            assert reason == "รอส่ง"


def test_parquet_round_trips_through_pandas_with_the_same_values_and_types(demo, exported):
    frames = analysis_frames(load_snapshot(load_campaign(demo.config), None))
    assert set(frames) == {"tracking", "responses", "files", "focus_group", "problems", "runs", "alerts"}
    for name, frame in frames.items():
        back = pd.read_parquet(exported / "tables" / f"{name}.parquet")
        pd.testing.assert_frame_equal(back, frame, check_dtype=True)
    responses = pd.read_parquet(exported / "tables" / "responses.parquet")
    assert str(responses["submitted_at"].dt.tz) == "Asia/Bangkok"
    assert responses["counted"].dtype == bool
    assert str(responses["ความพึงพอใจต่อโครงการโดยรวม"].dtype) == "Int64"
    assert set(responses["ความพึงพอใจต่อโครงการโดยรวม"].dropna()) <= {1, 2, 3, 4, 5}
    files = pd.read_parquet(exported / "tables" / "files.parquet")
    assert str(files["size"].dtype) == "Int64" and str(files["arrived_at"].dt.tz) == "Asia/Bangkok"
    tracking = pd.read_parquet(exported / "tables" / "tracking.parquet")
    assert len(tracking) == 76 and str(tracking["photos_received"].dtype) == "Int64"


def test_csv_has_a_bom_and_the_dictionary_describes_every_column(exported):
    raw = (exported / "tables" / "responses.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(exported / "tables" / "responses.csv", encoding="utf-8-sig", dtype=str)
    assert "ชื่อ-นามสกุล" in frame.columns and frame["submitted_at"].iloc[0].endswith("+07:00")
    readme = (exported / "tables" / "README.txt").read_text(encoding="utf-8-sig")
    for name in ("tracking", "responses", "files", "focus_group", "problems", "runs", "alerts"):
        columns = pd.read_parquet(exported / "tables" / f"{name}.parquet").columns
        for column in columns:
            assert f"\n{column}\t" in readme.replace("\r\n", "\n"), (name, column)
    assert "timestamp with zone (Asia/Bangkok)" in readme and "วันเวลา" in readme


def test_the_questionnaire_summary_counts_levels_and_draws_a_chart_per_item(demo, exported):
    book = load_workbook(exported / "สรุปแบบสอบถาม.xlsx")
    overall = list(book["สรุปรวม"].iter_rows(values_only=True))
    assert overall[0][3:8] == ("มากที่สุด (5)", "มาก (4)", "ปานกลาง (3)", "น้อย (2)", "น้อยที่สุด (1)")
    responses = pd.read_parquet(exported / "tables" / "responses.parquet")
    counted = responses[responses["counted"]]
    for row in overall[1:]:
        scores = counted[row[1]].dropna()
        assert row[2] == len(scores)
        assert list(row[3:8]) == [int((scores == s).sum()) for s in (5, 4, 3, 2, 1)]
        assert row[8] == pytest.approx(round(scores.mean(), 2))
    assert len(overall) - 1 == 5  # the demo's five Likert items; names and positions are not averaged
    assert len(book["กราฟ"]._charts) == 5
    free = list(book["คำตอบปลายเปิด"].iter_rows(values_only=True))
    assert {r[2] for r in free[1:]} == {"ตำแหน่ง", "ข้อเสนอแนะ"}  # ชื่อ-นามสกุล is personal: never listed
    per_unit = list(book["รายหน่วยงาน"].iter_rows(values_only=True))
    assert {r[0] for r in per_unit[1:]} == set(counted["unit_code"])


def test_photos_are_the_counted_ones_renamed_in_arrival_order_with_a_contact_sheet(demo, exported):
    assert thai_font_file() is not None  # .ci/run installs one: the sheets then carry the Thai unit names
    campaign = load_campaign(demo.config)
    for code, (_, uploads) in demo.scenarios.items():
        folders = list((exported / "photos").glob(f"{code}_*"))
        if uploads == "nothing":
            assert not folders
            continue
        (folder,) = folders
        assert folder.name == f"{code}_{campaign.unit(code).name}"
        photos = sorted(folder.glob(f"{code}_[0-9]*.jpg"), key=lambda p: int(p.stem.split("_")[1]))
        digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in photos]
        assert len(set(digests)) == len(digests)  # duplicates dropped
        if uploads == "duplicate_photos":
            assert len(photos) == 4
        assert [p.stem for p in photos] == [f"{code}_{n}" for n in range(1, len(photos) + 1)]
        with Image.open(folder / f"{code}_contact_sheet.jpg") as sheet:
            assert sheet.format == "JPEG" and sheet.width > 1000


def test_exporting_twice_gives_the_same_bytes(demo, exported, tmp_path):
    again = tmp_path / "again"
    export(load_campaign(demo.config), again)
    export(load_campaign(demo.config), again)  # over an earlier export: replaced, nothing stale
    first = {p.relative_to(exported): p.read_bytes() for p in exported.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert set(first) == set(second)
    for path, content in first.items():
        if path.name != "manifest.json":
            assert second[path] == content, path
    one, two = (json.loads(c) for c in (first[Path("manifest.json")], second[Path("manifest.json")]))
    one.pop("exported_at"), two.pop("exported_at")
    assert one == two
    listed = {entry["path"]: entry for entry in one["files"]}
    assert set(listed) == {p.as_posix() for p in first if p.name != "manifest.json"}
    for path, content in first.items():
        if path.name != "manifest.json":
            assert listed[path.as_posix()]["sha256"] == hashlib.sha256(content).hexdigest()
    assert one["counts"]["records_in_compendium"] == 50 and one["as_of"] == "2022-11-12T17:00:00+07:00"


def _demo_people(demo) -> tuple[set[str], set[str]]:
    """Respondents' names and e-mails as the demo's Forms download holds them (read here with csv, not
    with tidtam's reader), plus the people the records' headers name."""
    with zipfile.ZipFile(demo.root / DEMO_EXPORT) as package:
        text = package.read(package.namelist()[0]).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    names = {r["ชื่อ-นามสกุล"].strip() for r in rows} | {"สมใจ ใจดี"}  # the records' facilitator
    emails = {r["ที่อยู่อีเมล"].strip() for r in rows if r["ที่อยู่อีเมล"].strip()}
    return names, emails


def _every_text(root: Path) -> dict[str, str]:
    """Each file's text, opened up: zip packages entry by entry, Parquet decoded, the rest as bytes."""
    texts = {}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        if path.suffix in (".docx", ".xlsx"):
            with zipfile.ZipFile(path) as package:
                texts[str(path)] = "".join(package.read(n).decode("utf-8", "replace") for n in package.namelist())
        elif path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            texts[str(path)] = frame.to_csv() + " ".join(frame.columns) + raw.decode("latin-1")
        else:
            texts[str(path)] = raw.decode("utf-8", "replace")
    return texts


def test_a_pseudonymised_export_holds_no_respondent_name_or_email(demo, exported, pseudonymised):
    names, emails = _demo_people(demo)
    assert len(names) > 50 and len(emails) > 600  # the demo draws names from 16 × 10 combinations
    plain = "".join(_every_text(exported).values())
    assert all(value in plain for value in names | emails)  # the plain export has them all: the check can fail
    texts = _every_text(pseudonymised)
    assert len(texts) > 300
    for path, text in texts.items():
        for value in names | emails:
            assert value not in text, (path, value)
    responses = pd.read_parquet(pseudonymised / "tables" / "responses.parquet")
    assert responses["respondent_email"].str.endswith("@pseudonym.invalid").all()
    assert responses["ชื่อ-นามสกุล"].str.startswith("person-").all()
    # Stable: the same key gives the same pseudonyms in another export.
    again = Path(str(pseudonymised) + "-again")
    export(load_campaign(demo.config), again, pseudonymised=True, environ={KEY_VARIABLE: KEY})
    assert (again / "tables" / "responses.csv").read_bytes() == (pseudonymised / "tables" / "responses.csv").read_bytes()


def test_pseudonyms_depend_on_the_key_and_ignore_case_and_spacing():
    one, two = Pseudonymiser(b"k" * 32), Pseudonymiser(b"j" * 32)
    assert one.pseudonym("สมชาย  ใจดี") == one.pseudonym("สมชาย ใจดี ") != two.pseudonym("สมชาย ใจดี")
    assert one.value("A@Example.com", "email") == one.value("a@example.com", "email")
    assert one.text("mail a@example.com now").startswith("mail email-")


def test_the_command_says_what_is_missing_instead_of_a_traceback(demo, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    code, text = run_cli(["export", "--config", str(demo.config), "--out", str(tmp_path / "x"), "--pseudonymise"], capsys)
    assert code == 2 and KEY_VARIABLE in text and "Traceback" not in text
    assert not (tmp_path / "x").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.docx").write_bytes(b"mine")
    code, text = run_cli(["export", "--config", str(demo.config), "--out", str(busy)], capsys)
    assert code == 2 and "not empty" in text and (busy / "thesis.docx").read_bytes() == b"mine"
    code, text = run_cli(["export", "--config", str(demo.config), "--out", str(tmp_path / "ok"),
                          "--as-of", "2022-11-09T12:00"], capsys)
    assert code == 0 and "exported to" in text
    manifest = json.loads((tmp_path / "ok" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2022-11-09T12:00:00+07:00"
    assert manifest["counts"]["records_in_compendium"] < 50  # what arrived later is left out


def test_pinned_packages_do_not_depend_on_when_they_were_written():
    def package(stamp: tuple[int, ...]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr(zipfile.ZipInfo("docProps/core.xml", date_time=stamp),
                       f'<cp:coreProperties><dcterms:modified xsi:type="dcterms:W3CDTF">{stamp[0]}-01-01T00:00:00Z'
                       '</dcterms:modified></cp:coreProperties>')
        return out.getvalue()

    from ingest.demo import DEMO_AS_OF

    first, second = pin_package(package((2026, 1, 2, 3, 4, 5)), DEMO_AS_OF), pin_package(package((2030, 6, 7, 8, 9, 10)), DEMO_AS_OF)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert z.infolist()[0].date_time == (2022, 11, 12, 17, 0, 0)
        assert b"2022-11-12T10:00:00Z" in z.read("docProps/core.xml")


def test_photo_metadata_is_stripped_without_touching_the_picture():
    image = Image.new("RGB", (64, 48), (200, 30, 40))
    exif = Image.Exif()
    exif[0x013B] = "Somchai Jaidee"  # Artist
    exif[0x9286] = "taken by somchai@example.com"  # UserComment
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    original = buffer.getvalue()
    assert b"Somchai" in original
    stripped = strip_metadata(original)
    assert b"Somchai" not in stripped and b"somchai@" not in stripped
    with Image.open(io.BytesIO(stripped)) as clean, Image.open(io.BytesIO(original)) as before:
        assert clean.tobytes() == before.tobytes()
    png = io.BytesIO()
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "Somchai Jaidee")
    image.save(png, "PNG", pnginfo=info)
    assert b"Somchai" not in strip_metadata(png.getvalue())
    assert strip_metadata(b"not a picture") == b"not a picture"


def test_personal_columns_come_from_the_config_and_a_typo_is_named(demo, tmp_path):
    import yaml

    from ingest.config import campaign_from_mapping
    from ingest.errors import ConfigError

    raw = yaml.safe_load(demo.config.read_text(encoding="utf-8"))
    campaign = campaign_from_mapping(raw, base_dir=demo.root)
    assert campaign.deliverable("questionnaire").personal == ("ชื่อ-นามสกุล",)
    raw["deliverables"][0]["columns"] = {"ตำแหน่ง": {"persona": True}}
    with pytest.raises(ConfigError) as caught:
        campaign_from_mapping(raw, base_dir=demo.root)
    assert "deliverables[0].columns.ตำแหน่ง.persona" in str(caught.value) and "personal" in str(caught.value)
