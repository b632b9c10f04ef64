"""Issue 11's first "done when": the demo campaign read from ISO timestamps and from a real Forms
download (.csv and .zip, Thai header) gives the same status for every unit and deliverable."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta

import pytest

from connectors.base import FormResponse
from connectors.forms_export import FormsExportSource
from connectors.local_folder import LocalFolderSource
from ingest.collect import collect
from ingest.collected import Collected
from ingest.config import load_campaign
from ingest.demo import write_demo
from ingest.demo_forms import forms_csv_bytes, forms_stamp, read_forms_download
from ingest.forms_time import parse_forms_timestamp
from ingest.normalize import normalize
from ingest.state import StateStore
from ingest.status import evaluate
from ingest.thaidate import BANGKOK

ON_TIME = datetime(2022, 11, 7, 23, 59, 59, tzinfo=BANGKOK)  # the due day's last second: "11:59:59 PM"
LATE = datetime(2022, 11, 8, 0, 0, 0, tzinfo=BANGKOK)  # the next day's first: "12:00:00 AM"
AS_OF = [datetime(2022, 11, 7, 12, 0, tzinfo=BANGKOK), ON_TIME, LATE, datetime(2022, 11, 8, 12, 0, tzinfo=BANGKOK),
         datetime(2022, 11, 12, 17, 0, tzinfo=BANGKOK), datetime(2022, 11, 16, 9, 0, tzinfo=BANGKOK)]


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """The demo's responses, two of them moved to the deadline's edges, written three ways."""
    root = tmp_path_factory.mktemp("equality")
    demo = write_demo(root)
    header, rows = read_forms_download(demo.export.read_bytes())
    complete = sorted(code for code, (q, _) in demo.scenarios.items() if q == "complete")
    edge_units = {complete[0]: ON_TIME, complete[1]: LATE}
    for code, moment in edge_units.items():
        # The unit's 10th response (its last e-mail, p<code>09@) decides complete or late.
        (row,) = [r for r in rows if r[1] == f"p{code}09@example.com"]
        row[0] = forms_stamp(moment)
    assert {r[0] for r in rows if r[1] in {f"p{c}09@example.com" for c in edge_units}} == {
        "2022/11/07 11:59:59 PM GMT+7", "2022/11/08 12:00:00 AM GMT+7"}
    iso_rows = [[_iso(r[0]), *r[1:]] for r in rows]
    paths = {"iso.csv": root / "iso.csv", "forms.csv": root / "forms.csv", "forms.csv.zip": root / "forms.csv.zip"}
    paths["iso.csv"].write_bytes(forms_csv_bytes(header, iso_rows))
    paths["forms.csv"].write_bytes(forms_csv_bytes(header, rows))
    with zipfile.ZipFile(paths["forms.csv.zip"], "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("แบบสอบถาม.csv", forms_csv_bytes(header, rows))
    return demo, edge_units, paths


def _iso(stamp: str) -> str:
    return parse_forms_timestamp(stamp).isoformat()


def _statuses(campaign, responses: list[FormResponse], uploads: Collected, as_of: datetime) -> dict:
    collected = Collected(responses={"questionnaire_form": responses}, files=uploads.files, facts=uploads.facts,
                          routes=uploads.routes)
    evaluation = evaluate(campaign, normalize(campaign, collected).items, as_of)
    return {(u.code, d): s.status for u in evaluation.units for d, s in u.deliverables.items()}


def test_iso_and_real_forms_downloads_give_identical_statuses(variants, tmp_path):
    demo, edge_units, paths = variants
    campaign = load_campaign(demo.config)
    state = StateStore(tmp_path / "state.sqlite")
    try:
        uploads = collect(campaign, {}, {"uploads": LocalFolderSource(demo.root / "uploads")}, state, workers=1)
    finally:
        state.close()
    batches = {name: FormsExportSource(path).responses() for name, path in paths.items()}
    assert all(not b.problems and len(b.responses) == len(batches["iso.csv"].responses) for b in batches.values())
    compared = 0
    for as_of in AS_OF:
        reference = _statuses(campaign, list(batches["iso.csv"].responses), uploads, as_of)
        assert len(reference) == 76 * 3
        for name in ("forms.csv", "forms.csv.zip"):
            assert _statuses(campaign, list(batches[name].responses), uploads, as_of) == reference, (name, as_of)
            compared += len(reference)
    assert compared == 2 * 76 * 3 * len(AS_OF)  # 2736 unit × deliverable × as-of comparisons
    on_time, late = edge_units
    after = _statuses(campaign, list(batches["forms.csv.zip"].responses), uploads, AS_OF[4])
    assert (after[(on_time, "questionnaire")], after[(late, "questionnaire")]) == ("complete", "late")
    # One second before the late response arrives, that unit is still short of its 10th.
    before = _statuses(campaign, list(batches["forms.csv"].responses), uploads, LATE - timedelta(seconds=1))
    assert (before[(on_time, "questionnaire")], before[(late, "questionnaire")]) == ("complete", "partial")
