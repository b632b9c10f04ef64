"""Campaigns and item tables for the alert tests, built in code (the CDD campaign's shape)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from ingest.alerts.policy import AlertPolicy, alert_policy_from_config
from ingest.campaign import Campaign, Deliverable, Override, SourceSpec, Unit
from ingest.status import ITEM_COLUMNS
from ingest.thaidate import BANGKOK

SENDER = "ทีมติดตาม สถาบันการพัฒนาชุมชน <tidtam@example.go.th>"
COORDINATOR = "cdi@example.go.th"
OPENS = datetime(2022, 11, 1, 0, 0, tzinfo=BANGKOK)
DUE_Q = datetime(2022, 11, 7, 23, 59, 59, tzinfo=BANGKOK)
DUE_U = datetime(2022, 11, 15, 23, 59, 59, tzinfo=BANGKOK)

QUESTIONNAIRE = Deliverable("questionnaire", "แบบสอบถาม", "form", "response", 10, DUE_Q, opens_at=OPENS,
                            link="https://forms.gle/EXAMPLE", unit_label="ชุด")
RECORD = Deliverable("record", "แบบบันทึกสนทนากลุ่ม", "uploads", "document", 1, DUE_U,
                     link="https://drive.google.com/drive/folders/EXAMPLE", unit_label="ฉบับ")
PHOTOS = Deliverable("photos", "ภาพถ่าย", "uploads", "photo", 5, DUE_U,
                     link="https://drive.google.com/drive/folders/EXAMPLE", unit_label="ภาพ")
SOURCES = {"form": SourceSpec("form", "forms_export", "responses"), "uploads": SourceSpec("uploads", "local_folder", "uploads")}


def mail_section(**alerts: Any) -> dict[str, Any]:
    return {"backend": "outbox", "sender": SENDER, "reply_to": COORDINATOR, "coordinators": [COORDINATOR],
            "alerts": alerts}


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2022, 11, day, hour, minute, tzinfo=BANGKOK)


def unit(code: str, name: str, *emails: str) -> Unit:
    return Unit(code, name, emails=tuple(emails) or (f"cdd{code}@example.go.th",), level="province")


def campaign(units: Sequence[Unit], *, mail: Mapping[str, Any] | None = None,
             overrides: Sequence[Override] = (), deliverables: Sequence[Deliverable] | None = None) -> Campaign:
    return Campaign(id="cdd-test", title='ถอดบทเรียนอำเภอนำร่อง "บำบัดทุกข์ บำรุงสุข"', units=tuple(units),
                    deliverables=tuple(deliverables or (QUESTIONNAIRE, RECORD, PHOTOS)), sources=SOURCES,
                    overrides=tuple(overrides), mail=policy_of(mail if mail is not None else mail_section()))


def policy_of(section: Mapping[str, Any]) -> AlertPolicy:
    """The typed policy ingest.config makes from a `mail:` section (the tests' sections are valid)."""
    problems: list[str] = []
    policy = alert_policy_from_config(section, problems)
    assert not problems, problems
    return policy


def items(rows: Iterable[tuple[str, str, datetime, bool, str]]) -> pd.DataFrame:
    """(deliverable, unit, arrived_at, valid, reason_th) rows → the items table `evaluate` reads."""
    records = [{"deliverable": d, "unit": u, "item_id": f"{d}-{u}-{i}", "arrived_at": pd.Timestamp(when),
                "valid": valid, "reason_th": reason} for i, (d, u, when, valid, reason) in enumerate(rows)]
    frame = pd.DataFrame(records, columns=list(ITEM_COLUMNS))
    if not records:
        frame["arrived_at"] = pd.to_datetime(frame["arrived_at"], utc=True)
    return frame


def delivered(deliverable: str, code: str, count: int, when: datetime, *, invalid: Sequence[str] = ()) -> list:
    """`count` valid items of a deliverable from a unit at `when`, plus invalid ones with their reasons."""
    rows = [(deliverable, code, when, True, "") for _ in range(count)]
    rows += [(deliverable, code, when, False, reason) for reason in invalid]
    return rows
