"""A snapshot with personal data replaced, so that every file made from it is clean (PDPA).

Personal here: respondents' and uploaders' e-mails, the questions that identify a respondent (the
deliverable's `dedupe_key`) or that the config marks `personal: true`, and the people a record's header
names (facilitator, recorder). Their values get pseudonyms; the same values, and any e-mail address,
are also replaced wherever they turn up in other text (a problem's detail quoting a row, an answer).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from connectors.pandas_text import pd
from ingest.campaign import Campaign
from ingest.export.pseudonym import Pseudonymiser
from ingest.export.snapshot import Snapshot
from ingest.facts import FileFacts, RecordAnswer

EMAIL_COLUMNS = ("respondent_email", "uploader_email")
NAMED_PEOPLE = ("facilitator", "recorder")  # header fields holding a person's name


def personal_columns(campaign: Campaign) -> list[str]:
    return list(dict.fromkeys(f"q:{q}" for d in campaign.deliverables for q in (*d.dedupe_key, *d.personal)))


def _frame(frame: pd.DataFrame, p: Pseudonymiser, personal: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if column in EMAIL_COLUMNS:
            frame[column] = frame[column].map(lambda v: p.value(v, "email"))
        elif column in personal:
            frame[column] = frame[column].map(p.value)
        elif frame[column].map(lambda v: isinstance(v, str)).any():
            frame[column] = frame[column].map(lambda v: p.text(v) if isinstance(v, str) else v)
    return frame


def _facts(fact: FileFacts, p: Pseudonymiser) -> FileFacts:
    if fact.record is None:
        return fact
    header = {k: p.text(v) for k, v in fact.record.header.items() if k not in NAMED_PEOPLE}
    answers = tuple(RecordAnswer(a.part, a.number, p.text(a.question), p.text(a.answer)) for a in fact.record.answers)
    return replace(fact, record=replace(fact.record, header=header, answers=answers))


def _deep(value: Any, p: Pseudonymiser) -> Any:
    if isinstance(value, str):
        return p.text(value)
    if isinstance(value, dict):
        return {_deep(k, p): _deep(v, p) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_deep(v, p) for v in value)
    return value


def pseudonymise(snapshot: Snapshot, p: Pseudonymiser) -> Snapshot:
    personal = personal_columns(snapshot.campaign)
    tables = snapshot.tables
    for column in personal:
        if column in tables.responses.columns:
            p.learn(tables.responses[column])
    for fact in snapshot.facts.values():
        if fact.record is not None:
            p.learn(fact.record.header.get(f) for f in NAMED_PEOPLE)
    clean = replace(tables, responses=_frame(tables.responses, p, personal), files=_frame(tables.files, p, personal),
                    focus_group=_frame(tables.focus_group, p, personal), problems=_frame(tables.problems, p, personal))
    return replace(snapshot, tables=clean, facts={k: _facts(v, p) for k, v in snapshot.facts.items()},
                   runs=[_deep(r, p) for r in snapshot.runs],
                   alert_messages=None if snapshot.alert_messages is None else _deep(snapshot.alert_messages, p))
