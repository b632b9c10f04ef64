"""The state database (SQLite): what each source last gave, file facts, cursors, the run log.

The warehouse is rebuilt from this store, so a sync that dies half-way and is run again ends in
the same place. Writes of one run step happen in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.base import FormResponse, UploadedFile
from ingest.errors import StateError
from ingest.facts import FileFacts
from ingest.records import facts_from_json, file_from_json, response_from_json, to_json

# Each entry migrates the schema from version i to i+1; append, never edit a shipped one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE responses (source TEXT NOT NULL, response_id TEXT NOT NULL, record TEXT NOT NULL,
                            PRIMARY KEY (source, response_id));
    CREATE TABLE files (source TEXT NOT NULL, file_id TEXT NOT NULL, record TEXT NOT NULL,
                        PRIMARY KEY (source, file_id));
    CREATE TABLE file_facts (file_id TEXT NOT NULL, version TEXT NOT NULL, rules TEXT NOT NULL,
                             facts TEXT NOT NULL, PRIMARY KEY (file_id, version, rules));
    CREATE TABLE cursors (source TEXT PRIMARY KEY, cursor TEXT NOT NULL);
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL,
                       finished_at TEXT, as_of TEXT NOT NULL, outcome TEXT NOT NULL DEFAULT 'running',
                       counts TEXT NOT NULL DEFAULT '{}', api_calls TEXT NOT NULL DEFAULT '{}',
                       error TEXT NOT NULL DEFAULT '');
    """,
    # Alerts (ingest.alert_log): one row per message, and the stages it covers. The primary key of
    # alert_stages is what makes a (unit, deliverable, stage, deadline) mail go out at most once.
    """
    CREATE TABLE alert_messages (message_id TEXT PRIMARY KEY, kind TEXT NOT NULL, unit TEXT NOT NULL,
                                 unit_name TEXT NOT NULL DEFAULT '', stage TEXT NOT NULL,
                                 stages TEXT NOT NULL DEFAULT '', owed TEXT NOT NULL DEFAULT '',
                                 recipients TEXT NOT NULL, recipient_count INTEGER NOT NULL,
                                 subject TEXT NOT NULL, as_of TEXT NOT NULL, day TEXT NOT NULL,
                                 status TEXT NOT NULL, refused TEXT NOT NULL DEFAULT '{}',
                                 error TEXT NOT NULL DEFAULT '', finished_at TEXT,
                                 payload TEXT NOT NULL DEFAULT '{}');
    CREATE INDEX alert_messages_day ON alert_messages (day);
    CREATE TABLE alert_stages (unit TEXT NOT NULL, deliverable TEXT NOT NULL, stage TEXT NOT NULL,
                               deadline TEXT NOT NULL,
                               message_id TEXT NOT NULL REFERENCES alert_messages (message_id),
                               PRIMARY KEY (unit, deliverable, stage, deadline));
    """,
]


class StateStore:
    """One SQLite file per campaign."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"state file {self.path} is not a usable SQLite database ({exc}). Move it aside and run "
                "`tidtam sync` again: the state is rebuilt from the sources (alerts already sent are then "
                "no longer known, so run with --no-email once).") from None

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StateError(f"state file {self.path} was written by a newer tidtam (schema {version}); upgrade tidtam")
        for number in range(version, len(MIGRATIONS)):
            # executescript commits whatever is open first, so the transaction is spelled out inside it.
            self.db.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]}\nPRAGMA user_version = {number + 1};\nCOMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- what the sources gave -------------------------------------------------------------
    def merge_responses(self, source: str, responses: Iterable[FormResponse], *, complete: bool) -> None:
        """Upsert by response id; a complete batch also drops responses the source no longer has."""
        rows = [(source, r.response_id, to_json(r)) for r in responses]
        with self.transaction() as db:
            if complete:
                db.execute("DELETE FROM responses WHERE source = ?", (source,))
            db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)", rows)

    def responses(self, source: str) -> list[FormResponse]:
        cursor = self.db.execute("SELECT record FROM responses WHERE source = ? ORDER BY response_id", (source,))
        return [response_from_json(text) for (text,) in cursor]

    def merge_files(self, source: str, files: Iterable[UploadedFile], *, complete: bool,
                    removed_ids: Iterable[str] = ()) -> None:
        rows = [(source, _key(f.file_id), to_json(f)) for f in files]
        with self.transaction() as db:
            if complete:
                db.execute("DELETE FROM files WHERE source = ?", (source,))
            db.executemany("DELETE FROM files WHERE source = ? AND file_id = ?", [(source, _key(i)) for i in removed_ids])
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", rows)

    def files(self, source: str) -> list[UploadedFile]:
        cursor = self.db.execute("SELECT record FROM files WHERE source = ? ORDER BY file_id", (source,))
        return [file_from_json(text) for (text,) in cursor]

    def arrivals(self, source: str) -> dict[str, datetime]:
        """file id → when each stored file arrived (its `arrived_at`, else its `created_at`), read
        without decoding whole records (ingest.arrival keeps a known file's arrival)."""
        cursor = self.db.execute("SELECT file_id, coalesce(json_extract(record, '$.arrived_at'), "
                                 "json_extract(record, '$.created_at')) FROM files WHERE source = ?", (source,))
        return {file_id: datetime.fromisoformat(text) for file_id, text in cursor}

    # -- file facts: bytes are read and parsed once per version -----------------------------
    def facts(self, file_id: str, version: str, rules: str) -> FileFacts | None:
        row = self.db.execute("SELECT facts FROM file_facts WHERE file_id = ? AND version = ? AND rules = ?",
                              (_key(file_id), version, rules)).fetchone()
        return facts_from_json(row[0]) if row else None

    def save_facts(self, file_id: str, version: str, rules: str, facts: FileFacts) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM file_facts WHERE file_id = ?", (_key(file_id),))
            db.execute("INSERT INTO file_facts VALUES (?, ?, ?, ?)", (_key(file_id), version, rules, to_json(facts)))

    # -- cursors ---------------------------------------------------------------------------
    def cursor(self, source: str) -> str | None:
        row = self.db.execute("SELECT cursor FROM cursors WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def save_cursors(self, cursors: dict[str, str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO cursors VALUES (?, ?)", list(cursors.items()))

    # -- small named values (e.g. digests of what a warehouse tab last received) --------------
    def value(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_values(self, values: dict[str, str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", list(values.items()))

    # -- run log ---------------------------------------------------------------------------
    def start_run(self, started_at: datetime, as_of: datetime) -> int:
        with self.transaction() as db:
            cursor = db.execute("INSERT INTO runs (started_at, as_of) VALUES (?, ?)",
                                (started_at.isoformat(), as_of.isoformat()))
            return int(cursor.lastrowid)

    def finish_run(self, run_id: int, finished_at: datetime, outcome: str, *, counts: dict[str, Any] | None = None,
                   api_calls: dict[str, int] | None = None, error: str = "") -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, outcome = ?, counts = ?, api_calls = ?, error = ? "
                       "WHERE run_id = ?",
                       (finished_at.isoformat(), outcome, json.dumps(counts or {}, ensure_ascii=False),
                        json.dumps(api_calls or {}), error, run_id))

    def runs(self) -> list[dict[str, Any]]:
        cursor = self.db.execute("SELECT run_id, started_at, finished_at, as_of, outcome, counts, api_calls, error "
                                 "FROM runs ORDER BY run_id")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


def _key(file_id: str) -> str | bytes:
    """A file id as SQLite can store it: a local file name with undecodable bytes holds lone surrogates
    (Python's surrogateescape), which UTF-8 text cannot carry, so that id is kept as its original bytes."""
    try:
        file_id.encode("utf-8")
    except UnicodeEncodeError:
        return file_id.encode("utf-8", "surrogateescape")
    return file_id
