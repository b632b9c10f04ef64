"""A respondent who answered twice counts once, the latest answer standing (pure, no I/O)."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from ingest.normalize import RESPONSE_COLUMNS, _mark_repeat_respondents, bangkok_times
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


def _marked_by_groups(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The marking as it was written in pandas before it became one pass in Python (the reference the
    pass must equal): identities joined column by column, the latest by groupby and idxmax."""
    columns = [f"q:{k}" for k in key if f"q:{k}" in frame.columns]
    cleaned = frame[columns].fillna("").astype(str).map(lambda v: "".join(v.split()).lower())
    identity = frame["unit_code"].astype(str)
    for i in range(len(columns)):
        identity = identity + "|" + cleaned.iloc[:, i]
    frame = frame.copy()
    attributed = frame["unit_code"] != ""
    identity = identity[attributed]
    latest = identity.map(frame.loc[attributed, "submitted_at"].groupby(identity).idxmax())
    repeats = latest[latest != latest.index]
    frame.loc[repeats.index, "counted"] = False
    frame.loc[repeats.index, "reason_th"] = REPEAT
    frame.loc[repeats.index, "duplicate_of"] = frame.loc[repeats.to_numpy(), "response_id"].to_numpy()
    return frame


# The reference fills a column of floats with "" as it always did, which pandas 3 warns of.
@pytest.mark.filterwarnings("ignore:'str' is not supported as a fill value")
def test_the_pass_marks_what_grouping_in_pandas_marked_over_random_frames():
    """Random respondents: names in several spellings (case, spaces of several kinds), a second key
    question of scores with some missing (a column of floats), ties in time, rows out of order, unattributed
    rows."""
    rng = random.Random(2565)
    names = ["สมชาย ใจดี", "สมชาย  ใจดี", "สมชาย\u00a0ใจดี", "Ann", "ann ", "สมหญิง", ""]
    marked_somewhere = 0
    for _ in range(200):
        n = rng.randint(1, 30)
        base = pd.Timestamp("2022-11-01 09:00", tz=BANGKOK)
        records = [{**dict.fromkeys(RESPONSE_COLUMNS, ""), "response_id": f"r{i}",
                    "unit_code": rng.choice(["50", "51", "", "52"]), "counted": rng.random() < 0.9,
                    "reason_th": rng.choice(["", "", "ส่งก่อนวันเปิดรับ (อาจเป็นการทดสอบ)"]),
                    "submitted_at": base + pd.Timedelta(minutes=rng.choice([0, 0, 5, 60, 61])),
                    "q:ชื่อ-นามสกุล": rng.choice(names) if rng.random() < 0.9 else float("nan"),
                    "q:คะแนน": rng.choice([1, 2, 5]) if rng.random() < 0.8 else float("nan")}
                   for i in range(n)]
        frame = pd.DataFrame(records, columns=[*RESPONSE_COLUMNS, "q:ชื่อ-นามสกุล", "q:คะแนน"])
        frame["submitted_at"] = bangkok_times(frame["submitted_at"].dt.to_pydatetime().tolist())
        for key in (["ชื่อ-นามสกุล"], ["ชื่อ-นามสกุล", "คะแนน"], ["คะแนน"]):
            expected = _marked_by_groups(frame, key)
            got = _mark_repeat_respondents(frame, key)
            pd.testing.assert_frame_equal(got, expected)
            marked_somewhere += int((got["duplicate_of"] != "").sum())
    assert marked_somewhere > 500
