"""Memory and time of a sync that meets hostile uploads (issue 13): peak RSS of the whole process tree.

Writes the demo workspace (76 provinces, local_folder uploads), syncs it once as it is (the reference),
then adds hostile uploads to eight provinces and syncs a copy of it, each sync a `python -m ingest sync
--full` subprocess whose process tree (the sync and its inspection workers) is sampled from /proc every
20 ms. Scenarios:
  issue   the issue's files: eight records with four 19 MB XML parts each (a ~16 MB .docx compressing
          only ~5:1, so it met every old cap) and eight 110-megapixel PNGs
  within  the largest the new caps let through: records with three 3.6 MB parts of short runs (all XML
          11.6 MB, under the 12 MB cap) and eight 48-megapixel PNGs (under the 50 MP decode cap)
Prints per sync: wall time, peak RSS and PSS summed over the tree, the largest single process, the verdict on
each hostile file, and whether every other file got the same facts as in the reference.

    uv run python bench/hostile_memory.py --scenario issue
    uv run python bench/hostile_memory.py --scenario within
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from docx_corpus import bloated_record  # noqa: E402
from proctree import MB, TreeSampler  # noqa: E402

from ingest.demo import write_demo  # noqa: E402

AS_OF = "2022-11-16T09:00"


def distinct(record: bytes, index: int) -> bytes:
    """The same package with one more tiny part, so eight uploads are eight different files (appending
    to the zip does not recompress the big parts)."""
    buffer = io.BytesIO(record)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"customXml/bench-copy-{index}.xml", f"<copy n='{index}'/>")
    return buffer.getvalue()


def big_png(width: int, height: int, seed: int) -> bytes:
    """A valid RGB PNG of width x height written row by row (never held decoded): a gradient row
    repeated, so a 110 MP image is a few hundred KB, like the issue's."""
    row = b"\x00" + bytes((x * 7 + seed) % 256 for x in range(width * 3))
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def add_hostile(uploads: Path, scenario: str) -> dict[str, str]:
    """Eight records and eight PNGs in sixteen provinces' folders; returns file id -> kind."""
    if scenario == "issue":
        record = bloated_record(19 * MB, parts=4)
        png_size = (12_000, 9_200)  # 110.4 MP
    else:
        record = bloated_record(int(3.6 * MB), parts=3)
        png_size = (8_064, 6_048)  # 48.8 MP, an iPhone's largest
    print(f"hostile record: {len(record) / MB:.1f} MB packed; PNG {png_size[0]}x{png_size[1]}", flush=True)
    folders = sorted(p for p in uploads.iterdir() if p.is_dir())
    hostile = {}
    for i, folder in enumerate(folders[:8]):
        path = folder / f"แบบบันทึก_เพิ่มเติม_{i}.docx"
        path.write_bytes(distinct(record, i))
        hostile[path.relative_to(uploads).as_posix()] = "record"
    for i, folder in enumerate(folders[8:16]):
        (folder / "ภาพถ่าย").mkdir(exist_ok=True)
        path = folder / "ภาพถ่าย" / f"ภาพใหญ่_{i}.png"
        path.write_bytes(big_png(*png_size, seed=i))
        hostile[path.relative_to(uploads).as_posix()] = "png"
    return hostile


def measured_sync(config: Path) -> dict[str, float]:
    """One `sync --full` in a subprocess; its tree's RSS and PSS are summed every 20 ms. The inspection
    workers are forked from a forkserver that is a child of the sync, so they are in its tree."""
    command = [sys.executable, "-m", "ingest", "sync", "--config", str(config), "--as-of", AS_OF, "--full"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with TreeSampler(process.pid) as sampled:
        output, _ = process.communicate()
        wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"sync failed ({process.returncode}):\n{output}")
    print(output.strip().splitlines()[-2] if output.strip() else "", flush=True)
    return {"wall_s": round(wall, 1), "peak_tree_rss_mb": round(sampled.peak_rss / MB),
            "peak_tree_pss_mb": round(sampled.peak_pss / MB), "peak_process_rss_mb": round(sampled.peak_one / MB),
            "processes": len(sampled.processes)}


def facts_by_file(state: Path) -> dict[str, dict]:
    with sqlite3.connect(state) as db:
        return {file_id: json.loads(text) for file_id, text in db.execute("SELECT file_id, facts FROM file_facts")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("issue", "within"), default="issue")
    parser.add_argument("--dir", type=Path, help="work here instead of a temporary folder")
    parser.add_argument("--skip-reference", action="store_true", help="only the hostile sync")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="tidtam-hostile-"))
    reference_root = write_demo(work / "reference").root
    hostile_root = work / "hostile"
    shutil.copytree(reference_root, hostile_root)
    results = {}
    if not args.skip_reference:
        print("reference sync (the demo as it is)", flush=True)
        results["reference"] = measured_sync(reference_root / "config.yaml")
        print(results["reference"], flush=True)
    hostile = add_hostile(hostile_root / "uploads", args.scenario)
    print(f"hostile sync ({args.scenario}): {len(hostile)} hostile uploads", flush=True)
    results["hostile"] = measured_sync(hostile_root / "config.yaml")
    print(results["hostile"], flush=True)
    facts = facts_by_file(hostile_root / "tidtam-state.sqlite")
    verdicts = Counter()
    for file_id, kind in hostile.items():
        violations = facts.get(file_id, {}).get("violations", [])
        verdicts[(kind, tuple((v["code"], v["reason_th"]) for v in violations))] += 1
    for (kind, violations), count in sorted(verdicts.items()):
        print(f"  {count} x {kind}: {violations or 'valid'}")
    if not args.skip_reference:
        reference = facts_by_file(reference_root / "tidtam-state.sqlite")
        same = sum(facts.get(i) == f for i, f in reference.items())
        print(f"other files with the same facts as the reference: {same} of {len(reference)}")


if __name__ == "__main__":
    main()
