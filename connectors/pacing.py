"""A per-minute request quota kept on our side: wait before the request that would exceed it.

Google counts quotas per minute per user ("Usage limits" of each API); requests past one draw 403
`userRateLimitExceeded` or 429, and retries bounded in time could give up half-way through a long run.
Waiting before the request that would exceed the quota costs the same time and never fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class Pacer:
    """Spaces requests so that no 60-second window holds more than `per_minute` of them. Safe to call
    from many threads: they wait in turn."""

    def __init__(self, per_minute: int, *, what: str = "requests", clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_minute = max(1, per_minute)
        self.what = what
        self.clock, self.sleep = clock, sleep
        self._sent: deque[float] = deque()  # when the requests of the last minute were sent
        self._lock = threading.Lock()
        self.waited = 0.0

    def after_fork(self) -> None:
        """In a forked child: a lock of its own (another thread may have held the parent's at the fork)."""
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Return when the next request may go: the clock's reading at that moment."""
        with self._lock:
            now = self.clock()
            if len(self._sent) >= self.per_minute:
                pause = 60.0 - (now - self._sent[-self.per_minute])
                if pause > 0:
                    log.info("pausing %.1f s to stay within %d %s a minute", pause, self.per_minute, self.what)
                    self.sleep(pause)
                    self.waited += pause
                    now = self.clock()
            self._sent.append(now)
            while len(self._sent) > self.per_minute:
                self._sent.popleft()
            return now
