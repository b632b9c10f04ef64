"""Step 2 of a run: raw responses and files → tidy tables (pure functions over plain data and pandas).

Every response and file keeps a row; the ones that do not count say why (`reason_th`), and the
ones whose unit cannot be told become `problems` rows instead of being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.base import FormResponse, UploadedFile
from connectors.pandas_text import pd
from ingest.campaign import Campaign, Deliverable
from ingest.collected import Collected, Problem
from ingest.facts import FileFacts
from ingest.status import ITEM_COLUMNS
from ingest.thaidate import BANGKOK, thai_digits_to_arabic
from ingest.units import UnitMatch, UnitMatcher

LIKERT = {"มากที่สุด": 5, "มาก": 4, "ปานกลาง": 3, "น้อย": 2, "น้อยที่สุด": 1}

RESPONSE_COLUMNS = ["response_id", "deliverable", "unit_code", "unit_name", "unit_text", "submitted_at",
                    "respondent_email", "counted", "reason_th", "duplicate_of", "origin"]
FILE_COLUMNS = ["file_id", "name", "folder", "unit_code", "unit_name", "unit_text", "deliverable", "kind",
                "content_type", "size", "sha256", "created_at", "arrived_at", "uploader_email", "counted", "violations",
                "reason_th", "duplicate_of", "origin"]
# Carried in the files table for the tracking tab's links, not published as columns: a local folder's
# link is a path on the server, and a files tab holding it would be rewritten whenever the workspace moves.
LINK_COLUMNS = ["folder_url"]
FOCUS_GROUP_COLUMNS = ["unit_code", "unit_name", "file_id", "part", "number", "question", "answer"]
PROBLEM_COLUMNS = ["kind", "source", "origin", "text", "detail", "candidates"]


@dataclass
class Tables:
    responses: pd.DataFrame
    files: pd.DataFrame
    focus_group: pd.DataFrame
    problems: pd.DataFrame
    items: pd.DataFrame  # what status counts: see ingest.status.ITEM_COLUMNS


def normalize(campaign: Campaign, collected: Collected) -> Tables:
    matcher = UnitMatcher(campaign.units, extra_aliases=campaign.unit_aliases, threshold=campaign.match_threshold)
    names = {u.code: u.name for u in campaign.units}
    problems = list(collected.problems)
    response_frames = []
    for deliverable in campaign.deliverables:
        if deliverable.kind == "response":
            frame, found = responses_table(deliverable, collected.responses.get(deliverable.source, []), matcher, names)
            response_frames.append(frame)
            problems.extend(found)
    responses = pd.concat(response_frames, ignore_index=True) if response_frames else _empty(RESPONSE_COLUMNS)
    file_frames = []
    for source, files in collected.files.items():
        frame, found = files_table(campaign, source, files, collected.facts, collected.routes, matcher, names)
        file_frames.append(frame)
        problems.extend(found)
    files_frame = pd.concat(file_frames, ignore_index=True) if file_frames else _empty(FILE_COLUMNS + LINK_COLUMNS)
    focus = focus_group_table(files_frame, collected.facts, names)
    problem_frame = pd.DataFrame([vars(p) for p in problems], columns=PROBLEM_COLUMNS) if problems else _empty(PROBLEM_COLUMNS)
    return Tables(responses, files_frame, focus, problem_frame, items_table(campaign, responses, files_frame))


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _unit_problem(match: UnitMatch, source: str, origin: str, names: Mapping[str, str]) -> Problem:
    candidates = ", ".join(f"{c} {names.get(c, '')}".strip() for c in match.candidates)
    if match.method == "ambiguous":
        return Problem("unit_ambiguous", source, origin, match.text, "names more than one unit", candidates)
    detail = "no unit given" if not str(match.text).strip() else "matches no unit of the campaign"
    return Problem("unit_unmatched", source, origin, match.text, detail, candidates)


def clean_answer(value: object) -> object:
    """Thai digits to Arabic; a Likert label to its score 1–5; anything else unchanged."""
    if isinstance(value, tuple):
        return ", ".join(str(clean_answer(v)) for v in value)
    text = thai_digits_to_arabic(str(value)).strip()
    return LIKERT.get(text, text)


def responses_table(deliverable: Deliverable, responses: Sequence[FormResponse], matcher: UnitMatcher,
                    names: Mapping[str, str]) -> tuple[pd.DataFrame, list[Problem]]:
    """One row per response of one form deliverable, answers as columns in question order."""
    problems: list[Problem] = []
    rows: list[dict[str, object]] = []
    questions: dict[str, None] = {}
    moments = []
    for response in sorted(responses, key=lambda r: (r.created_at, r.response_id)):
        unit_text = response.answers.get(deliverable.unit_question or "", "")
        unit_text = ", ".join(unit_text) if isinstance(unit_text, tuple) else unit_text
        match = matcher.match(unit_text)
        if not match.matched:
            problems.append(_unit_problem(match, deliverable.source, response.origin, names))
        reason = ""
        if deliverable.opens_at and response.created_at < deliverable.opens_at:
            reason = "ส่งก่อนวันเปิดรับ (อาจเป็นการทดสอบ)"
        row: dict[str, object] = {
            "response_id": response.response_id, "deliverable": deliverable.id, "unit_code": match.code or "",
            "unit_name": names.get(match.code or "", ""), "unit_text": unit_text,
            "respondent_email": response.respondent_email or "", "counted": match.matched and not reason,
            "reason_th": reason, "duplicate_of": "", "origin": response.origin}
        for title, value in response.answers.items():
            if title == deliverable.unit_question:
                continue
            questions.setdefault(title)
            row[f"q:{title}"] = clean_answer(value)
        rows.append(row)
        moments.append(response.created_at)
    frame = pd.DataFrame(rows, columns=RESPONSE_COLUMNS + [f"q:{q}" for q in questions])
    if moments:
        frame["submitted_at"] = bangkok_times(moments)
    if deliverable.dedupe_key and len(frame):
        frame = _mark_repeat_respondents(frame, deliverable.dedupe_key)
    return frame, problems


def _mark_repeat_respondents(frame: pd.DataFrame, key: Sequence[str]) -> pd.DataFrame:
    """A respondent who submitted twice counts once: the latest answer stands."""
    columns = [f"q:{k}" for k in key if f"q:{k}" in frame.columns]
    if not columns:
        return frame
    # A row shorter than the header leaves its answer missing (NaN, which astype(str) keeps under pandas' string dtype).
    cleaned = frame[columns].fillna("").astype(str).map(lambda v: re.sub(r"\s+", "", v).lower())
    identity = frame["unit_code"].astype(str)
    for i in range(len(columns)):
        # "unit|a|b": joined column by column (a row-wise "|".join took 3 s at 74,000 responses)
        identity = identity + "|" + cleaned.iloc[:, i]
    frame = frame.copy()
    attributed = frame["unit_code"] != ""
    identity = identity[attributed]
    # Each respondent's latest answer (the first of equal times), for every one of their rows at once:
    # a Python loop over groups took seconds at tens of thousands of respondents.
    latest = identity.map(frame.loc[attributed, "submitted_at"].groupby(identity).idxmax())
    repeats = latest[latest != latest.index]
    frame.loc[repeats.index, "counted"] = False
    frame.loc[repeats.index, "reason_th"] = "ผู้ตอบคนเดียวกันส่งซ้ำ (นับคำตอบล่าสุด)"
    frame.loc[repeats.index, "duplicate_of"] = frame.loc[repeats.to_numpy(), "response_id"].to_numpy()
    return frame


def file_unit(file: UploadedFile, matcher: UnitMatcher) -> UnitMatch:
    """The nearest folder whose name is a unit, else the file name."""
    return _unit_and_folder(file, matcher)[0]


def _unit_and_folder(file: UploadedFile, matcher: UnitMatcher) -> tuple[UnitMatch, int]:
    """`file_unit`, and which of the file's folders is its unit's: the one that named the unit, else
    the top folder under the upload folder (the unit was told from the file name, or not at all)."""
    for depth in range(len(file.folders) - 1, -1, -1):
        match = matcher.match(file.folders[depth])
        if match.matched:
            return match, depth
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", file.name)
    match = matcher.match(stem)
    if match.matched or not file.folders:
        return match, 0
    return UnitMatch("/".join((*file.folders, file.name)), None, match.method, match.score, match.candidates), 0


def files_table(campaign: Campaign, source: str, files: Sequence[UploadedFile], facts: Mapping[str, FileFacts],
                routes: Mapping[str, str], matcher: UnitMatcher,
                names: Mapping[str, str]) -> tuple[pd.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    rows = []
    created, arrived = [], []
    first_copy: dict[tuple[str, str, str], str] = {}
    for file in sorted(files, key=lambda f: (f.created_at, f.file_id)):
        match, depth = _unit_and_folder(file, matcher)
        if not match.matched:
            problems.append(_unit_problem(match, source, file.origin or file.file_id, names))
        fact = facts.get(file.file_id)
        deliverable_id = routes.get(file.file_id, "")
        if not deliverable_id:
            problems.append(Problem("file_unrouted", source, file.origin or file.file_id, file.name,
                                    "matches no deliverable of this source (not a document or a photo?)"))
        violations = list(fact.violations) if fact else []
        duplicate_of = ""
        if fact and fact.sha256 and match.matched and deliverable_id:
            # Identical content counts once per unit and deliverable (the same photo uploaded twice).
            key = (match.code or "", deliverable_id, file.md5 or fact.sha256)
            duplicate_of = first_copy.setdefault(key, file.file_id)
            duplicate_of = "" if duplicate_of == file.file_id else duplicate_of
        reasons = [v.reason_th for v in violations]
        if duplicate_of:
            reasons.append("ไฟล์ซ้ำกับที่ส่งแล้ว (นับครั้งเดียว)")
        rows.append({
            "file_id": file.file_id, "name": file.name, "folder": "/".join(file.folders),
            # A link to the unit's folder (for the tracking tab's names); "" for a file at the top.
            "folder_url": file.folder_urls[depth] if depth < len(file.folder_urls) else "",
            "unit_code": match.code or "", "unit_name": names.get(match.code or "", ""), "unit_text": match.text,
            "deliverable": deliverable_id, "kind": _kind(campaign, deliverable_id),
            "content_type": fact.content_type if fact else "", "size": fact.size if fact else file.size,
            "sha256": fact.sha256 if fact else "",
            "uploader_email": file.uploader_email or "",
            "counted": bool(match.matched and deliverable_id and not reasons),
            "violations": ",".join(v.code for v in violations), "reason_th": "; ".join(reasons),
            "duplicate_of": duplicate_of, "origin": file.origin})
        created.append(file.created_at)
        # What status counts: later than created_at when the file was moved into the tree (ingest.arrival).
        arrived.append(file.arrived_at or file.created_at)
    frame = pd.DataFrame(rows, columns=FILE_COLUMNS + LINK_COLUMNS)
    if rows:
        frame["created_at"], frame["arrived_at"] = bangkok_times(created), bangkok_times(arrived)
    return frame, problems


def bangkok_times(moments: Sequence[datetime]) -> pd.Series:
    """Moments as a column of Bangkok times, converted at once (a Timestamp made and converted per row
    was a fifth of normalizing 126,000 rows)."""
    return pd.to_datetime(pd.Series(moments, dtype=object), utc=True).dt.tz_convert(BANGKOK)


def _kind(campaign: Campaign, deliverable_id: str) -> str:
    return campaign.deliverable(deliverable_id).kind if deliverable_id else "other"


def focus_group_table(files: pd.DataFrame, facts: Mapping[str, FileFacts], names: Mapping[str, str]) -> pd.DataFrame:
    rows = []
    for file_id, unit_code in zip(files["file_id"].tolist(), files["unit_code"].tolist(), strict=True):
        fact = facts.get(file_id)
        if fact is None or fact.record is None or not unit_code:
            continue
        rows.extend({"unit_code": unit_code, "unit_name": names.get(unit_code, ""), "file_id": file_id,
                     "part": a.part, "number": a.number, "question": a.question, "answer": a.answer}
                    for a in fact.record.answers)
    return pd.DataFrame(rows, columns=FOCUS_GROUP_COLUMNS) if rows else _empty(FOCUS_GROUP_COLUMNS)


def items_table(campaign: Campaign, responses: pd.DataFrame, files: pd.DataFrame) -> pd.DataFrame:
    """Everything status counts: attributed responses and routed files, valid or not."""
    parts = []
    if len(responses):
        r = responses[responses["unit_code"] != ""]
        parts.append(pd.DataFrame({"deliverable": r["deliverable"], "unit": r["unit_code"], "item_id": r["response_id"],
                                   "arrived_at": r["submitted_at"], "valid": r["counted"].astype(bool),
                                   "reason_th": r["reason_th"]}))
    if len(files):
        f = files[(files["unit_code"] != "") & (files["deliverable"] != "")]
        parts.append(pd.DataFrame({"deliverable": f["deliverable"], "unit": f["unit_code"], "item_id": f["file_id"],
                                   "arrived_at": f["arrived_at"], "valid": f["counted"].astype(bool),
                                   "reason_th": f["reason_th"]}))
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty(ITEM_COLUMNS)
    return pd.concat(parts, ignore_index=True)[list(ITEM_COLUMNS)]
