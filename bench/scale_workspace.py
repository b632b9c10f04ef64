"""Generated campaigns at three scales, seeded straight into the Workspace emulator.

76 provinces, 928 districts or 7,436 sub-districts, each with the same load as the demo's provinces:
10 form responses, one focus-group record (.docx) and 5–7 photos (JPEG, 640×480) in a Drive folder
named after the unit, photos in a `ภาพถ่าย` subfolder. Files are small on purpose (a 31 KB record,
~6 KB photos): one record is built with python-docx and copied per unit with the unit's name put in,
and seven base photos are made unique per unit by bytes after the JPEG's end marker (which decoders
ignore), so 50,000 files take seconds to make and every file is still a distinct, valid upload.
"""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, ImageDraw

from ingest.campaign import Unit
from ingest.demo import FIRST_NAMES, LAST_NAMES, LIKERT_LABELS, POSITIONS, QUESTIONS_LIKERT
from ingest.record.template import make_record_docx
from ingest.thaidate import BANGKOK
from ingest.units import UnitMatcher, geothai_name, registry_units
from tests.emulator import Emulator, service_account_info

FORM_ID = "1FAIpQLSbenchQuestionnaire2565"
SA_EMAIL = "tidtam-bench@tidtam-emulator.iam.gserviceaccount.com"
AS_OF = datetime(2022, 11, 20, 17, 0, tzinfo=BANGKOK)  # after every due date: statuses are final
SCALES: dict[str, tuple[str, tuple[str, ...], str]] = {  # scale → (registry, excluded codes, unit question)
    "province": ("province", ("10",), "จังหวัด"),
    "district": ("district", (), "อำเภอ"),
    "subdistrict": ("subdistrict", (), "ตำบล"),
}
PHOTO_FOLDER = "ภาพถ่าย"
_PLACEHOLDER = "ชื่อหน่วยงานตัวอย่าง"
_DROPPED_REFS = re.compile(rb'<(?:Override|Relationship)[^>]*(?:stylesWithEffects|thumbnail)[^>]*/>')


@dataclass
class UnitSeed:
    """Where one unit's uploads live in the emulator's Drive."""

    code: str
    label: str  # what people type and name folders with
    folder_id: str
    photos_folder_id: str
    photos: int


@dataclass
class ScaleWorkspace:
    scale: str
    root: Path
    config: Path
    folder_id: str
    spreadsheet_id: str
    units: list[UnitSeed] = field(default_factory=list)
    responses: int = 0
    files: int = 0
    question_ids: dict[str, str] = field(default_factory=dict)  # question title → id


def unit_label(unit: Unit) -> str:
    """The name people write: "จังหวัดน่าน", "อ.ปัว จ.น่าน", "ต.ศิลาแลง อ.ปัว จ.น่าน" (unique per unit)."""
    if unit.level == "province":
        return f"จังหวัด{unit.name}"
    if unit.level == "district":
        return f"อ.{unit.name} จ.{geothai_name(unit.parent)}"
    district = unit.parent
    return f"ต.{unit.name} อ.{geothai_name(district)} จ.{geothai_name(district[:2])}"


def scale_units(scale: str) -> list[Unit]:
    registry, exclude, _ = SCALES[scale]
    return registry_units(registry, exclude=list(exclude))


class Makers:
    """Record and photo bytes per unit, from one template record and seven base photos."""

    def __init__(self, seed: int = 2565) -> None:
        rng = random.Random(seed)
        self._photos = [_base_photo(rng, i) for i in range(7)]
        template = make_record_docx(_PLACEHOLDER)
        with zipfile.ZipFile(io.BytesIO(template)) as z:
            # Parts python-docx and Word do not need: dropped to keep 7,436 records small.
            self._parts = [(i.filename, z.read(i.filename)) for i in z.infolist()
                           if i.filename not in ("word/stylesWithEffects.xml", "docProps/thumbnail.jpeg")]

    def record(self, name: str) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for filename, data in self._parts:
                if filename in ("word/document.xml", "docProps/core.xml"):
                    data = data.replace(_PLACEHOLDER.encode(), name.encode())
                data = _DROPPED_REFS.sub(b"", data)  # their content-type overrides and relationships
                z.writestr(filename, data)
        return out.getvalue()

    def photo(self, code: str, index: int) -> bytes:
        return self._photos[index % len(self._photos)] + f"tidtam-bench {code} {index}".encode()


def _base_photo(rng: random.Random, index: int) -> bytes:
    image = Image.new("RGB", (640, 480), tuple(rng.randrange(40, 220) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = rng.randrange(600), rng.randrange(440)
        draw.rectangle([x, y, x + 40, y + 40], fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((20, 20), f"photo {index}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=30)
    return out.getvalue()


def seed_scale(emu: Emulator, root: Path, scale: str, *, seed: int = 2565) -> ScaleWorkspace:
    """Seed the form, the Drive tree and an empty warehouse for `scale`; write the campaign config."""
    _, _, unit_question = SCALES[scale]
    rng = random.Random(seed)
    makers = Makers(seed)
    root.mkdir(parents=True, exist_ok=True)
    units = scale_units(scale)
    matcher = UnitMatcher(units)
    titles = [unit_question, "ชื่อ-นามสกุล", "ตำแหน่ง", *QUESTIONS_LIKERT, "ข้อเสนอแนะ"]
    qids = {title: f"{0x1a2b3c00 + i:08x}" for i, title in enumerate(titles)}
    emu.forms.add_form(FORM_ID, "แบบสอบถาม ถอดบทเรียน (bench)",
                       [(qids[t], t, "choice", LIKERT_LABELS) if t in QUESTIONS_LIKERT else (qids[t], t, "text")
                        for t in titles])
    folder_id = emu.drive.add_folder("ถอดบทเรียน 2565 (bench)", None)
    workspace = ScaleWorkspace(scale, root, root / "config.yaml", folder_id,
                               emu.sheets.create(title="tidtam warehouse (bench)"), question_ids=qids)
    responses: list[tuple[datetime, str, dict[str, str], str]] = []
    for unit in units:
        label = unit_label(unit)
        if matcher.match(label).code != unit.code:
            label = unit.code  # 14 sub-districts share their name with another in a same-named district
        for i in range(10):
            when = datetime(2022, 11, rng.randrange(1, 8), rng.randrange(8, 20), rng.randrange(60), rng.randrange(60),
                            tzinfo=BANGKOK)
            person = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(int(unit.code) + i) % len(LAST_NAMES)]}"
            answers = {qids[unit_question]: label, qids["ชื่อ-นามสกุล"]: person, qids["ตำแหน่ง"]: POSITIONS[i % 7],
                       **{qids[q]: rng.choice(LIKERT_LABELS[:3]) for q in QUESTIONS_LIKERT},
                       qids["ข้อเสนอแนะ"]: rng.choice(["", "ควรจัดอบรมต่อเนื่อง", "งบประมาณไม่เพียงพอ", "ขอบคุณครับ"])}
            responses.append((when, f"{unit.code}{i:02d}", answers, f"p{unit.code}{i:02d}@example.com"))
        created = datetime(2022, 11, rng.randrange(8, 12), rng.randrange(8, 18), rng.randrange(60), tzinfo=BANGKOK)
        unit_folder = emu.drive.add_folder(label, folder_id, created_time=created)
        photos_folder = emu.drive.add_folder(PHOTO_FOLDER, unit_folder, created_time=created)
        emu.drive.add_file(f"แบบบันทึกสนทนากลุ่ม_{unit.name}.docx", unit_folder, makers.record(unit.name),
                           "application/vnd.openxmlformats-officedocument.wordprocessingml.document", created)
        count = rng.randrange(5, 8)
        for i in range(count):
            emu.drive.add_file(f"IMG_{2000 + i}.jpg", photos_folder, makers.photo(unit.code, i), "image/jpeg",
                               created + timedelta(minutes=5 + i))
        workspace.units.append(UnitSeed(unit.code, label, unit_folder, photos_folder, count))
        workspace.files += 1 + count
    for index, (when, _, answers, email) in enumerate(sorted(responses, key=lambda r: (r[0], r[1]))):
        emu.forms.add_response(FORM_ID, f"ACYDBNj{index:06d}", when, answers, respondent_email=email)
    workspace.responses = len(responses)
    (root / "service-account.json").write_text(
        json.dumps(service_account_info(emu.token_uri, client_email=SA_EMAIL)), encoding="utf-8")
    with (root / "contacts.csv").open("w", encoding="utf-8") as handle:
        handle.write("code,emails\n" + "".join(f"{u.code},unit{u.code}@example.go.th\n" for u in units))
    workspace.config.write_text(yaml.safe_dump(_config(emu, workspace, unit_question), allow_unicode=True,
                                               sort_keys=False), encoding="utf-8")
    return workspace


def change_units(emu: Emulator, workspace: ScaleWorkspace, share: float = 0.01, *, seed: int = 7) -> int:
    """Scenario "1% of units changed": each chosen unit uploads one more photo and sends two more responses."""
    rng = random.Random(seed)
    makers_photo = Makers(seed)
    count = max(1, round(len(workspace.units) * share))
    chosen = rng.sample(workspace.units, count)
    qids = workspace.question_ids
    when = datetime(2022, 11, 14, 9, 0, tzinfo=BANGKOK)
    for n, unit in enumerate(chosen):
        emu.drive.add_file("IMG_late.jpg", unit.photos_folder_id, makers_photo.photo(unit.code, 99), "image/jpeg", when)
        for i in range(2):
            answers = {qids[t]: v for t, v in (
                (next(iter(qids)), unit.label), ("ชื่อ-นามสกุล", f"ผู้ตอบเพิ่ม {i} {unit.code}"), ("ตำแหน่ง", POSITIONS[i]),
                *((q, LIKERT_LABELS[1]) for q in QUESTIONS_LIKERT))}
            emu.forms.add_response(FORM_ID, f"ACYDBNjlate{n:05d}{i}", when + timedelta(minutes=i), answers)
    return count


def _config(emu: Emulator, workspace: ScaleWorkspace, unit_question: str) -> dict[str, Any]:
    registry, exclude, _ = SCALES[workspace.scale]
    return {
        "campaign": {"id": f"bench-{workspace.scale}", "title": f"ถอดบทเรียน (bench, {workspace.scale})"},
        "units": {"registry": registry, "exclude": list(exclude), "contacts": "contacts.csv"},
        "sources": {"questionnaire_form": {"backend": "forms_api", "form_id": FORM_ID},
                    "uploads": {"backend": "drive", "folder_id": workspace.folder_id}},
        "deliverables": [
            {"id": "questionnaire", "title": "แบบสอบถาม", "source": "questionnaire_form", "kind": "response",
             "expected": 10, "opens": "1 พ.ย. 2565", "due": "7 พ.ย. 2565", "unit_question": unit_question,
             "dedupe_key": ["ชื่อ-นามสกุล"]},
            {"id": "record", "title": "แบบบันทึกสนทนากลุ่ม", "source": "uploads", "kind": "document", "expected": 1,
             "due": "15 พ.ย. 2565", "rules": {"require_docx": True, "forbid_pictures": True,
                                              "consent_pattern": "ยินยอม"}},
            {"id": "photos", "title": "ภาพถ่าย", "source": "uploads", "kind": "photo", "expected": 5,
             "due": "15 พ.ย. 2565", "rules": {"min_width": 640, "min_height": 480}},
        ],
        "warehouse": {"backend": "google_sheets", "spreadsheet_id": workspace.spreadsheet_id},
        "state": {"path": "tidtam-state.sqlite"},
        "google": {"credentials": "service-account.json", "api_base_url": emu.base_url, "max_attempts": 3,
                   "max_retry_seconds": 10, "timeout_seconds": 60},
    }
