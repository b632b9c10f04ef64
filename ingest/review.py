"""Coordinators' review decisions: read from the warehouse, kept in the state, applied to the tables.

A coordinator judges what the automatic checks cannot (a photo of something else, a record for the
wrong district) in two columns of the `files` and `responses` tabs: a decision, `ผ่าน` or `ไม่ผ่าน`,
and a reason. Like ODK Central's and KoboToolbox's review states, a decision belongs to one
submission: here the row's stable key, a response id, or a file id with its content's hash, so a new
version of a file is a new item awaiting review and the old decision stays with the old version.

Every run reads the decisions first, records them here (so they survive the row's disappearing from
the sheet), and the pure step `apply_decisions` turns them into counts and reasons: `ไม่ผ่าน` means
not counted, with the coordinator's reason; `ผ่าน` on an item the checks rejected counts it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from connectors.base import EditableColumns, EditableWarehouse, Table
from connectors.pandas_text import pd
from ingest.campaign import Campaign
from ingest.normalize import Tables, items_table

PASS, FAIL = "ผ่าน", "ไม่ผ่าน"
KEY_COLUMN = "review_key"
STATUS_COLUMN = "review_th"  # tidtam's own: what it made of the decision (Thai, for the coordinators)
DECISION_COLUMN = "ผลตรวจ (ผ่าน/ไม่ผ่าน)"
REASON_COLUMN = "เหตุผลของผู้ตรวจ"
REVIEW_COLUMNS = [STATUS_COLUMN, KEY_COLUMN, DECISION_COLUMN, REASON_COLUMN]
REVIEWED_TABS = ("responses", "files")
HEADERS = (KEY_COLUMN, DECISION_COLUMN, REASON_COLUMN)
DECISIONS_KEY = "review:decisions"  # kv entry of the state holding every decision


@dataclass(frozen=True)
class Decision:
    key: str
    tab: str
    decision: str  # PASS, FAIL, or the text as typed when it is neither
    reason: str
    at: datetime  # when tidtam first read it as it is now

    @property
    def known(self) -> bool:
        return self.decision in (PASS, FAIL)


@dataclass(frozen=True)
class ReviewLine:
    """A decision on an item of this run's tables: what the unit's e-mail and the digest name."""

    key: str
    unit: str  # "" when the item's unit could not be told
    deliverable: str
    item: str  # the file's name, or the response's time and respondent, as the unit knows it
    decision: str
    reason: str
    at: datetime  # when tidtam first read the decision
    arrived_at: datetime | None = None  # when the item itself came in (a replay earlier than that has no such item)


class Memo(Protocol):
    def value(self, key: str) -> str | None: ...

    def set_values(self, values: dict[str, str]) -> None: ...


def decision_text(text: str) -> str:
    """`ผ่าน` / `ไม่ผ่าน` however spaced ("ไม่ ผ่าน"); anything else as typed, stripped."""
    squeezed = re.sub(r"\s+", "", text)
    return squeezed if squeezed in (PASS, FAIL) else text.strip()


def merge_decisions(known: Mapping[str, Decision], read: Mapping[str, Mapping[str, tuple[str, ...]]],
                    now: datetime) -> dict[str, Decision]:
    """The decisions after this run's read of the warehouse (`read`: tab → key → (decision, reason)).

    A key the sheet shows with both cells blank was cleared; a key the sheet no longer shows (a file
    removed, an older version) keeps its decision. A decision keeps the time it was first read.
    """
    current = dict(known)
    for tab, rows in read.items():
        for key, cells in rows.items():
            if not cells or not cells[0].strip():  # no decision typed: the common row, kept cheap
                current.pop(key, None)
                continue
            decision = decision_text(cells[0])
            reason = (cells[1] if len(cells) > 1 else "").strip()
            old = current.get(key)
            if not decision:
                current.pop(key, None)
            elif old is None or (old.decision, old.reason, old.tab) != (decision, reason, tab):
                current[key] = Decision(key, tab, decision, reason, now)
    return current


def load_decisions(memo: Memo) -> dict[str, Decision]:
    data = json.loads(memo.value(DECISIONS_KEY) or "{}")
    return {k: Decision(k, v["tab"], v["decision"], v["reason"], datetime.fromisoformat(v["at"]))
            for k, v in data.items()}


def save_decisions(memo: Memo, decisions: Mapping[str, Decision]) -> None:
    data = {k: {"tab": d.tab, "decision": d.decision, "reason": d.reason, "at": d.at.isoformat()}
            for k, d in sorted(decisions.items())}
    memo.set_values({DECISIONS_KEY: json.dumps(data, ensure_ascii=False, sort_keys=True)})


def read_decisions(warehouse: Any, memo: Memo, now: datetime) -> dict[str, Decision]:
    """Read the review columns (one call on Sheets; the workbook on .xlsx) and record what changed."""
    known = load_decisions(memo)
    if not isinstance(warehouse, EditableWarehouse):  # a warehouse people cannot type into
        return known
    # A tab no decision was ever read from: its keys are read only once a cell of it is filled.
    undecided = [tab for tab in REVIEWED_TABS if not any(d.tab == tab for d in known.values())]
    current = merge_decisions(known, warehouse.read_edits(dict.fromkeys(REVIEWED_TABS, HEADERS), undecided=undecided),
                              now)
    if current != known:
        save_decisions(memo, current)
    return current


def file_key(file_id: str, sha256: str) -> str:
    """A file's version: its id and its content's hash (a new upload over the same file is a new key)."""
    return f"{file_id}@{sha256[:16]}" if sha256 else file_id


@dataclass
class Reviewed:
    tables: Tables
    lines: list[ReviewLine]

    @property
    def rejections(self) -> list[ReviewLine]:
        return rejections(self.lines)


def rejections(lines: Sequence[ReviewLine]) -> list[ReviewLine]:
    """`ไม่ผ่าน` on items of a known unit and deliverable: each is mailed to its unit once."""
    return [line for line in lines if line.decision == FAIL and line.unit and line.deliverable]


def apply_decisions(campaign: Campaign, tables: Tables, decisions: Mapping[str, Decision]) -> Reviewed:
    """The tables with the decisions applied: counts, reasons, and the four review columns."""
    responses = tables.responses.copy()
    responses[KEY_COLUMN] = responses["response_id"].astype(str)
    files = tables.files.copy()
    # Columns as lists: iterating a Series boxes each value through __getitem__ (apply_decisions 0.24 -> 0.18 s
    # at 126,000 rows).
    files[KEY_COLUMN] = [file_key(str(i), str(s or "")) for i, s in zip(files["file_id"].tolist(),
                                                                        files["sha256"].tolist(), strict=True)]
    by_file = {}  # file id → its decided versions, for "a new version awaits review"
    for d in decisions.values():
        if d.tab == "files" and d.known:
            by_file.setdefault(d.key.split("@", 1)[0], []).append(d)
    accepted: dict[str, str] = {}
    lines: list[ReviewLine] = []
    responses = _apply(responses, decisions, {}, accepted, lines, _response_label)
    files = _apply(files, decisions, by_file, accepted, lines, lambda r: str(r["name"]))
    items = items_table(campaign, responses, files)
    items["accepted_th"] = [accepted.get(str(i), "") for i in items["item_id"].tolist()]
    return Reviewed(replace(tables, responses=responses, files=files, items=items), lines)


def _arrival(row: Mapping[str, Any]) -> datetime | None:
    """The item's arrival: a file's `arrived_at`, a response's `submitted_at` (None when unknown)."""
    when = row.get("arrived_at", row.get("submitted_at"))
    if when is None or pd.isna(when):
        return None
    return when.to_pydatetime() if hasattr(when, "to_pydatetime") else when


def _response_label(row: Mapping[str, Any]) -> str:
    when = row["submitted_at"]
    text = when.strftime("%Y-%m-%d %H:%M") if hasattr(when, "strftime") else str(when)
    who = str(row.get("respondent_email") or "")
    return f"คำตอบแบบสอบถามเมื่อ {text}" + (f" ({who})" if who else "")


def _apply(frame: pd.DataFrame, decisions: Mapping[str, Decision], by_file: Mapping[str, Sequence[Decision]],
           accepted: dict[str, str], lines: list[ReviewLine], label: Any) -> pd.DataFrame:
    keys = frame[KEY_COLUMN].tolist()
    status, decision_cells, reason_cells = [""] * len(keys), [""] * len(keys), [""] * len(keys)
    counted, reasons = frame["counted"].tolist(), frame["reason_th"].tolist()
    file_ids = [str(v) for v in frame["file_id"].tolist()] if "file_id" in frame.columns else [""] * len(keys)
    # Only rows with a decision, or files with a decided earlier version, have anything to apply: a few
    # among tens of thousands, so only theirs are looked at one by one (in row order, as `lines` needs).
    look = [i for i, key in enumerate(keys) if key in decisions or file_ids[i] in by_file]
    for i, row in zip(look, frame.iloc[look].to_dict("records") if look else [], strict=True):
        key = keys[i]
        found = decisions.get(key)
        decision_cells[i] = found.decision if found else ""
        reason_cells[i] = found.reason if found else ""
        attributed = bool(row["unit_code"]) and bool(row["deliverable"])
        item_id = str(row.get("response_id") or row.get("file_id"))
        if found is not None:
            lines.append(ReviewLine(key, str(row["unit_code"] or ""), str(row["deliverable"] or ""), label(row),
                                    found.decision, found.reason, found.at, _arrival(row)))
        if found is None:
            older = [d for d in by_file.get(file_ids[i], ()) if d.key != key]
            status[i] = f"ฉบับใหม่ รอตรวจ (ฉบับก่อนหน้า: {older[-1].decision})" if older else ""
        elif found.decision == FAIL:
            said = f"ไม่ผ่านการตรวจ: {found.reason}" if found.reason else "ไม่ผ่านการตรวจของผู้ประสานงาน"
            reasons[i] = "; ".join(r for r in (said, str(reasons[i] or "")) if r)
            counted[i] = False
            status[i] = "ไม่ผ่าน: ไม่นับ"
        elif found.decision == PASS:
            if counted[i] or not attributed:
                status[i] = "ผ่าน" if counted[i] else "ผ่าน แต่ยังระบุหน่วยงาน/รายการไม่ได้ (ดูแท็บ problems)"
            else:
                note = f"ผ่านการตรวจของผู้ประสานงาน (เดิม: {reasons[i]})" if reasons[i] else "ผ่านการตรวจ"
                accepted[item_id] = note
                counted[i], reasons[i] = True, ""
                status[i] = note
        else:
            status[i] = f"ค่า '{found.decision}' ไม่ใช่ {PASS} หรือ {FAIL}: ยังไม่นำมาใช้"
    frame["counted"], frame["reason_th"] = counted, reasons
    frame[STATUS_COLUMN], frame[DECISION_COLUMN], frame[REASON_COLUMN] = status, decision_cells, reason_cells
    rest = [c for c in frame.columns if c not in REVIEW_COLUMNS]
    return frame[rest + REVIEW_COLUMNS]


def reviewed_table(table: Table) -> Table:
    """A `files` or `responses` tab with its decision and reason columns open to coordinators."""
    if KEY_COLUMN not in table.header:
        return table
    return replace(table, editable=EditableColumns(list(table.header).index(KEY_COLUMN), 2, (PASS, FAIL)))
