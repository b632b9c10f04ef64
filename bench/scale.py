"""API calls, time and memory per sync at 76 provinces, 928 districts and 7,436 sub-districts.

Generates the campaign at one scale (bench/scale_workspace.py), serves it from the Workspace emulator
with a fixed latency added to every request, and measures four scenarios, each sync in a fresh
process (so its peak RSS is tidtam's alone, not the emulator's):
  first   first full sync (everything listed, downloaded, inspected and written)
  nochange  incremental sync with nothing new
  changed   incremental sync after 1% of units uploaded a photo and sent two responses
  full    full reconciliation (everything listed again; file facts come from the state cache)
then the naive baseline (bench/baseline.py), in the same run against the same emulator.

    uv run python bench/scale.py --scale province --latency 0.05
    uv run python bench/scale.py --scale subdistrict --latency 0.05 --baseline-sample 300

Results go to stdout and to bench/results/<scale>.json.

The lower bound of calls for a scenario's work (`lower_bound` below) counts what any client must ask:
  * Forms: `forms.get` on a full read (question titles), then responses pages of 5,000;
    an incremental read is one filtered page per 5,000 new responses.
  * Drive, full read: `changes.getStartPageToken` once, and per level of the folder tree
    max(ceil(items on the level / 1000), ceil(folders on the level / P)), where P is how many
    `'<id>' in parents` clauses fit in one files.list GET under Google's 2,048-character URL limit
    (computed with real 33-character ids and the fewest fields that attribute a file; a folder's
    children can be found no other way). Incremental: ceil(changes / 1000) `changes.list` pages.
  * Downloads: each file version whose facts are not known yet (all files on a first sync; the new
    ones after changes; none on a reconciliation, whose versions were all inspected before).
  * Sheets: on the first write, one layout read, ceil(bytes of the layout requests / 2 MB) structure
    batchUpdates (tabs, formats and the tracking tab's links: 8.1 MB at 7,436 units, and Google refuses
    a body over 10 MiB) and ceil(bytes of all values / 2 MB) value writes (one values.batchUpdate takes
    every tab, so this is stricter than "one write per tab"); later syncs one value write (the run log
    always changes). The layout's bytes are tidtam's own requests: a client that linked fewer cells
    would need fewer calls.
OAuth token requests are left out of both sides.

The quota-bound time of a scenario (bench/quota.py) is the least wall time Google's documented per-user
rate limits alone allow for the calls the scenario made: Forms, Drive and Sheets reads overlap (max),
the Sheets writes follow them (sum), each pool a rolling one-minute window at the rate of a project
created now (Drive 325,000 units a minute, one unit a request assumed; Sheets 60 reads and 60 writes a
minute; Forms 390 reads and 180 `responses.list` a minute). The same figure at the older Drive rate
(12,000 a minute) and for the lower-bound calls is kept in the results too. "time ÷ quota-bound" is
left empty where the quotas force no time at all (fewer requests than one minute's allowance).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.emulator when run as a script
sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline import BaselineJob, BaselineResult, naive_sync  # noqa: E402
from quota import CURRENT, LEGACY, quota_bound_seconds  # noqa: E402
from scale_workspace import AS_OF, FORM_ID, SCALES, ScaleWorkspace, change_units, seed_scale  # noqa: E402

from tests.emulator import Emulator  # noqa: E402

FOLDER = "application/vnd.google-apps.folder"
SCENARIOS = (("first", "first full sync", True), ("nochange", "no-change sync", False),
             ("changed", "1% of units changed", False), ("full", "full reconciliation", True))
CELL_LIMIT = 10_000_000
URL_LIMIT = 2048  # googleapiclient turns a longer GET into a POST
MIN_FIELDS = "nextPageToken,files(id,name,mimeType,parents,md5Checksum,createdTime)"
RESULTS = Path(__file__).resolve().parent / "results"


def parents_per_query() -> int:
    """P: the most `'<id>' in parents` clauses one files.list GET can carry (33-character ids)."""
    from google.auth.credentials import AnonymousCredentials
    from googleapiclient.discovery import build

    files = build("drive", "v3", credentials=AnonymousCredentials(), static_discovery=True).files()
    fits = 1
    while True:
        query = "(" + " or ".join(f"'1{n:032d}' in parents" for n in range(fits + 1)) + ") and trashed = false"
        request = files.list(q=query, pageSize=1000, fields=MIN_FIELDS, supportsAllDrives=True,
                             includeItemsFromAllDrives=True)
        if len(request.uri) > URL_LIMIT:
            return fits
        fits += 1


def tree_levels(emu: Emulator, root: str) -> list[tuple[int, int]]:
    """(folders listed, items returned) per level of the tree under `root`."""
    children: dict[str, list[Any]] = {}
    for item in emu.drive.files.values():
        if not item.trashed:
            for parent in item.parents:
                children.setdefault(parent, []).append(item)
    levels, level = [], [root]
    while level:
        items = [c for f in level for c in children.get(f, [])]
        levels.append((len(level), len(items)))
        level = [c.id for c in items if c.mime_type == FOLDER]
    return levels


def lower_bound(scenario: str, *, responses: int, levels: list[tuple[int, int]], files: int, new_files: int,
                new_responses: int, value_bytes: int, per_query: int, layout_bytes: int = 0) -> dict[str, int]:
    if scenario in ("first", "full"):
        bound = {"forms.get": 1, "forms.responses.list": max(1, math.ceil(responses / 5000)),
                 "drive.changes.getStartPageToken": 1,
                 "drive.files.list": sum(max(math.ceil(items / 1000), math.ceil(folders / per_query), 1)
                                         for folders, items in levels)}
    else:
        bound = {"forms.responses.list": max(1, math.ceil(new_responses / 5000)),
                 "drive.changes.list": max(1, math.ceil(new_files / 1000))}
    bound["drive.files.get (download)"] = {"first": files, "changed": new_files}.get(scenario, 0)
    if scenario == "first":
        bound.update({"sheets.spreadsheets.get": 1,
                      "sheets.spreadsheets.batchUpdate": max(1, math.ceil(layout_bytes / 2_000_000)),
                      "sheets.spreadsheets.values.batchUpdate": max(1, math.ceil(value_bytes / 2_000_000))})
    else:
        # A later sync reads the coordinators' review columns first (issue 15: one values.batchGet), and
        # when rows are added to a reviewed tab (responses, files) it reads them again just before the
        # write: a coordinator may have typed or sorted the tab meanwhile, and rows added among theirs
        # must not land on their decisions (connectors/google_sheets.py `_keep_edits`).
        probe = 1 if scenario == "changed" and (new_files or new_responses) else 0
        bound.update({"sheets.spreadsheets.values.batchGet": 1 + probe, "sheets.spreadsheets.values.batchUpdate": 1})
    return bound


def _sync(config: str, full: bool) -> dict[str, Any]:
    """One tidtam sync in a fresh process (bench/sync_once.py, whose docstring says why not a
    multiprocessing child of this script)."""
    command = [sys.executable, str(Path(__file__).resolve().parent / "sync_once.py"), config, AS_OF.isoformat()]
    started, own_cpu = time.perf_counter(), _own_cpu()
    done = subprocess.run([*command, *(["--full"] if full else [])], capture_output=True, text=True, check=False,
                          env=_with_bytecode_cache(os.environ))
    process_seconds = time.perf_counter() - started
    # This process does nothing but serve the emulator while the sync runs: its CPU is the emulator's,
    # which shares the machine's cores with the sync (Google's servers would not).
    emulator_cpu_s = _own_cpu() - own_cpu
    if done.returncode != 0:
        raise SystemExit(f"sync failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    # process_seconds: the sync process's whole life, Python's start-up and tidtam's imports included.
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process_seconds": process_seconds,
            "emulator_cpu_s": emulator_cpu_s, "cores": os.cpu_count()}


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _with_bytecode_cache(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with a bytecode cache for the sync processes. Where PYTHONDONTWRITEBYTECODE is set
    (this machine's shell sets it) every sync compiled what it imports from source — pandas alone ≈1 s
    (`builtins.compile` in a profile of a changed sync at 928 districts) — so the bench measured the
    compiler, which an installed tidtam does not pay after its first run. The cache is the test suite's
    (tests/conftest.py: under .pytest_cache, git-ignored)."""
    if not env.get("PYTHONDONTWRITEBYTECODE") or env.get("PYTHONPYCACHEPREFIX"):
        return dict(env)
    prefix = Path(__file__).resolve().parent.parent / ".pytest_cache" / "pycache"
    return {**{k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPYCACHEPREFIX": str(prefix)}


def _in_child(fn: Any, *args: Any) -> Any:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _calls(emu: Emulator) -> Counter[str]:
    counts = Counter({k: v for k, v in emu.counts.items() if k != "oauth2.token"})
    downloads = sum(1 for r in emu.requests if r.method_id == "drive.files.get" and "media" in r.query.get("alt", []))
    if downloads:
        counts["drive.files.get (download)"] = downloads
        counts["drive.files.get"] -= downloads
        if not counts["drive.files.get"]:
            del counts["drive.files.get"]
    return counts


def run_scale(scale: str, latency: float, sample: int, full_below: int) -> dict[str, Any]:
    per_query = parents_per_query()
    with tempfile.TemporaryDirectory() as tmp, Emulator() as emu:
        started = time.perf_counter()
        workspace: ScaleWorkspace = seed_scale(emu, Path(tmp) / scale, scale)
        print(f"[{scale}] {len(workspace.units):,} units, {workspace.responses:,} responses, {workspace.files:,} files "
              f"generated and seeded in {time.perf_counter() - started:.0f} s", flush=True)
        emu.faults.add(None, latency=latency)
        result: dict[str, Any] = {"scale": scale, "units": len(workspace.units), "responses": workspace.responses,
                                  "files": workspace.files, "latency": latency, "parents_per_query": per_query,
                                  "scenarios": {}}
        value_bytes = layout_bytes = 0
        tabs: list[tuple[str, list[list[Any]]]] = []
        new_files = new_responses = 0
        for key, label, full in SCENARIOS:
            if key == "changed":
                changed = change_units(emu, workspace)
                new_files, new_responses = changed, 2 * changed
                result["changed_units"] = changed
            emu.reset_counts()
            run = _sync(str(workspace.config), full)
            calls = _calls(emu)
            assert not emu.violations, emu.violations[:3]
            book = workspace.spreadsheet_id
            if key == "first":
                tabs = [(t, rows) for t in emu.sheets.tabs(book) if (rows := emu.sheets.values(book, t))]
                value_bytes = sum(len(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()) for _, rows in tabs)
                # The layout as requested (tabs, formats, links), compact: what the fewest calls must carry.
                layout_bytes = sum(len(json.dumps(call.body["requests"], separators=(",", ":")).encode())
                                   for call in emu.calls("sheets.spreadsheets.batchUpdate"))
            bound = lower_bound(key, responses=workspace.responses, levels=tree_levels(emu, workspace.folder_id),
                                files=workspace.files, new_files=new_files, new_responses=new_responses,
                                value_bytes=value_bytes, per_query=per_query, layout_bytes=layout_bytes)
            cells = emu.sheets.cell_count(book)
            row = {"label": label, "calls": dict(sorted(calls.items())), "total": sum(calls.values()),
                   "bound": bound, "bound_total": sum(bound.values()), "cells": cells,
                   "tabs": {t: list(emu.sheets.grid_size(book, t)) for t in emu.sheets.tabs(book)}, **run}
            row["ratio"] = row["total"] / row["bound_total"]
            row["quota_rates"] = CURRENT.name
            row["quota_bound_s"] = quota_bound_seconds(calls)
            row["quota_bound_s_legacy"] = quota_bound_seconds(calls, LEGACY)
            row["quota_bound_s_of_bound_calls"] = quota_bound_seconds(bound)
            row["time_over_quota_bound"] = run["seconds"] / row["quota_bound_s"] if row["quota_bound_s"] else None
            result["scenarios"][key] = row
            print(f"[{scale}] {label}: {row['total']:,} calls (bound {row['bound_total']:,}, "
                  f"×{row['ratio']:.3f}), {run['seconds']:.1f} s ({run['process_seconds']:.1f} s with start-up), peak RSS {run['peak_rss_mb']:.0f} MB "
                  f"(with inspection workers, PSS {run['peak_tree_pss_mb']:.0f} MB), "
                  f"{run['inspected']:,} inspected, {cells:,} cells; {dict(sorted(calls.items()))}", flush=True)
            print(f"[{scale}] {label}: CPU {run['cpu_tree_s']:.1f} s in tidtam's processes (inspection workers "
                  f"included), {run['emulator_cpu_s']:.1f} s in the emulator, on {run['cores']} cores "
                  f"({(run['cpu_tree_s'] + run['emulator_cpu_s']) / (run['seconds'] * run['cores']):.0%} of them "
                  f"over the sync's {run['seconds']:.1f} s); the bench's memory sampler, a thread of the sync, "
                  f"took {run.get('sampler_s', float('nan')):.1f} s of it", flush=True)
            print(f"[{scale}] {label}: quota-bound time {row['quota_bound_s']:.0f} s for these calls, "
                  f"{_over(run['seconds'], row['quota_bound_s'])} ({CURRENT.name}); "
                  f"{row['quota_bound_s_legacy']:.0f} s at the older rate ({LEGACY.name}); "
                  f"{row['quota_bound_s_of_bound_calls']:.0f} s for the lower-bound calls", flush=True)
        result["baseline"] = asdict(_baseline(emu, workspace, tabs, workspace.responses + new_responses, sample,
                                              full_below))
    return result


def _baseline(emu: Emulator, workspace: ScaleWorkspace, tabs: list[tuple[str, list[list[Any]]]], responses: int,
              sample: int, full_below: int) -> BaselineResult:
    children: Counter[str] = Counter()
    for item in emu.drive.files.values():
        for parent in item.parents:
            children[parent] += 1
    folders = [(workspace.folder_id, children[workspace.folder_id])]
    folders += [(f.id, children[f.id]) for f in emu.drive.files.values()
                if f.mime_type == FOLDER and f.id != workspace.folder_id]
    files = [(f.id, f.mime_type) for f in emu.drive.files.values() if f.mime_type != FOLDER]
    job = BaselineJob(emu.base_url, FORM_ID, workspace.folder_id, emu.sheets.create(title="naive baseline"),
                      folders, files, tabs, responses)
    exact = 1 + math.ceil(job.responses / 5000) + sum(max(1, math.ceil(n / 100)) for _, n in folders) + len(files) \
        + 1 + len(tabs) + sum(len(r) for _, r in tabs)
    job.sample = None if exact <= full_below else sample
    emu.reset_counts()
    started = time.perf_counter()
    result: BaselineResult = _in_child(naive_sync, job)
    print(f"[{workspace.scale}] naive baseline: {result.calls:,} calls, {result.seconds:.0f} s"
          f"{' (extrapolated from a sample of ' + str(sample) + ' calls per phase)' if result.sampled else ''}, "
          f"peak RSS {result.peak_rss_mb:.0f} MB, ran {time.perf_counter() - started:.0f} s; "
          f"{dict(sorted(_calls(emu).items()))}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=[*SCALES, "all"], default="province")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request (default 0.05)")
    parser.add_argument("--baseline-sample", type=int, default=300,
                        help="calls per phase the baseline makes when a full run would exceed --baseline-full-below")
    parser.add_argument("--baseline-full-below", type=int, default=1000,
                        help="run the baseline in full when it needs at most this many calls (the emulator's "
                             "values.append copies the whole spreadsheet, so long append runs measure the emulator)")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    for scale in SCALES if args.scale == "all" else [args.scale]:
        result = run_scale(scale, args.latency, args.baseline_sample, args.baseline_full_below)
        (RESULTS / f"{scale}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        print(summary(result))


def _over(seconds: float, quota_s: float) -> str:
    """measured ÷ quota-bound, or why there is none."""
    return f"measured ÷ quota-bound {seconds / quota_s:.2f}" if quota_s else "no time forced by quotas"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def summary(result: dict[str, Any]) -> str:
    """The README's table rows for one scale."""
    base = result["baseline"]
    calls = sum(p["calls"] for p in base["phases"].values())
    seconds = sum(p["seconds"] if p["measured_calls"] >= p["calls"] else p["seconds"] / max(p["measured_calls"], 1)
                  * p["calls"] for p in base["phases"].values())
    sampled = any(p["measured_calls"] < p["calls"] for p in base["phases"].values())
    lines = []
    for row in result["scenarios"].values():
        # Computed from the recorded calls, so results written before the column existed get it too.
        quota_s = quota_bound_seconds(row["calls"])
        over = f"{row['seconds'] / quota_s:.2f}" if quota_s else "—"
        lines.append(
            f"| {result['scale']} ({result['units']:,}) | {row['label']} | {row['total']:,} | {row['bound_total']:,} | "
            f"{row['ratio']:.3f} | {row['seconds']:.1f} | {_seconds(row.get('process_seconds'))} | {quota_s:,.0f} | "
            f"{over} | {row['peak_rss_mb']:.0f} / {row.get('peak_tree_pss_mb', float('nan')):.0f} | "
            f"{row['cells']:,} "
            f"({row['cells'] / CELL_LIMIT:.1%}) | {calls:,} / {seconds:,.0f}{'*' if sampled else ''} | "
            f"{row['total'] / calls:.3f} | {row['seconds'] / seconds:.4f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
