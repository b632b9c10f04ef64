"""Run work on untrusted bytes (inspecting an upload) in child processes, each with a memory cap and a
time limit, so a file that would exhaust memory or hang costs one outcome, never the run.

A worker is a long-lived process that takes one task at a time. One that runs out of memory, over-
runs its time or dies is ended and replaced by a fresh one, so the pool survives any single file
(`concurrent.futures.ProcessPoolExecutor` instead breaks for good when one of its workers is killed).
The pool is also how CPU-bound parsing gets past the GIL: `processes` tasks run at once.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import resource
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger(__name__)
MB = 1024 * 1024
# How long a worker may take to accept a task: unpickling it imports the task's module when the pool
# did not preload it (tests), which must not count against the file's time.
_TAKE_SECONDS = 60.0


@dataclass(frozen=True)
class WorkerLimits:
    """What one task may use. The memory cap is address space added to what a fresh worker holds
    (about 80 MB of virtual memory once the inspection modules are imported), so it is the task's own."""

    memory_bytes: int = 384 * MB  # a 48 MP HEIC photo, the largest decoded whole, needs ~340 MB (measured)
    seconds: float = 60.0  # wall clock, from the moment the task is handed to the worker
    processes: int = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Exceeded:
    """A task that did not finish: `limit` is "memory", "time", "died" (the process ended without an
    answer, e.g. killed by the kernel) or "error" (the task raised; `detail` holds the traceback)."""

    limit: str
    detail: str


class WorkerPool:
    """At most `limits.processes` workers, started on first use; `run` is safe to call from many
    threads at once (each call takes an idle worker, or waits for one)."""

    def __init__(self, limits: WorkerLimits | None = None, *, preload: Iterable[str] = ("ingest.file_checks",)) -> None:
        self.limits = limits or WorkerLimits()
        self._context = multiprocessing.get_context("forkserver")
        # 'forkserver': a worker is forked from a small server process that imported only these
        # modules, so it inherits neither the parent's memory (state, listings, downloads) nor its
        # threads. Measured here: a worker starts in ~15 ms at ~30 MB RSS ('spawn': ~70 ms, and it
        # imports the modules again; 'fork' would copy the parent, threads and all).
        self._context.set_forkserver_preload(list(preload))
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(max(1, self.limits.processes)):
            self._idle.put(None)  # a slot whose worker is started when first needed
        self._lock = threading.Lock()
        self.started = 0  # workers started, replacements included
        self.tasks = 0  # tasks handed to a worker

    def run(self, func: Callable[..., Any], content: bytes, *args: Any) -> Any:
        """`func(content, *args)` in a worker: its return value, or `Exceeded` when it did not finish.

        `func` must be importable (a module-level function) and its arguments and result picklable;
        `content` is written to the worker's pipe as it is, without a pickled copy."""
        worker = self._idle.get()
        try:
            for attempt in (1, 2):
                if worker is not None and not worker.process.is_alive():
                    worker.stop()  # ended while idle (e.g. by the kernel): nothing of this file reached it
                    worker = None
                if worker is None:
                    worker = self._start()
                try:
                    worker.send(func, args, content)
                    break
                except OSError:
                    # The worker died while idle (nothing of this file reached it): one fresh worker
                    # is tried before the file is blamed.
                    worker.stop()
                    worker = None
                    if attempt == 2:
                        return Exceeded("died", "worker could not be started or took no task")
            with self._lock:
                self.tasks += 1
            outcome = worker.receive(self.limits.seconds)
            if isinstance(outcome, Exceeded) and outcome.limit != "error":
                worker.stop()  # a process that hit a limit is not trusted with another file
                worker = None
            return outcome
        except BaseException:
            if worker is not None:
                worker.stop()
            worker = None
            raise
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        """Stop every worker; the pool is unusable afterwards. Callers' `run`s must have returned."""
        for _ in range(max(1, self.limits.processes)):
            worker = self._idle.get()
            if worker is not None:
                worker.stop(graceful=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> _Worker:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, args=(child_end, self.limits.memory_bytes),
                                        name="tidtam-worker", daemon=True)
        process.start()
        child_end.close()
        with self._lock:
            self.started += 1
        return _Worker(process, parent_end)


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def send(self, func: Callable[..., Any], args: tuple[Any, ...], content: bytes) -> None:
        self.conn.send((func, args))
        self.conn.send_bytes(content)

    def receive(self, seconds: float) -> Any:
        """The task's outcome. Its time starts once the worker has taken the task, so importing the
        task's module in a worker that did not preload it is not counted against the file."""
        try:
            if not self.conn.poll(_TAKE_SECONDS) or self.conn.recv() != ("taken", None):
                return Exceeded("time", f"task not taken within {_TAKE_SECONDS:g} s")
            if not self.conn.poll(seconds):
                return Exceeded("time", f"no result within {seconds:g} s")
            status, value = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1)
            return Exceeded("died", f"worker ended with exit code {self.process.exitcode}")
        if status == "ok":
            return value
        return Exceeded(status, value)

    def stop(self, *, graceful: bool = False) -> None:
        if graceful and self.process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


def _serve(conn: Connection, memory_bytes: int) -> None:
    """A worker's loop: (func, args) then the content's bytes in; ("ok", result) or a limit out."""
    _cap_memory(memory_bytes)
    while True:
        try:
            message = conn.recv()
            if message is None:
                return
            func, args = message
            content = conn.recv_bytes()
            conn.send(("taken", None))
        except (EOFError, OSError):
            return  # the parent has gone
        try:
            result = func(content, *args)
        except MemoryError as exc:
            del content
            conn.send(("memory", f"more than {memory_bytes // MB} MB needed {exc}".strip()))
            return  # the heap may be in any state: the pool starts a fresh worker
        except Exception:  # noqa: BLE001 - any bug in a task is reported back as that task's outcome
            conn.send(("error", traceback.format_exc()[-2000:]))
            continue
        del content
        conn.send(("ok", result))


def memory_headroom() -> int | None:
    """Bytes this process may still map under its memory cap; None when it has none. Lets a task
    refuse work it can tell will not fit (a library may report a failed allocation as bad input)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        return soft - _virtual_size()
    except OSError:
        return None


def _virtual_size() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _cap_memory(extra: int) -> None:
    """Limit the address space to what the worker has now plus `extra`: allocations beyond raise
    MemoryError (or fail in C code), and the task ends as "memory" instead of growing the machine's."""
    try:
        virtual = _virtual_size()
    except OSError:  # no /proc (not Linux): the time limit still holds, the memory cap cannot be set
        log.warning("cannot read /proc/self/statm: workers run without a memory cap")
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = virtual + extra
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
