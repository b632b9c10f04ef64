"""bench/proctree.py: the CPU a process tree used, its children's included (what getrusage misses for
processes nobody waits for, such as inspection workers under a forkserver)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_proctree", Path(__file__).resolve().parent.parent / "bench" / "proctree.py")
assert _spec and _spec.loader
proctree = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = proctree
_spec.loader.exec_module(proctree)

_BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
# The tree's root: a child there before the block (as a forkserver an earlier run left) burns 0.4 s
# and idles; in the block a second child burns 0.4 s. The sampler runs in the test's process, so its
# own reading of /proc is not the tree's.
_EARLIER = _BURN + "print('burnt', flush=True)\nimport time\ntime.sleep(30)\n"
_LATER = _BURN + "import time\ntime.sleep(0.3)\n"
_ROOT = f"""
import subprocess, sys
earlier = subprocess.Popen([sys.executable, "-c", {_EARLIER!r}],
                           stdout=subprocess.PIPE, text=True)
earlier.stdout.readline()
print("ready", flush=True)
sys.stdin.readline()
subprocess.run([sys.executable, "-c", {_LATER!r}], check=True)
print("done", flush=True)
sys.stdin.readline()
earlier.kill()
"""


def test_a_child_s_cpu_counts_and_the_tree_s_time_before_the_block_does_not():
    root = subprocess.Popen([sys.executable, "-c", _ROOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout.readline().strip() == "ready"
        with proctree.TreeSampler(root.pid, interval=0.02) as tree:
            root.stdin.write("go\n")
            root.stdin.flush()
            assert root.stdout.readline().strip() == "done"  # the second child burnt, slept (sampled), ended
        # The second child's 0.4 s and its start-up; not the first child's 0.4 s, burnt before the block.
        assert 0.38 <= tree.cpu < 0.7, tree.cpu
    finally:
        root.stdin.write("end\n")
        root.stdin.flush()
        root.wait(10)


def test_cpu_seconds_of_a_process_that_is_gone_is_zero():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(10)
    assert proctree.cpu_seconds(child.pid) == 0.0
    assert proctree.cpu_seconds(os.getpid()) > 0


def test_samples_are_spaced_by_what_they_cost(monkeypatch):
    """A sample that takes long (reading smaps_rollup walks a big process's page tables: 26 ms at
    2.1 GB) delays the next, so the sampler takes at most its `share` of a core from what it measures."""
    import threading
    import time

    def slow_memory(pid):
        time.sleep(0.01)
        return 0, 0

    monkeypatch.setattr(proctree, "memory", slow_memory)
    for share, most in ((1.0, 60), (0.1, 6)):
        with proctree.TreeSampler(os.getpid(), interval=0.001, share=share) as tree:
            threading.Event().wait(0.5)
        # Each sample takes at least 10 ms (one process): back to back at share 1.0, then 100 ms apart.
        assert tree.samples <= most, (share, tree.samples)
    assert tree.samples >= 2
