"""Unattended operation: the scheduler, one sync at a time, crash recovery, a corrupt state file."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.demo import DEMO_CONFIG, write_demo
from ingest.thaidate import BANGKOK

AS_OF = "2022-11-12T17:00"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("template")
    write_demo(root)
    return root


@pytest.fixture
def workspace(template, tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


def with_schedule(workspace: Path, every: str = "1s") -> Path:
    config = workspace / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + f"\nschedule:\n  every: {every}\n  full_every: 1h\n",
                      encoding="utf-8")
    return config


def tidtam(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ingest", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def finished(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def runs(workspace: Path) -> list[tuple]:
    with sqlite3.connect(workspace / "tidtam-state.sqlite") as db:
        return db.execute("SELECT run_id, started_at, finished_at, outcome FROM runs ORDER BY run_id").fetchall()


def state_rows(workspace: Path) -> dict[str, list]:
    """The sources' rows; a local file's folder links (file:// URIs) name the workspace, written as <ws>.
    Without the stamps (schema 3): random at every write, so two runs never share them."""
    here = workspace.resolve().as_uri()
    with sqlite3.connect(workspace / "tidtam-state.sqlite") as db:
        out = {}
        for table in ("responses", "files", "file_facts", "cursors"):
            cursor = db.execute(f"SELECT * FROM {table}")
            keep = [i for i, column in enumerate(cursor.description) if column[0] != "stamp"]
            out[table] = sorted(tuple(v.replace(here, "<ws>") if isinstance(v, str) else v for v in (row[i] for i in keep))
                                for row in cursor.fetchall())
        return out


def outbox(workspace: Path) -> list[tuple[str, str]]:
    """(To, Subject) of every mail in the demo's outbox, sorted: message ids differ between runs."""
    import email
    import email.policy

    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (workspace / "outbox").glob("*.eml")]
    return sorted((str(m["To"]), str(m["Subject"])) for m in mails)


def data_tabs(workspace: Path) -> dict[str, list]:
    book = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()
    return {tab: book[tab] for tab in ("responses", "files", "focus_group", "problems")} | {"tracking": book["tracking"][1:]}


def test_scheduler_fires_on_a_short_interval_and_stops_by_itself(workspace):
    config = with_schedule(workspace)
    code, out, err = finished(tidtam("serve", "--config", str(config), "--max-runs", "3"))
    assert code == 0, err
    assert "ok 3" in out
    assert [r[3] for r in runs(workspace)] == ["ok", "ok", "ok"]


def test_two_serve_processes_never_sync_at_once(workspace):
    config = with_schedule(workspace)
    first = tidtam("serve", "--config", str(config), "--max-runs", "2")
    second = tidtam("serve", "--config", str(config), "--max-runs", "2")
    assert finished(first)[0] == 0
    assert finished(second)[0] == 0
    spans = [(datetime.fromisoformat(s), datetime.fromisoformat(f)) for _, s, f, _ in runs(workspace)]
    assert len(spans) == 4
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, "two syncs overlapped"


def test_a_second_sync_says_who_holds_the_lock(workspace):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time, sys\n"
        "from ingest.lock import sync_lock\n"
        f"with sync_lock({str(workspace / 'tidtam-state.sqlite')!r}, command='test-holder'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = finished(tidtam("sync", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF))
        assert code == 3
        assert f"pid {holder.pid}" in err and "test-holder" in err
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone (even killed), the lock is free again.
    code, _, err = finished(tidtam("sync", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF))
    assert code == 0, err


SYNC_EMAIL = ("sync", "--as-of", AS_OF, "--full", "--email")


@pytest.fixture(scope="module")
def reference(template, tmp_path_factory) -> Path:
    """The demo synced once, uninterrupted: what every crashed-and-recovered copy must equal."""
    root = tmp_path_factory.mktemp("reference") / "ws"
    shutil.copytree(template, root)
    code, _, err = finished(tidtam(*SYNC_EMAIL, "--config", str(root / "config.yaml")))
    assert code == 0, err
    return root


def facts_saved(workspace: Path) -> int:
    try:
        with sqlite3.connect(f"file:{workspace / 'tidtam-state.sqlite'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM file_facts").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or its tables not yet made
        return -1


# Where in the run the victim dies, by what the run has committed (polled), not by wall-clock delays:
# a delay lands wherever the machine's load puts it. -1: the state file is not made yet, 0: the run has
# begun and inspected nothing, 100 of the demo's 407 uploads inspected, all 407 (the warehouse and the
# mail follow).
@pytest.mark.parametrize("kill_at_facts", [0, 100, 407])
def test_a_sync_killed_mid_run_recovers_to_the_same_state(template, reference, tmp_path, kill_at_facts):
    crashed = tmp_path / "crashed"
    shutil.copytree(template, crashed)
    victim = tidtam(*SYNC_EMAIL, "--config", str(crashed / "config.yaml"))
    deadline = time.monotonic() + 120
    while facts_saved(crashed) < kill_at_facts and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL, "the sync ended before it could be killed mid-run"
    code, _, err = finished(tidtam(*SYNC_EMAIL, "--config", str(crashed / "config.yaml")))
    assert code == 0, err
    assert state_rows(crashed) == state_rows(reference)
    assert data_tabs(crashed) == data_tabs(reference)
    assert runs(crashed)[-1][3] == "ok"
    assert outbox(crashed) == outbox(reference)  # every mail once: none lost, none twice


def test_sigterm_lets_the_current_run_finish(workspace):
    config = with_schedule(workspace, every="1h")
    server = tidtam("serve", "--config", str(config))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (workspace / "tidtam-state.sqlite").exists():
        time.sleep(0.05)
    time.sleep(0.5)  # inside the first run
    server.send_signal(signal.SIGTERM)
    code, _, err = finished(server, timeout=120)
    assert code == 0, err
    assert [r[3] for r in runs(workspace)] == ["ok"]
    assert (workspace / "tidtam-warehouse.xlsx").exists()


def test_a_corrupt_state_file_is_named_with_the_fix(workspace):
    (workspace / "tidtam-state.sqlite").write_bytes(b"this is not a database" * 100)
    code, _, err = finished(tidtam("sync", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF))
    assert code == 2
    assert "tidtam-state.sqlite is not a usable SQLite database" in " ".join(err.split())
    assert "Move it aside" in err


def test_a_daily_digest_job_at_the_digest_time():
    from ingest.config import campaign_from_mapping
    from ingest.scheduler import digest_trigger

    demo = yaml.safe_load(DEMO_CONFIG)
    del demo["units"]["contacts"]  # no file here; addresses do not matter to the schedule
    campaign = campaign_from_mapping(demo, base_dir=Path("."))
    after = datetime(2022, 11, 12, 9, 0, tzinfo=BANGKOK)
    assert digest_trigger(campaign).get_next_fire_time(None, after) == datetime(2022, 11, 13, 8, 0, tzinfo=BANGKOK)
    demo["mail"]["alerts"]["digest"] = False
    assert digest_trigger(campaign_from_mapping(demo, base_dir=Path("."))) is None
    del demo["mail"]
    assert digest_trigger(campaign_from_mapping(demo, base_dir=Path("."))) is None


def test_stale_formula_on_the_tracking_sheet(workspace):
    config = with_schedule(workspace, every="15m")
    code, _, err = finished(tidtam("sync", "--config", str(config), "--as-of", AS_OF))
    assert code == 0, err
    first_row = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()["tracking"][0]
    formula = next(v for v in first_row if isinstance(v, str) and v.startswith("=IF(NOW()"))
    assert ">0.5/24" in formula and "MAX(runs!C:C)" in formula and "ไม่เป็นปัจจุบัน" in formula
    runs = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()["runs"]
    assert runs[0][2] == "finished_at" and isinstance(runs[-1][2], datetime)  # what the formula reads


def test_incremental_by_default_with_a_daily_full_reconciliation(workspace):
    config = workspace / "config.yaml"
    for _ in range(2):
        assert finished(tidtam("sync", "--config", str(config), "--as-of", AS_OF))[0] == 0
    with sqlite3.connect(workspace / "tidtam-state.sqlite") as db:
        kinds = [row[0] for row in db.execute("SELECT json_extract(counts, '$.full') FROM runs ORDER BY run_id")]
    assert kinds == [1, 0]  # the first run is full; the next within 24 h incremental


def test_lock_is_released_when_the_holder_dies(workspace):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        "from ingest.lock import sync_lock\n"
        f"with sync_lock({str(workspace / 'x.sqlite')!r}, command='t'):\n"
        "    print('locked', flush=True); time.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    from ingest.lock import sync_lock

    with sync_lock(workspace / "x.sqlite", command="after"):
        pass
