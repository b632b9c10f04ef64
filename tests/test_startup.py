"""`tidtam --help` and every command's `--help` load only click: the heavy libraries are imported by the
commands that use them, when they run (issue 17: start-up). Checked by what a fresh interpreter has in
`sys.modules`, not by timing it; bench/startup.py measures the time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The libraries that dominated `python -X importtime -m ingest --help` before (bench/startup.py).
HEAVY = ("pandas", "numpy", "googleapiclient", "google.auth", "google.oauth2", "gspread", "openpyxl", "PIL",
         "docx", "lxml", "jinja2", "apscheduler", "rich", "pydantic", "yaml", "rapidfuzz")

# Imports the CLI, optionally asks every command for its help, and prints the commands and the heavy modules.
PROBE = """
import contextlib, io, json, sys
from ingest.cli.main import cli
asked = []
if sys.argv[1] == "help":
    for args in [["--help"]] + [[name, "--help"] for name in sorted(cli.commands)]:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = cli.main(args, standalone_mode=False)
        assert code == 0 and "Usage:" in out.getvalue(), (args, code, out.getvalue())
        asked.append(args[0])
heavy = json.loads(sys.argv[2])
print(json.dumps([asked, sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))]))
"""


def _probe(mode: str) -> tuple[list[str], list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode, json.dumps(HEAVY)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    asked, heavy = json.loads(done.stdout)
    return asked, heavy


def test_importing_the_cli_loads_no_heavy_library():
    assert _probe("import") == ([], [])


def test_every_commands_help_loads_no_heavy_library():
    asked, heavy = _probe("help")
    assert {"--help", "alerts", "demo", "doctor", "serve", "status", "sync"} <= set(asked)
    assert heavy == []
