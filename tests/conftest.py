"""Suite-wide settings: a bytecode cache for every Python process the tests start."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
