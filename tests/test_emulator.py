"""The Google Workspace emulator, exercised with the real client libraries over loopback HTTP."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import gspread
import httplib2
import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaInMemoryUpload, MediaIoBaseDownload

from tests.emulator import (
    CELL_LIMIT,
    DOCX,
    Emulator,
    ForeignHostError,
    build_service,
    discovery_document,
    gspread_client,
    local_session,
    service_account_credentials,
    service_account_info,
)

DRIVE_RO = "https://www.googleapis.com/auth/drive.readonly"
FORMS_RO = "https://www.googleapis.com/auth/forms.responses.readonly"
FORMS_BODY_RO = "https://www.googleapis.com/auth/forms.body.readonly"
SHEETS = "https://www.googleapis.com/auth/spreadsheets"
GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e
    assert not e.running  # the server thread is gone after teardown
    # Tests that provoke violations on purpose clear them; anything left is a real bug.
    assert e.violations == []
    assert e.unimplemented == []


@pytest.fixture
def drive(emu: Emulator):
    creds = service_account_credentials(emu.token_uri, [DRIVE_RO])
    return build_service("drive", "v3", emu.base_url, creds)


def _list_all(drive, **kwargs) -> list[dict]:
    files: list[dict] = []
    token = None
    while True:
        page = drive.files().list(pageToken=token, **kwargs).execute()
        files.extend(page.get("files", []))
        token = page.get("nextPageToken")
        if not token:
            return files


# -- Drive ----------------------------------------------------------------------------------
def test_files_list_paginates_2500_files_in_three_calls_with_fields(emu: Emulator, drive) -> None:
    folder = emu.drive.add_folder("เชียงใหม่")
    for i in range(2500):
        emu.drive.add_file(f"f{i:04}.jpg", folder, b"x%d" % i, "image/jpeg", T0 + timedelta(seconds=i))
    emu.reset_counts()

    files = _list_all(
        drive,
        q=f"'{folder}' in parents and trashed = false",
        pageSize=1000,
        fields="nextPageToken,files(id,name,md5Checksum,size,createdTime)",
    )

    assert emu.counts["drive.files.list"] == 3
    assert len({f["id"] for f in files}) == 2500
    assert all(set(f) == {"id", "name", "md5Checksum", "size", "createdTime"} for f in files)
    assert files[0]["size"] == "2" and files[0]["createdTime"] == "2025-01-06T09:00:00.000Z"
    assert emu.violations == []


def test_files_get_without_fields_returns_drive_default_set(emu: Emulator, drive) -> None:
    fid = emu.drive.add_file("a.pdf", None, b"%PDF", "application/pdf", T0)
    meta = drive.files().get(fileId=fid).execute()
    assert set(meta) == {"kind", "id", "name", "mimeType"}
    full = drive.files().get(fileId=fid, fields="*").execute()
    assert full["md5Checksum"] and full["headRevisionId"] and full["owners"][0]["emailAddress"]


def test_answers_are_indented_unless_pretty_print_is_false(emu: Emulator, drive) -> None:
    """The standard `prettyPrint` parameter: Google indents by default; `false` gives compact JSON."""
    fid = emu.drive.add_file("a.pdf", None, b"%PDF", "application/pdf", T0)
    http = drive.files().get(fileId=fid)
    pretty = httplib2.Http().request(http.uri)[1]
    compact = httplib2.Http().request(drive.files().get(fileId=fid, prettyPrint=False).uri)[1]
    assert b"\n  " in pretty and b"\n" not in compact and json.loads(pretty) == json.loads(compact)
    assert emu.violations == []


def test_bad_field_selection_is_400_and_a_violation(emu: Emulator, drive) -> None:
    with pytest.raises(HttpError) as err:
        drive.files().list(fields="files(id,nmae)").execute()
    assert err.value.resp.status == 400
    assert "nmae" in emu.violations[0].problem
    emu.violations.clear()


def test_trashed_filter_and_mime_type_filters(emu: Emulator, drive) -> None:
    folder = emu.drive.add_folder("root")
    keep = emu.drive.add_file("keep.jpg", folder, b"1", "image/jpeg", T0)
    gone = emu.drive.add_file("gone.jpg", folder, b"2", "image/jpeg", T0)
    sub = emu.drive.add_folder("sub", folder)
    emu.drive.trash(gone)

    live = _list_all(drive, q=f"'{folder}' in parents and trashed = false", fields="files(id)")
    assert {f["id"] for f in live} == {keep, sub}
    everything = _list_all(drive, q=f"'{folder}' in parents", fields="files(id,trashed)")
    assert {f["id"]: f["trashed"] for f in everything}[gone] is True
    no_folders = _list_all(
        drive,
        q=f"'{folder}' in parents and mimeType != 'application/vnd.google-apps.folder' and trashed = false",
        fields="files(id)",
    )
    assert [f["id"] for f in no_folders] == [keep]
    with pytest.raises(HttpError) as err:
        drive.files().list(q="'x' in parentz").execute()
    assert err.value.resp.status == 400


def test_changes_feed_after_add_rename_trash_delete(emu: Emulator, drive) -> None:
    folder = emu.drive.add_folder("c")
    old = emu.drive.add_file("old.jpg", folder, b"o", "image/jpeg", T0)
    token = drive.changes().getStartPageToken().execute()["startPageToken"]

    added = emu.drive.add_file("new.jpg", folder, b"n", "image/jpeg", T0)
    emu.drive.rename(old, "renamed.jpg")
    trashed = emu.drive.add_file("t.jpg", folder, b"t", "image/jpeg", T0)
    emu.drive.trash(trashed)
    deleted = emu.drive.add_file("d.jpg", folder, b"d", "image/jpeg", T0)
    emu.drive.delete(deleted)

    changes, pages, new_token = [], 0, None
    page_token = token
    while page_token:
        page = (
            drive.changes()
            .list(
                pageToken=page_token,
                pageSize=2,
                fields="nextPageToken,newStartPageToken,changes(fileId,removed,file(name,trashed))",
            )
            .execute()
        )
        pages += 1
        changes.extend(page["changes"])
        page_token = page.get("nextPageToken")
        new_token = page.get("newStartPageToken", new_token)
    by_id = {c["fileId"]: c for c in changes}
    assert pages == 2 and len(changes) == 4
    assert by_id[added]["file"]["name"] == "new.jpg"
    assert by_id[old]["file"]["name"] == "renamed.jpg"
    assert by_id[trashed]["file"]["trashed"] is True
    assert by_id[deleted] == {"fileId": deleted, "removed": True}
    assert new_token is not None
    assert drive.changes().list(pageToken=new_token).execute()["changes"] == []


def test_media_download_and_google_doc_export(emu: Emulator, drive) -> None:
    payload = bytes(range(256)) * 1000
    fid = emu.drive.add_file("scan.heic", None, payload, "image/heic", T0)
    doc = emu.drive.add_google_doc("รายงาน", None, b"PK\x03\x04docx-bytes", T0)
    big = emu.drive.add_google_doc("big", None, b"0" * (10 * 1024 * 1024 + 1), T0)

    buf = io.BytesIO()
    downloader = MediaIoBaseDownload(buf, drive.files().get_media(fileId=fid), chunksize=100_000)
    done = False
    while not done:
        _, done = downloader.next_chunk()
    assert buf.getvalue() == payload

    assert drive.files().export(fileId=doc, mimeType=DOCX).execute() == b"PK\x03\x04docx-bytes"
    meta = drive.files().get(fileId=doc, fields="md5Checksum,headRevisionId,mimeType").execute()
    assert meta == {"mimeType": "application/vnd.google-apps.document"}
    with pytest.raises(HttpError) as err:
        drive.files().get_media(fileId=doc).execute()
    assert err.value.resp.status == 403 and err.value.error_details[0]["reason"] == "fileNotDownloadable"
    with pytest.raises(HttpError) as err:
        drive.files().export(fileId=big, mimeType=DOCX).execute()
    assert err.value.error_details[0]["reason"] == "exportSizeLimitExceeded"


def test_shortcuts_and_shared_drives(emu: Emulator, drive) -> None:
    target = emu.drive.add_file("t.pdf", None, b"t", "application/pdf", T0)
    folder = emu.drive.add_folder("f")
    sc = emu.drive.add_shortcut("link", folder, target)
    got = drive.files().get(fileId=sc, fields="mimeType,shortcutDetails").execute()
    assert got["shortcutDetails"] == {"targetId": target, "targetMimeType": "application/pdf"}

    shared = emu.drive.add_shared_drive("ศูนย์")
    in_shared = emu.drive.add_file("s.jpg", shared, b"s", "image/jpeg", T0)
    with pytest.raises(HttpError) as err:
        drive.files().get(fileId=in_shared).execute()
    assert err.value.resp.status == 404
    meta = drive.files().get(fileId=in_shared, supportsAllDrives=True, fields="driveId,owners").execute()
    assert meta == {"driveId": shared}  # shared-drive items have no owners
    listed = _list_all(
        drive,
        corpora="drive",
        driveId=shared,
        includeItemsFromAllDrives=True,
        supportsAllDrives=True,
        fields="files(id)",
    )
    assert [f["id"] for f in listed] == [in_shared]
    assert drive.drives().list().execute()["drives"][0]["name"] == "ศูนย์"


SA = "tidtam-test@tidtam-emulator.iam.gserviceaccount.com"


@pytest.fixture
def sa_drive(emu: Emulator):
    """Drive as a named service account (its token's issuer), so membership applies to it."""
    info = service_account_info(emu.token_uri, client_email=SA)
    creds = service_account.Credentials.from_service_account_info(info, scopes=[DRIVE_RO])
    return build_service("drive", "v3", emu.base_url, creds)


def test_a_long_get_sent_as_post_with_method_override_is_a_get(emu: Emulator, drive) -> None:
    folders = [emu.drive.add_folder(f"จังหวัด{i:02}") for i in range(60)]
    files = [emu.drive.add_file(f"{i}.jpg", folder, b"%d" % i, "image/jpeg", T0) for i, folder in enumerate(folders)]
    q = " or ".join(f"'{f}' in parents" for f in folders)
    request = drive.files().list(q=q, pageSize=1000, fields="files(id)")
    assert len(request.uri) > 2048  # googleapiclient will send it as POST + X-HTTP-Method-Override: GET
    listed = request.execute()
    assert sorted(f["id"] for f in listed["files"]) == sorted(files)
    ((record),) = emu.calls("drive.files.list")
    assert record.http_method == "GET" and record.query["q"] == [q]
    assert emu.counts["drive.files.create"] == 0 and not any(f.name == "Untitled" for f in emu.drive.files.values())


def test_a_drive_change_has_no_file_id_and_reaches_members_only(emu: Emulator, drive, sa_drive) -> None:
    mine = emu.drive.add_shared_drive("สพจ.", members=[SA])
    other = emu.drive.add_shared_drive("อื่น", members=["someone@example.org"])
    token = sa_drive.changes().getStartPageToken().execute()["startPageToken"]
    emu.drive.rename_drive(mine, "สพจ. (2565)")
    emu.drive.rename_drive(other, "อื่น (2565)")
    emu.drive.add_file("a.jpg", mine, b"a", "image/jpeg", T0)  # tracked in the drive's log only
    page = sa_drive.changes().list(pageToken=token, includeItemsFromAllDrives=True, supportsAllDrives=True,
                                   fields="changes(changeType,fileId,driveId,drive(id,name),removed)").execute()
    assert page["changes"] == [{"changeType": "drive", "driveId": mine, "drive": {"id": mine, "name": "สพจ. (2565)"},
                                "removed": False}]
    in_drive = sa_drive.changes().list(pageToken=token, driveId=mine, includeItemsFromAllDrives=True,
                                       supportsAllDrives=True, fields="changes(changeType,fileId)").execute()
    assert [c["changeType"] for c in in_drive["changes"]] == ["file"]


def test_a_non_member_sees_shared_items_only_through_its_own_corpus_and_log(emu: Emulator, sa_drive) -> None:
    drive_id = emu.drive.add_shared_drive("ศูนย์", members=["owner@example.org"])
    folder = emu.drive.add_folder("จังหวัดน่าน", drive_id)
    inside = emu.drive.add_file("a.jpg", folder, b"a", "image/jpeg", T0)
    hidden = emu.drive.add_file("b.jpg", drive_id, b"b", "image/jpeg", T0)
    all_drives = {"supportsAllDrives": True, "includeItemsFromAllDrives": True}
    for call in (sa_drive.drives().get(driveId=drive_id),
                 sa_drive.files().list(corpora="drive", driveId=drive_id, **all_drives),
                 sa_drive.changes().getStartPageToken(driveId=drive_id, supportsAllDrives=True),
                 sa_drive.files().get(fileId=inside, supportsAllDrives=True)):
        with pytest.raises(HttpError) as err:
            call.execute()
        assert err.value.resp.status == 404
    assert sa_drive.drives().list().execute().get("drives", []) == []
    token = sa_drive.changes().getStartPageToken(supportsAllDrives=True).execute()["startPageToken"]
    emu.drive.share(folder, SA, "reader")
    listed = _list_all(sa_drive, q=f"'{folder}' in parents", fields="files(id)", **all_drives)
    assert [f["id"] for f in listed] == [inside]
    assert sa_drive.files().get(fileId=inside, supportsAllDrives=True, fields="id").execute() == {"id": inside}
    changes = sa_drive.changes().list(pageToken=token, fields="changes(fileId)", **all_drives).execute()["changes"]
    assert {c["fileId"] for c in changes} == {folder, inside} and hidden not in {c["fileId"] for c in changes}
    # Without includeItemsFromAllDrives, shared-drive items stay out of the user's corpus and log.
    assert _list_all(sa_drive, q=f"'{folder}' in parents", fields="files(id)", supportsAllDrives=True) == []


def test_writers_and_readers_come_from_permissions_not_from_owners(emu: Emulator, drive) -> None:
    folder = emu.drive.add_folder("f", owner_email="owner@example.org")
    doc = emu.drive.add_file("d.docx", folder, b"d", DOCX, T0, owner_email="owner@example.org")
    emu.drive.share(folder, "writer@example.org", "writer")
    emu.drive.share(doc, "reader@example.org", "reader")

    def ids(q: str) -> list[str]:
        return sorted(f["id"] for f in _list_all(drive, q=q, fields="files(id)"))

    assert ids("'writer@example.org' in writers") == sorted([folder, doc])  # inherited from the folder
    assert ids("'writer@example.org' in owners") == []
    assert ids("'reader@example.org' in readers") == [doc]
    assert ids("'reader@example.org' in writers") == []
    assert ids("'owner@example.org' in writers") == sorted([folder, doc])


def test_short_and_empty_pages_with_a_token_and_an_incomplete_search(emu: Emulator, drive) -> None:
    folder = emu.drive.add_folder("f")
    files = [emu.drive.add_file(f"{i}.jpg", folder, b"%d" % i, "image/jpeg", T0) for i in range(5)]
    shared = emu.drive.add_shared_drive("ศูนย์")
    emu.drive.add_file("s.jpg", shared, b"s", "image/jpeg", T0)
    emu.drive.page_size_cap, emu.drive.empty_pages = 2, True
    sizes, token, got = [], None, []
    for _ in range(20):
        page = drive.files().list(q=f"'{folder}' in parents", pageSize=1000, pageToken=token,
                                  fields="nextPageToken,files(id)").execute()
        sizes.append(len(page.get("files", [])))
        got.extend(f["id"] for f in page.get("files", []))
        token = page.get("nextPageToken")
        if not token:
            break
    assert sizes == [0, 2, 0, 2, 0, 1] and sorted(got) == sorted(files)
    start = drive.changes().getStartPageToken().execute()["startPageToken"]
    emu.drive.rename(files[0], "renamed.jpg")
    first = drive.changes().list(pageToken=start, fields="nextPageToken,newStartPageToken,changes(fileId)").execute()
    assert first["changes"] == [] and "nextPageToken" in first and "newStartPageToken" not in first
    second = drive.changes().list(pageToken=first["nextPageToken"], fields="newStartPageToken,changes(fileId)").execute()
    assert second["changes"] == [{"fileId": files[0]}] and second["newStartPageToken"]
    emu.drive.page_size_cap, emu.drive.empty_pages, emu.drive.incomplete_search = None, False, True
    spanning = drive.files().list(corpora="allDrives", includeItemsFromAllDrives=True, supportsAllDrives=True,
                                  fields="incompleteSearch,files(id)").execute()
    assert spanning["incompleteSearch"] is True and len(spanning["files"]) == 6  # the shared-drive file is missing
    one_drive = drive.files().list(corpora="drive", driveId=shared, includeItemsFromAllDrives=True,
                                   supportsAllDrives=True, fields="incompleteSearch,files(id)").execute()
    assert one_drive["incompleteSearch"] is False and len(one_drive["files"]) == 1


def test_batch_requests_are_split_and_each_call_is_served(emu: Emulator, drive) -> None:
    ids = [emu.drive.add_file(f"{i}.jpg", None, b"%d" % i, "image/jpeg", T0) for i in range(3)]
    results: dict[str, dict] = {}

    def collect(request_id: str, response: dict, exception: Exception | None) -> None:
        assert exception is None
        results[request_id] = response

    batch = drive.new_batch_http_request(callback=collect)
    for fid in ids:
        batch.add(drive.files().get(fileId=fid, fields="id,size"), request_id=fid)
    batch.execute()
    assert results == {fid: {"id": fid, "size": "1"} for fid in ids}
    assert emu.counts["batch"] == 1 and emu.counts["drive.files.get"] == 3


def test_client_options_api_endpoint_works_for_plain_calls(emu: Emulator) -> None:
    emu.drive.add_folder("x")
    svc = build(
        "drive",
        "v3",
        credentials=AnonymousCredentials(),
        static_discovery=True,
        client_options={"api_endpoint": emu.base_url + "/drive/v3/"},
    )
    assert len(svc.files().list(fields="files(id)").execute()["files"]) == 1
    doc = discovery_document("drive", "v3", emu.base_url)
    assert doc["rootUrl"] == emu.base_url + "/" and "mtlsRootUrl" not in doc


# -- Forms ----------------------------------------------------------------------------------
def test_forms_get_and_responses_with_filter_and_pages(emu: Emulator) -> None:
    emu.forms.add_form("FORM1", "รายงานประจำเดือน", [("q1", "จังหวัด", "text"), ("q2", "รูปถ่าย", "file_upload")])
    emu.forms.add_grid("FORM1", "ความพึงพอใจ", rows=[("g1", "บริการ"), ("g2", "เวลา")], columns=["ดี", "พอใช้"])
    for i in range(5):
        emu.forms.add_response(
            "FORM1",
            f"R{i}",
            T0 + timedelta(hours=i),
            {"q1": "ลำพูน", "g1": "ดี"},
            respondent_email=f"u{i}@example.org",
            file_uploads={"q2": [(f"F{i}", f"p{i}.jpg", "image/jpeg")]},
        )
    emu.forms.edit_response("FORM1", "R0", {"q1": "ลำปาง"}, submitted_time=T0 + timedelta(days=1))
    creds = service_account_credentials(emu.token_uri, [FORMS_RO, FORMS_BODY_RO])
    forms = build_service("forms", "v1", emu.base_url, creds)

    form = forms.forms().get(formId="FORM1").execute()
    assert form["info"]["title"] == "รายงานประจำเดือน"
    assert [i["questionItem"]["question"]["questionId"] for i in form["items"][:2]] == ["q1", "q2"]
    assert [q["questionId"] for q in form["items"][2]["questionGroupItem"]["questions"]] == ["g1", "g2"]

    flt = "timestamp > 2025-01-06T10:00:00Z"
    got, token, calls = [], None, 0
    while True:
        page = (
            forms.forms().responses().list(formId="FORM1", filter=flt, pageSize=2, pageToken=token).execute()
        )
        calls += 1
        got.extend(page["responses"])
        token = page.get("nextPageToken")
        if not token:
            break
    # R0, edited after N but first submitted before it, is not listed: the filter compares createTime.
    assert calls == 2 and [r["responseId"] for r in got] == ["R2", "R3", "R4"]

    first = forms.forms().responses().list(formId="FORM1", pageSize=2).execute()
    r0 = first["responses"][0]
    assert r0["answers"]["q1"]["textAnswers"]["answers"] == [{"value": "ลำปาง"}]
    assert r0["answers"]["q2"]["fileUploadAnswers"]["answers"][0]["fileId"] == "F0"
    assert r0["lastSubmittedTime"] == "2025-01-07T09:00:00.000Z" and r0["respondentEmail"] == "u0@example.org"
    assert r0["createTime"] == "2025-01-06T09:00:00.000Z"
    emu.forms.filter_field = "lastSubmittedTime"  # the other reading of "submitted after N"
    edited = forms.forms().responses().list(formId="FORM1", filter=flt).execute()
    assert [r["responseId"] for r in edited["responses"]] == ["R0", "R2", "R3", "R4"]
    emu.forms.filter_field = "createTime"
    with pytest.raises(HttpError) as err:  # a page token must come with the same filter
        forms.forms().responses().list(formId="FORM1", pageToken=first["nextPageToken"], filter=flt).execute()
    assert err.value.resp.status == 400
    with pytest.raises(HttpError) as err:
        forms.forms().responses().list(formId="FORM1", filter="createTime > 2025-01-01").execute()
    assert err.value.resp.status == 400
    empty = (
        forms.forms().responses().list(formId="FORM1", filter="timestamp >= 2030-01-01T00:00:00Z").execute()
    )
    assert empty == {}


# -- Sheets ---------------------------------------------------------------------------------
@pytest.fixture
def gc(emu: Emulator) -> gspread.Client:
    return gspread_client(emu.base_url, service_account_credentials(emu.token_uri, [SHEETS]))


def test_gspread_tabs_values_and_formatting_read_back(emu: Emulator, gc: gspread.Client) -> None:
    emu.sheets.create("WH1", "Warehouse")
    sh = gc.open_by_key("WH1")
    ws = sh.add_worksheet("สถานะ", rows=50, cols=5)
    ws.update([["จังหวัด", "ส่งแล้ว"], ["เชียงราย", "3"]], "A1", raw=True)
    ws.format("A1:B1", {"textFormat": {"bold": True}})
    ws.freeze(rows=1)

    assert emu.sheets.tabs("WH1") == ["Sheet1", "สถานะ"]
    assert emu.sheets.values("WH1", "สถานะ") == [["จังหวัด", "ส่งแล้ว"], ["เชียงราย", "3"]]
    assert emu.sheets.cells("WH1", "สถานะ")["B2"].value == "3"  # RAW keeps text
    assert emu.sheets.format_at("WH1", "สถานะ", "B1") == {"textFormat": {"bold": True}}
    assert emu.sheets.format_at("WH1", "สถานะ", "A2") == {}
    assert emu.sheets.frozen_rows("WH1", "สถานะ") == 1
    assert emu.sheets.grid_size("WH1", "สถานะ") == (50, 5)
    assert ws.get_all_values() == [["จังหวัด", "ส่งแล้ว"], ["เชียงราย", "3"]]
    assert gc.open_by_key("WH1").worksheet("สถานะ").frozen_row_count == 1
    ws.append_rows([["ลำพูน", "0"]], value_input_option="RAW")
    assert emu.sheets.values("WH1", "สถานะ")[2] == ["ลำพูน", "0"]
    assert emu.violations == []


def test_user_entered_formula_is_stored_as_formula_raw_as_text(emu: Emulator, gc: gspread.Client) -> None:
    emu.sheets.create("WH2", "w")
    ws = gc.open_by_key("WH2").sheet1
    ws.update([["=1+1"]], "A1", raw=False)
    ws.update([["=1+1"]], "B1", raw=True)
    assert emu.sheets.formula_cells("WH2") == [("Sheet1", "A1", "=1+1")]
    assert emu.sheets.values("WH2", "Sheet1") == [["2", "=1+1"]]
    assert ws.acell("A1", value_render_option="FORMULA").value == "=1+1"


def test_cell_limit_and_duplicate_tab_are_400(emu: Emulator, gc: gspread.Client) -> None:
    emu.sheets.create("WH3", "w")
    sh = gc.open_by_key("WH3")
    with pytest.raises(gspread.exceptions.APIError) as err:
        sh.add_worksheet("huge", rows=CELL_LIMIT // 26 + 1, cols=26)
    assert "above the limit of 10000000 cells" in str(err.value)
    with pytest.raises(gspread.exceptions.APIError) as err:
        sh.add_worksheet("Sheet1", rows=1, cols=1)
    assert "already exists" in str(err.value)
    assert emu.sheets.tabs("WH3") == ["Sheet1"]  # batchUpdate is atomic


# -- Gmail ----------------------------------------------------------------------------------
def _thai_message() -> EmailMessage:
    msg = EmailMessage()
    msg["To"] = "chief@example.org"
    msg["From"] = "tidtam@example.org"
    msg["Subject"] = "แจ้งเตือน: ยังไม่ส่งรายงาน 3 จังหวัด"
    msg.set_content("เชียงใหม่\nลำพูน\nลำปาง\n")
    return msg


def test_gmail_send_raw_and_upload_parse_back_thai_subject(emu: Emulator) -> None:
    creds = service_account_credentials(emu.token_uri, [GMAIL_SEND], subject="sender@example.org")
    gmail = build_service("gmail", "v1", emu.base_url, creds)
    raw = base64.urlsafe_b64encode(_thai_message().as_bytes()).decode()
    sent = gmail.users().messages().send(userId="me", body={"raw": raw}).execute()
    media = MediaInMemoryUpload(_thai_message().as_bytes(), mimetype="message/rfc822", resumable=False)
    gmail.users().messages().send(userId="me", media_body=media).execute()
    media = MediaInMemoryUpload(_thai_message().as_bytes(), mimetype="message/rfc822", resumable=True)
    gmail.users().messages().send(userId="me", media_body=media).execute()

    assert sent["labelIds"] == ["SENT"] and len(emu.gmail.sent) == 3
    for message in emu.gmail.sent:
        parsed = message.message()
        assert parsed["Subject"] == "แจ้งเตือน: ยังไม่ส่งรายงาน 3 จังหวัด"
        assert "ลำพูน" in parsed.get_content()
    assert emu.auth.grants[0].subject == "sender@example.org"
    assert emu.violations == []


# -- Auth -----------------------------------------------------------------------------------
def test_service_account_refresh_hits_token_endpoint_and_scopes_are_enforced(emu: Emulator, drive) -> None:
    emu.drive.add_folder("x")
    drive.files().list().execute()
    assert emu.counts["oauth2.token"] == 1
    assert emu.auth.grants[0].scopes == (DRIVE_RO,)
    assert emu.auth.grants[0].issuer == "tidtam-test@tidtam-emulator.iam.gserviceaccount.com"

    wrong = build_service(
        "drive", "v3", emu.base_url, service_account_credentials(emu.token_uri, [GMAIL_SEND])
    )
    with pytest.raises(HttpError) as err:
        wrong.files().list().execute()
    assert err.value.resp.status == 403 and err.value.error_details[0]["reason"] == "insufficientPermissions"


# -- Faults ---------------------------------------------------------------------------------
def test_429_with_retry_after_then_served(emu: Emulator, drive) -> None:
    emu.drive.add_folder("x")
    emu.faults.add("drive.files.list", status=429, times=1, retry_after=1, reason="rateLimitExceeded")
    with pytest.raises(HttpError) as err:
        drive.files().list().execute()
    assert err.value.resp.status == 429 and err.value.resp["retry-after"] == "1"
    body = json.loads(err.value.content)
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert body["error"]["errors"][0] == {
        "message": "Rate Limit Exceeded",
        "domain": "usageLimits",
        "reason": "rateLimitExceeded",
    }
    assert len(drive.files().list().execute()["files"]) == 1
    assert emu.counts["drive.files.list"] == 2


def test_403_for_one_folder_only(emu: Emulator, drive) -> None:
    secret = emu.drive.add_folder("secret")
    open_ = emu.drive.add_folder("open")
    emu.faults.add("drive.files.list", status=403, reason="forbidden", match={"q_contains": secret})
    with pytest.raises(HttpError) as err:
        drive.files().list(q=f"'{secret}' in parents").execute()
    assert err.value.resp.status == 403
    assert drive.files().list(q=f"'{open_}' in parents").execute()["files"] == []


def test_cut_connection_raises_on_the_client(emu: Emulator, drive) -> None:
    emu.drive.add_folder("x")
    drive.files().list().execute()  # token fetched, connection warm
    # httplib2 silently retries a dropped connection once, so cut twice.
    emu.faults.add("drive.files.list", cut_connection=True, times=2)
    with pytest.raises((ConnectionError, httplib2.HttpLib2Error, OSError)):
        drive.files().list().execute()
    assert len(drive.files().list().execute()["files"]) == 1


def test_global_latency(emu: Emulator, drive) -> None:
    emu.drive.add_folder("x")
    drive.files().list().execute()
    emu.faults.add(latency=0.05)
    started = time.perf_counter()
    drive.files().list().execute()
    assert time.perf_counter() - started >= 0.05


# -- Validation -----------------------------------------------------------------------------
def test_unknown_query_parameter_is_a_violation(emu: Emulator) -> None:
    resp = requests.get(emu.base_url + "/drive/v3/files", params={"pageSize": "10", "bogus": "1"}, timeout=5)
    assert resp.status_code == 400
    assert resp.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert [v.method_id for v in emu.violations] == ["drive.files.list"]
    assert "bogus" in emu.violations[0].problem
    resp = requests.get(emu.base_url + "/drive/v3/files", params={"pageSize": "1001"}, timeout=5)
    assert resp.status_code == 400 and len(emu.violations) == 2
    resp = requests.get(emu.base_url + "/drive/v3/nope", timeout=5)
    assert resp.status_code == 404 and emu.violations[-1].method_id is None
    emu.violations.clear()


def test_body_with_unknown_field_or_wrong_type_is_a_violation(emu: Emulator) -> None:
    emu.sheets.create("WH4", "w")
    url = emu.base_url + "/v4/spreadsheets/WH4:batchUpdate"
    bad = {
        "requests": [
            {
                "repeatCell": {
                    "range": {"sheetId": 0},
                    "cell": {"userEnteredFormat": {"bold": True}},
                    "fields": "*",
                }
            }
        ]
    }
    resp = requests.post(url, json=bad, timeout=5)
    assert resp.status_code == 400
    assert 'Unknown name "bold"' in emu.violations[0].problem
    resp = requests.post(emu.base_url + "/drive/v3/files", json={"name": "a", "size": 5}, timeout=5)
    assert resp.status_code == 400 and "int64" in emu.violations[1].problem
    assert emu.sheets.formats("WH4", "Sheet1") == []
    emu.violations.clear()


def test_local_session_rewrites_google_hosts_and_refuses_others(emu: Emulator) -> None:
    emu.sheets.create("WH5", "w")
    session = local_session(emu.base_url)
    assert (
        session.get("https://sheets.googleapis.com/v4/spreadsheets/WH5", timeout=5).json()["spreadsheetId"]
        == "WH5"
    )
    assert session.get(emu.base_url + "/v4/spreadsheets/WH5", timeout=5).status_code == 200
    with pytest.raises(ForeignHostError):
        session.get("https://example.com/", timeout=5)
