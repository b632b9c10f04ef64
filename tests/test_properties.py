"""Generated inputs never end in a traceback, a hang or a run that writes nothing.

Each property builds a small workspace (four provinces, a Forms export, an upload folder, an xlsx
warehouse, an outbox), changes one input with hypothesis, and runs `tidtam sync` through the real
entry point (`ingest.cli.main.main`, where errors become exit codes). Every example must end as exit 0
with a warehouse written (problem rows allowed), exit 4 (degraded: the warehouse written, its run
marked so), or exit 2 with a message. Bounded for CI: derandomized, few examples each;
`pytest tests/test_properties.py --hypothesis-show-statistics` prints how many ran.

Text anywhere (answers, headers, config values, file and folder names) includes control characters,
lone surrogates and Thai typing quirks; Forms exports come both as Google's "Download responses"
`.csv.zip` and as a th_TH linked sheet's CSV; upload folders hold FIFOs, sockets and broken or looping
symlinks beside the files.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import logging
import os
import socket
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.cli.main import main
from ingest.config import campaign_from_mapping
from ingest.demo_forms import forms_csv_bytes, forms_download_zip, forms_stamp
from ingest.errors import ConfigError
from ingest.thaidate import BANGKOK
from tests.docx_corpus import image_bytes, valid_record

# An example that syncs costs ~1 s here (most of it starting the inspection worker processes), so the
# whole file stays near a minute; the pure config properties below run many more.
BOUNDED = settings(max_examples=12, phases=[Phase.explicit, Phase.reuse, Phase.generate], deadline=timedelta(seconds=60), derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ลำปาง has SARA AM (U+0E33), which PDF text layers and some fonts give as two characters (ingest/unit_text.py).
UNITS = [("95", "ยะลา"), ("94", "ปัตตานี"), ("96", "นราธิวาส"), ("52", "ลำปาง")]
HEADER = ["ประทับเวลา", "ที่อยู่อีเมล", "จังหวัด", "ชื่อ-นามสกุล", "ข้อเสนอแนะ"]
CONFIG: dict[str, Any] = {
    "campaign": {"id": "prop", "title": "ทดสอบ"},
    "units": {"file": "units.csv"},
    "sources": {"form": {"backend": "forms_export", "path": "exports/q.csv"},
                "uploads": {"backend": "local_folder", "path": "uploads"}},
    "deliverables": [
        {"id": "questionnaire", "title": "แบบสอบถาม", "source": "form", "kind": "response", "expected": 2,
         "due": "7 พ.ย. 2565", "unit_question": "จังหวัด", "dedupe_key": ["ชื่อ-นามสกุล"]},
        {"id": "record", "title": "แบบบันทึก", "source": "uploads", "kind": "document", "due": "15 พ.ย. 2565",
         "rules": {"consent_pattern": "ยินยอม"}},
        {"id": "photos", "title": "ภาพถ่าย", "source": "uploads", "kind": "photo", "expected": 2,
         "due": "15 พ.ย. 2565", "rules": {"min_width": 32}},
    ],
    "overrides": [{"unit": "96", "deliverable": "photos", "excused": True, "reason": "ทดสอบ"}],
    "warehouse": {"backend": "xlsx", "path": "warehouse.xlsx"},
    "state": {"path": "state.sqlite"},
    "mail": {"backend": "outbox", "outbox": "outbox", "sender": "ทีม <tidtam@example.go.th>",
             "coordinators": ["cdi@example.go.th"], "alerts": {"stages": [-3, -1, 1], "daily_budget": 100}},
}
# A Thai-locale Forms export writes d/m/yyyy (B.E.), h:mm:ss (the format ingest.demo writes and tests replay).
GOOD_ROWS = [["3/11/2565, 9:15:00", "a@example.com", "ยะลา", "สมชาย ใจดี", ""],
             ["4/11/2565, 10:00:00", "b@example.com", "ปัตตานี", "สมหญิง รักดี", "ขอบคุณ"]]


def linked_sheet_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """A th_TH linked sheet's CSV download. A lone surrogate in a cell becomes the bytes a broken
    exporter writes for it (CESU-style, not UTF-8): the file must then be refused with a message."""
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode("utf-8-sig", errors="surrogatepass")


def workspace(root: Path, *, config: Any = None, export: tuple[str, bytes] | None = None,
              uploads: dict[str, bytes] | None = None, odd: Sequence[tuple[str, str]] = ()) -> Path:
    with (root / "units.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["code", "name", "emails"], *[[c, n, f"cdd{c}@example.go.th"] for c, n in UNITS]])
    (root / "exports").mkdir()
    name, data = export or ("q.csv", linked_sheet_csv(HEADER, GOOD_ROWS))
    (root / "exports" / name).write_bytes(data)
    for upload, content in ({"ยะลา/แบบบันทึก.docx": RECORD, "ยะลา/1.png": PNG} if uploads is None else uploads).items():
        (root / "uploads" / upload).parent.mkdir(parents=True, exist_ok=True)
        (root / "uploads" / upload).write_bytes(content)
    (root / "uploads").mkdir(exist_ok=True)
    for where, kind in odd:
        odd_object(root / "uploads" / where, kind)
    if config is None:
        config = copy.deepcopy(CONFIG)
        config["sources"]["form"]["path"] = f"exports/{name}"
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def odd_object(path: Path, kind: str) -> None:
    """A filesystem object that is not a regular file or folder, as tests/mirror_corpus.py makes them
    (what rsync, a sync client or a crashed program leave in a mirrored upload folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        return
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":  # bound relatively: the path may exceed sun_path's 108 bytes
        here = os.getcwd()
        os.chdir(path.parent)
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
                server.bind(path.name)
        finally:
            os.chdir(here)
    elif kind == "broken":
        path.symlink_to(path.parent / "deleted-long-ago.jpg")
    elif kind == "self":
        path.symlink_to(path.name)
    elif kind == "loop":
        path.symlink_to(path.parent, target_is_directory=True)
    else:
        path.symlink_to("/dev/null")


RECORD = valid_record(province="ยะลา")
PNG = image_bytes("PNG", 64, 48)


def sync(config: Path) -> tuple[int, str]:
    """`tidtam sync --email` as a user runs it: (exit code, everything printed)."""
    out = io.StringIO()
    argv = ["tidtam", "sync", "--config", str(config), "--as-of", "2022-11-12T17:00", "--email"]
    handler = logging.StreamHandler(out)  # the CLI logs an unexpected error's traceback: keep it in the output
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        patch.setattr("sys.argv", argv)
        logging.getLogger().addHandler(handler)
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            logging.getLogger().removeHandler(handler)
    return code, out.getvalue()


def assert_clean_end(code: int, output: str, root: Path) -> None:
    assert "Traceback" not in output and "unexpected error" not in output, output
    assert code in (0, 2, 4), (code, output)
    if code in (0, 4):
        book = XlsxWarehouse(root / "warehouse.xlsx").read()
        outcomes = ("ok", "partial") if code == 0 else ("degraded",)
        assert book["runs"][-1][4] in outcomes and len(book["tracking"]) > len(UNITS), output
    else:
        assert "error" in output or "failed" in output, output


def run_in_workspace(**inputs: Any) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        code, output = sync(workspace(root, **inputs))
        if currently_in_test_context():
            event(f"exit {code}")  # the spread of outcomes, in --hypothesis-show-statistics
        assert_clean_end(code, output, root)
        return code, output


def test_the_base_workspace_syncs_and_mails():
    code, output = run_in_workspace()
    assert code == 0 and "mail:" in output, output


# --- configs --------------------------------------------------------------------------------------

# What people and programs really put in text, drawn often (random code points rarely hit them): C0
# controls and DEL (pasted from Word or a PDF, typed as Ctrl keys), lone surrogates (a "\ud800" escape
# in JSON or YAML; an undecodable file-name byte under Python's surrogateescape, U+DC80-U+DCFF),
# U+FFFE, and Thai typing quirks (ingest/unit_text.py): SARA AM as NIKHAHIT + SARA AA with the tone
# mark between, SARA E typed twice for SARA AE, zero-width space and joiner, BOM.
QUIRKS = ["\x00", "\x01", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1b", "\x1f", "\x7f", "\ud800", "\udfff",
          "\udcc3", "\ufffe", "\u0e25\u0e4d\u0e32", "\u0e19\u0e4d\u0e49\u0e32", "\u0e40\u0e40", "\u200b", "\u200d", "\ufeff"]
TEXT = st.lists(st.characters() | st.sampled_from(QUIRKS), max_size=12).map("".join)
YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 3000) | st.floats(allow_nan=False, width=32) | TEXT
    | st.sampled_from(["15 พ.ย. 2565", "640px", "20%", "12h", "*/15 * * * *", "xlsx", "document"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into the config (a mapping key or a list index), the root included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(CONFIG)[1:]


@st.composite
def mutated_configs(draw: Callable) -> dict:
    """The base config with one to three edits: a value replaced, a key added (often a near-typo), a key removed."""
    config = copy.deepcopy(CONFIG)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = config
        try:
            for step in path[:-1]:
                parent = parent[step]
            action = draw(st.sampled_from(["replace", "add", "remove"]))
            if action == "replace":
                parent[path[-1]] = draw(YAML_VALUES)
            elif action == "add" and isinstance(parent, dict):
                key = str(path[-1])
                parent[draw(st.sampled_from([key[:-1], key + "s", key.upper(), "extra"]))] = draw(YAML_VALUES)
            elif isinstance(parent, dict):
                parent.pop(path[-1], None)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this path
    return config


@pytest.fixture(scope="module")
def files_beside(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("beside")
    workspace(root)
    return root


@settings(BOUNDED, max_examples=250)
@given(config=mutated_configs())
def test_any_config_is_a_campaign_or_a_config_error(config, files_beside):
    try:
        campaign_from_mapping(config, base_dir=files_beside)
    except ConfigError as exc:
        assert exc.problems and all(": " in p for p in exc.problems), exc.problems


@BOUNDED
@given(mutated_configs())
def test_any_config_through_the_cli_ends_cleanly(config):
    run_in_workspace(config=config)


@settings(BOUNDED, max_examples=150)
@given(document=YAML_VALUES)
def test_any_yaml_document_is_a_config_error(document, files_beside):
    with pytest.raises(ConfigError):
        campaign_from_mapping(document, base_dir=files_beside)


# --- Forms export rows ----------------------------------------------------------------------------

CELL = TEXT | st.sampled_from(["ยะลา", " ปัตตานี ", "จ.นราธิวาส", "", "=1+1", "สมชาย ใจดี", "a,b", 'say "x"', "\n",
                               "ล\u0e4d\u0e32ปาง", "ย\u200bะลา", "\ufeffยะลา", "ยะลา\x0b", "เเพร่"])
# hypothesis takes naive bounds and attaches the zone itself.
MOMENT = st.datetimes(datetime(2022, 11, 1), datetime(2022, 11, 30), timezones=st.just(BANGKOK))  # noqa: DTZ001
# A th_TH linked sheet's CSV: day first, then the time (tests/fixtures/real/forms/README.md); the
# reader also takes a Buddhist-era year.
SHEET_STAMP = st.builds(lambda m, y: f"{m.day}/{m.month}/{y}, {m.hour}:{m:%M:%S}", MOMENT, st.sampled_from([2565, 2022]))
# Google's "Download responses": "2022/11/07 11:59:59 PM GMT+7" (ingest/demo_forms.py, from real
# downloads); other owners' zones read "MDT" or "GMT" in the same place.
DOWNLOAD_STAMP = st.builds(lambda m, zone: forms_stamp(m).replace("GMT+7", zone), MOMENT,
                           st.sampled_from(["GMT+7", "GMT+7", "GMT", "MDT", "GMT+5:30"]))


def rows_of(stamps: st.SearchStrategy[str]) -> st.SearchStrategy[list[list[str]]]:
    row = st.lists(CELL, min_size=0, max_size=7).flatmap(lambda cells: stamps.map(lambda stamp: [stamp, *cells]))
    return st.lists(row, max_size=8)


def headers(google_columns: list[str]) -> st.SearchStrategy[list[str]]:
    """Google's own columns, then the questions, a title sometimes typed with a quirk, sometimes extra ones."""
    titles = [st.sampled_from([t, t, t, t + "\u200b", t + "\x0b", f" {t}"]) for t in HEADER[2:]]
    return st.tuples(*titles, st.lists(TEXT, max_size=2)).map(lambda h: [*google_columns, *h[:-1], *h[-1]])


def without_surrogates(table: list[list[str]]) -> list[list[str]]:
    """A file Google writes is UTF-8, which cannot hold a lone surrogate."""
    return [["".join(c for c in cell if not 0xD800 <= ord(c) <= 0xDFFF) for cell in row] for row in table]


@st.composite
def forms_exports(draw: Callable) -> tuple[str, bytes]:
    """(file name, bytes): Google's `.csv.zip` download (English or Thai UI), or a linked sheet's CSV."""
    shape = draw(st.sampled_from(["download-en", "download-th", "sheet"]))
    if shape == "sheet":
        table = [draw(headers(HEADER[:2])), *draw(rows_of(SHEET_STAMP))]
        header, *rows = table if draw(st.booleans()) else without_surrogates(table)
        return "q.csv", linked_sheet_csv(header, rows)
    google = ["Timestamp", "Email Address"] if shape == "download-en" else HEADER[:2]
    header, *rows = without_surrogates([draw(headers(google)), *draw(rows_of(DOWNLOAD_STAMP))])
    csv_bytes = forms_csv_bytes(header, rows)
    return "แบบสอบถาม.csv.zip", forms_download_zip("แบบสอบถาม", csv_bytes, draw(MOMENT))


@BOUNDED
@given(forms_exports())
# Found by this property: a row shorter than the header left the dedupe answer missing (NaN) and
# normalize crashed with "expected string or bytes-like object, got 'float'".
@example(("q.csv", linked_sheet_csv(HEADER, [["3/11/2565, 9:15:00", "a@example.com", "ยะลา"]])))
def test_any_forms_export_rows_end_cleanly(export):
    run_in_workspace(export=export)


# --- file and folder names in the upload folder ---------------------------------------------------

# A name part: no "/" (a path separator), no NUL (Linux refuses it). Control characters are allowed (a
# Linux name may hold any other byte); so are undecodable bytes, which Python lists as U+DC80-U+DCFF
# (a zip made on Thai Windows names its files in TIS-620); a province folder is sometimes typed with
# a Thai quirk.
NAME_CHAR = (st.characters(exclude_categories=("Cs",), exclude_characters="/\x00")
             | st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
             | st.sampled_from([q for q in QUIRKS if q != "\x00" and not any(0xD800 <= ord(c) < 0xDC80 or 0xDD00 <= ord(c) <= 0xDFFF for c in q)]))
NAME = (st.lists(NAME_CHAR, min_size=1, max_size=20).map("".join).filter(lambda n: n not in (".", ".."))
        | st.sampled_from(["ยะลา", "ล\u0e4d\u0e32ปาง", "52 ลำปาง", "ย\u200bะลา", "จ.ปัตตานี\x7f", "ภาพถ่าย"]))
SUFFIX = st.sampled_from([".docx", ".DOCX", ".png", ".jpg", ".pdf", "", ".docx.png", ". docx", ".tmp", "~$.docx"])
CONTENT = st.sampled_from([RECORD, PNG, b"", b"not a file format", RECORD[:200]])


PATH = st.lists(NAME, min_size=1, max_size=3).flatmap(lambda parts: SUFFIX.map(lambda s: "/".join(parts) + s))
ODD = st.lists(st.tuples(PATH, st.sampled_from(["fifo", "socket", "broken", "self", "loop", "devnull"])), max_size=3)


@BOUNDED
@given(st.dictionaries(PATH, CONTENT, max_size=6), ODD)
# Found by this property: a name in TIS-620 (undecodable bytes, listed as lone surrogates) reached the
# coordinators' digest, and encoding the mail as UTF-8 ended the run in a traceback.
@example({"\udcc2\udcd0\udcc5\udcd2.jpg": RECORD}, [])
# Found by this property: a degraded run's error named such a file, SQLite could not store it (exit 1).
@example({}, [("\udcc2\udcd0/\udcc5.jpg", "fifo"), ("\udcc3.png", "broken")])
def test_any_file_and_folder_names_end_cleanly(files, odd):
    # A name that is also a folder of another name cannot exist on disk; keep the first.
    kept: dict[str, bytes] = {}
    for name, data in [*files.items(), *odd]:
        if not any(other.startswith(name + "/") or name.startswith(other + "/") or other == name for other in kept) \
                and len(os.fsencode(name)) < 200:
            kept[name] = data
    run_in_workspace(uploads={n: d for n, d in kept.items() if isinstance(d, bytes)},
                     odd=[(n, k) for n, k in kept.items() if isinstance(k, str)])


# --- mutated .docx packages -----------------------------------------------------------------------

with zipfile.ZipFile(io.BytesIO(RECORD)) as _package:
    PARTS = [(info.filename, _package.read(info.filename)) for info in _package.infolist()]
ODD_ENTRIES = st.sampled_from(["../evil.xml", "/abs.xml", "word/", "word/document.xml", "[Content_Types].xml",
                               "Word/Document.xml", "word/media/x.png", "ไทย.xml", "a" * 150])


@st.composite
def mutated_docx(draw: Callable) -> bytes:
    """The valid record re-zipped with parts dropped, duplicated, truncated or replaced, and odd entries added."""
    out = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
    with zipfile.ZipFile(out, "w", method) as target, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate names we add on purpose
        for name, data in PARTS:
            action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "duplicate", "truncate", "garble"]))
            if action == "drop":
                continue
            if action == "truncate":
                data = data[:draw(st.integers(0, max(0, len(data) - 1)))]
            elif action == "garble":
                data = draw(st.binary(max_size=64))
            target.writestr(name, data)
            if action == "duplicate":
                target.writestr(name, data[: len(data) // 2])
        for name in draw(st.lists(ODD_ENTRIES, max_size=3)):
            target.writestr(name, draw(st.binary(max_size=32)))
    package = out.getvalue()
    return package[:draw(st.integers(len(package) // 2, len(package)))] if draw(st.booleans()) else package


@BOUNDED
@given(mutated_docx())
def test_any_mutated_docx_ends_cleanly(package):
    code, output = run_in_workspace(uploads={"ยะลา/แบบบันทึก.docx": package, "ยะลา/1.png": PNG})
    assert code == 0, output  # one bad upload is one invalid item, never the run
