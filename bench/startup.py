"""Start-up time of the command line (issue 17): wall time of `python -m ingest ...` over N runs, and the
imports that cost the most (`python -X importtime`: the packages, by cumulative time).

Usage: uv run python bench/startup.py [--runs 5] [--config tidtam-demo/config.yaml]

Without --config it times `tidtam --help` and `tidtam status --help`; with a synced campaign's config it
also times `tidtam status --config ... --format json` (which loads pandas: status.py and normalize.py use it).
The interpreter is called directly: `uv run` adds its own start-up (it checks the environment) on top.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall_times(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def top_imports(args: list[str], count: int) -> list[tuple[float, str]]:
    """The packages (top-level names, wherever first imported) by cumulative import time, in seconds."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "ingest", *args], cwd=ROOT, check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if "." not in name:  # a package's cumulative time includes its submodules
            rows.append((int(cumulative) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--config", type=Path, default=None, help="a synced campaign, to time `status` too")
    args = parser.parse_args()
    commands = [["--help"], ["status", "--help"]]
    if args.config:
        commands.append(["status", "--config", str(args.config.resolve()), "--format", "json"])
    _report("python -c pass (the interpreter alone)", wall_times([sys.executable, "-c", "pass"], args.runs))
    for command in commands:
        label = "tidtam " + " ".join("…" if part == str(args.config and args.config.resolve()) else part
                                     for part in command)
        _report(label, wall_times([sys.executable, "-m", "ingest", *command], args.runs))
        for seconds, name in top_imports(command, args.top):
            print(f"    {seconds:6.3f} s  {name}")


def _report(label: str, times: list[float]) -> None:
    print(f"{label:<44} median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}) "
          f"over {len(times)} runs")


if __name__ == "__main__":
    main()
