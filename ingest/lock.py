"""One sync at a time per state file: an OS file lock beside it that names its holder.

fcntl locks are released by the kernel when the holder dies (even by SIGKILL), so a crashed run
never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ingest.errors import TidtamError


class LockedError(TidtamError):
    """Another tidtam process is syncing the same campaign."""

    exit_code = 3


def lock_path(state_path: str | Path) -> Path:
    return Path(f"{state_path}.lock")


def holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another process"
    return f"pid {info.get('pid')} on {info.get('host')} ({info.get('command')}, since {info.get('since')})"


@contextmanager
def sync_lock(state_path: str | Path, *, command: str, wait_seconds: float = 0.0,
              poll_seconds: float = 0.2) -> Iterator[None]:
    """Hold the campaign's lock; wait up to `wait_seconds` for it, then say who holds it."""
    path = lock_path(state_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(f"another sync of this campaign is running: {holder(path)}. "
                                      f"Wait for it to finish (or pass --wait SECONDS).") from None
                time.sleep(poll_seconds)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                "since": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(handle, 0)
        os.pwrite(handle, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock
