"""API calls per method for a full and a no-change sync of the 76-province demo on Google backends
(and a later full re-read, when every file's facts are already cached).

Runs the real client libraries against the local Workspace emulator (no network):
    uv run python bench/google_calls.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.emulator when run as a script

from ingest.demo import DEMO_AS_OF  # noqa: E402
from ingest.jobs import sync_job  # noqa: E402
from tests.emulator import Emulator  # noqa: E402
from tests.google_workspace import seed_demo  # noqa: E402

# A no-change sync: the responses and the changes feed (one read each), the coordinators' review
# columns (one values.batchGet, issue 15; 3 calls before it) and one values.batchUpdate of the run log.
NO_CHANGE_BOUND = 4


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, Emulator() as emu:
        workspace = seed_demo(emu, Path(tmp))
        columns: dict[str, dict[str, int]] = {}
        runs = (("first full sync", True), ("no-change sync", False), ("daily full sync", True))
        for label, full in runs:
            emu.reset_counts()
            started = time.perf_counter()
            _, report = sync_job(workspace.config, as_of=DEMO_AS_OF, full=full)
            seconds = time.perf_counter() - started
            columns[label] = dict(emu.counts)
            print(f"{label}: {report.outcome}, {len(report.tables.responses)} responses, "
                  f"{len(report.tables.files)} files, {report.inspected_files} downloaded, {seconds:.1f} s")
        assert emu.violations == [], emu.violations
    no_change = sum(v for k, v in columns["no-change sync"].items() if k != "oauth2.token")
    assert no_change <= NO_CHANGE_BOUND, f"a no-change sync made {no_change} calls, over the bound {NO_CHANGE_BOUND}"
    methods = sorted({m for counts in columns.values() for m in counts})
    total = "total (without token refreshes)"
    width = max(len(total), *(len(m) for m in methods))
    print(f"\n{'method':<{width}}  " + "  ".join(f"{label:>16}" for label in columns))
    for method in methods:
        print(f"{method:<{width}}  " + "  ".join(f"{counts.get(method, 0):>16}" for counts in columns.values()))
    totals = [sum(v for k, v in counts.items() if k != "oauth2.token") for counts in columns.values()]
    print(f"{total:<{width}}  " + "  ".join(f"{t:>16}" for t in totals))
    with_tokens = [sum(counts.values()) for counts in columns.values()]
    print(f"{'total (with token requests)':<{width}}  " + "  ".join(f"{t:>16}" for t in with_tokens))


if __name__ == "__main__":
    main()
