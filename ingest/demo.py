"""A realistic, deterministic demo workspace: the CDD lessons-learned campaign of November 2565.

76 provinces (every province but Bangkok) send a questionnaire through a form (10 responses each,
due 7 Nov), and a focus-group record (.docx) and at least 5 photos to a shared folder (due 15 Nov).
The mix covers every status, mis-typed province names and these rule breaks: a PDF or a renamed .doc
record, pictures in the record, no consent, too few or duplicate photos.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from PIL import Image, ImageDraw

from connectors.forms_export import FormsExportSource
from ingest.demo_forms import forms_csv_bytes, forms_download_zip, forms_stamp
from ingest.record.template import make_record_docx
from ingest.review import DECISION_COLUMN, FAIL, KEY_COLUMN, PASS, REASON_COLUMN, file_key
from ingest.thaidate import BANGKOK
from ingest.units import registry_units

DEMO_AS_OF = datetime(2022, 11, 12, 17, 0, tzinfo=BANGKOK)
FORM_OPENS = datetime(2022, 11, 1, 8, 0, tzinfo=BANGKOK)
# The coordinator downloads the responses as Forms names the file: "<form title>.csv.zip".
FORM_TITLE = "แบบสอบถาม ถอดบทเรียนอำเภอนำร่อง"
DEMO_EXPORT = f"exports/{FORM_TITLE}.csv.zip"
DOWNLOADED_AT = datetime(2022, 11, 12, 16, 55, 12, tzinfo=BANGKOK)
QUESTIONS_LIKERT = [
    "ท่านได้รับความรู้จากการฝึกอบรมหลักสูตรผู้นำนักขับเคลื่อนยุทธศาสตร์",
    "ท่านนำความรู้ไปใช้ในการจัดทำแผนยุทธศาสตร์อำเภอ",
    "การบูรณาการระหว่างหน่วยงานในพื้นที่",
    "การมีส่วนร่วมของภาคีเครือข่าย 7 ภาค",
    "ความพึงพอใจต่อโครงการโดยรวม",
]
LIKERT_LABELS = ["มากที่สุด", "มาก", "ปานกลาง", "น้อย", "น้อยที่สุด"]
FIRST_NAMES = ["สมชาย", "สมหญิง", "วิชัย", "สุดารัตน์", "ประเสริฐ", "กาญจนา", "อนุชา", "พรทิพย์", "ธนากร", "นภาพร",
               "ศักดิ์ชัย", "รัตนา", "สุรเชษฐ์", "จันทร์เพ็ญ", "ปิยะ", "วราภรณ์"]
LAST_NAMES = ["ใจดี", "ศรีสุข", "ทองคำ", "บุญมา", "แก้วมณี", "พรหมวงศ์", "สายทอง", "มีสุข", "รุ่งเรือง", "วงศ์ไทย"]
POSITIONS = ["นายอำเภอ", "ปลัดอำเภอ", "พัฒนาการอำเภอ", "ผู้ใหญ่บ้าน", "กำนัน", "อาสาพัฒนาชุมชน", "ผู้นำ อช."]
CONSENT = "ผู้เข้าร่วมสนทนากลุ่มทุกคนได้รับทราบวัตถุประสงค์และยินยอมให้ข้อมูล"

# Scenario names per deliverable group; the demo cycles through them with a seeded shuffle.
QUESTIONNAIRE_MIX = ["complete"] * 40 + ["late"] * 8 + ["partial"] * 12 + ["missing"] * 8 + ["repeat"] * 4 + ["early_test"] * 4
UPLOAD_MIX = (["complete"] * 30 + ["photos_short"] * 10 + ["nothing"] * 12 + ["record_picture"] * 4 + ["record_pdf"] * 3
              + ["record_doc_renamed"] * 3 + ["duplicate_photos"] * 6 + ["loose_files"] * 4 + ["no_consent"] * 4)


@dataclass(frozen=True)
class DemoWorkspace:
    root: Path
    config: Path
    as_of: datetime
    outbox: Path  # the demo "sends" its e-mails here as .eml files
    scenarios: dict[str, tuple[str, str]]  # unit code → (questionnaire scenario, uploads scenario)
    export: Path  # the Forms "Download responses (.csv)" file, still zipped as it arrives


def _typed_name(rng: random.Random, code: str, name: str, name_en: str) -> str:
    """How a participant types the province: many forms, some misspelt on purpose."""
    special = {"33": "ศรีษะเกษ", "70": "ราช บุรี", "30": "โคราช", "14": "อยุธยา"}
    if code in special and rng.random() < 0.5:
        return special[code]
    return rng.choice([name, name, f"จ.{name}", f"จังหวัด{name}", f" {name} ", name_en, name_en.lower()])


def _photo(rng: random.Random, label: str, size: tuple[int, int] = (800, 600)) -> bytes:
    image = Image.new("RGB", size, tuple(rng.randrange(40, 220) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.ellipse([x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)],
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((20, 20), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def _write(path: Path, content: bytes, when: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))  # a Drive mirror's mtime is the upload time


def write_demo(root: Path, *, seed: int = 2565) -> DemoWorkspace:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    provinces = registry_units("province", exclude=["10"])
    q_mix, u_mix = QUESTIONNAIRE_MIX[:], UPLOAD_MIX[:]
    rng.shuffle(q_mix)
    rng.shuffle(u_mix)
    rows: list[list[str]] = []
    scenarios = {}
    for index, unit in enumerate(provinces):
        scenarios[unit.code] = (q_mix[index % len(q_mix)], u_mix[index % len(u_mix)])
        rows.extend(_responses(rng, unit.code, unit.name, unit.name_en, scenarios[unit.code][0]))
        _uploads(rng, root / "uploads", unit.code, unit.name, unit.name_en, scenarios[unit.code][1])
    rows.extend(_stray_responses(rng))
    rows.sort(key=lambda r: r[-1])
    # A form owner with a Thai UI: Google names its own columns in Thai ("ประทับเวลา", "ที่อยู่อีเมล").
    header = ["ประทับเวลา", "ที่อยู่อีเมล", "จังหวัด", "ชื่อ-นามสกุล", "ตำแหน่ง", *QUESTIONS_LIKERT, "ข้อเสนอแนะ"]
    export = root / DEMO_EXPORT
    export.parent.mkdir(exist_ok=True)
    export.write_bytes(forms_download_zip(FORM_TITLE, forms_csv_bytes(header, [r[:-1] for r in rows]), DOWNLOADED_AT))
    with (root / "contacts.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "emails"])
        for unit in provinces:
            writer.writerow([unit.code, f"cdd{unit.code}@example.go.th"])
    config = root / "config.yaml"
    config.write_text(DEMO_CONFIG, encoding="utf-8")
    _review_decisions(root, export, scenarios)
    return DemoWorkspace(root, config, DEMO_AS_OF, root / "outbox", scenarios, export)


def _responses(rng: random.Random, code: str, name: str, name_en: str, scenario: str) -> list[list]:
    counts = {"complete": 10, "late": 10, "partial": rng.randrange(3, 9), "missing": 0, "repeat": 11, "early_test": 10}
    rows = []
    for i in range(counts[scenario]):
        day = rng.randrange(1, 8)
        when = datetime(2022, 11, day, rng.randrange(8, 20), rng.randrange(60), rng.randrange(60), tzinfo=BANGKOK)
        if scenario == "late" and i == 9:
            when = datetime(2022, 11, 9, 10, 30, tzinfo=BANGKOK)
        person = f"{FIRST_NAMES[(int(code) + i) % len(FIRST_NAMES)]} {LAST_NAMES[(int(code) * 3 + i) % len(LAST_NAMES)]}"
        if scenario == "repeat" and i == 10:
            # The same participant sends the form a second time; tidtam counts the latest once.
            person = rows[0][3]
            when = datetime(2022, 11, 7, 20, 0, tzinfo=BANGKOK)
        answers = [rng.choice(LIKERT_LABELS[:3]) for _ in QUESTIONS_LIKERT]
        suggestion = rng.choice(["", "ควรจัดอบรมต่อเนื่อง", "งบประมาณไม่เพียงพอ", "-ไม่มี-",
                                 "=HYPERLINK(\"http://example.com\",\"ดูเพิ่มเติม\")", "ขอบคุณครับ"])
        email = f"p{code}{i:02d}@example.com"
        rows.append([forms_stamp(when), email, _typed_name(rng, code, name, name_en), person,
                     POSITIONS[i % len(POSITIONS)], *answers, suggestion, when])
    if scenario == "early_test":
        # The team tested the form before it opened: that response does not count.
        test_time = FORM_OPENS - timedelta(days=2)
        rows.append([forms_stamp(test_time), "test@example.com", name, "ทดสอบ ระบบ", "ทดสอบ",
                     *["มาก"] * len(QUESTIONS_LIKERT), "ทดสอบ", test_time])
        rows = rows[:-2] + rows[-1:]  # so this unit has 9 real responses: overdue
    return rows


def _review_decisions(root: Path, export: Path, scenarios: dict[str, tuple[str, str]]) -> None:
    """Two decisions a coordinator typed into the review columns of an earlier workbook (ingest.review),
    chosen so that no unit's status changes: `ผ่าน` on the first answer of a "repeat" province (two
    people of the same name, not one person sending twice), and `ไม่ผ่าน` on a sixth photo of a
    province that sent more than five (a picture of the district office's sign, not of the group)."""
    if (root / "tidtam-warehouse.xlsx").exists():
        return  # a workbook a sync already wrote (decisions typed there included) is never replaced
    repeat = min(c for c, (q, _) in scenarios.items() if q == "repeat")
    # Keys as tidtam makes them: the export's response id, and a file's path with its content's hash.
    response = next(r for r in FormsExportSource(export).responses().responses
                    if r.respondent_email == f"p{repeat}00@example.com")
    uploads = root / "uploads"
    photo = next(f for f in sorted(uploads.glob("*/ภาพถ่าย/IMG_2005.jpg"))
                 if all(f.read_bytes() != o.read_bytes() for o in f.parent.iterdir() if o != f))  # not a duplicate
    workbook = Workbook()
    workbook.remove(workbook.active)
    for tab, key, decision, reason in (
            ("responses", response.response_id, PASS, "คนละคน ชื่อ-นามสกุลซ้ำกัน (ตรวจสอบกับจังหวัดแล้ว)"),
            ("files", file_key(photo.relative_to(uploads).as_posix(), hashlib.sha256(photo.read_bytes()).hexdigest()),
             FAIL, "เป็นภาพป้ายที่ว่าการอำเภอ ไม่ใช่ภาพการสนทนากลุ่ม")):
        sheet = workbook.create_sheet(tab)
        sheet.append([KEY_COLUMN, DECISION_COLUMN, REASON_COLUMN])
        sheet.append([key, decision, reason])
    workbook.save(root / "tidtam-warehouse.xlsx")


def _stray_responses(rng: random.Random) -> list[list]:
    """Responses whose province nobody can tell: they go to the problems tab, never to a unit."""
    rows = []
    for i, typed in enumerate(["ไม่ระบุ", "สำนักงานพัฒนาชุมชน", "กทม"]):
        when = datetime(2022, 11, 3 + i, 11, 0, tzinfo=BANGKOK)
        rows.append([forms_stamp(when), f"unknown{i}@example.com", typed, "ไม่ทราบ ชื่อ", "อื่น ๆ",
                     *["ปานกลาง"] * len(QUESTIONS_LIKERT), "", when])
    return rows


def _uploads(rng: random.Random, uploads: Path, code: str, name: str, name_en: str, scenario: str) -> None:
    folder = uploads / rng.choice([f"จังหวัด{name}", f"{code} {name}", name, f"สพจ.{name}", name_en])
    if scenario == "nothing":
        return
    base = datetime(2022, 11, rng.randrange(8, 12), rng.randrange(8, 18), rng.randrange(60), tzinfo=BANGKOK)
    photo_count = {"photos_short": 3}.get(scenario, rng.randrange(5, 8))
    record_name = f"แบบบันทึกสนทนากลุ่ม_{name}.docx"
    if scenario == "record_picture":
        record = make_record_docx(name, picture=True)
    elif scenario == "no_consent":
        record = make_record_docx(name, consent=False)
    elif scenario == "record_pdf":
        record, record_name = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", f"แบบบันทึก_{name}.pdf"
    elif scenario == "record_doc_renamed":
        record = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048)  # a Word 97 file saved with a .docx name
    else:
        record = make_record_docx(name)
    if scenario == "loose_files":
        # Dropped at the top of the shared folder: the province comes from the file name.
        _write(uploads / f"{name}_แบบบันทึก.docx", record, base)
        for i in range(photo_count):
            _write(uploads / f"{name}_ภาพ{i + 1}.jpg", _photo(rng, f"{code}-{i}"), base + timedelta(minutes=i))
        return
    _write(folder / record_name, record, base)
    photos = [_photo(rng, f"{code}-{i}") for i in range(photo_count)]
    if scenario == "duplicate_photos":
        photos = photos[:4] + [photos[0], photos[1]]  # the same two pictures uploaded again from a phone
    for i, content in enumerate(photos):
        _write(folder / "ภาพถ่าย" / f"IMG_{2000 + i}.jpg", content, base + timedelta(minutes=5 + i))


DEMO_CONFIG = f"""\
# Demo campaign written by `tidtam demo`: the same shape as ../config.yaml, on offline backends.
campaign:
  id: cdd-lessons-2565-demo
  title: ถอดบทเรียนอำเภอนำร่อง "บำบัดทุกข์ บำรุงสุข" (ตัวอย่าง)

units:
  registry: province      # the 76 provinces; Bangkok has no อำเภอ, so no pilot district
  exclude: ["10"]
  contacts: contacts.csv

sources:
  questionnaire_form:
    backend: forms_export
    path: "{DEMO_EXPORT}"   # Responses tab → ⋮ → Download responses (.csv), saved as it arrives
  uploads:
    backend: local_folder
    path: uploads

deliverables:
  - id: questionnaire
    title: แบบสอบถาม
    source: questionnaire_form
    kind: response
    expected: 10
    opens: 1 พ.ย. 2565
    due: 7 พ.ย. 2565
    unit_question: จังหวัด
    dedupe_key: [ชื่อ-นามสกุล]
    columns:
      ชื่อ-นามสกุล:
        personal: true     # replaced by a pseudonym in `tidtam export --pseudonymise`
    link: https://forms.gle/EXAMPLE
  - id: record
    title: แบบบันทึกสนทนากลุ่ม
    source: uploads
    kind: document
    expected: 1
    due: 15 พ.ย. 2565
    link: https://drive.google.com/drive/folders/EXAMPLE
    rules:
      require_docx: true
      forbid_pictures: true
      consent_pattern: "ยินยอม"
  - id: photos
    title: ภาพถ่าย
    source: uploads
    kind: photo
    expected: 5
    due: 15 พ.ย. 2565
    link: https://drive.google.com/drive/folders/EXAMPLE
    rules:
      min_width: 640
      min_height: 480

overrides:
  - unit: "96"
    deliverable: photos
    excused: true
    reason: สถานการณ์ในพื้นที่ไม่เอื้อต่อการถ่ายภาพ
  - unit: "95"
    due: 18 พ.ย. 2565
    reason: ขยายเวลาตามหนังสือขอขยายเวลา

warehouse:
  backend: xlsx
  path: tidtam-warehouse.xlsx

state:
  path: tidtam-state.sqlite

mail:
  backend: outbox          # e-mails are written to outbox/ as .eml files (open them in any mail program)
  outbox: outbox
  sender: "ทีมติดตาม สถาบันการพัฒนาชุมชน <tidtam@example.go.th>"
  reply_to: cdi@example.go.th
  coordinators: [cdi@example.go.th]
  alerts:
    stages: [-3, -1, 1]    # 3 days and 1 day before each deadline, 1 day after
    repeat_every: 3        # then every 3 days while still owed, at most 3 times
    repeat_max: 3
    daily_budget: 1500     # recipients per day (a Workspace mailbox)
    quiet_hours: "20:00-07:00"
    digest: true
    digest_at: "08:00"
"""
