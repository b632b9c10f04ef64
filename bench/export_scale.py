"""Time and size of `tidtam export` on bench/scale.py's generated campaigns (issue 16).

Seeds the campaign into the Workspace emulator (bench/scale_workspace.py), syncs it once, then exports
twice: the first export downloads every counted photo from the emulated Drive (and caches it by
content), the second reads the cache only. Both must give the same files (apart from the manifest's
exported_at).

    uv run python bench/export_scale.py --scale district
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.emulator when run as a script
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_workspace import AS_OF, seed_scale  # noqa: E402

from ingest.config import load_campaign  # noqa: E402
from ingest.export.run import export  # noqa: E402
from ingest.jobs import sync_job  # noqa: E402
from tests.emulator import Emulator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["province", "district", "subdistrict"], default="district")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, Emulator() as emu:
        started = time.perf_counter()
        workspace = seed_scale(emu, Path(tmp) / args.scale, args.scale)
        print(f"[{args.scale}] {len(workspace.units):,} units, {workspace.responses:,} responses, "
              f"{workspace.files:,} files seeded in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        sync_job(workspace.config, as_of=AS_OF, full=True, email=False)
        print(f"[{args.scale}] sync {time.perf_counter() - started:.0f} s", flush=True)
        campaign = load_campaign(workspace.config)
        outputs = []
        for attempt in ("first (downloads photos)", "second (photo cache)"):
            out = Path(tmp) / f"export-{len(outputs)}"
            started = time.perf_counter()
            report = export(campaign, out)
            seconds = time.perf_counter() - started
            outputs.append(out)
            print(f"[{args.scale}] export {attempt}: {seconds:.1f} s, {len(report.files):,} files, "
                  f"{report.size / 2**20:.1f} MiB; {report.counts}", flush=True)
        same = all((outputs[0] / p.relative_to(outputs[1])).read_bytes() == p.read_bytes()
                   for p in outputs[1].rglob("*") if p.is_file() and p.name != "manifest.json")
        print(f"[{args.scale}] both exports byte-identical apart from the manifest: {same}")


if __name__ == "__main__":
    main()
