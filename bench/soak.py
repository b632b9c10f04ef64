"""Soak: `tidtam serve` on a short interval against the demo workspace while files change under it.

Usage: uv run python bench/soak.py --minutes 20 --interval 60 [--dir /tmp/tidtam-soak]
Prints the number of runs, their outcomes, the mails sent (each once), and whether the final warehouse
equals a fresh full sync.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.xlsx_warehouse import XlsxWarehouse  # noqa: E402
from ingest.demo import DEMO_EXPORT, DOWNLOADED_AT, FORM_TITLE, write_demo  # noqa: E402
from ingest.demo_forms import forms_csv_bytes, forms_download_zip, forms_stamp, read_forms_download  # noqa: E402
from ingest.thaidate import BANGKOK  # noqa: E402

AS_OF = "2022-11-16T09:00"


def mutate(workspace: Path, rng: random.Random, step: int) -> str:
    uploads = workspace / "uploads"
    files = sorted(p for p in uploads.rglob("*") if p.is_file())
    action = ("add", "rename", "delete", "respond")[step % 4]
    if action == "add":
        source = rng.choice([p for p in files if p.suffix == ".jpg"])
        target = source.with_name(f"soak_{step}.jpg")
        target.write_bytes(source.read_bytes()[:-2] + bytes([step % 256, 0xD9]))
    elif action == "rename":
        source = rng.choice(files)
        source.rename(source.with_name(f"renamed_{step}_{source.name}"))
    elif action == "delete":
        rng.choice(files).unlink()
    else:
        export = workspace / DEMO_EXPORT  # a new download replaces the old one, as a coordinator saves it
        header, rows = read_forms_download(export.read_bytes())
        row = list(rng.choice(rows))
        row[0] = forms_stamp(datetime(2022, 11, rng.randrange(1, 16), 10, step % 60, tzinfo=BANGKOK))
        row[1] = f"soak{step}@example.com"
        export.write_bytes(forms_download_zip(FORM_TITLE, forms_csv_bytes(header, [*rows, row]), DOWNLOADED_AT))
    return action


def data_tabs(path: Path) -> dict[str, list]:
    book = XlsxWarehouse(path).read()
    return {tab: book[tab] for tab in ("responses", "files", "focus_group", "problems")} | {"tracking": book["tracking"][1:]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/tidtam-soak"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    workspace = args.dir / "served"
    write_demo(workspace)
    config = workspace / "config.yaml"
    text = config.read_text(encoding="utf-8")
    # Without quiet hours, so a soak at any time of day sends mail and checks each goes out once.
    quiet = '    quiet_hours: "20:00-07:00"\n'
    assert quiet in text, "the demo config's quiet hours changed: update the soak"
    config.write_text(text.replace(quiet, "") + f"\nschedule:\n  every: {args.interval}s\n  full_every: 10m\n",
                      encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "ingest", "serve", "--config", str(config)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rng = random.Random(7)
    actions: Counter[str] = Counter()
    started = time.monotonic()
    step = 0
    while time.monotonic() - started < args.minutes * 60:
        time.sleep(rng.uniform(10, 40))
        actions[mutate(workspace, rng, step)] += 1
        step += 1
    time.sleep(args.interval + 15)  # one more run sees the last change
    server.send_signal(signal.SIGTERM)
    output, _ = server.communicate(timeout=600)
    with sqlite3.connect(workspace / "tidtam-state.sqlite") as db:
        outcomes = Counter(row[0] for row in db.execute("SELECT outcome FROM runs"))
        full_runs = db.execute("SELECT count(*) FROM runs WHERE json_extract(counts, '$.full')").fetchone()[0]
        failures = [f"run {r[0]}: {r[1]}: {r[2]}" for r in db.execute(
            "SELECT run_id, outcome, error FROM runs WHERE outcome != 'ok'")]
        mails = Counter(row[0] for row in db.execute("SELECT status FROM alert_messages"))
    outbox = len(list((workspace / "outbox").glob("*.eml")))
    fresh = args.dir / "fresh"
    shutil.copytree(workspace, fresh, ignore=shutil.ignore_patterns("tidtam-state.sqlite*", "tidtam-warehouse.xlsx"))
    subprocess.run([sys.executable, "-m", "ingest", "sync", "--config", str(fresh / "config.yaml"), "--full"],
                   cwd=ROOT, check=True, capture_output=True)
    same = data_tabs(workspace / "tidtam-warehouse.xlsx") == data_tabs(fresh / "tidtam-warehouse.xlsx")
    print(f"minutes: {args.minutes}, interval: {args.interval}s")
    print(f"changes made: {dict(actions)} ({step} in all)")
    print(f"runs: {sum(outcomes.values())} ({dict(outcomes)}), of which full: {full_runs}")
    if failures:
        print("runs that were not ok:", *failures, sep="\n  ")
    print(f"mails recorded: {dict(mails)}; .eml files in the outbox: {outbox} (once each: {outbox == mails['sent']})")
    print(f"serve exit code: {server.returncode}; last lines: {output.strip().splitlines()[-1:]}")
    print(f"final warehouse equals a fresh full sync: {same}")


if __name__ == "__main__":
    main()
