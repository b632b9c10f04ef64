"""Suite-wide settings (a bytecode cache for every Python process the tests start) and the demo workspace
shared by the modules that start from it."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest

# Where PYTHONDONTWRITEBYTECODE is set (this machine's shell sets it), every Python process the suite
# starts — `tidtam` subprocesses, the forkserver of the inspection workers — compiled pandas, googleapiclient
# and ingest from source again: measured 6.5 s of CPU per start against 2.2 s with cached bytecode, the
# largest single cost of the subprocess tests. The cache goes under .pytest_cache (git-ignored), not beside
# the sources, which is what the setting guards against; a PYTHONPYCACHEPREFIX already set is kept.
if sys.dont_write_bytecode and not os.environ.get("PYTHONPYCACHEPREFIX"):
    _PREFIX = str(Path(__file__).resolve().parent.parent / ".pytest_cache" / "pycache")
    sys.pycache_prefix = _PREFIX
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = _PREFIX
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory) -> tuple[Path, str]:
    """`tidtam demo` run once for the whole session: (its folder, what it printed). The first sync of a
    fresh demo inspects all 407 uploads (~25 s of CPU here), so the modules that start from a synced demo
    share this one. Read-only: copy it (`shutil.copytree`) before changing or syncing it. Under
    pytest-xdist the workers share it too: the first to get the lock builds it, the others wait."""
    from click.testing import CliRunner

    from ingest.cli.main import cli

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root, printed = shared / "demo-session", shared / "demo-session.out"
    with open(shared / "demo-session.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not printed.exists():
            result = CliRunner().invoke(cli, ["demo", "--dir", str(root)])
            assert result.exit_code == 0, result.output
            printed.write_text(result.output, encoding="utf-8")
    return root, printed.read_text(encoding="utf-8")
