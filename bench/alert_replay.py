"""Replay the demo campaign day by day (1–20 Nov 2565, one sync at 09:00 each day, mail to the outbox)
and print the mails sent per day and per stage, from the alert log.

Usage: uv run python bench/alert_replay.py [--dir /tmp/tidtam-replay]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.demo import write_demo  # noqa: E402
from ingest.jobs import sync_job  # noqa: E402
from ingest.thaidate import parse_datetime  # noqa: E402

STAGES = ("before_3d", "before_1d", "after_1d", "repeat_1", "repeat_2", "repeat_3")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=Path("/tmp/tidtam-replay"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    workspace = write_demo(args.dir)
    started = time.perf_counter()
    for day in range(1, 21):
        sync_job(workspace.config, as_of=parse_datetime(f"2022-11-{day:02d}T09:00"), email=True)
    seconds = time.perf_counter() - started
    with sqlite3.connect(workspace.root / "tidtam-state.sqlite") as db:
        stages = Counter(db.execute("SELECT m.day, s.stage FROM alert_stages s JOIN alert_messages m "
                                    "USING (message_id) WHERE m.kind = 'reminder'").fetchall())
        mails = Counter(db.execute("SELECT day, kind FROM alert_messages WHERE status = 'sent'").fetchall())
        recipients = dict(db.execute("SELECT day, sum(recipient_count) FROM alert_messages GROUP BY day").fetchall())
    days = sorted({day for day, _ in mails})
    print(f"| day | reminders | digest | recipients | {' | '.join(STAGES)} |")
    print("|---|---|---|---|" + "---|" * len(STAGES))
    for day in days:
        print(f"| {day} | {mails[(day, 'reminder')]} | {mails[(day, 'digest')]} | {recipients[day]} | "
              + " | ".join(str(stages[(day, s)]) for s in STAGES) + " |")
    print(f"| total | {sum(v for (_, k), v in mails.items() if k == 'reminder')} | "
          f"{sum(v for (_, k), v in mails.items() if k == 'digest')} | {sum(recipients.values())} | "
          + " | ".join(str(sum(v for (_, s), v in stages.items() if s == stage)) for stage in STAGES) + " |")
    print(f"\n20 syncs in {seconds:.1f} s; .eml files in the outbox: {len(list((workspace.root / 'outbox').glob('*.eml')))}")


if __name__ == "__main__":
    main()
