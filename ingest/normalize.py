"""Step 2 of a run: raw responses and files → tidy tables (pure functions over plain data and pandas).

Every response and file keeps a row; the ones that do not count say why (`reason_th`), and the
ones whose unit cannot be told become `problems` rows instead of being guessed.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import NamedTuple

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
_FILE_ROW = FILE_COLUMNS + LINK_COLUMNS  # the columns of `FileRow.row`, in order
# The columns `assemble` fills by comparing a row with the others (a repeat respondent, a copy of a file
# already sent); every other column of the responses and files tables is its record's row as made alone
# (`ResponseRow.row` and its answers, `FileRow.row`).
COMPARED_COLUMNS = ("counted", "reason_th", "duplicate_of")
_FILE_AT = {c: i for i, c in enumerate(_FILE_ROW)}  # a column's place in `FileRow.row`
# Rows in submission or creation order (ties by id): keys made in C rather than by a lambda per row.
_BY_TIME_AND_RESPONSE = attrgetter("created_at", "response_id")
_BY_TIME_AND_FILE = attrgetter("created_at", "file_id")
_UNSEEN = object()


@dataclass
class Tables:
    responses: pd.DataFrame
    files: pd.DataFrame
    focus_group: pd.DataFrame
    problems: pd.DataFrame
    items: pd.DataFrame  # what status counts: see ingest.status.ITEM_COLUMNS


def normalize(campaign: Campaign, collected: Collected) -> Tables:
    """The tables of everything collected (each record normalized here; `ingest.row_cache` keeps the
    rows between runs and calls `assemble` with them instead)."""
    matcher, names = unit_matcher(campaign), unit_names(campaign)
    response_rows = {d.id: [response_row(d, r, matcher, names) for r in collected.responses.get(d.source, [])]
                     for d in campaign.deliverables if d.kind == "response"}
    file_rows = {source: [file_row(campaign, source, f, collected.facts.get(f.file_id),
                                   collected.routes.get(f.file_id, ""), matcher, names) for f in files]
                 for source, files in collected.files.items()}
    return assemble(campaign, collected.problems, response_rows, file_rows)


def unit_matcher(campaign: Campaign) -> UnitMatcher:
    return UnitMatcher(campaign.units, extra_aliases=campaign.unit_aliases, threshold=campaign.match_threshold)


def unit_names(campaign: Campaign) -> dict[str, str]:
    return {u.code: u.name for u in campaign.units}


def assemble(campaign: Campaign, run_problems: Sequence[Problem], response_rows: Mapping[str, Sequence[ResponseRow]],
             file_rows: Mapping[str, Sequence[FileRow]]) -> Tables:
    """The tables from every record's row: `response_rows` per response deliverable id, `file_rows` per
    upload source, in the order their tabs list them. Only here are rows compared with each other
    (repeat respondents, copies of one file), so the result is the same whichever rows were kept."""
    problems = list(run_problems)
    response_frames = []
    for deliverable in campaign.deliverables:
        if deliverable.kind == "response":
            frame, found = responses_frame(deliverable, response_rows.get(deliverable.id, []))
            response_frames.append(frame)
            problems.extend(found)
    responses = pd.concat(response_frames, ignore_index=True) if response_frames else _empty(RESPONSE_COLUMNS)
    file_frames, focus_rows = [], []
    for rows in file_rows.values():
        frame, found, focus = files_frame(rows)
        file_frames.append(frame)
        problems.extend(found)
        focus_rows.extend(focus)
    files_frame_ = pd.concat(file_frames, ignore_index=True) if file_frames else _empty(FILE_COLUMNS + LINK_COLUMNS)
    focus = pd.DataFrame(focus_rows, columns=FOCUS_GROUP_COLUMNS) if focus_rows else _empty(FOCUS_GROUP_COLUMNS)
    problem_frame = pd.DataFrame([vars(p) for p in problems], columns=PROBLEM_COLUMNS) if problems else _empty(PROBLEM_COLUMNS)
    return Tables(responses, files_frame_, focus, problem_frame, items_table(campaign, responses, files_frame_))


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


class ResponseRow(NamedTuple):
    """One response of one deliverable as its table row, before rows are compared with each other: a
    function of the response and the campaign alone, so `ingest.row_cache` keeps it between runs."""

    created_at: datetime
    response_id: str
    # RESPONSE_COLUMNS' values (submitted_at None: the table sets it), then the answers to `questions`, in
    # their order. A tuple, not a dict by column name: at 7,436 sub-districts a dict of 25 names was about
    # a kilobyte a row (74,508 rows kept, loaded and pickled by every changed sync) and made the table
    # column by column name.
    row: tuple[object, ...]
    questions: tuple[str, ...]  # the titles of its answers, in order (the unit question left out)
    problems: tuple[Problem, ...]


def response_row(deliverable: Deliverable, response: FormResponse, matcher: UnitMatcher,
                 names: Mapping[str, str]) -> ResponseRow:
    unit_text = response.answers.get(deliverable.unit_question or "", "")
    unit_text = ", ".join(unit_text) if isinstance(unit_text, tuple) else unit_text
    match = matcher.match(unit_text)
    problems = () if match.matched else (_unit_problem(match, deliverable.source, response.origin, names),)
    reason = ""
    if deliverable.opens_at and response.created_at < deliverable.opens_at:
        reason = "ส่งก่อนวันเปิดรับ (อาจเป็นการทดสอบ)"
    # A unit's code and name, and the deliverable, are one object for every row (`shared`, so that the
    # memo's rows file, which keeps interned texts interned, gives them back shared: `ingest.rows_file`).
    unit_code = shared(match.code or "")
    row = _in_order(RESPONSE_COLUMNS, {
        "response_id": response.response_id, "deliverable": shared(deliverable.id), "unit_code": unit_code,
        "unit_name": shared(names.get(unit_code, "")), "unit_text": shared(unit_text),
        "respondent_email": response.respondent_email or "", "counted": match.matched and not reason,
        "reason_th": reason, "duplicate_of": "", "origin": response.origin})
    questions, answers = [], []
    for title, value in response.answers.items():
        if title == deliverable.unit_question:
            continue
        questions.append(title)
        answers.append(shared(clean_answer(value)))
    return ResponseRow(response.created_at, response.response_id, row + tuple(answers), _titles(tuple(questions)),
                       problems)


def _in_order(columns: Sequence[str], values: Mapping[str, object]) -> tuple[object, ...]:
    """`values` by column name as a tuple in `columns`' order, a column not given None (a row keeps the
    tuple; the names are for whoever reads the code)."""
    return tuple(values.get(column) for column in columns)


@lru_cache(maxsize=4096)
def _titles(questions: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple object for each sequence of question titles. Each response decoded from the state
    brings its own copies of the titles: kept rows held 14 Thai titles a response, 2.3 KB of a 4.2 KB row
    at 7,436 sub-districts (311 MB for 74,508 rows), and pickled them as many times."""
    return questions


def shared(value: object) -> object:
    """`value`, one object for equal texts (`sys.intern`): a kept row holds, and the memo pickles, one copy
    of a text that thousands of rows repeat (a position typed by every unit, a folder's path, a MIME
    type, a record's questions) instead of one per row. Equal texts are interchangeable, so the rows
    are the same. CPython's default build frees an interned text with its last reference (the free-threaded
    build keeps it for the process's life: then a long-running scheduler holds each distinct text once)."""
    return sys.intern(value) if type(value) is str else value


def responses_table(deliverable: Deliverable, responses: Sequence[FormResponse], matcher: UnitMatcher,
                    names: Mapping[str, str]) -> tuple[pd.DataFrame, list[Problem]]:
    """One row per response of one form deliverable, answers as columns in question order."""
    return responses_frame(deliverable, [response_row(deliverable, r, matcher, names) for r in responses])


def responses_frame(deliverable: Deliverable, rows: Iterable[ResponseRow]) -> tuple[pd.DataFrame, list[Problem]]:
    """The deliverable's table from its responses' rows: in submission order, answers as columns in the
    order they first appear, a respondent who answered twice counted once."""
    ordered = responses_in_order(rows)
    questions: dict[str, None] = {}
    # The titles in the order they first appear, walked once per sequence of titles (rows share one
    # tuple per sequence, `_titles`): the rows' 630,000 titles at 7,436 sub-districts took 0.1 s one by one.
    for titles in {id(r.questions): r.questions for r in ordered}.values():
        for title in titles:
            questions.setdefault(title)
    frame = pd.DataFrame(_answer_columns(ordered, list(questions)),
                         columns=RESPONSE_COLUMNS + [f"q:{q}" for q in questions])
    if ordered:
        frame["submitted_at"] = bangkok_times([r.created_at for r in ordered])
    if deliverable.dedupe_key and len(frame):
        frame = _mark_repeat_respondents(frame, deliverable.dedupe_key)
    return frame, [p for r in ordered for p in r.problems]


def responses_in_order(rows: Iterable[ResponseRow]) -> list[ResponseRow]:
    """A deliverable's responses in their table's order: by submission, ties by id."""
    return sorted(rows, key=_BY_TIME_AND_RESPONSE)


def files_in_order(rows: Iterable[FileRow]) -> list[FileRow]:
    """A source's files in their table's order: by creation, ties by id."""
    return sorted(rows, key=_BY_TIME_AND_FILE)


def _answer_columns(rows: Sequence[ResponseRow], questions: list[str]) -> list[tuple[object, ...]]:
    """Each row with its answers under the table's question columns: as it is when it answered every
    question in the table's order, else moved into place, a question it did not answer missing (NaN,
    as a table made from rows by column name leaves it)."""
    first = len(RESPONSE_COLUMNS)
    column = {q: first + i for i, q in enumerate(questions)}
    width = first + len(questions)
    # Per sequence of titles, known by the tuple's identity (rows share one per sequence, `_titles`; a
    # tuple of 14 titles hashed per row was most of this loop): None when the row is already in place,
    # else an `itemgetter` that takes each of the table's columns from the row, NaN appended last standing
    # in for a question it did not answer. One call in C per row: when an optional question unanswered by
    # the first row puts its column last, every other row is moved (the bench's responses at 7,436
    # sub-districts: 0.18 s placing values one by one in a Python loop).
    places: dict[int, Callable[[tuple[object, ...]], tuple[object, ...]] | None] = {}
    out = []
    for r in rows:
        take = places.get(id(r.questions), _UNSEEN)
        if take is _UNSEEN:
            at = [column[q] for q in r.questions]
            if at == list(range(first, width)):
                take = None
            else:
                source = [*range(first), *([len(r.row)] * len(questions))]  # len(r.row): the NaN appended
                for j, i in enumerate(at):
                    source[i] = first + j
                take = itemgetter(*source)
            places[id(r.questions)] = take
        out.append(r.row if take is None else take(r.row + _MISSING))
    return out


_MISSING = (math.nan,)  # the value of a question a row did not answer (`_answer_columns`)


def _mark_repeat_respondents(frame: pd.DataFrame, key: Sequence[str]) -> pd.DataFrame:
    """A respondent who submitted twice counts once: the latest answer stands (the first of equal times,
    in the frame's order)."""
    columns = [f"q:{k}" for k in key if f"q:{k}" in frame.columns]
    if not columns:
        return frame
    # A respondent is a unit and its cleaned answers, "unit|a|b" (a row shorter than the header leaves its
    # answer missing: ""), found in one pass in Python: grouping in pandas (identities joined column by
    # column, groupby and idxmax) took 0.17 s of 74,508 responses at 7,436 sub-districts, this 0.07 s (offline).
    texts = [[_cleaned(v) for v in _texts(frame[c])] for c in columns]
    units = frame["unit_code"].astype(str).tolist()
    # Instants as integers (a response's creation is never missing): comparing them is comparing the moments.
    times = frame["submitted_at"].array.asi8.tolist()
    identities = ["|".join(parts) for parts in zip(units, *texts, strict=True)]
    latest: dict[str, int] = {}  # identity → the position of its latest answer, the first of equal times
    for i, (unit, identity, at) in enumerate(zip(units, identities, times, strict=True)):
        if unit:  # an unattributed row is never part of a group
            best = latest.get(identity)
            if best is None or at > times[best]:
                latest[identity] = i
    repeats = [(i, kept) for i, (unit, identity) in enumerate(zip(units, identities, strict=True))
               if unit and (kept := latest[identity]) != i]
    if not repeats:
        return frame
    frame = frame.copy()
    rows = frame.index[[i for i, _ in repeats]]
    frame.loc[rows, "counted"] = False
    frame.loc[rows, "reason_th"] = "ผู้ตอบคนเดียวกันส่งซ้ำ (นับคำตอบล่าสุด)"
    frame.loc[rows, "duplicate_of"] = frame["response_id"].to_numpy()[[kept for _, kept in repeats]]
    return frame


def _texts(column: pd.Series) -> list[str]:
    """The column's values as `astype(str)` gives them, a missing one "" (a column of text hands over its
    texts as they are; any other is converted as objects, a whole-number column with one missing as floats)."""
    if isinstance(column.dtype, pd.StringDtype):
        return [v if type(v) is str else "" for v in column.tolist()]  # the missing: NaN (or pd.NA)
    # As objects before the missing are filled: a column of floats filled with "" is an error in pandas 4.
    return column.astype(object).fillna("").astype(str).tolist()


def _cleaned(text: str) -> str:
    r"""Whitespace dropped as `re.sub(r"\s+", "", v)` drops it: str.split() and re's \s on str both take
    CPython's Py_UNICODE_ISSPACE (no-break and ideographic spaces included; checked equal over every
    code point), at a third of the time (74,000 answers: 0.18 -> 0.05 s)."""
    return "".join(text.split()).lower()


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


class FileRow(NamedTuple):
    """One uploaded file as its table row, before it is compared with the source's other files (a copy
    of one already sent counts once): a function of the file, its facts and the campaign alone, so
    `ingest.row_cache` keeps it between runs."""

    created_at: datetime
    file_id: str
    # FILE_COLUMNS + LINK_COLUMNS' values as if no copy of it came first (created_at and arrived_at None:
    # the table sets them); a tuple, as `ResponseRow.row` is.
    row: tuple[object, ...]
    reasons: tuple[str, ...]  # why it does not count, copies aside
    countable: bool  # attributed to a unit and routed to a deliverable
    copy_key: tuple[str, str, str] | None  # (unit, deliverable, content digest) when copies of it count once
    arrived_at: datetime
    problems: tuple[Problem, ...]
    focus: tuple[tuple[object, ...], ...]  # its focus-group record's answers as rows of that table (FOCUS_GROUP_COLUMNS)


def file_row(campaign: Campaign, source: str, file: UploadedFile, fact: FileFacts | None, deliverable_id: str,
             matcher: UnitMatcher, names: Mapping[str, str]) -> FileRow:
    """`fact`: what inspecting the file found (None: not inspected); `deliverable_id`: its route ("" none)."""
    match, depth = _unit_and_folder(file, matcher)
    problems = [] if match.matched else [_unit_problem(match, source, file.origin or file.file_id, names)]
    if not deliverable_id:
        problems.append(Problem("file_unrouted", source, file.origin or file.file_id, file.name,
                                "matches no deliverable of this source (not a document or a photo?)"))
    violations = list(fact.violations) if fact else []
    # One object for every row (`response_row`); each route read back from the state or a worker is a
    # text of its own.
    unit_code = shared(match.code or "")
    unit_name = shared(names.get(unit_code, ""))
    deliverable_id = shared(deliverable_id)
    copy_key = None
    if fact and fact.sha256 and match.matched and deliverable_id:
        # Identical content counts once per unit and deliverable (the same photo uploaded twice).
        copy_key = (unit_code, deliverable_id, file.md5 or fact.sha256)
    reasons = tuple(v.reason_th for v in violations)
    row = _in_order(_FILE_ROW, {
        "file_id": file.file_id, "name": shared(file.name), "folder": shared("/".join(file.folders)),
        # A link to the unit's folder (for the tracking tab's names); "" for a file at the top.
        "folder_url": shared(file.folder_urls[depth] if depth < len(file.folder_urls) else ""),
        "unit_code": unit_code, "unit_name": unit_name, "unit_text": shared(match.text),
        "deliverable": deliverable_id, "kind": shared(_kind(campaign, deliverable_id)),
        "content_type": shared(fact.content_type if fact else ""), "size": fact.size if fact else file.size,
        "sha256": fact.sha256 if fact else "",
        "uploader_email": shared(file.uploader_email or ""),
        "counted": bool(match.matched and deliverable_id and not reasons),
        "violations": shared(",".join(v.code for v in violations)), "reason_th": shared("; ".join(reasons)),
        "duplicate_of": "", "origin": file.origin})
    focus = _focus_rows(file.file_id, unit_code, fact, names)
    # What status counts: later than created_at when the file was moved into the tree (ingest.arrival).
    return FileRow(file.created_at, file.file_id, row, reasons, bool(match.matched and deliverable_id), copy_key,
                   file.arrived_at or file.created_at, tuple(problems), focus)


def files_frame(rows: Iterable[FileRow]) -> tuple[pd.DataFrame, list[Problem], list[tuple[object, ...]]]:
    """One source's files table from its files' rows, in creation order; with its problems and its
    focus-group rows. A copy of content already sent for the same unit and deliverable counts once."""
    ordered = files_in_order(rows)
    first_copy: dict[tuple[str, str, str], str] = {}
    table = []
    for r in ordered:
        duplicate_of = first_copy.setdefault(r.copy_key, r.file_id) if r.copy_key is not None else ""
        if duplicate_of and duplicate_of != r.file_id:
            reasons = [*r.reasons, "ไฟล์ซ้ำกับที่ส่งแล้ว (นับครั้งเดียว)"]
            row = list(r.row)
            row[_FILE_AT["duplicate_of"]], row[_FILE_AT["reason_th"]] = duplicate_of, "; ".join(reasons)
            row[_FILE_AT["counted"]] = False
            table.append(tuple(row))
        else:
            table.append(r.row)
    frame = pd.DataFrame(table, columns=_FILE_ROW)
    if ordered:
        frame["created_at"] = bangkok_times([r.created_at for r in ordered])
        frame["arrived_at"] = bangkok_times([r.arrived_at for r in ordered])
    return frame, [p for r in ordered for p in r.problems], [f for r in ordered for f in r.focus]


def bangkok_times(moments: Sequence[datetime]) -> pd.Series:
    """Moments as a column of Bangkok times, converted at once (a Timestamp made and converted per row
    was a fifth of normalizing 126,000 rows)."""
    return pd.to_datetime(pd.Series(moments, dtype=object), utc=True).dt.tz_convert(BANGKOK)


def _kind(campaign: Campaign, deliverable_id: str) -> str:
    return campaign.deliverable(deliverable_id).kind if deliverable_id else "other"


def focus_group_table(files: pd.DataFrame, facts: Mapping[str, FileFacts], names: Mapping[str, str]) -> pd.DataFrame:
    rows = [row for file_id, unit_code in zip(files["file_id"].tolist(), files["unit_code"].tolist(), strict=True)
            for row in _focus_rows(file_id, unit_code, facts.get(file_id), names)]
    return pd.DataFrame(rows, columns=FOCUS_GROUP_COLUMNS) if rows else _empty(FOCUS_GROUP_COLUMNS)


def _focus_rows(file_id: str, unit_code: str, fact: FileFacts | None, names: Mapping[str, str]
                ) -> tuple[tuple[object, ...], ...]:
    """A focus-group record's answers as rows of the focus_group table (none for a file of no unit)."""
    if fact is None or fact.record is None or not unit_code:
        return ()
    unit_name = shared(names.get(unit_code, ""))
    return tuple(_in_order(FOCUS_GROUP_COLUMNS, {
        "unit_code": unit_code, "unit_name": unit_name, "file_id": file_id, "part": shared(a.part),
        "number": a.number, "question": shared(a.question), "answer": a.answer}) for a in fact.record.answers)


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
