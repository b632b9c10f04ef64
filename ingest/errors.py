"""The one exception tree of tidtam; every message names the object and the fix.

    TidtamError                      base; the CLI turns it into a message and an exit code
    ├── ConfigError                  the campaign config is wrong (all problems listed at once) → exit 2
    ├── InputError                   an input file as a whole cannot be read (bad CSV, no header) → exit 2
    ├── SourceError                  a backend could not be read or written
    │   ├── RetryableSourceError     worth another try later (429, 5xx, dropped connection)
    │   ├── FatalSourceError         needs a person (not shared, bad key, not found)
    │   │   └── PermanentRecipientError  a mail server refused recipients for good (5xx); others may have it
    │   └── DeliveryUnknownError     the connection died after a message was handed over: sent or not,
    │                                nobody knows, so it is never sent again automatically
    ├── StateError                   the state file is corrupt, empty, foreign, locked or from a newer tidtam
    └── ItemError                    one item (a file, a row) is unusable; it becomes an invalid item
                                     or a `problems` row and the run goes on
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path


class TidtamError(Exception):
    """Base of every error tidtam raises on purpose."""

    exit_code = 1


class ConfigError(TidtamError):
    """The config has one or more problems; each names its key path."""

    exit_code = 2

    def __init__(self, problems: Sequence[str], source: str = "config") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source} has {len(self.problems)} problem(s):\n{lines}")


class InputError(TidtamError):
    """An input file cannot be used at all (as opposed to one bad row in it)."""

    exit_code = 2


class SourceError(TidtamError):
    """A backend (Google API, folder, SMTP server) failed."""

    def __init__(self, message: str, *, source: str = "") -> None:
        self.source = source
        super().__init__(message)


class RetryableSourceError(SourceError):
    """A failure that another attempt, later, may not see."""


class FatalSourceError(SourceError):
    """A failure that needs a person: sharing, credentials, a wrong id."""

    exit_code = 2


class StateError(TidtamError):
    """The state database cannot be used as it is."""

    exit_code = 2


class ItemError(TidtamError):
    """One item is unusable; `reason_th` is what coordinators and provinces read."""

    def __init__(self, message: str, *, reason_th: str = "") -> None:
        self.reason_th = reason_th or message
        super().__init__(message)


class PermanentRecipientError(FatalSourceError):
    """The mail server refused some or all recipients of one message, for good (a 5xx reply).

    `refused` maps each refused address to (code, reply); `accepted` lists those who did get it.
    A 4xx refusal of some recipients while others accepted is reported here too: the message has
    gone out, so its stage is done; the next stage reaches them again.
    """

    def __init__(self, message: str, *, refused: dict[str, tuple[int, str]], accepted: Sequence[str] = (),
                 source: str = "") -> None:
        self.refused = dict(refused)
        self.accepted = tuple(accepted)
        super().__init__(message, source=source)


class DeliveryUnknownError(SourceError):
    """A message was handed to the mail server but no reply came back: it may or may not be delivered."""


class ChildError(Exception):
    """An unexpected error in a step run in a child process (ingest.apart), or the child's end without
    a result. Not a TidtamError: it is a bug or a crash, reported as one. `str()` is what `unexpected`
    gave in the child (type and line, no message); `stack` is the child's `unexpected_traceback`."""

    def __init__(self, summary: str, *, stack: str) -> None:
        self.stack = stack
        super().__init__(summary)

    def __reduce__(self) -> tuple[object, ...]:
        return (_child_error, (str(self), self.stack))


def _child_error(summary: str, stack: str) -> ChildError:
    return ChildError(summary, stack=stack)


def unexpected(exc: BaseException) -> str:
    """An error tidtam did not raise on purpose, named by its type and the line that raised it, without
    its message: a library's message may quote the data it choked on (openpyxl's IllegalCharacterError
    quotes the whole answer), and respondents' text must stay out of logs and the `runs` tab."""
    if isinstance(exc, ChildError):
        return f"{exc} (in a child process)"
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno} (in {last.name})"


def unexpected_traceback(exc: BaseException) -> str:
    """The stack of an unexpected error for a bug report: every frame, no message (see `unexpected`)."""
    if isinstance(exc, ChildError) and exc.stack:
        return exc.stack
    stack = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    return f"Traceback (most recent call last), message withheld:\n{stack}{unexpected(exc)}"
