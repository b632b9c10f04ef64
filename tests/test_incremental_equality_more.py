"""More sequences of tests/test_incremental_equality.py (a second file so pytest-xdist's `--dist loadfile`
spreads them over two workers)."""

from __future__ import annotations

import pytest
from incremental_runs import run_sequence


@pytest.mark.parametrize("seed", range(100, 150))
def test_xlsx_sequences_c(tmp_path, seed):
    run_sequence(tmp_path, seed)


@pytest.mark.parametrize("seed", range(150, 200))
def test_xlsx_sequences_d(tmp_path, seed):
    run_sequence(tmp_path, seed)
