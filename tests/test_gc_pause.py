"""The collector pause (ingest.gc_pause): frozen within a run, given back when the run ends."""

import gc
import threading
import weakref

from ingest.gc_pause import keep_long_lived, paused_gc, run_scope


class _Node:
    def __init__(self) -> None:
        self.other = self  # a cycle: only the cyclic collector frees it


def test_outside_a_run_nothing_is_frozen_and_the_collector_is_back_on():
    before = gc.get_freeze_count()
    with paused_gc():
        assert not gc.isenabled()
        kept = [_Node() for _ in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == before
    assert len(kept) == 100


def test_a_run_freezes_what_its_blocks_made_and_collects_its_cycles_after_it():
    assert gc.get_freeze_count() == 0
    with run_scope():
        with paused_gc():
            with paused_gc():  # nested: the outer block alone turns the collector back on
                cycle = _Node()
            assert not gc.isenabled()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0  # the block's objects are out of every collection
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert gone() is not None  # frozen: no collection walks it, so its cycle waits
    assert gc.get_freeze_count() == 0  # the run ended: everything is back with the collector
    gc.collect()
    assert gone() is None


def test_nested_runs_unfreeze_when_the_outermost_ends():
    with run_scope():
        with run_scope(), paused_gc():
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_failing_block_still_turns_the_collector_back_on():
    try:
        with run_scope(), paused_gc():
            raise ValueError("broken")
    except ValueError:
        pass
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_keep_long_lived_freezes_only_within_a_run():
    kept = [_Node() for _ in range(10)]
    keep_long_lived()
    assert gc.get_freeze_count() == 0  # outside a run: nothing
    with run_scope():
        keep_long_lived()
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_freeze_count() == 0


def test_blocks_overlapping_on_two_threads_keep_the_collector_off_until_the_last_ends():
    # The memo's rows read on a thread while the run's thread makes its tables (ingest.memo): the
    # thread's block ends first, and must not turn the collector on under the run's.
    started, thread_may_end = threading.Event(), threading.Event()

    def other() -> None:
        with paused_gc():
            started.set()
            thread_may_end.wait(5)

    thread = threading.Thread(target=other)
    with run_scope():
        thread.start()
        started.wait(5)
        with paused_gc():
            thread_may_end.set()
            thread.join(5)
            assert not thread.is_alive()
            assert not gc.isenabled()  # the thread's block ended; this one is still open
            cycle = _Node()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0  # frozen with the last block
        gone = weakref.ref(cycle)
        del cycle
    gc.collect()
    assert gone() is None


def test_a_collector_turned_off_by_someone_else_is_left_off():
    gc.disable()
    try:
        with run_scope(), paused_gc():
            pass
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
