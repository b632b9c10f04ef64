"""Time and peak memory to check the 76 provinces' focus-group records (one per pilot district).

    uv run python bench/bench_docx.py [--hostile]

The records are generated in a child process (every template style in turn) and written to a
temporary folder, so this process's peak RSS is imports + the files + checking them, not
python-docx building them. `--hostile` also times the rule-break corpus (tests/docx_corpus.py).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import geothai

from ingest.campaign import DocumentRules
from ingest.file_checks import inspect_document
from ingest.record.template import CONSENT_PATTERN, FOCUS_GROUP_PARTS, STYLES, make_record_docx

RULES = DocumentRules(consent_pattern=CONSENT_PATTERN, min_text_chars=2000, record_parts=FOCUS_GROUP_PARTS,
                      require_all_answers=True)


def generate(folder: Path) -> None:
    # Bangkok has no pilot district: 77 provinces, 76 units. File names are ours.
    provinces = [p for p in geothai.provinces() if p.code != "10"]
    for i, province in enumerate(provinces):
        content = make_record_docx(province.name_th, style=STYLES[i % len(STYLES)])
        (folder / f"{province.code}.docx").write_bytes(content)


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def check(files: list[bytes]) -> tuple[float, list[float], int, int]:
    """Wall time, per-file times, tracemalloc peak (bytes), invalid count."""
    times = []
    invalid = 0
    tracemalloc.start()
    started = time.perf_counter()
    for content in files:
        t0 = time.perf_counter()
        invalid += not inspect_document(content, RULES).valid
        times.append(time.perf_counter() - t0)
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return wall, times, peak, invalid


def report(label: str, files: list[bytes]) -> None:
    wall, times, peak, invalid = check(files)
    ordered = sorted(times)
    print(f"{label}: {len(files)} files, {sum(map(len, files)) / 1024:.0f} KiB, {invalid} invalid")
    print(f"  traced wall {wall:.2f} s, median {ordered[len(ordered) // 2] * 1000:.1f} ms, "
          f"max {ordered[-1] * 1000:.1f} ms; tracemalloc peak {peak / 1024 / 1024:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hostile", action="store_true", help="also time the rule-break corpus")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args()
    if args.generate:
        generate(args.generate)
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, __file__, "--generate", tmp], check=True)
        files = [path.read_bytes() for path in sorted(Path(tmp).glob("*.docx"))]
    rss_before = max_rss_mib()
    print(f"{len(files)} records in {len(STYLES)} template styles, rules: consent, >= {RULES.min_text_chars} "
          f"characters, no pictures, all 20 answers")
    # Untraced first: the time a scheduled job sees (tracemalloc slows allocation-heavy code).
    started = time.perf_counter()
    for content in files:
        inspect_document(content, RULES)
    wall = time.perf_counter() - started
    print(f"untraced wall {wall:.2f} s ({wall / len(files) * 1000:.1f} ms per record), peak RSS "
          f"{max_rss_mib():.0f} MiB (after imports and loading the files: {rss_before:.0f} MiB)")
    report("records", files)
    print(f"peak RSS {max_rss_mib():.0f} MiB (tracemalloc's own bookkeeping included)")
    if args.hostile:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from docx_corpus import RULE_CASES

        report("rule-break corpus", [c.build() for c in RULE_CASES])
        print(f"peak RSS {max_rss_mib():.0f} MiB (corpus generation included)")


if __name__ == "__main__":
    main()
