"""A three-province campaign on offline backends, built in code: a Forms export, an upload folder, a workbook.

The export's rows are given by each test, so a test says exactly which bytes it feeds tidtam.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

UNITS = (("95", "ยะลา"), ("70", "ราชบุรี"), ("63", "ตาก"))
HEADER = ["Timestamp", "จังหวัด", "ชื่อ-นามสกุล", "ข้อเสนอแนะ"]
AS_OF = "2022-11-12T17:00"  # questionnaire due 7 Nov (reminded after), uploads due 15 Nov (3 days before)


def write_workspace(root: Path, rows: Sequence[Sequence[str]], *, header: Sequence[str] = HEADER,
                    mail: Mapping[str, Any] | None = None, max_rejected: Any = None) -> Path:
    """Write the workspace; returns its config.yaml."""
    (root / "exports").mkdir(parents=True, exist_ok=True)
    (root / "uploads").mkdir(exist_ok=True)
    with (root / "exports" / "responses.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    with (root / "units.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "emails", "level"])
        writer.writerows([code, name, f"cdd{code}@example.go.th", "province"] for code, name in UNITS)
    form: dict[str, Any] = {"backend": "forms_export", "path": "exports/responses.csv"}
    if max_rejected is not None:
        form["max_rejected"] = max_rejected
    config = {
        "campaign": {"id": "stray-test", "title": "ถอดบทเรียนอำเภอนำร่อง (ทดสอบ)"},
        "units": {"file": "units.csv"},
        "sources": {"form": form, "uploads": {"backend": "local_folder", "path": "uploads"}},
        "deliverables": [
            {"id": "questionnaire", "title": "แบบสอบถาม", "source": "form", "kind": "response", "expected": 2,
             "opens": "1 พ.ย. 2565", "due": "7 พ.ย. 2565", "unit_question": "จังหวัด",
             "link": "https://forms.gle/EXAMPLE"},
            {"id": "photos", "title": "ภาพถ่าย", "source": "uploads", "kind": "photo", "expected": 5,
             "due": "15 พ.ย. 2565", "link": "https://drive.google.com/drive/folders/EXAMPLE"},
        ],
        "warehouse": {"backend": "xlsx", "path": "warehouse.xlsx"},
        "state": {"path": "state.sqlite"},
    }
    if mail is not None:
        config["mail"] = dict(mail)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
