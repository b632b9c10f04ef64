"""Python's cyclic garbage collector paused while a run makes millions of long-lived objects at once.

The collector runs whenever allocations outnumber deallocations by a threshold, and each run walks
the objects made since; loading the kept rows of 7,436 sub-districts (2.5 million objects, none of
them garbage) took 4.5 s with it and 1.3 s without. Reference counting still frees everything that
is not in a cycle; cycles made inside the block wait for the first collection after it.

Turning the collector back on does not end the cost: every object made in the block is still in the
youngest generation, so the first allocation after the block starts a collection that walks all of
them (0.36 s after a changed sync's tables at 7,436 sub-districts, measured with `gc.callbacks`),
and they are walked again as they age. Inside a run (`run_scope`) the block's objects are therefore
frozen when it ends (`gc.freeze`: kept out of every collection) and given back to the collector
when the run ends (`gc.unfreeze`, which puts them in the oldest generation without walking them).
Outside a run (a test, an export) nothing is frozen: frozen cycles would live until the process ends.

Blocks may overlap across threads (a block on a helper thread while the run's own thread makes its
tables): the collector comes back on, and what they made is frozen, when the last open block ends.
Counted per thread as a plain flag was, the block that ended first turned the collector on under the
other, whose tables were then walked by collections (a changed sync at 7,436 sub-districts whose kept
rows were read on a thread of their own: 0.3 s more to make its tables).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_runs = 0  # run scopes open (`run_scope`)
_paused = 0  # `paused_gc` blocks open, on any thread, since one of them turned the collector off
_pausing = threading.Lock()


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside the block (nested or overlapping blocks, on any thread: the last one
    to end turns it back on). Within a run, what the blocks made is frozen then (module docstring). A
    collector someone else turned off is left as it is."""
    global _paused
    with _pausing:
        if not _paused and not gc.isenabled():
            ours = False
        else:
            ours = True
            if not _paused:
                gc.disable()
            _paused += 1
    if not ours:
        yield
        return
    try:
        yield
    finally:
        with _pausing:
            _paused -= 1
            if not _paused:
                keep_long_lived()  # within a run, every block's objects among every tracked one; `run_scope` gives them back
                gc.enable()


def keep_long_lived() -> None:
    """Within a run, freeze every object the collector tracks now: called where the run has just
    stored what it keeps to its end (a source's listing, a batch of inspected files' facts). During a
    first sync's downloads the heap grows by those, and each full collection walked all of it again
    (41 of them, 8.8 s, at 7,436 sub-districts; now 4–5, 0.23 s). Outside a run (`run_scope`): nothing."""
    if _runs:
        gc.freeze()


@contextmanager
def run_scope() -> Iterator[None]:
    """One run: objects frozen by `paused_gc` blocks inside it are unfrozen when the outermost scope
    ends, so a scheduler process running for weeks collects each run's cycles after that run."""
    global _runs
    _runs += 1
    try:
        yield
    finally:
        _runs -= 1
        if not _runs:
            gc.unfreeze()
