"""A step run in a forked child (ingest.apart): its result, its errors and its end come back as they
would in-process, and the child starts worker processes of its own."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.apart import CannotFork, can_fork, in_child
from ingest.errors import (
    ChildError,
    PermanentRecipientError,
    SourceError,
    TidtamError,
    unexpected,
    unexpected_traceback,
)
from ingest.workers import MB, WorkerLimits, WorkerPool

pytestmark = pytest.mark.skipif(not can_fork(), reason="in_child forks on Linux only; elsewhere steps run in-process")

_MARK: list[str] = []


def test_the_result_comes_back_and_the_child_changes_nothing_here():
    def step(send):
        _MARK.append("child")
        return {"pid": os.getpid(), "rows": [("a", 1)] * 3, "seen": list(_MARK)}

    got = in_child(step, what="a test step", after_fork=[lambda: _MARK.append("hook")])
    assert got["pid"] != os.getpid()
    assert got["rows"] == [("a", 1)] * 3
    assert got["seen"] == ["hook", "child"]  # the hooks ran first, in the child
    assert _MARK == []  # and nothing of it happened in this process


def test_messages_sent_from_the_childs_threads_reach_this_process_while_it_works():
    def step(send):
        def worker(name):
            for done in range(1, 201):
                send(name, done, 200)

        threads = [threading.Thread(target=worker, args=(name,)) for name in ("forms", "uploads")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return os.getpid()

    got: list[tuple[str, int, int]] = []
    child = in_child(step, what="a test step", on_message=lambda *args: got.append(args))
    assert child != os.getpid()
    for name in ("forms", "uploads"):  # every message, each thread's in the order it sent them
        assert [done for source, done, _ in got if source == name] == list(range(1, 201))
    assert len(got) == 400


def test_alongside_runs_here_while_the_child_works_and_its_messages_wait_for_it():
    """The run reads the coordinators' decisions this way while its sources are read (ingest.pipeline)."""
    read_end, write_end = os.pipe()  # the child writes here once it works; `alongside` waits for that

    def step(send):
        os.write(write_end, b"x")
        for done in range(1, 2001):  # more than a pipe holds (64 KiB): the child waits while `alongside` runs
            send("forms", done, 2000)
        return os.getpid()

    seen: list[object] = []

    def alongside():
        assert os.read(read_end, 1) == b"x"  # the child started first, and works while this runs
        seen.append(("alongside", os.getpid(), len(got)))

    got: list[tuple[str, int, int]] = []
    try:
        child = in_child(step, what="a test step", on_message=lambda *args: got.append(args), alongside=alongside)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert child != os.getpid()
    assert seen == [("alongside", os.getpid(), 0)]  # here, before any message was passed on
    assert [done for _, done, _ in got] == list(range(1, 2001))  # and none of them was lost


def test_an_error_alongside_is_raised_once_the_child_has_finished_its_step(tmp_path):
    finished = tmp_path / "finished"

    def step(send):
        time.sleep(0.2)
        finished.write_text("yes")
        return 1

    def alongside():
        raise SourceError("the warehouse spreadsheet is not shared with the service account", source="warehouse")

    with pytest.raises(SourceError, match="not shared") as raised:
        in_child(step, what="a test step", alongside=alongside)
    assert raised.value.source == "warehouse"
    assert finished.read_text() == "yes"  # the child was not stopped half-way for it


def test_the_childs_own_error_comes_first_and_an_error_alongside_is_logged(caplog):
    def step(send):
        raise SourceError("Drive folder 1AbC not shared with the service account", source="uploads")

    def alongside():
        raise ValueError("a bug alongside")

    with pytest.raises(SourceError, match="1AbC"):
        in_child(step, what="reading the sources", alongside=alongside)
    assert "while reading the sources: ValueError" in caplog.text


def test_a_child_killed_after_some_messages_is_said_so():
    got = []

    def step(send):
        send("uploads", 1, 10)
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ChildError, match="killed by SIGKILL"):
        in_child(step, what="reading the sources", on_message=lambda *args: got.append(args))
    assert got == [("uploads", 1, 10)]


def test_an_error_tidtam_raised_comes_back_as_itself():
    def step(send):
        raise SourceError("Drive folder 1AbC not shared with the service account", source="uploads")

    with pytest.raises(SourceError) as caught:
        in_child(step, what="a test step")
    assert str(caught.value) == "Drive folder 1AbC not shared with the service account"
    assert caught.value.source == "uploads"


def test_an_error_that_does_not_unpickle_comes_back_as_its_plain_kind():
    def step(send):
        raise PermanentRecipientError("550 no such user", refused={"a@example.org": (550, "no such user")},
                                      source="smtp")

    with pytest.raises(SourceError) as caught:
        in_child(step, what="a test step")
    assert type(caught.value) is SourceError  # its own class needs `refused` to be made again
    assert str(caught.value) == "550 no such user" and caught.value.source == "smtp"


def test_an_unexpected_error_names_its_type_and_line_but_not_its_message():
    def step(send):
        answers = {"q": "ข้อความของผู้ตอบ"}
        return answers["missing " + answers["q"]]  # a KeyError whose message is respondent text

    with pytest.raises(ChildError) as caught:
        in_child(step, what="a test step")
    summary = unexpected(caught.value)
    assert summary.startswith("KeyError at test_apart.py:") and summary.endswith("(in step) (in a child process)")
    assert "ข้อความ" not in summary and "ข้อความ" not in unexpected_traceback(caught.value)
    assert "in step" in unexpected_traceback(caught.value)
    assert not isinstance(caught.value, TidtamError)  # a bug is reported as one, not as a coordinator's error


def test_a_child_killed_without_a_result_is_said_so():
    def step(send):
        os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would

    with pytest.raises(ChildError, match=r"reading the sources ended without a result \(its process was killed "
                                         r"by SIGKILL: out of memory\?\)"):
        in_child(step, what="reading the sources")


def test_a_child_that_exits_on_its_own_is_said_so():
    with pytest.raises(ChildError, match="exited with code 3"):
        in_child(lambda send: os._exit(3), what="a test step")


def test_the_child_finishes_its_step_through_a_sigterm_the_service_handles():
    stopping = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))  # as `tidtam serve` does
    try:
        def step(send):
            os.kill(os.getpid(), signal.SIGTERM)  # systemd stopping the service signals every process
            time.sleep(0.05)
            return "read"

        assert in_child(step, what="a test step") == "read"
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert stopping == []  # the signal was the child's alone


def test_the_child_starts_inspection_workers_though_this_process_has_a_forkserver():
    # This process's forkserver is running (a worker started here first): the child must not take it
    # for its own child (multiprocessing would wait on it and fail with ChildProcessError).
    context = multiprocessing.get_context("forkserver")
    here = context.Process(target=os.getpid)
    here.start()
    here.join()
    assert here.exitcode == 0

    def step(send):
        with WorkerPool(WorkerLimits(memory_bytes=256 * MB, seconds=30.0, processes=1), preload=()) as pool:
            return pool.run(len, b"four")

    assert in_child(step, what="a test step") == 4


def test_a_refused_fork_is_cannot_fork_and_leaves_no_pipe_open(monkeypatch):
    def refuse() -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", refuse)
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(CannotFork, match=r"a test step: no child process \(\[Errno 12\] Cannot allocate memory\)"):
        in_child(lambda send: None, what="a test step")
    assert len(os.listdir("/proc/self/fd")) == before


_ORPHAN = """
import os, sys, time
from ingest.apart import in_child

def step(send):
    with open(sys.argv[1], "w") as out:
        out.write(str(os.getpid()))
    time.sleep(60)  # reading that sends no message (a sync without a progress bar)

in_child(step, what="reading the sources")
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return any(line.split()[:2] == ["State:", "Z"] for line in status)  # a zombie has ended
    except FileNotFoundError:
        return True


def test_a_run_killed_outright_takes_its_child_with_it(tmp_path):
    """The child shares the run's lock (an flock): an orphan reading on would keep the next run out."""
    pid_file = tmp_path / "child.pid"
    child = 0
    run = subprocess.Popen([sys.executable, "-c", _ORPHAN, str(pid_file)], cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        child = int(pid_file.read_text())
        run.kill()  # SIGKILL, as the out-of-memory killer
        run.wait()
        deadline = time.monotonic() + 10
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _gone(child)
    finally:
        run.kill()
        run.wait()
        if child and not _gone(child):  # the test failed: leave nothing running
            os.kill(child, signal.SIGKILL)
