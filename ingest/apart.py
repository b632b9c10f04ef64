"""Run one step of a run in a forked child process, whose heap is given back whole when it ends.

Why: CPython's small-object allocator returns an arena to the system only when every object in it is
gone. A first sync at 7,436 sub-districts reads 74,000 responses and 52,000 files' listings and facts;
the reading leaves the process at 430 MB, most of it arenas pinned by a few long-lived objects (135 MB
live, 190 MB of free blocks and pools, `sys._debugmallocstats()`, 7 Dec), and the tables and the
warehouse write that follow grew from there to 594 MB. Read in a child, the parent goes on from about
its start-up size (115 MB after the reading, in the dev loop), and the first sync peaks at 471 MB
(bench/README.md, "The reading-apart pass").

What the child gets is the parent as it was at the fork (the campaign, the backends, their tokens);
what comes back is the step's result, pickled through a pipe, after any messages it sent on the way
(its progress). The child uses none of the parent's
open connections: the caller's `after_fork` hooks give it fresh ones (an HTTPS connection used by two
processes would corrupt its TLS state; an SQLite connection must not cross a fork at all).

Linux only (`fork` is the point, and macOS's system libraries do not support it in a process with
threads); elsewhere the step runs in the process itself, as it always did.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing.forkserver
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, TypeVar

from ingest.errors import ChildError, SourceError, TidtamError, unexpected, unexpected_traceback

log = logging.getLogger(__name__)
T = TypeVar("T")


class CannotFork(Exception):
    """The system refused a new process (`fork` or `pipe` failed: too many processes, no memory for the
    page tables); the caller may run the step in its own process instead."""


def can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def in_child(step: Callable[[Callable[..., None]], T], *, what: str,
             after_fork: Iterable[Callable[[], None]] = (), on_message: Callable[..., None] | None = None,
             alongside: Callable[[], None] | None = None) -> T:
    """`step(send)` run in a forked child; its result (or its error, raised here) comes back pickled.

    `send(*args)`, called in the child (from any of its threads), calls `on_message(*args)` here, in
    order, while the child works: a progress bar is drawn by this process (the child's copy of it has
    no thread to draw it, and its lock may have been held by that thread at the fork).

    `alongside()`, if given, runs here, on this thread, once the child has started and before its
    messages are read (they wait in the pipe meanwhile; a child that fills it waits too). An error it
    raises is raised once the child has ended, unless the child's own error is raised instead; the
    child is never stopped half-way for it.

    An error tidtam raised on purpose comes back as itself. Anything else comes back as a `ChildError`
    that names the child's type and line (not its message: see `ingest.errors.unexpected`). A child that
    ends without a result (killed: the out-of-memory killer's SIGKILL) is a `ChildError` naming the
    signal. `CannotFork` when the system refuses the child. Interrupted here (Ctrl-C), the child is
    stopped and waited for before the interrupt goes on. Where this process handles SIGTERM itself
    (`tidtam serve`: stop after the current run), the child ignores it and finishes its step.
    """
    for stream in (sys.stdout, sys.stderr):  # else what they buffered is written again by the child
        stream.flush()
    parent = os.getpid()
    try:
        read_end, write_end = os.pipe()
    except OSError as exc:
        raise CannotFork(f"{what}: no pipe to a child process ({exc})") from exc
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns on a fork in a process with threads. The child takes no lock or connection
            # another thread may hold: the caller's `after_fork` hooks give it its own, logging re-makes its
            # locks at a fork, and the caller lets no thread be inside SQLite (collect_apart).
            warnings.filterwarnings("ignore", message=r"This process .* is multi-threaded",
                                    category=DeprecationWarning)
            pid = os.fork()
    except OSError as exc:
        os.close(read_end)
        os.close(write_end)
        raise CannotFork(f"{what}: no child process ({exc})") from exc
    if pid == 0:  # the child: never returns
        _die_with(parent)
        os.close(read_end)
        _child(step, write_end, after_fork)
    os.close(write_end)
    answer = None
    failed_alongside: Exception | None = None
    try:
        with os.fdopen(read_end, "rb") as pipe:
            if alongside is not None:
                try:
                    alongside()
                except Exception as exc:  # noqa: BLE001 - raised below, once the child has ended
                    failed_alongside = exc
            answer = _receive(pipe, on_message)
        _, status = os.waitpid(pid, 0)
        pid = 0
    finally:
        if pid:  # interrupted while the child works: stop it, and do not leave it behind
            os.kill(pid, signal.SIGKILL)  # SQLite's transactions survive it; SIGTERM the child may ignore
            os.waitpid(pid, 0)
    if answer is None:
        raise ChildError(f"{what} ended without a result ({_ended(status)})", stack="")
    outcome, value = answer
    if outcome != "ok":
        if failed_alongside is not None:
            log.error("while %s: %s", what, unexpected(failed_alongside))
        raise value
    if failed_alongside is not None:
        raise failed_alongside
    return value


def _receive(pipe: BinaryIO, on_message: Callable[..., None] | None) -> tuple[str, Any] | None:
    """The child's messages passed on, then its answer: ("ok", result) or ("error", exception); None
    when the pipe ends before one (the child died, perhaps in the middle of a message)."""
    while True:
        try:
            kind, value = pickle.load(pipe)
        except (EOFError, pickle.UnpicklingError):
            return None
        if kind != "message":
            return kind, value
        if on_message is not None:
            on_message(*value)


def _child(step: Callable[[Callable[..., None]], object], write_end: int,
           after_fork: Iterable[Callable[[], None]]) -> None:
    code = 0
    pipe = os.fdopen(write_end, "wb")
    sending = threading.Lock()  # a message is one pickle: threads take turns

    def send(*args: object) -> None:
        with sending:
            pickle.dump(("message", args), pipe, protocol=pickle.HIGHEST_PROTOCOL)
            pipe.flush()

    if callable(signal.getsignal(signal.SIGTERM)):
        # `tidtam serve` stops after the current run on SIGTERM (ingest.scheduler), and systemd sends it
        # to every process of the service: the child finishes its step, and the parent decides.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        _forget_forkserver()
        for hook in after_fork:
            hook()
        answer: tuple[str, object] = ("ok", step(send))
    except TidtamError as exc:
        answer = ("error", _portable(exc))
    except BaseException as exc:  # noqa: BLE001 - it goes to the parent, which raises it
        answer = ("error", ChildError(unexpected(exc), stack=unexpected_traceback(exc)))
    try:
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - a result that does not pickle: its type and line still go
        data = pickle.dumps(("error", ChildError(unexpected(exc), stack=unexpected_traceback(exc))))
    try:
        with sending, pipe:
            pipe.write(data)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException:  # noqa: BLE001 - the parent reads no answer and says so
        code = 1
    # Not `sys.exit`: the parent's atexit handlers, finalizers and open files are not the child's to run.
    os._exit(code)


def _portable(exc: TidtamError) -> TidtamError:
    """`exc` if it survives pickling, else one that says the same (an error class whose `__init__`
    takes other arguments than its message, such as `PermanentRecipientError`, does not unpickle)."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
        return exc
    except Exception:  # noqa: BLE001 - any failure to round-trip means: send the plain form
        if isinstance(exc, SourceError):
            return SourceError(str(exc), source=exc.source)
        return TidtamError(str(exc))


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when the thread that forked it ends (`prctl(PR_SET_PDEATHSIG)`,
    Linux): a run killed outright (SIGKILL, the out-of-memory killer) leaves no child reading on,
    holding the run's lock (an `flock` on a file descriptor the child shares) while the next run waits.
    A child whose step sends messages would also end at its next one (the pipe is broken); one that
    sends none would go on to the end of its reading."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no prctl: the child ends when its step does
        return
    if os.getppid() != parent:  # the parent was gone before the call: nobody waits for this child
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _forget_forkserver() -> None:
    """The inspection workers' forkserver (ingest.workers) is the parent's child, not this process's:
    multiprocessing would wait on it as its own (`os.waitpid` fails with ChildProcessError). Reset,
    the child starts a forkserver of its own when its first worker starts."""
    multiprocessing.forkserver._forkserver.__init__()  # type: ignore[attr-defined]


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
        hint = ": out of memory?" if number == signal.SIGKILL else ""
        return f"its process was killed by {name}{hint}"
    return f"its process exited with code {os.WEXITSTATUS(status)}"
