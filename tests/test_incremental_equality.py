"""Issue 17: a sync that keeps what the previous run computed must give exactly what a from-scratch run of
the same inputs gives, cell by cell. Seeded random sequences of changes, review decisions, clock moves and
syncs (tests/incremental_runs.py says what a sequence does and what "the same inputs" are): 100 here and
100 in test_incremental_equality_more.py on the .xlsx warehouse (two files, so `--dist loadfile` runs them
side by side), and 40 in test_incremental_equality_sheets.py on a Sheets warehouse in the emulator."""

from __future__ import annotations

import pytest
from incremental_runs import run_sequence


@pytest.mark.parametrize("seed", range(0, 50))
def test_xlsx_sequences_a(tmp_path, seed):
    run_sequence(tmp_path, seed)


@pytest.mark.parametrize("seed", range(50, 100))
def test_xlsx_sequences_b(tmp_path, seed):
    run_sequence(tmp_path, seed)

