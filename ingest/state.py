"""The state database (SQLite): what each source last gave, file facts, cursors, the run log.

The warehouse is rebuilt from this store, so a sync that dies half-way and is run again ends in
the same place. Writes of one run step happen in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.base import FormResponse, UploadedFile
from connectors.cells import clean_text
from ingest.alerts.log_tables import MIGRATION as ALERT_LOG_MIGRATION
from ingest.alerts.log_tables import TABLES as ALERT_LOG_TABLES
from ingest.errors import StateError
from ingest.facts import FileFacts
from ingest.state_codec import file_from_json, response_from_json, to_json

# Each entry migrates the schema from version i to i+1; append, never edit a shipped one. Each part of
# the file owns its tables: the sources' and the run log's are here, the alert log's (version 2) in
# ingest.alerts.log_tables.
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
    ALERT_LOG_MIGRATION,
    # Version 3: a stamp on every stored record and facts, new (random) whenever its text is written, so
    # a run can tell which records changed since the rows it kept (ingest.row_cache) without reading
    # every text: reading and digesting 126,521 texts was 2 s of a changed sync at 7,436 units. Random
    # rather than counted, so a state file put back from a backup never reuses a stamp for other text:
    # equal stamps mean the same write, hence the same text. Triggers stamp every write, whatever code
    # makes it.
    """
    ALTER TABLE responses ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE files ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE file_facts ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0;
    UPDATE responses SET stamp = random();
    UPDATE files SET stamp = random();
    UPDATE file_facts SET stamp = random();
    CREATE TRIGGER responses_stamped AFTER INSERT ON responses
        BEGIN UPDATE responses SET stamp = random() WHERE rowid = NEW.rowid; END;
    CREATE TRIGGER responses_restamped AFTER UPDATE OF source, response_id, record ON responses
        BEGIN UPDATE responses SET stamp = random() WHERE rowid = NEW.rowid; END;
    CREATE TRIGGER files_stamped AFTER INSERT ON files
        BEGIN UPDATE files SET stamp = random() WHERE rowid = NEW.rowid; END;
    CREATE TRIGGER files_restamped AFTER UPDATE OF source, file_id, record ON files
        BEGIN UPDATE files SET stamp = random() WHERE rowid = NEW.rowid; END;
    CREATE TRIGGER file_facts_stamped AFTER INSERT ON file_facts
        BEGIN UPDATE file_facts SET stamp = random() WHERE rowid = NEW.rowid; END;
    CREATE TRIGGER file_facts_restamped AFTER UPDATE OF file_id, version, rules, facts ON file_facts
        BEGIN UPDATE file_facts SET stamp = random() WHERE rowid = NEW.rowid; END;
    """,
    # Version 4: the stamps beside the keys, so `response_stamps` and `file_stamps` read these indexes
    # alone. A stamp added by version 3 sits after the record's text, so reading it walked every text's
    # overflow pages: 1.2 s of a changed sync's profile at 7,436 units, 0.13 s from the indexes
    # (building them on that 355 MB state took 0.5 s).
    """
    CREATE INDEX responses_stamps ON responses (source, response_id, stamp);
    CREATE INDEX files_stamps ON files (source, file_id, stamp);
    CREATE INDEX file_facts_stamps ON file_facts (file_id, stamp);
    """,
]


TABLES = ("responses", "files", "file_facts", "cursors", "kv", "runs", *ALERT_LOG_TABLES)

# What to do when the file cannot be used. The alert log inside it is what keeps a reminder from being
# sent twice, so starting over from an empty file must never happen silently.
RECOVERY = ("Move it aside (mv {path} {path}.broken) and put back a backup copy if you have one. Without a "
            "backup, run `tidtam sync` again: responses and files are read again from the sources, but the record "
            "of mail already sent is lost, so first set `mail.alerts.enabled: false` in the config until the next "
            "reminder stage is due (the warehouse's alerts tab lists what was sent).")


def unusable(path: str | Path, exc: sqlite3.Error) -> StateError:
    """The one StateError for any SQLite failure on the state file: what happened and what to do."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return StateError(f"state file {path} is locked by another program ({text}); close it (a database "
                          "browser, a backup tool) and run again")
    if isinstance(exc, sqlite3.OperationalError) and ("unable to open" in text or "readonly" in text):
        return StateError(f"state file {path} cannot be opened for writing ({text}); check that its folder "
                          "exists and this user may write there")
    return StateError(f"state file {path} is not a usable SQLite database ({text}). " + RECOVERY.format(path=path))


@contextmanager
def state_errors(path: str | Path) -> Iterator[None]:
    """Turn an SQLite error anywhere in the block (a page that rots mid-run) into one clear StateError."""
    try:
        yield
    except sqlite3.Error as exc:
        raise unusable(path, exc) from None


class StateStore:
    """One SQLite file per campaign. Only a path that does not exist yet is a new, empty state."""

    def __init__(self, path: str | Path, *, check: bool = False) -> None:
        """`check`: verify the file first (SQLite quick_check) unless it is exactly as a run that ended
        well left it (`close(seal=True)`); `check_integrity()` verifies it regardless."""
        self.path = Path(path)
        self.checked = False  # whether this opening ran quick_check (or has it running: check_in_background)
        self._check: threading.Thread | None = None
        self._check_failed: StateError | None = None
        # Called with the kind (`revision`) each time a write moves a revision: a reading child tells its
        # parent that the run will compute (ingest.collect.collect_apart's `on_change`).
        self.on_revision: Callable[[str], None] | None = None
        existed = self.path.exists()
        size = self.path.stat().st_size if existed else 0
        with state_errors(self.path):
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                if check and not (existed and self._sealed()):
                    self.check_integrity()
                version = self._version(existed, size)  # before anything writes to the file
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA foreign_keys=ON")
                self._migrate(version)
            except BaseException:
                self.db.close()
                raise

    def close(self, *, seal: bool | None = None) -> None:
        """`seal=True` after a run that ended well: the file as it is now needs no check at the next
        opening. `seal=False` after one that did not: the next opening checks it. None: as it was."""
        if self._check is not None:
            self._check.join()
            if self._check_failed is not None:  # found damaged after all: the next opening checks again
                seal = False
        self.db.close()  # the last connection: SQLite folds the write-ahead log into the file first
        if seal is None:
            return
        try:
            if seal:
                self._seal_path.write_text(json.dumps(self._identity()), encoding="ascii")
            else:
                self._seal_path.unlink(missing_ok=True)
        except OSError:  # a folder tidtam cannot write to: no seal, so every opening checks, as before
            pass

    @property
    def _seal_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.checked")

    def _identity(self) -> dict[str, int]:
        stat = self.path.stat()
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}

    def _sealed(self) -> bool:
        """Whether the file is byte for byte as the last well-ended run closed it: same size, time and
        inode, and no write-ahead log left over (one is there while another process has it open, or
        after a crash). quick_check reads every page — 1.5 s of a 7.7 s no-change sync at 7,436 units,
        every run — so a file nothing has touched since it was last found good is not read again."""
        try:
            sealed = json.loads(self._seal_path.read_text(encoding="ascii"))
            wal = self.path.with_name(self.path.name + "-wal")
            return sealed == self._identity() and not wal.exists()
        except (OSError, ValueError):
            return False

    def check_integrity(self) -> None:
        # quick_check reads every page (O(N), unlike integrity_check it skips index-content matching).
        self.checked = True
        self._raise_if_damaged([row[0] for row in self.db.execute("PRAGMA quick_check(5)")])

    def _raise_if_damaged(self, found: list[str]) -> None:
        if found != ["ok"]:
            raise StateError(f"state file {self.path} is damaged (SQLite quick_check: {'; '.join(found)}). "
                             + RECOVERY.format(path=self.path))

    def check_in_background(self) -> None:
        """`check_integrity` on a connection of its own, in a thread, while the run waits on the network
        (SQLite reads with the GIL released); the first write after the run's start waits for it and
        raises its StateError. quick_check took 3.8 s of a 29 s reconciliation at 7,436 units, in front
        of reads that wait 18 s on Google."""
        self.checked = True

        def check() -> None:
            try:
                db = sqlite3.connect(self.path, timeout=30)
                try:
                    self._raise_if_damaged([row[0] for row in db.execute("PRAGMA quick_check(5)")])
                finally:
                    db.close()
            except StateError as exc:
                self._check_failed = exc
            except sqlite3.Error as exc:
                self._check_failed = unusable(self.path, exc)

        self._check = threading.Thread(target=check, name="state-check", daemon=True)
        self._check.start()

    def await_check(self) -> None:
        """Wait for `check_in_background` (if started), and raise what it found."""
        if self._check is not None:
            self._check.join()
            if self._check_failed is not None:
                raise self._check_failed

    def _version(self, existed: bool, size: int) -> int:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StateError(f"state file {self.path} was written by a newer tidtam (schema {version}); upgrade tidtam")
        if version == 0 and existed:
            # A zero-length file (a truncated copy, `: > file`) or another program's database. Taking it
            # for a new state would forget every mail already sent and send them all again.
            what = "is empty (0 bytes)" if size == 0 else "holds no tidtam tables"
            raise StateError(f"state file {self.path} {what}, so tidtam cannot tell which reminders were already "
                             "sent and refuses to start over on its own. " + RECOVERY.format(path=self.path))
        return version

    def _migrate(self, version: int) -> None:
        for number in range(version, len(MIGRATIONS)):
            # executescript commits whatever is open first, so the transaction is spelled out inside it.
            self.db.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]}\nPRAGMA user_version = {number + 1};\nCOMMIT;")
        present = {name for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in TABLES if t not in present]
        if missing:
            raise StateError(f"state file {self.path} lacks tidtam's tables {', '.join(missing)} (schema {version}). "
                             + RECOVERY.format(path=self.path))

    @contextmanager
    def transaction(self, *, checked: bool = True) -> Iterator[sqlite3.Connection]:
        """`checked=False`: need not wait for a check running in the background (the run log's first
        row, written before anything is read)."""
        if checked:
            self.await_check()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- what the sources gave -------------------------------------------------------------
    def merge_responses(self, source: str, responses: Iterable[FormResponse], *, complete: bool) -> None:
        """Upsert by response id; a complete batch also drops responses the source no longer has.
        Only rows that differ are written, so `revision("responses")` moves only when something did."""
        responses = list(responses)
        with self.transaction() as db:
            before = db.total_changes
            if complete:
                _delete_absent(db, "responses", "response_id", source, {r.response_id for r in responses})
            # Encoded as they are written, not all first: 74,360 records' JSON held at once was ≈200 MB.
            db.executemany(_UPSERT.format(table="responses", key="response_id"),
                           ((source, r.response_id, to_json(r)) for r in responses))
            self._bump(db, "responses", before)

    def responses(self, source: str) -> list[FormResponse]:
        cursor = self.db.execute("SELECT record FROM responses WHERE source = ? ORDER BY response_id", (source,))
        return [response_from_json(text) for (text,) in cursor]

    def response_stamps(self, source: str) -> list[tuple[str, int]]:
        """(response id, stamp) of every response of `source`, in id order: a stamp is new whenever the
        record's text is (schema version 3), so a run that keeps the rows of unchanged records
        (ingest.row_cache) reads the texts of the others only (`response_texts`)."""
        return self.db.execute("SELECT response_id, stamp FROM responses WHERE source = ? ORDER BY response_id",
                               (source,)).fetchall()

    def response_texts(self, source: str, response_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """response id → (stamp, stored record JSON), undecoded, of these responses of `source`."""
        rows = self._of_ids("SELECT response_id, stamp, record FROM responses WHERE source = ?", source, response_ids,
                            column="response_id")
        return {rid: (stamp, text) for rid, stamp, text in rows}

    def merge_files(self, source: str, files: Iterable[UploadedFile], *, complete: bool,
                    removed_ids: Iterable[str] = ()) -> None:
        files = list(files)
        with self.transaction() as db:
            before = db.total_changes
            if complete:
                _delete_absent(db, "files", "file_id", source, {_key(f.file_id) for f in files})
            db.executemany("DELETE FROM files WHERE source = ? AND file_id = ?", [(source, _key(i)) for i in removed_ids])
            db.executemany(_UPSERT.format(table="files", key="file_id"),
                           ((source, _key(f.file_id), to_json(f)) for f in files))
            self._bump(db, "uploads", before)

    def files(self, source: str) -> list[UploadedFile]:
        cursor = self.db.execute("SELECT record FROM files WHERE source = ? ORDER BY file_id", (source,))
        return [file_from_json(text) for (text,) in cursor]

    def file_stamps(self, source: str) -> list[tuple[str, tuple[int, int | None]]]:
        """(file id, (the record's stamp, its facts' stamp or None)) of every file of `source`, in id order
        (see `response_stamps`)."""
        cursor = self.db.execute("SELECT f.file_id, f.stamp, ff.stamp FROM files f LEFT JOIN file_facts ff "
                                 "ON ff.file_id = f.file_id WHERE f.source = ? ORDER BY f.file_id", (source,))
        return [(_file_id(key), (stamp, facts_stamp)) for key, stamp, facts_stamp in cursor]

    def file_texts(self, source: str, file_ids: Iterable[str]
                   ) -> dict[str, tuple[tuple[int, int | None], str, tuple[str, str, str] | None]]:
        """file id → ((stamps, as `file_stamps`), stored record JSON, its stored (version, rules, facts
        JSON) or None), undecoded, of these files of `source`."""
        rows = self._of_ids("SELECT f.file_id, f.stamp, ff.stamp, f.record, ff.version, ff.rules, ff.facts FROM files f "
                              "LEFT JOIN file_facts ff ON ff.file_id = f.file_id WHERE f.source = ?", source,
                              file_ids, column="f.file_id")
        return {_file_id(key): ((stamp, facts_stamp), record, None if version is None else (version, rules, facts))
                for key, stamp, facts_stamp, record, version, rules, facts in rows}

    def count_files(self, source: str) -> int:
        return int(self.db.execute("SELECT count(*) FROM files WHERE source = ?", (source,)).fetchone()[0])

    # -- revisions: a token per kind of input, new whenever a stored row of it changes ---------------
    def revision(self, kind: str) -> str:
        """`responses` (stored responses) or `uploads` (stored files and their facts). Equal tokens
        mean equal rows, so what was computed from them can be kept (ingest.memo). A token is random,
        not a count: a state file put back from a backup, or made anew, never meets a token it had
        for other rows."""
        return self.value(f"revision:{kind}") or ""

    def _bump(self, db: sqlite3.Connection, kind: str, before: int) -> None:
        if db.total_changes != before:
            db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (f"revision:{kind}", uuid.uuid4().hex))
            if self.on_revision is not None:
                self.on_revision(kind)

    def arrivals(self, source: str, file_ids: Iterable[str] | None = None) -> dict[str, datetime]:
        """file id → when each stored file arrived (its `arrived_at`, else its `created_at`), read
        without decoding whole records (ingest.arrival keeps a known file's arrival). `file_ids`: only
        these (an incremental listing's few), not every file of the source."""
        rows = self._of_ids("SELECT file_id, coalesce(json_extract(record, '$.arrived_at'), "
                              "json_extract(record, '$.created_at')) FROM files WHERE source = ?", source, file_ids)
        return {_file_id(key): datetime.fromisoformat(text) for key, text in rows}

    def _of_ids(self, select: str, source: str, ids: Iterable[str] | None, column: str = "file_id"
                ) -> Iterable[tuple[Any, ...]]:
        """The rows of `select` (ending in `WHERE … source = ?`) for every record of `source`, or only for
        these `ids` (`column` holds the id: a file's or a response's), 500 ids a query."""
        if ids is None:
            return self.db.execute(select, (source,))
        keys = list({_key(i): None for i in ids})
        return [row for start in range(0, len(keys), 500) for row in self.db.execute(
            f"{select} AND {column} IN ({','.join('?' * len(keys[start:start + 500]))})",
            (source, *keys[start:start + 500]))]

    # -- file facts: bytes are read and parsed once per version -----------------------------
    def stored_facts(self, source: str, file_ids: Iterable[str] | None = None) -> dict[str, tuple[str, str, str]]:
        """Per stored file id of `source` (or of these `file_ids` only), the (version, rules, facts JSON)
        kept for it, in one query per 500 ids (a lookup per file was seconds at 52,000 files). Decode the
        facts with `facts_from_json`."""
        rows = self._of_ids("SELECT f.file_id, ff.version, ff.rules, ff.facts FROM files f "
                              "JOIN file_facts ff ON ff.file_id = f.file_id WHERE f.source = ?", source, file_ids,
                              column="f.file_id")
        return {_file_id(key): (version, rules, text) for key, version, rules, text in rows}

    def save_facts(self, file_id: str, version: str, rules: str, facts: FileFacts) -> None:
        self.save_many_facts([(file_id, version, rules, facts)])

    def save_many_facts(self, items: Iterable[tuple[str, str, str, FileFacts]]) -> None:
        """Keep the facts of many files in one transaction: a commit waits for the disk (fsync), and one
        per file was 2 ms of the first sync's main thread per download (105 s at 52,000 files)."""
        with self.transaction() as db:
            for file_id, version, rules, facts in items:
                db.execute("DELETE FROM file_facts WHERE file_id = ?", (_key(file_id),))
                db.execute("INSERT INTO file_facts (file_id, version, rules, facts) VALUES (?, ?, ?, ?)",
                           (_key(file_id), version, rules, to_json(facts)))
            self._bump(db, "uploads", -1)

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
        """A new run row. Called under the campaign's lock, so a row still `running` is a run that was
        killed (kill -9, power loss) before it could finish: it becomes `interrupted`."""
        with self.transaction(checked=False) as db:
            for run_id, begun in db.execute("SELECT run_id, started_at FROM runs WHERE outcome = 'running'").fetchall():
                db.execute("UPDATE runs SET outcome = 'interrupted', error = ? WHERE run_id = ?",
                           (f"started {begun} and never finished (the process was killed or crashed); "
                            "found by the next run", run_id))
            cursor = db.execute("INSERT INTO runs (started_at, as_of) VALUES (?, ?)",
                                (started_at.isoformat(), as_of.isoformat()))
            return int(cursor.lastrowid)

    def finish_run(self, run_id: int, finished_at: datetime, outcome: str, *, counts: dict[str, Any] | None = None,
                   api_calls: dict[str, int] | None = None, error: str = "") -> None:
        # The error names files, whose names may hold lone surrogates (see _key): UTF-8 text cannot.
        with self.transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, outcome = ?, counts = ?, api_calls = ?, error = ? "
                       "WHERE run_id = ?",
                       (finished_at.isoformat(), outcome, clean_text(json.dumps(counts or {}, ensure_ascii=False)),
                        json.dumps(api_calls or {}), clean_text(error), run_id))

    def runs(self) -> list[dict[str, Any]]:
        cursor = self.db.execute("SELECT run_id, started_at, finished_at, as_of, outcome, counts, api_calls, error "
                                 "FROM runs ORDER BY run_id")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


# Writes a row only when its record differs (a no-op upsert changes nothing and is not counted).
_UPSERT = ("INSERT INTO {table} (source, {key}, record) VALUES (?, ?, ?) ON CONFLICT (source, {key}) DO UPDATE SET record = excluded.record "
           "WHERE {table}.record IS NOT excluded.record")


def _delete_absent(db: sqlite3.Connection, table: str, key: str, source: str, keep: set[str | bytes]) -> None:
    """Delete the source's rows whose key is not in `keep` (a complete batch no longer has them)."""
    stored = [k for (k,) in db.execute(f"SELECT {key} FROM {table} WHERE source = ?", (source,))]
    db.executemany(f"DELETE FROM {table} WHERE source = ? AND {key} = ?", [(source, k) for k in stored if k not in keep])


def stored_order(file_id: str) -> tuple[bool, str | bytes]:
    """Where `ORDER BY file_id` puts a file id: SQLite sorts text (by its UTF-8 bytes, which is the order
    of code points) before blobs (an id kept as bytes: `_key`), and blobs by their bytes."""
    key = _key(file_id)
    return isinstance(key, bytes), key


def _file_id(key: str | bytes) -> str:
    """The file id a stored key stands for (`_key` undone)."""
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key


def _key(file_id: str) -> str | bytes:
    """A file id as SQLite can store it: a local file name with undecodable bytes holds lone surrogates
    (Python's surrogateescape), which UTF-8 text cannot carry, so that id is kept as its original bytes."""
    try:
        file_id.encode("utf-8")
    except UnicodeEncodeError:
        return file_id.encode("utf-8", "surrogateescape")
    return file_id
