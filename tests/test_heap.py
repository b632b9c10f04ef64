"""ingest.heap: freed memory in the middle of glibc's heap goes back to the system when asked."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from ingest.heap import _malloc_trim, give_back

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_freed_heap_memory_is_given_back_on_glibc() -> None:
    # In a fresh interpreter: 60 MB of 2 KB texts (above Python's 512-byte small-object limit, so they
    # come from glibc's heap), one more kept after them so that the freed ones lie below the heap's
    # top, where glibc does not return them by itself.
    script = textwrap.dedent("""
        from ingest.heap import give_back
        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096 / 2**20
        blocks = [bytes(2048) for _ in range(30_000)]
        top = bytes(2048)
        del blocks
        before = rss()
        give_back()
        print(before, rss())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    before, after = map(float, done.stdout.split())
    assert before - after > 40, (before, after)


def test_give_back_is_safe_anywhere() -> None:
    # Where there is no malloc_trim (musl, macOS, Windows) nothing is looked up again or called.
    assert (_malloc_trim() is not None) == GLIBC
    give_back()
    give_back()
