"""bench/proctree.py: the CPU a process tree used, its children's included (what getrusage misses for
processes nobody waits for, such as inspection workers under a forkserver)."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_proctree", Path(__file__).resolve().parent.parent / "bench" / "proctree.py")
assert _spec and _spec.loader
proctree = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = proctree
_spec.loader.exec_module(proctree)

_BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\ntime.sleep(0.3)\n"


def test_a_child_s_cpu_counts_and_the_tree_s_time_before_the_block_does_not():
    # A child there before the block (as a forkserver left by an earlier test): it burns, says so, idles.
    earlier = subprocess.Popen([sys.executable, "-c", _BURN.replace("time.sleep(0.3)", "print('burnt', flush=True)\ntime.sleep(5)")],
                               stdout=subprocess.PIPE, text=True)
    assert earlier.stdout.readline().strip() == "burnt"
    end = time.process_time() + 0.3
    while time.process_time() < end:  # the root's CPU before the block: not the block's
        pass
    with proctree.TreeSampler(os.getpid(), interval=0.02) as tree:
        child = subprocess.Popen([sys.executable, "-c", _BURN])
        time.sleep(0.55)  # the child burns, then sleeps while it is sampled once more
        child.wait(10)
    earlier.kill()
    earlier.wait(10)
    assert 0.38 <= tree.cpu < 0.7, tree.cpu  # the child's 0.4 s and its start-up, not the earlier child's 0.4 s


def test_cpu_seconds_of_a_process_that_is_gone_is_zero():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(10)
    assert proctree.cpu_seconds(child.pid) == 0.0
    assert proctree.cpu_seconds(os.getpid()) > 0
