"""Memory a run has freed, given back to the system where the C library can (glibc's `malloc_trim`).

Python gives a freed arena of small objects back by itself, but texts and lists larger than 512 bytes
come from the C library's heap, and glibc returns the free memory inside that heap only from its top
unless asked (`malloc_trim(3)`: "attempts to release free memory from the heap", each arena's free
pages in the middle included since glibc 2.8). In a dev-loop first sync at 7,436 sub-districts (the
code before this module, asked at each step of `ingest.memo.compute`, measured with `mallinfo2`), glibc's
heap was 166–180 MB with 63–74 MB free once the tables were made, and asking gave back 30–46 MB of the
process's resident memory; called once before the write, as now, it saves 6–14 MB of a changed sync's
peak (bench/README.md, "The release pass"). Elsewhere (musl, macOS, Windows) there is nothing to ask,
and nothing is done.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache


def give_back() -> None:
    """Release the C heap's free pages to the system, where glibc can (module docstring)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        # The process's own symbols, the C library's among them (no `ldconfig` run to find its file).
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, TypeError, AttributeError):  # no such handle here (Windows), or no malloc_trim (musl, macOS)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim
