"""The alert log's tables in the state file: owned by the alert log (ingest.alerts.log), which alone
reads and writes them. They are version 2 of the state file's schema, so ingest.state runs this
migration, in its place, for every file it opens: a file never has part of the schema. Nothing is
imported here, so the state store below the alert package takes the text without pulling it in.

One row per message (alert_messages), and the stages each message covers (alert_stages): the
primary key of alert_stages is what makes a (unit, deliverable, stage, deadline) mail go out at
most once. Append a migration for a change; never edit this one (state files already hold it).
"""

from __future__ import annotations

# Kept byte for byte as shipped: SQLite stores each CREATE statement's text in the file.
MIGRATION = """
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
    """

TABLES = ("alert_messages", "alert_stages")
