"""Peak memory and CPU time of a process and everything it started (inspection workers run under a
forkserver child, so the process's own VmHWM and getrusage's RUSAGE_CHILDREN leave them out: a
worker's parent is the forkserver, which the sync never waits for), sampled from /proc."""

from __future__ import annotations

import os
import threading
import time

MB = 1024 * 1024


def tree(root: int) -> list[int]:
    """`root` and every descendant, from /proc/<pid>/task/<tid>/children."""
    pids, frontier = [root], [root]
    while frontier:
        pid = frontier.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                    found = [int(c) for c in children.read().split()]
                pids.extend(found)
                frontier.extend(found)
        except OSError:
            continue
    return pids


def memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes; PSS shares each shared page among the processes mapping
    it, so PSS summed over the tree is the tree's real footprint (RSS summed counts libraries twice)."""
    found = {"Rss:": 0, "Pss:": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                key = line.split(":")[0] + ":"
                if key in found:
                    found[key] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return found["Rss:"], found["Pss:"]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far, 0 if gone: /proc/<pid>/stat's fields 14 (utime)
    and 15 (stime), in clock ticks (proc(5), https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TreeSampler:
    """Samples a process tree every `interval` seconds (or less often: `share` below) while in the
    `with` block; afterwards
    `peak_rss`, `peak_pss` (summed over the tree) and `peak_one` (the largest process) in bytes, and
    `cpu`: the CPU seconds the tree used in the block (each process's last sample less its time when the
    block began, for the processes there then; a process that ended between samples loses at most the
    time between two samples), `samples`, how many were taken, and `spent`, the seconds they took."""

    def __init__(self, root: int, interval: float = 0.02, share: float = 0.02) -> None:
        # `share`: of one core, the most the sampling may take. Reading a process's smaps_rollup walks its
        # page tables under its memory map's lock: 26 ms of system time for a process of 2.1 GB, about
        # 10 ms for a sync of 800 MB. Sampled every 0.1 s, that was about a tenth of a core taken from
        # the sync it measures, on the machine it measures CPU-bound; so the next sample waits at least
        # `interval`, and at least the last sample's time over `share`.
        self.root, self.interval, self.share = root, interval, share
        self.peak_rss = self.peak_pss = self.peak_one = 0
        self.processes: set[int] = set()
        self.samples = 0
        self.spent = 0.0  # seconds the samples took (the sampler's own cost, in the process it runs in)
        self._cpu: dict[int, float] = {}  # pid → its CPU seconds when last seen
        self._cpu_before: dict[int, float] = {}  # pid → its CPU seconds as the block began
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            began = time.perf_counter()
            pids = tree(self.root)
            self.processes.update(pids)
            sizes = [memory(p) for p in pids]
            self.peak_rss = max(self.peak_rss, sum(rss for rss, _ in sizes))
            self.peak_pss = max(self.peak_pss, sum(pss for _, pss in sizes))
            self.peak_one = max(self.peak_one, max((rss for rss, _ in sizes), default=0))
            for pid in pids:
                self._cpu[pid] = max(self._cpu.get(pid, 0.0), cpu_seconds(pid))
            took = time.perf_counter() - began
            self.samples += 1
            self.spent += took
            self._done.wait(max(self.interval, took / self.share))

    @property
    def cpu(self) -> float:
        return sum(seconds - self._cpu_before.get(pid, 0.0) for pid, seconds in self._cpu.items())

    def __enter__(self) -> TreeSampler:
        self._cpu_before = {pid: cpu_seconds(pid) for pid in tree(self.root)}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._cpu[self.root] = cpu_seconds(self.root)  # the root's time to the block's end
