"""A respondent who answered twice counts once, the latest answer standing (pure, no I/O)."""

from __future__ import annotations

import pandas as pd

from ingest.normalize import RESPONSE_COLUMNS, _mark_repeat_respondents
from ingest.thaidate import BANGKOK

REPEAT = "ผู้ตอบคนเดียวกันส่งซ้ำ (นับคำตอบล่าสุด)"


def _frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """rows of (response id, unit code, name answer, submitted at)."""
    records = [{**dict.fromkeys(RESPONSE_COLUMNS, ""), "response_id": rid, "unit_code": unit,
                "submitted_at": pd.Timestamp(at, tz=BANGKOK), "counted": bool(unit), "q:ชื่อ-นามสกุล": name}
               for rid, unit, name, at in rows]
    return pd.DataFrame(records, columns=[*RESPONSE_COLUMNS, "q:ชื่อ-นามสกุล"])


def test_the_latest_answer_of_each_respondent_stands_and_the_others_point_to_it():
    frame = _frame([
        ("r1", "50", "สมชาย ใจดี", "2022-11-02 09:00"),
        ("r2", "50", "สมชาย  ใจดี", "2022-11-03 09:00"),  # same person, spacing differs: the latest
        ("r3", "50", "สมหญิง ใจดี", "2022-11-01 09:00"),  # someone else
        ("r4", "51", "สมชาย ใจดี", "2022-11-01 09:00"),  # same name in another province: another person
        ("r5", "50", "สมชาย ใจดี", "2022-11-02 12:00"),
        ("r6", "", "สมชาย ใจดี", "2022-11-05 09:00"),  # unattributed: never part of a group
        ("r7", "52", "Ann", "2022-11-01 09:00"),
        ("r8", "52", "ann", "2022-11-01 09:00"),  # a tie: the first of equal times stands
        # Typed with a no-break space and an ideographic space (a phone keyboard, a pasted name): the same
        # person as r9b, whose name has plain spaces around a tab.
        ("r9a", "53", "สมศรี\u00a0มีสุข\u3000", "2022-11-01 09:00"),
        ("r9b", "53", " สมศรี \t มีสุข", "2022-11-02 09:00"),
    ])
    marked = _mark_repeat_respondents(frame, ["ชื่อ-นามสกุล"]).set_index("response_id")
    assert marked["counted"].to_dict() == {"r1": False, "r2": True, "r3": True, "r4": True, "r5": False,
                                           "r6": False, "r7": True, "r8": False, "r9a": False, "r9b": True}
    assert marked["duplicate_of"].to_dict() == {"r1": "r2", "r2": "", "r3": "", "r4": "", "r5": "r2", "r6": "",
                                                "r7": "", "r8": "r7", "r9a": "r9b", "r9b": ""}
    assert set(marked.loc[["r1", "r5", "r8"], "reason_th"]) == {REPEAT}
    assert frame["duplicate_of"].eq("").all()  # the input frame is left as it was


def test_without_the_key_question_nothing_is_marked():
    frame = _frame([("r1", "50", "ก", "2022-11-02 09:00"), ("r2", "50", "ก", "2022-11-03 09:00")])
    assert _mark_repeat_respondents(frame, ["อีเมล"]) is frame
