"""Time and peak Python memory of `tidtam demo`: write the 76-province workspace and sync it once.

The numbers `tidtam demo` printed itself until issue 14 (the command no longer profiles itself):
wall time from writing the workspace to the end of the sync, and tracemalloc's peak (Python
allocations only, not the process's RSS; `bench/hostile_memory.py` measures RSS).

Usage: uv run python bench/demo_profile.py [--dir /tmp/tidtam-demo-profile] [--as-of 2022-11-16T09:00]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.jobs import demo_job  # noqa: E402
from ingest.thaidate import parse_datetime  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=Path("/tmp/tidtam-demo-profile"))
    parser.add_argument("--as-of", default=None, help="as `tidtam demo --as-of` [default: 12 Nov 2565 17:00]")
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)  # a fresh workspace: every file is inspected, as on a first run
    as_of = parse_datetime(args.as_of, end_of_day=True) if args.as_of else None

    started = time.perf_counter()
    tracemalloc.start()
    _, _, report = demo_job(args.dir, as_of=as_of)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"run {report.run_id}: {report.outcome}; {len(report.tables.responses)} responses, "
          f"{len(report.tables.files)} files ({report.inspected_files} inspected this run) "
          f"in {time.perf_counter() - started:.1f} s, peak Python memory {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
