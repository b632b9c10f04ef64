"""A state file that is empty, foreign, damaged or left by a killed run never resends mail or ends in a traceback."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_run import run_cli

from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.errors import StateError
from ingest.state import StateStore

AS_OF = "2022-11-12T17:00"


@pytest.fixture(scope="module")
def demo(demo_workspace) -> Path:
    root, _ = demo_workspace  # `tidtam demo`, run once per session (conftest.py)
    assert len(list((root / "outbox").glob("*.eml"))) > 20  # the demo mails the late units
    return root


@pytest.fixture
def workspace(demo, tmp_path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(demo, copy)
    return copy


def sync(workspace: Path, capsys) -> tuple[int, str]:
    return run_cli(["sync", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF, "--email"], capsys)


def mails(workspace: Path) -> int:
    return len(list((workspace / "outbox").glob("*.eml")))


def test_a_zero_length_state_file_is_refused_and_nothing_is_resent(workspace, capsys):
    sent = mails(workspace)
    state = workspace / "tidtam-state.sqlite"
    for leftover in workspace.glob("tidtam-state.sqlite-*"):  # the WAL files of the lost database
        leftover.unlink()
    state.write_bytes(b"")
    code, err = sync(workspace, capsys)
    assert code == 2, err
    assert f"state file {state} is empty (0 bytes)" in err and "mv " in err and "enabled: false" in err, err
    assert "Traceback" not in err
    assert mails(workspace) == sent  # before the fix: 54 reminders and a digest went out again
    assert state.stat().st_size == 0  # left as it was for the operator to inspect


def test_a_database_without_tidtams_tables_is_refused(workspace, capsys):
    state = workspace / "tidtam-state.sqlite"
    for leftover in workspace.glob("tidtam-state.sqlite*"):
        leftover.unlink()
    with sqlite3.connect(state) as other:
        other.execute("CREATE TABLE notes (text TEXT)")
    other.close()
    code, err = sync(workspace, capsys)
    assert code == 2 and "holds no tidtam tables" in err, err
    assert mails(workspace) == len(list((workspace / "outbox").glob("*.eml")))


def test_a_dropped_alert_table_is_refused(workspace, capsys):
    sent = mails(workspace)
    with sqlite3.connect(workspace / "tidtam-state.sqlite") as db:
        db.execute("DROP TABLE alert_stages")
    db.close()
    code, err = sync(workspace, capsys)
    assert code == 2 and "lacks tidtam's tables alert_stages" in err, err
    assert mails(workspace) == sent


def damage(path: Path, seed: int) -> None:
    """Random bytes over the pages after the first two (the header and schema stay readable)."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    rng = random.Random(seed)
    for number in rng.sample(range(2, len(data) // page), k=min(6, len(data) // page - 2)):
        data[number * page:(number + 1) * page] = rng.randbytes(page)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("command", ["sync", "status", "alerts"])
def test_random_bytes_in_its_pages_are_one_clear_error(workspace, capsys, command):
    state = workspace / "tidtam-state.sqlite"
    damage(state, seed=13)
    sent = mails(workspace)
    args = {"sync": ["sync", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF, "--email"],
            "status": ["status", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF],
            "alerts": ["alerts", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF]}[command]
    code, err = run_cli(args, capsys)
    assert code == 2, err
    assert f"state file {state}" in err and ("damaged" in err or "not a usable SQLite database" in err), err
    assert "Move it aside" in err and "Traceback" not in err and "unexpected error" not in err
    assert mails(workspace) == sent


def test_a_killed_run_is_marked_interrupted_by_the_next(workspace, capsys):
    state = workspace / "tidtam-state.sqlite"
    # A run that dies after recording its start: the process is killed with SIGKILL, as by the OOM killer.
    killed = subprocess.run(
        [sys.executable, "-c", "import os, sys\nfrom datetime import datetime\nfrom ingest.state import StateStore\n"
         "s = StateStore(sys.argv[1])\n"
         "s.start_run(datetime.fromisoformat('2022-11-12T10:00:00+00:00'), "
         "datetime.fromisoformat('2022-11-12T10:00:00+00:00'))\nos.kill(os.getpid(), 9)", str(state)],
        capture_output=True, timeout=60)
    assert killed.returncode == -9
    code, err = sync(workspace, capsys)
    assert code == 0, err
    runs = XlsxWarehouse(workspace / "tidtam-warehouse.xlsx").read()["runs"]
    header, rows = runs[0], runs[1:]
    interrupted = [dict(zip(header, r, strict=True)) for r in rows if r[header.index("outcome")] == "interrupted"]
    assert len(interrupted) == 1, rows
    assert interrupted[0]["finished_at"] in ("", None)
    assert str(interrupted[0]["started_at"]).startswith("2022-11-12 17:00")  # shown in Bangkok time
    assert "started 2022-11-12T10:00:00+00:00 and never finished" in interrupted[0]["error"]
    assert rows[-1][header.index("outcome")] == "ok"
    assert not [r for r in rows if r[header.index("outcome")] == "running"]


def test_a_run_error_naming_a_file_with_undecodable_bytes_is_logged(tmp_path):
    # Found by tests/test_properties.py: a degraded run's error named a FIFO whose name holds bytes in
    # TIS-620 (lone surrogates under surrogateescape); SQLite could not store it and the run ended in a
    # traceback, exit 1, instead of exit 4.
    name = b"\xc2\xd0\xc5\xd2.jpg".decode("utf-8", "surrogateescape")
    state = StateStore(str(tmp_path / "state.sqlite"))
    try:
        moment = datetime(2022, 11, 12, 10, tzinfo=UTC)
        run_id = state.start_run(moment, moment)
        state.finish_run(run_id, moment, "degraded", counts={"first": name}, error=f"{name}: is a named pipe")
        (run,) = state.runs()
    finally:
        state.close()
    assert run["outcome"] == "degraded"
    assert run["error"] == "\ufffd\ufffd\ufffd\ufffd.jpg: is a named pipe"


def test_files_stored_before_they_carried_folder_links_still_load_and_get_them_on_the_next_sync(workspace, capsys):
    # A state written by a tidtam whose UploadedFile had no `folder_urls`: its file rows lack the key.
    path = workspace / "tidtam-state.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE files SET record = json_remove(record, '$.folder_urls')")
        assert db.execute("SELECT count(*) FROM files WHERE record LIKE '%folder_urls%'").fetchone() == (0,)
    state = StateStore(path)
    try:
        files = state.files("uploads")
    finally:
        state.close()
    assert files and all(f.folder_urls == () for f in files)
    assert run_cli(["status", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF], capsys)[0] == 0
    assert sync(workspace, capsys)[0] == 0
    state = StateStore(path)
    try:
        nested = [f for f in state.files("uploads") if f.folders]
    finally:
        state.close()
    assert nested and all(len(f.folder_urls) == len(f.folders) for f in nested)
    assert nested[0].folder_urls[0] == (workspace / "uploads" / nested[0].folders[0]).resolve().as_uri()


def test_a_file_as_the_last_good_run_left_it_is_not_read_again_and_a_changed_one_is(workspace, capsys):
    """quick_check reads every page (1.5 s a sync at 7,436 sub-districts): a file whose size, time and
    inode are those a well-ended run sealed is trusted; any change to it is checked again."""
    state = workspace / "tidtam-state.sqlite"
    code, err = sync(workspace, capsys)
    assert code == 0, err
    assert (workspace / ".tidtam-state.sqlite.checked").exists()
    store = StateStore(state, check=True)
    assert not store.checked
    store.close()
    damage(state, seed=5)
    with pytest.raises(StateError, match="damaged|not a usable SQLite database"):
        StateStore(state, check=True)


def test_a_full_sync_reads_every_page_even_of_a_sealed_file(workspace, capsys):
    """Bytes that rot on disk leave the size, time and inode as they were: the daily full sync still
    finds them, as one clear error."""
    state = workspace / "tidtam-state.sqlite"
    code, err = sync(workspace, capsys)
    assert code == 0, err
    sealed = state.stat()
    damage(state, seed=7)
    os.utime(state, ns=(sealed.st_atime_ns, sealed.st_mtime_ns))
    assert state.stat().st_size == sealed.st_size and state.stat().st_ino == sealed.st_ino
    store = StateStore(state, check=True)
    assert not store.checked  # as far as the seal can tell, untouched
    store.close()
    sent = mails(workspace)
    code, err = run_cli(["sync", "--config", str(workspace / "config.yaml"), "--as-of", AS_OF, "--email", "--full"],
                        capsys)
    assert code == 2 and "damaged" in err and "Traceback" not in err, err
    assert mails(workspace) == sent
    assert not (workspace / ".tidtam-state.sqlite.checked").exists()  # the next opening checks too


def test_a_check_in_the_background_stops_the_first_write_of_a_damaged_file(workspace, capsys):
    """A reconciliation checks the file while it waits on the network: nothing is written to a damaged
    file (the first write raises the check's error) and a good one is written as usual."""
    state = workspace / "tidtam-state.sqlite"
    code, err = sync(workspace, capsys)
    assert code == 0, err
    good = StateStore(state)
    good.check_in_background()
    good.set_values({"probe": "1"})  # waits for the check, which finds nothing
    good.close(seal=True)
    assert (workspace / ".tidtam-state.sqlite.checked").exists()
    damage(state, seed=7)
    store = StateStore(state)
    store.check_in_background()
    assert store.checked
    with pytest.raises(StateError, match="damaged|not a usable SQLite database"):
        store.set_values({"probe": "2"})
    store.close(seal=True)  # a failed check is never sealed, whatever the caller says
    assert not (workspace / ".tidtam-state.sqlite.checked").exists()
