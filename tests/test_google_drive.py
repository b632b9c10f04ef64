"""The Drive uploads source on the emulator: walking, paging, shared drives, Docs, shortcuts, changes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from connectors.google_drive import DOCUMENT, DriveSource
from ingest.campaign import DocumentRules
from ingest.errors import ItemError
from ingest.file_checks import inspect_document
from ingest.record.template import make_record_docx
from tests.emulator import DOCX, Emulator
from tests.google_workspace import SA_EMAIL, google_api

T0 = datetime(2022, 11, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator
        assert emulator.violations == []


def make_tree(emu: Emulator, drive_id: str | None = None) -> dict[str, str]:
    ids = {"root": emu.drive.add_folder("แคมเปญ", None, drive_id)}
    for name in ("เชียงใหม่", "ลำปาง", "น่าน"):
        ids[name] = emu.drive.add_folder(f"จังหวัด{name}", ids["root"], created_time=T0)
        ids[name + "/photos"] = emu.drive.add_folder("ภาพถ่าย", ids[name], created_time=T0)
        for i in range(3):
            ids[f"{name}/IMG_{i}"] = emu.drive.add_file(f"IMG_{i}.jpg", ids[name + "/photos"],
                                                        f"{name}-{i}".encode(), "image/jpeg", T0,
                                                        owner_email=f"cdd-{i}@example.go.th")
    ids["loose"] = emu.drive.add_file("น่าน_แบบบันทึก.docx", ids["root"], b"PK docx", DOCX, T0)
    return ids


def by_path(listing) -> dict[str, object]:
    return {"/".join((*f.folders, f.name)): f for f in listing.files}


def test_walks_the_tree_with_folder_names_versions_and_uploaders(emu, tmp_path):
    ids = make_tree(emu)
    listing = DriveSource(google_api(emu, tmp_path), ids["root"]).files()
    files = by_path(listing)
    assert listing.complete and not listing.problems and len(files) == 10
    photo = files["จังหวัดเชียงใหม่/ภาพถ่าย/IMG_1.jpg"]
    assert photo.file_id == ids["เชียงใหม่/IMG_1"] and photo.folders == ("จังหวัดเชียงใหม่", "ภาพถ่าย")
    assert photo.md5 == photo.version == hashlib.md5("เชียงใหม่-1".encode()).hexdigest()
    assert photo.uploader_email == "cdd-1@example.go.th" and photo.created_at == T0 and photo.size == len("เชียงใหม่-1".encode())
    assert files["น่าน_แบบบันทึก.docx"].folders == ()
    # Children of many folders are asked in one query: one per tree level here, not one per folder.
    assert emu.counts["drive.files.list"] == 3
    assert emu.counts["drive.changes.getStartPageToken"] == 1


def test_pages_are_followed(emu, tmp_path):
    ids = make_tree(emu)
    emu.drive.page_size_cap = 2
    listing = DriveSource(google_api(emu, tmp_path), ids["root"]).files()
    assert len(listing.files) == 10
    assert emu.counts["drive.files.list"] > 3
    assert all(int(q) == 1000 for r in emu.calls("drive.files.list") for q in r.query["pageSize"])


def test_folders_fill_each_query_up_to_the_url_limit_and_a_page_token_that_does_not_fit_splits_it(
        emu, tmp_path, monkeypatch):
    import connectors.google_drive as google_drive

    ids = make_tree(emu)
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    photo_folders = [ids[f"{name}/photos"] for name in ("เชียงใหม่", "ลำปาง", "น่าน")]
    # The three photo folders fit one query exactly; its second page (with a token) would not.
    monkeypatch.setattr(google_drive, "MAX_URL_CHARS", len(source._list_request(photo_folders, None).uri))
    emu.drive.page_size_cap = 5
    files = by_path(source.files())
    assert len(files) == 10 and len({f.file_id for f in files.values()}) == 10
    queries = [r.query["q"][0] for r in emu.calls("drive.files.list")]
    named = [sum(f in q for f in photo_folders) for q in queries]
    assert 3 in named  # the three photo folders asked together first,
    assert 1 in named and 2 in named  # then, for the page whose token did not fit, in halves


def test_trashed_files_and_folders_are_ignored(emu, tmp_path):
    ids = make_tree(emu)
    emu.drive.trash(ids["ลำปาง"])  # the folder and, implicitly, everything in it
    emu.drive.trash(ids["เชียงใหม่/IMG_0"])
    files = by_path(DriveSource(google_api(emu, tmp_path), ids["root"]).files())
    assert len(files) == 10 - 3 - 1
    assert not any("ลำปาง" in p for p in files) and "จังหวัดเชียงใหม่/ภาพถ่าย/IMG_0.jpg" not in files


def test_a_folder_in_a_shared_drive(emu, tmp_path):
    drive_id = emu.drive.add_shared_drive("สพจ.")
    ids = make_tree(emu, drive_id)
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    listing = source.files()
    files = by_path(listing)
    assert len(files) == 10
    assert files["จังหวัดน่าน/ภาพถ่าย/IMG_2.jpg"].uploader_email == "cdd-2@example.go.th"  # no owners: last modifier
    assert {q for r in emu.calls("drive.files.list") for q in r.query.get("driveId", [])} == {drive_id}
    assert source.read(files["จังหวัดน่าน/ภาพถ่าย/IMG_2.jpg"]) == "น่าน-2".encode()
    doc = emu.drive.add_google_doc("บันทึก", ids["น่าน"], b"exported", T0, drive_id=drive_id)
    new = emu.drive.add_file("IMG_9.jpg", ids["น่าน/photos"], b"new", "image/jpeg", T0)
    incremental = source.files(listing.cursor)
    assert sorted(f.file_id for f in incremental.files) == sorted([doc, new]) and not incremental.complete
    # files.export takes no supportsAllDrives, yet exports shared-drive Docs.
    assert source.read(next(f for f in incremental.files if f.file_id == doc)) == b"exported"


def test_a_google_doc_is_exported_and_marked_as_not_a_word_upload(emu, tmp_path):
    ids = make_tree(emu)
    record = make_record_docx("น่าน")
    doc = emu.drive.add_google_doc("แบบบันทึก น่าน", ids["น่าน"], record, T0)
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    (file,) = [f for f in source.files().files if f.file_id == doc]
    assert file.exported_from == DOCUMENT and file.mime_type == DOCUMENT and file.md5 is None and file.version
    content = source.read(file)
    assert content == record and emu.counts["drive.files.export"] == 1
    facts = inspect_document(content, DocumentRules(), exported_from=file.exported_from)
    assert "google_doc" in {v.code for v in facts.violations}
    allowed = inspect_document(content, DocumentRules(allow_google_docs=True), exported_from=file.exported_from)
    assert "google_doc" not in {v.code for v in allowed.violations}


def test_shortcuts_resolve_to_their_targets_and_duplicate_names_are_kept(emu, tmp_path):
    ids = make_tree(emu)
    elsewhere = emu.drive.add_folder("ไดรฟ์ของจังหวัด")
    target = emu.drive.add_file("สรุป.docx", elsewhere, b"target bytes", DOCX, T0)
    shortcut = emu.drive.add_shortcut("สรุป.docx", ids["น่าน"], target, T0)
    twin = emu.drive.add_file("IMG_0.jpg", ids["น่าน/photos"], b"another photo", "image/jpeg", T0)
    linked = emu.drive.add_folder("รูปเพิ่มเติม", elsewhere)
    extra = emu.drive.add_file("IMG_50.jpg", linked, b"linked", "image/jpeg", T0)
    emu.drive.add_shortcut("รูปเพิ่มเติม", ids["น่าน"], linked, T0)
    emu.drive.add_shortcut("วนกลับ", ids["น่าน/photos"], ids["root"], T0)  # a loop is walked once
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    listing = source.files()
    files = {f.file_id: f for f in listing.files}
    assert files[shortcut].mime_type == DOCX and files[shortcut].md5 == hashlib.md5(b"target bytes").hexdigest()
    assert files[shortcut].folders == ("จังหวัดน่าน",)
    assert source.read(files[shortcut]) == b"target bytes"
    assert DriveSource(google_api(emu, tmp_path), ids["root"]).read(files[shortcut]) == b"target bytes"
    assert files[extra].folders == ("จังหวัดน่าน", "รูปเพิ่มเติม")
    assert twin in files and ids["น่าน/IMG_0"] in files  # same name, same folder: two files
    assert len(files) == 10 + 3


def test_changes_feed_removals_moves_and_renames(emu, tmp_path):
    ids = make_tree(emu)
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    first = source.files()
    emu.reset_counts()
    nothing = source.files(first.cursor)
    assert (nothing.files, nothing.removed_ids) == ([], []) and dict(emu.counts) == {"drive.changes.list": 1}
    outside = emu.drive.add_folder("ที่อื่น")
    emu.drive.trash(ids["เชียงใหม่/IMG_0"])
    emu.drive.delete(ids["เชียงใหม่/IMG_1"])
    emu.drive.move(ids["เชียงใหม่/IMG_2"], outside)
    emu.drive.update_content(ids["ลำปาง/IMG_0"], b"edited", modifier_email="editor@example.go.th")
    emu.drive.add_file("unrelated.txt", outside, b"x", "text/plain", T0)
    step = source.files(nothing.cursor)
    assert not step.complete
    assert {ids["เชียงใหม่/IMG_0"], ids["เชียงใหม่/IMG_1"], ids["เชียงใหม่/IMG_2"]} <= set(step.removed_ids)
    (edited,) = step.files
    assert edited.file_id == ids["ลำปาง/IMG_0"] and edited.md5 == hashlib.md5(b"edited").hexdigest()
    emu.drive.rename(ids["ลำปาง"], "ลำปาง (ส่งแล้ว)")
    renamed = source.files(step.cursor)
    assert renamed.complete  # a folder changed: the tree was walked again
    assert {f.folders[0] for f in renamed.files if f.folders} == {"จังหวัดน่าน", "ลำปาง (ส่งแล้ว)"}
    emu.drive.move(ids["น่าน"], outside)
    moved_out = source.files(renamed.cursor)
    assert moved_out.complete and {f.folders[0] for f in moved_out.files if f.folders} == {"ลำปาง (ส่งแล้ว)"}


def test_an_expired_changes_token_walks_again(emu, tmp_path):
    ids = make_tree(emu)
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    cursor = source.files().cursor.replace('"token": "', '"token": "x')
    again = source.files(cursor)
    assert again.complete and len(again.files) == 10


def test_an_unshared_subfolder_is_a_problem_and_the_rest_is_listed(emu, tmp_path):
    ids = make_tree(emu)
    emu.faults.add("drive.files.list", status=403, match={"q_contains": ids["ลำปาง/photos"]})
    listing = DriveSource(google_api(emu, tmp_path), ids["root"]).files()
    assert not listing.complete  # so files known from before are kept, not deleted
    assert len(listing.files) == 10 - 3
    (problem,) = listing.problems
    assert problem.startswith("จังหวัดลำปาง/ภาพถ่าย: Drive folder " + ids["ลำปาง/photos"])
    assert f"is not shared with {SA_EMAIL}: share it as Viewer" in problem


def test_an_unshared_campaign_folder_is_fatal_with_the_fix(emu, tmp_path):
    from ingest.errors import FatalSourceError

    with pytest.raises(FatalSourceError) as caught:
        DriveSource(google_api(emu, tmp_path), "1NotSharedFolder").files()
    assert "Drive folder 1NotSharedFolder was not found, or is not shared with " + SA_EMAIL in str(caught.value)
    assert "as Viewer" in str(caught.value)


def test_a_file_that_cannot_be_read_is_one_invalid_item(emu, tmp_path):
    ids = make_tree(emu)
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    files = {f.file_id: f for f in source.files().files}
    emu.faults.add("drive.files.get", status=403, match={"path_contains": ids["น่าน/IMG_1"]})
    with pytest.raises(ItemError) as caught:
        source.read(files[ids["น่าน/IMG_1"]])
    assert caught.value.reason_th and "share it as Viewer" in str(caught.value)
    big = emu.drive.add_google_doc("ใหญ่", ids["น่าน"], b"x" * (10 * 1024 * 1024 + 1), T0)
    (doc,) = [f for f in source.files().files if f.file_id == big]
    with pytest.raises(ItemError, match="too large|exported"):
        source.read(doc)


def test_a_drive_level_change_in_the_change_log_is_skipped_not_fatal(emu, tmp_path):
    ids = make_tree(emu)  # in My Drive: read from the account's own change log
    other = emu.drive.add_shared_drive("ไดรฟ์อื่น", members=[SA_EMAIL])
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    first = source.files()
    emu.drive.rename_drive(other, "ไดรฟ์อื่น (ปิด)")  # a changeType "drive" entry: no fileId
    new = emu.drive.add_file("IMG_9.jpg", ids["น่าน/photos"], b"new", "image/jpeg", T0)
    step = source.files(first.cursor)
    assert [f.file_id for f in step.files] == [new] and not step.complete and not step.problems


def shared_with_a_non_member(emu: Emulator) -> tuple[str, dict[str, str]]:
    """The campaign folder inside a shared drive the service account is not a member of, shared with it
    as a folder (how a department often shares one folder of its drive)."""
    drive_id = emu.drive.add_shared_drive("ศูนย์ข้อมูล สพจ.", members=["admin@cdd.go.th"])
    ids = make_tree(emu, drive_id)
    emu.drive.share(ids["root"], SA_EMAIL, "reader")
    return drive_id, ids


def test_a_folder_shared_from_a_drive_the_account_is_not_a_member_of(emu, tmp_path):
    drive_id, ids = shared_with_a_non_member(emu)
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    assert "not a member of the drive" in source.check() and "account's own" in source.check()
    listing = source.files()
    assert listing.complete and len(listing.files) == 10
    # The user corpus, never the drive's (Drive would answer 404 "Shared drive not found").
    assert not any("driveId" in r.query for r in emu.calls("drive.files.list"))
    new = emu.drive.add_file("IMG_9.jpg", ids["น่าน/photos"], b"new", "image/jpeg", T0)
    emu.drive.trash(ids["ลำปาง/IMG_0"])
    step = source.files(listing.cursor)
    assert [f.file_id for f in step.files] == [new] and ids["ลำปาง/IMG_0"] in step.removed_ids
    assert not any("driveId" in r.query for r in emu.calls("drive.changes.list"))
    # Made a member later: the drive change in its own log re-walks, now from the drive's log.
    emu.drive.add_drive_member(drive_id, SA_EMAIL)
    rewalked = source.files(step.cursor)
    assert rewalked.complete and len(rewalked.files) == 10
    assert "member of the drive" in source.check() and "not a member" not in source.check()
    later = emu.drive.add_file("IMG_10.jpg", ids["น่าน/photos"], b"later", "image/jpeg", T0)
    assert [f.file_id for f in source.files(rewalked.cursor).files] == [later]
    assert emu.calls("drive.changes.list")[-1].query["driveId"] == [drive_id]


def test_empty_and_short_pages_with_a_token_are_followed(emu, tmp_path):
    ids = make_tree(emu)
    emu.drive.page_size_cap, emu.drive.empty_pages = 2, True
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    listing = source.files()
    assert listing.complete and len(listing.files) == 10
    new = [emu.drive.add_file(f"IMG_{i}.jpg", ids["ลำปาง/photos"], b"n%d" % i, "image/jpeg", T0) for i in range(5, 8)]
    assert sorted(f.file_id for f in source.files(listing.cursor).files) == sorted(new)


def test_an_incomplete_search_keeps_what_was_found_and_is_not_a_complete_listing(emu, tmp_path):
    _, ids = shared_with_a_non_member(emu)
    emu.drive.incomplete_search = True  # the user corpus spans shared drives: Drive may not search them all
    listing = DriveSource(google_api(emu, tmp_path), ids["root"]).files()
    assert not listing.complete  # so files known from before are kept, not deleted
    assert listing.problems and "incompleteSearch" in listing.problems[0]


def test_each_file_carries_a_link_to_each_of_its_folders_walked_or_from_the_changes_feed(emu, tmp_path):
    ids = make_tree(emu)
    source = DriveSource(google_api(emu, tmp_path), ids["root"])
    first = source.files()
    files = by_path(first)
    page = "https://drive.google.com/drive/folders/"
    assert files["จังหวัดเชียงใหม่/ภาพถ่าย/IMG_1.jpg"].folder_urls == (page + ids["เชียงใหม่"],
                                                                       page + ids["เชียงใหม่/photos"])
    assert files["น่าน_แบบบันทึก.docx"].folder_urls == ()  # at the top: no folder of its own
    emu.drive.move(ids["ลำปาง/IMG_0"], ids["น่าน"])
    (moved,) = source.files(first.cursor).files
    assert moved.folders == ("จังหวัดน่าน",) and moved.folder_urls == (page + ids["น่าน"],)
