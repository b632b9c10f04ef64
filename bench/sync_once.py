"""One tidtam sync in a process of its own, for bench/scale.py: prints its measurements as one JSON line.

    python bench/sync_once.py CONFIG AS_OF [--full]    (AS_OF in ISO 8601 with its offset)

A script of its own rather than a multiprocessing child of scale.py: a process started by
multiprocessing's forkserver (tidtam's inspection workers) first imports its parent's `__main__`
(CPython's `multiprocessing.spawn.prepare`, which the forkserver runs for every child). With scale.py as
`__main__` every worker imported the emulator and the workspace generator before its first task —
3.9 s a worker, measured at 76 provinces, and counted in the sync's time and memory. Under
`tidtam sync` a worker imports the `tidtam` entry script, which imports only the command-line group.
This module imports nothing heavy at its top for the same reason.

With TIDTAM_PROFILE=<path> in the environment the sync runs under cProfile and its stats go to <path>.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
from datetime import datetime
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: getrusage's ru_maxrss would include the bench's own peak, which
    Linux keeps across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    config, as_of = sys.argv[1], datetime.fromisoformat(sys.argv[2])
    full = "--full" in sys.argv[3:]
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here.parent), str(here)]
    logging.basicConfig(level=logging.ERROR)
    from proctree import MB, TreeSampler

    from ingest.jobs import sync_job

    # What a sync imports on first use, imported before the clock starts: the time is the sync's own,
    # as in bench/README.md's earlier rows; start-up is measured apart (bench/startup.py, and scale.py
    # prints each sync process's whole wall time).
    for module in ("ingest.pipeline", "ingest.memo", "connectors.google_api", "connectors.google_sheets",
                   "connectors.google_drive", "connectors.google_forms", "googleapiclient.discovery", "gspread"):
        importlib.import_module(module)
    rss_start = peak_rss_mb()
    started = time.perf_counter()
    # The inspection workers run under a forkserver child of this process: sample the whole tree.
    profile = os.environ.get("TIDTAM_PROFILE")  # a path: the sync's cProfile stats are dumped there
    # Every 0.1 s at most, not the sampler's default 0.02 s, and less often as the processes grow (its
    # `share`): the sampler is a thread of the sync itself, and reading smaps_rollup of a process holding
    # 1 GB takes the kernel milliseconds; at 0.02 s it cost the first sync at 928 districts ~9 s of
    # system time and GIL turns (strace, 6 Dec). Peak RSS is exact either way (VmHWM); the tree's PSS
    # peak is a sample.
    with TreeSampler(os.getpid(), interval=0.1) as tree:
        if profile:
            import cProfile

            with cProfile.Profile() as profiler:
                _, report = sync_job(config, as_of=as_of, full=full)
            profiler.dump_stats(profile)
        else:
            _, report = sync_job(config, as_of=as_of, full=full)
    seconds = time.perf_counter() - started
    counts = report.computed.counts
    print(json.dumps({"outcome": report.outcome, "inspected": report.inspected_files, "seconds": seconds,
                      "responses": counts.get("responses", 0), "files": counts.get("files", 0),
                      "problems": counts.get("problems", 0), "rss_start_mb": rss_start,
                      "peak_rss_mb": peak_rss_mb(), "peak_tree_pss_mb": tree.peak_pss / MB,
                      "cpu_tree_s": tree.cpu,  # the sync's CPU seconds, its inspection workers' included
                      "sampler_s": tree.spent,  # of the sync's wall time, what its memory sampler took
                      "pandas_imported": "pandas" in sys.modules}))


if __name__ == "__main__":
    main()
