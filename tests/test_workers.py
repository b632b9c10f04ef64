"""The worker pool: a task that runs out of memory, overruns its time, dies or raises is one outcome,
and the pool goes on with a fresh worker (where ProcessPoolExecutor breaks for good)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from ingest.workers import MB, Exceeded, WorkerLimits, WorkerPool


def echo_length(content: bytes, suffix: str) -> str:
    return f"{len(content)}{suffix}"


def allocate(content: bytes, megabytes: int) -> int:
    return len(bytearray(megabytes * MB))


def block(content: bytes) -> None:
    threading.Event().wait()  # never set: only the pool's time limit ends this


def die(content: bytes) -> None:
    os._exit(3)


def fail(content: bytes) -> None:
    raise ValueError("a bug in a task")


def worker_pid(content: bytes) -> int:
    return os.getpid()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has ended, only not been reaped yet
    except FileNotFoundError:
        return False


@pytest.fixture
def pool():
    with WorkerPool(WorkerLimits(memory_bytes=64 * MB, seconds=1.0, processes=1), preload=()) as workers:
        yield workers


def test_a_task_gets_its_bytes_and_arguments_and_returns_its_result(pool):
    assert pool.run(echo_length, b"x" * 100_000, " bytes") == "100000 bytes"
    assert pool.started == 1 and pool.tasks == 1


@pytest.mark.parametrize(("task", "args", "limit"), [
    pytest.param(allocate, (512,), "memory", id="over_the_memory_cap"),
    pytest.param(block, (), "time", id="over_the_time_limit"),
    pytest.param(die, (), "died", id="process_dies"),
])
def test_a_task_over_a_limit_is_one_outcome_and_the_next_task_gets_a_fresh_worker(pool, task, args, limit):
    first = pool.run(worker_pid, b"")
    outcome = pool.run(task, b"", *args)
    assert isinstance(outcome, Exceeded) and outcome.limit == limit
    second = pool.run(worker_pid, b"")
    assert second != first  # the worker that hit the limit was ended and replaced
    assert pool.started == 2
    assert pool.run(allocate, b"", 16) == 16 * MB  # the fresh worker has its whole allowance


def test_a_task_that_raises_is_reported_and_its_worker_kept(pool):
    first = pool.run(worker_pid, b"")
    outcome = pool.run(fail, b"")
    assert isinstance(outcome, Exceeded) and outcome.limit == "error"
    assert "ValueError: a bug in a task" in outcome.detail
    assert pool.run(worker_pid, b"") == first


def test_a_worker_that_died_while_idle_is_replaced_without_blaming_the_next_file(pool):
    pid = pool.run(worker_pid, b"")
    os.kill(pid, 9)
    for _ in range(500):  # until the kernel has ended it (bounded: 5 s)
        if not _alive(pid):
            break
        time.sleep(0.01)
    assert pool.run(echo_length, b"abc", "") == "3"
    assert pool.started == 2


def test_many_threads_share_the_workers():
    with WorkerPool(WorkerLimits(memory_bytes=64 * MB, seconds=5.0, processes=2), preload=()) as pool:
        results: list[str] = []
        lock = threading.Lock()

        def call(i: int) -> None:
            value = pool.run(echo_length, b"x" * i, "")
            with lock:
                results.append(value)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results, key=int) == [str(i) for i in range(20)]
        assert pool.started == 2 and pool.tasks == 20
