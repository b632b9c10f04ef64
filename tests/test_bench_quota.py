"""bench/quota.py: the time the documented per-user quotas alone force, on hand-computed cases."""

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("bench_quota", Path(__file__).resolve().parent.parent / "bench" / "quota.py")
assert _spec and _spec.loader
quota = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = quota  # dataclasses look their module up there
_spec.loader.exec_module(quota)

# The sub-district first full sync as recorded in bench/results/subdistrict.json (issue 13 run).
FIRST = {"drive.changes.getStartPageToken": 1, "drive.files.get": 1, "drive.files.get (download)": 52161,
         "drive.files.list": 504, "forms.forms.get": 1, "forms.forms.responses.list": 15,
         "sheets.spreadsheets.batchUpdate": 1, "sheets.spreadsheets.get": 1,
         "sheets.spreadsheets.values.batchUpdate": 130}


def test_window():
    assert quota.window_seconds(0, 60) == 0
    assert quota.window_seconds(60, 60) == 0      # one window's worth starts at once
    assert quota.window_seconds(61, 60) == 60
    assert quota.window_seconds(121, 60) == 120


def test_first_sync_current_rates():
    # Drive 52,667 requests at 325,000/min: floor(52,666 / 325,000) = 0 min. Forms 1 and 15 reads, Sheets
    # 1 read: 0. Sheets writes 1 + 130 = 131 at 60/min: floor(130 / 60) = 2 min. Sum: 0 + 120 s.
    assert quota.quota_bound_seconds(FIRST) == 120


def test_first_sync_legacy_rates():
    # Drive at 12,000/min: floor(52,666 / 12,000) = 4 min = 240 s; then the writes' 120 s.
    assert quota.quota_bound_seconds(FIRST, quota.LEGACY) == 360


def test_reads_overlap_writes_add():
    calls = {"forms.forms.responses.list": 181, "sheets.spreadsheets.values.batchGet": 121,
             "sheets.spreadsheets.values.batchUpdate": 61}
    # Reads: max(60 s for 181 expensive Forms reads at 180/min, 120 s for 121 Sheets reads) = 120 s;
    # then 61 writes: 60 s.
    assert quota.quota_bound_seconds(calls) == 180


def test_unknown_call_refused():
    with pytest.raises(ValueError, match="gmail"):
        quota.quota_bound_seconds({"gmail.users.messages.send": 1})
