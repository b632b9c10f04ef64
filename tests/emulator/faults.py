"""Rule-based fault injection: errors, Retry-After, latency and dropped connections.

Rules are checked in the order they were added. Every matching rule with uses left is consumed;
latencies add up; the first matching rule with a status or ``cut_connection`` decides the outcome.
With ``after_handler`` the request takes effect first (a message is sent, a file created) and only
then is the answer replaced by the error or the dropped connection: a server that did the work and
failed to say so, the case a non-idempotent call such as Gmail's messages.send cannot retry.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError


@dataclass
class Fault:
    method: str | None = None  # discovery method id, fnmatch pattern ("drive.*"), or None for all
    status: int | None = None
    times: int | None = None  # None: forever
    retry_after: float | None = None
    reason: str | None = None
    message: str | None = None
    match: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0
    cut_connection: bool = False
    after_handler: bool = False
    hits: int = 0

    def matches(self, method_id: str, path: str, query_string: str, query: dict[str, list[str]]) -> bool:
        if self.method not in (None, "*") and not fnmatch.fnmatchcase(method_id, self.method):
            return False
        for key, wanted in self.match.items():
            if key == "q_contains":
                if not any(wanted in q for q in query.get("q", [])):
                    return False
            elif key == "path_contains":
                if wanted not in path:
                    return False
            elif key == "query_contains":
                if wanted not in query_string and not any(wanted in v for vs in query.values() for v in vs):
                    return False
            elif key.startswith("param:"):
                if wanted not in query.get(key[len("param:") :], []):
                    return False
            else:
                raise ValueError(f"unknown fault match key {key!r}")
        return True

    def error(self) -> ApiError:
        assert self.status is not None
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            ra = self.retry_after
            headers["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
        return ApiError(self.status, self.message, reason=self.reason, headers=headers)


@dataclass
class Decision:
    latency: float = 0.0
    fault: Fault | None = None


class FaultInjector:
    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        method: str | None = None,
        *,
        status: int | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
        message: str | None = None,
        match: dict[str, str] | None = None,
        latency: float = 0.0,
        cut_connection: bool = False,
        after_handler: bool = False,
    ) -> Fault:
        if status is None and not cut_connection and not latency:
            raise ValueError("a fault needs a status, cut_connection=True or a latency")
        rule = Fault(
            method=method,
            status=status,
            times=times,
            retry_after=retry_after,
            reason=reason,
            message=message,
            match=dict(match or {}),
            latency=latency,
            cut_connection=cut_connection,
            after_handler=after_handler,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: Fault) -> None:
        with self._lock:
            self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def decide(self, method_id: str, path: str, query_string: str, query: dict[str, Any]) -> Decision:
        decision = Decision()
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if not rule.matches(method_id, path, query_string, query):
                    continue
                decisive = rule.status is not None or rule.cut_connection
                if decisive and decision.fault is not None:
                    continue  # an earlier rule already decided; do not consume this one
                rule.hits += 1
                decision.latency += rule.latency
                if decisive:
                    decision.fault = rule
        return decision
