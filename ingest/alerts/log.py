"""The alert log in the state database: intents recorded before sending, outcomes after.

Its tables (alert_messages, alert_stages) are declared in ingest.alerts.log_tables; only this module
reads or writes them (ingest.publish.analyst shows them through `AlertLog.messages`).

Statuses of a message row:
    pending   intent recorded, outcome not yet known (the run is sending it, or died doing so)
    sent      the server accepted it for every recipient
    partial   accepted for some recipients, refused for others (see `refused`)
    failed    refused for every recipient, for good (5xx): not retried
    deferred  a transient failure (4xx, connection refused): its stages are released and planned again
    not_sent  a pending intent from a crashed run that the mailer confirms it never delivered: released
    unknown   sent or not, nobody can tell (a crashed run's pending intent, or a send the server never
              confirmed: SMTP connection lost after DATA, Gmail 5xx/timeout): kept, never resent
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ingest.alerts.plan import DIGEST, History, StageKey
from ingest.state import StateStore
from ingest.thaidate import BANGKOK

DONE = ("sent", "partial", "failed", "unknown")
RELEASED = ("deferred", "not_sent")


@dataclass(frozen=True)
class Intent:
    """What is about to be sent, as recorded before sending."""

    message_id: str
    kind: str  # reminder | digest
    unit: str
    unit_name: str
    stage: str
    keys: tuple[StageKey, ...]
    stages: str  # "questionnaire=after_1d; photos=before_3d"
    owed: str  # "questionnaire 7/10; photos 3/5"
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    as_of: datetime
    payload: Mapping[str, Any] | None = None

    @property
    def day(self) -> date:
        return self.as_of.astimezone(BANGKOK).date()


def _iso(moment: datetime) -> str:
    # One zone and fixed precision, so stored stamps compare as text and stage keys compare equal.
    return moment.astimezone(BANGKOK).isoformat(timespec="microseconds")


class AlertLog:
    def __init__(self, state: StateStore) -> None:
        self.state = state
        self.db = state.db

    def history(self, now: datetime) -> History:
        """Everything planning at `now` needs from the log, read in one place before anything is planned."""
        last_day, last_as_of, reported = self.last_digest()
        return History(frozenset(self.recorded_stages()), self.recipients_on(now.astimezone(BANGKOK).date()),
                       last_day, frozenset(reported), tuple(self.messages(kind="reminder", since=last_as_of)),
                       last_as_of)

    def recorded_stages(self) -> set[StageKey]:
        """Every stage held by a message (pending, sent, partial, failed or unknown)."""
        rows = self.db.execute("SELECT unit, deliverable, stage, deadline FROM alert_stages")
        return {StageKey(u, d, s, datetime.fromisoformat(t)) for u, d, s, t in rows}

    def record_intent(self, intent: Intent) -> bool:
        """Record before sending; False when another run already holds one of these stages."""
        with self.state.transaction() as db:
            for key in intent.keys:
                taken = db.execute("SELECT 1 FROM alert_stages WHERE unit = ? AND deliverable = ? AND stage = ? "
                                   "AND deadline = ?", (key.unit, key.deliverable, key.stage,
                                                        _iso(key.deadline))).fetchone()
                if taken:
                    return False
            db.execute(
                "INSERT INTO alert_messages (message_id, kind, unit, unit_name, stage, stages, owed, recipients, "
                "recipient_count, subject, as_of, day, status, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                (intent.message_id, intent.kind, intent.unit, intent.unit_name, intent.stage, intent.stages,
                 intent.owed, json.dumps({"to": list(intent.to), "cc": list(intent.cc)}),
                 len(intent.to) + len(intent.cc), intent.subject, _iso(intent.as_of), intent.day.isoformat(),
                 json.dumps(intent.payload or {}, ensure_ascii=False)))
            db.executemany("INSERT INTO alert_stages VALUES (?, ?, ?, ?, ?)",
                           [(k.unit, k.deliverable, k.stage, _iso(k.deadline), intent.message_id)
                            for k in intent.keys])
        return True

    def finish(self, message_id: str, status: str, at: datetime, *, refused: Mapping[str, tuple[int, str]] | None = None,
               error: str = "") -> None:
        """Record the outcome; a released status frees the message's stages to be planned again."""
        with self.state.transaction() as db:
            db.execute("UPDATE alert_messages SET status = ?, refused = ?, error = ?, finished_at = ? "
                       "WHERE message_id = ?",
                       (status, json.dumps({a: list(r) for a, r in (refused or {}).items()}, ensure_ascii=False),
                        error, _iso(at), message_id))
            if status in RELEASED:
                db.execute("DELETE FROM alert_stages WHERE message_id = ?", (message_id,))

    def pending(self) -> list[str]:
        """Message ids whose outcome was never recorded: their run died while sending them."""
        return [m for (m,) in self.db.execute("SELECT message_id FROM alert_messages WHERE status = 'pending' "
                                              "ORDER BY as_of, message_id")]

    def recipients_on(self, day: date) -> int:
        """Today's use of the daily budget: recipients of every attempt that day, whatever came of it.

        Counting attempts, not deliveries, errs on the safe side of a provider's quota.
        """
        row = self.db.execute("SELECT COALESCE(SUM(recipient_count), 0) FROM alert_messages "
                              "WHERE day = ? AND status != 'not_sent'", (day.isoformat(),)).fetchone()
        return int(row[0])

    def last_digest(self) -> tuple[date | None, datetime | None, set[tuple[str, str, str]]]:
        """(day, as_of) of the latest digest and every rule break any digest has reported."""
        reported: set[tuple[str, str, str]] = set()
        last_day = last_as_of = None
        rows = self.db.execute("SELECT day, as_of, payload FROM alert_messages WHERE kind = ? AND status IN "
                               "('pending', 'sent', 'partial', 'failed', 'unknown') ORDER BY as_of", (DIGEST,))
        for day, as_of, payload in rows:
            last_day, last_as_of = date.fromisoformat(day), datetime.fromisoformat(as_of)
            reported.update(tuple(b) for b in json.loads(payload).get("breaches", []))
        return last_day, last_as_of, reported

    def messages(self, *, kind: str | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT message_id, kind, unit, unit_name, stage, stages, owed, recipients, recipient_count, "
               "subject, as_of, day, status, refused, error, finished_at FROM alert_messages WHERE 1 = 1")
        params: list[Any] = []
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        if since:
            # Inclusive: a digest goes first in its run, so that run's reminders belong to the next digest.
            sql += " AND as_of >= ?"
            params.append(_iso(since))
        cursor = self.db.execute(sql + " ORDER BY as_of, kind, unit, message_id", params)
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor]
        for row in rows:
            row["recipients"] = json.loads(row["recipients"])
            row["refused"] = {a: tuple(r) for a, r in json.loads(row["refused"]).items()}
        return rows


def breach_payload(breaches: Iterable[Sequence[str]]) -> dict[str, Any]:
    return {"breaches": [list(b) for b in breaches]}
