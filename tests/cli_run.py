"""`tidtam ARGS` through the real entry point (ingest.cli.main.main), where errors become messages and
exit codes: what a person sees, for tests that check the message rather than a traceback."""

from __future__ import annotations

import sys

import pytest

from ingest.cli.main import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The exit code and everything printed (stderr then stdout), whitespace folded to single spaces."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["tidtam", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, " ".join((captured.err + captured.out).split())
