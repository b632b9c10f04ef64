"""Issue 17's equality of incremental and from-scratch syncs (tests/incremental_runs.py) on a Sheets warehouse
in the emulator: the backend whose unchanged tabs an incremental sync skips by their fingerprints
(ingest.memo.tab_keys), and whose review columns a fresh state must read from a spreadsheet it never
wrote (connectors/google_sheets.py `read_edits`). The four sequences that ran here before passed while a
fresh state ignored typed decisions, which 16 of these 40 catch, so 40 run (about 0.5 s each)."""

from __future__ import annotations

import pytest
from incremental_runs import SheetsBoard, run_sequence

from tests.emulator import Emulator


@pytest.mark.parametrize("seed", range(1000, 1040))
def test_sheets_sequences(tmp_path, seed):
    with Emulator() as emu:
        run_sequence(tmp_path, seed, SheetsBoard(tmp_path, emu), length=6)
        assert emu.violations == []


@pytest.mark.parametrize("seed", range(2000, 2040))
def test_sheets_sequences_in_pieces_of_three_rows(tmp_path, seed, monkeypatch):
    """The same with the tidy tabs' rows keyed by pieces of three (ingest.publish.analyst.piece_keys): the
    tabs hold a few dozen rows, so most pieces stay as they were from one sync to the next and the writer
    keeps their digests (connectors/google_sheets.py `_piece_digests`); every sync is still compared cell
    by cell with a fresh one."""
    from ingest.publish import analyst

    monkeypatch.setattr(analyst, "ROWS_AT_ONCE", 3)
    with Emulator() as emu:
        run_sequence(tmp_path, seed, SheetsBoard(tmp_path, emu), length=6)
        assert emu.violations == []
