"""The kept rows' file (ingest.rows_file): rows come back equal to what was written, whatever they hold;
a file in another format, of another Python or cut short is never misread; writing leaves no UTF-8
copy inside the rows' texts (why the file is not a pickle)."""

from __future__ import annotations

import io
import pickle
import sys
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest import rows_file
from ingest.collected import Problem
from ingest.memo import RunMemo
from ingest.normalize import FileRow, ResponseRow
from ingest.row_cache import KeptRows

WHEN = datetime(2022, 11, 8, 6, 58, 12, 345678, tzinfo=UTC)


def _response(i: int, **changes) -> ResponseRow:
    row = ResponseRow(WHEN + timedelta(minutes=i), f"ACYDB{i}", (f"ACYDB{i}", "questionnaire", "140309", "ตำบลบางปลา",
                      "บางปลา", None, "", True, "", "", f"row {i + 2}", 4, "ครู", 3.5, float("nan")),
                      ("ตำแหน่ง", "ข้อ 1"), (Problem("unit_unmatched", "form", f"row {i}", "บางปา", "matches no unit", "1403 บางปลา"),))
    return row._replace(**changes)


def _file(i: int, **changes) -> FileRow:
    row = FileRow(WHEN, f"1abc{i}", (f"1abc{i}", "IMG.jpg", "ตำบลบางปลา/ภาพถ่าย", "140309", "ตำบลบางปลา", "บางปลา", "photos",
                                   "photo", "image/jpeg", 6123, "ab" * 32, None, None, "", True, "", "", "", "", "https://drive"),
                  ("ภาพเล็กเกินไป",), True, ("140309", "photos", "3a9c"), WHEN + timedelta(hours=1), (),
                  (("140309", "ตำบลบางปลา", f"1abc{i}", "ตอนที่ 1", 1, "คำถาม", "คำตอบยาว ๆ"),))
    return row._replace(**changes)


def _kept(responses, files) -> KeptRows:
    return KeptRows("3:campaign", {("questionnaire", r.response_id): (7 + i, r) for i, r in enumerate(responses)},
                    {("uploads", f.file_id): ((i, None if i % 2 else i + 1), f) for i, f in enumerate(files)}, base="b1")


def _round_trip(rows: KeptRows, campaign: str | None = None) -> KeptRows | None:
    buffer = io.BytesIO()
    rows_file.write_rows(buffer, rows)
    buffer.seek(0)
    return rows_file.read_rows(buffer, campaign)


def _same(a: KeptRows, b: KeptRows) -> None:
    assert (a.campaign, a.base) == (b.campaign, b.base)
    # repr: NaN answers compare unequal to themselves, and the time zone object must be the same one.
    assert repr(a.responses) == repr(b.responses) and repr(a.files) == repr(b.files)
    for row in [*(v[1] for v in b.responses.values()), *(v[1] for v in b.files.values())]:
        assert row.created_at.tzinfo is UTC


def test_rows_come_back_equal_across_pieces(monkeypatch):
    monkeypatch.setattr(rows_file, "PIECE", 3)
    rows = _kept([_response(i) for i in range(7)], [_file(i) for i in range(5)])
    back = _round_trip(rows)
    _same(rows, back)
    assert list(back.responses) == list(rows.responses) and list(back.files) == list(rows.files)


def test_moments_in_any_zone_come_back_as_they_were():
    """UTC (the APIs), a fixed offset (a Forms export's `+07:00` as the state gives it back), a named zone,
    a naive moment and the second of an ambiguous wall time: written by marshal, read back with the same
    zone, fold and `repr`."""
    ambiguous = datetime(2022, 11, 6, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York"))
    moments = [WHEN, datetime(2022, 11, 8, 13, 58, tzinfo=timezone(timedelta(hours=7))),
               datetime(2022, 11, 8, 13, 58, tzinfo=ZoneInfo("Asia/Bangkok")), ambiguous,
               datetime(2022, 11, 8, 13, 58)]  # noqa: DTZ001 (a naive moment, kept as it is)
    rows = _kept([_response(i, created_at=m) for i, m in enumerate(moments)],
                 [_file(i, created_at=m, arrived_at=moments[-1 - i]) for i, m in enumerate(moments)])
    buffer = io.BytesIO()
    rows_file.write_rows(buffer, rows)
    assert _codecs(buffer.getvalue()) == [b"p", b"m", b"m"]  # the header, then one piece of each kind
    buffer.seek(0)
    back = rows_file.read_rows(buffer)
    assert repr(back.responses) == repr(rows.responses) and repr(back.files) == repr(rows.files)
    for kept, read in zip([*rows.responses.values(), *rows.files.values()],
                          [*back.responses.values(), *back.files.values()], strict=True):
        for field in ("created_at", "arrived_at")[:2 if isinstance(kept[1], FileRow) else 1]:
            a, b = getattr(kept[1], field), getattr(read[1], field)
            assert (a.tzinfo, a.fold, a.replace(tzinfo=None)) == (b.tzinfo, b.fold, b.replace(tzinfo=None))
    assert back.responses[("questionnaire", "ACYDB3")][1].created_at.utcoffset() == ambiguous.utcoffset()


def test_a_piece_marshal_cannot_take_is_pickled_and_still_comes_back_equal(monkeypatch):
    """A time zone of another kind (a named fixed offset), a value of a type marshal does not take, a text
    of a subclass: that piece is pickled whole; the others stay in marshal."""
    monkeypatch.setattr(rows_file, "PIECE", 2)
    named = _response(1, created_at=datetime(2022, 11, 8, 13, 58, tzinfo=timezone(timedelta(hours=7), "ICT")))
    odd = _response(5, row=(*_response(5).row, datetime(2022, 1, 1, tzinfo=timezone(timedelta(hours=7))),
                            Label("x"), b"\xff"))
    zoned = _file(1, arrived_at=datetime(2022, 11, 8, 13, 58, tzinfo=ZoneInfo("Asia/Bangkok")))
    rows = _kept([_response(0), named, _response(2), _response(3), odd], [_file(0), zoned, _file(2)])
    buffer = io.BytesIO()
    rows_file.write_rows(buffer, rows)
    codecs = _codecs(buffer.getvalue())
    assert codecs == [b"p", b"p", b"m", b"p", b"m", b"m"]  # header, then pieces of 2: r(0,1) r(2,3) r(5), f(0,1) f(2)
    buffer.seek(0)
    back = rows_file.read_rows(buffer)
    assert repr(back.responses) == repr(rows.responses) and repr(back.files) == repr(rows.files)
    assert back.responses[("questionnaire", "ACYDB1")][1].created_at.tzname() == "ICT"
    assert type(back.responses[("questionnaire", "ACYDB5")][1].row[-2]) is Label


class Label(str):
    """A text of a subclass of str (marshal takes only str itself)."""


def _codecs(data: bytes) -> list[bytes]:
    at, out = len(rows_file.FORMAT), []
    while at < len(data):
        out.append(data[at + 1:at + 2])
        at += 10 + int.from_bytes(data[at + 2:at + 10], "little")
    return out


def test_texts_with_lone_surrogates_and_byte_keys_come_back():
    """File ids kept as bytes and texts holding lone surrogates (undecodable names, `ingest.state`)."""
    weird = _file(0, file_id="z\udcff", row=("z\udcff", "a\udc80.jpg", *_file(0).row[2:]))
    rows = KeptRows("3:c", {}, {("uploads", "z\udcff"): ((1, 2), weird), ("uploads", b"\xff"): (b"x", _file(1))})
    _same(rows, _round_trip(rows))


def test_rows_of_another_campaign_format_or_python_are_not_read():
    rows = _kept([_response(0)], [_file(0)])
    assert _round_trip(rows, "3:other") is None
    assert _round_trip(rows, "3:campaign") is not None
    buffer = io.BytesIO()
    rows_file.write_rows(buffer, rows)
    data = buffer.getvalue()
    # Another Python's bytecode magic number: its marshal format is not ours to read.
    other = data.replace(rows_file.FORMAT, rows_file.FORMAT[:-4] + b"\x00\x00\r\n", 1)
    assert rows_file.read_rows(io.BytesIO(other)) is None
    # The pickle an older tidtam wrote.
    assert rows_file.read_rows(io.BytesIO(pickle.dumps(rows))) is None


def test_a_file_cut_short_gives_the_pieces_before_the_cut(monkeypatch):
    monkeypatch.setattr(rows_file, "PIECE", 2)
    rows = _kept([_response(i) for i in range(5)], [])
    buffer = io.BytesIO()
    rows_file.write_rows(buffer, rows)
    data = buffer.getvalue()
    back = rows_file.read_rows(io.BytesIO(data[:-5]))
    assert list(back.responses) == list(rows.responses)[:4]
    with pytest.raises(ValueError):
        rows_file.read_rows(io.BytesIO(data.replace(b"rm", b"?m", 1)))
    # A damaged length (2**63 bytes) is taken as a cut, not allocated.
    at = data.index(b"rm") + 2
    damaged = data[:at] + (2**63).to_bytes(8, "little") + data[at + 8:]
    assert rows_file.read_rows(io.BytesIO(damaged)).size == 0


def test_writing_leaves_no_utf8_copy_in_the_rows_texts():
    """Why the rows are not pickled: pickling a non-ASCII text makes CPython keep its UTF-8 form inside
    it for as long as it lives (the rows' texts live on in the tables). `sys.getsizeof` counts that copy."""
    answer = "".join(["คำตอบที่ไม่ซ้ำใคร ", str(id(object()))])  # made at run time: nothing has encoded it yet
    rows = _kept([_response(0, row=(*_response(0).row[:-1], answer))], [])
    size = sys.getsizeof(answer)
    _round_trip(rows)
    assert sys.getsizeof(answer) == size
    pickle.dumps(answer)
    assert sys.getsizeof(answer) > size  # the check sees the copy pickle leaves


def test_a_damaged_rows_file_makes_the_memo_make_its_rows_again(tmp_path):
    """Whatever a damaged file holds, the memo says it has no rows (the run makes them all again)."""
    memo = RunMemo(tmp_path / "state.sqlite")
    memo.folder.mkdir()
    buffer = io.BytesIO()
    rows_file.write_rows(buffer, _kept([_response(0)], [_file(0)]))
    good = buffer.getvalue()
    piece = good.index(b"rm")
    for damaged in (b"", b"garbage", rows_file.FORMAT + b"hp" + (5).to_bytes(8, "little") + b"12345",
                    good[:piece + 10] + b"\x00" * (len(good) - piece - 10), good.replace(b"rm", b"rx", 1)):
        (memo.folder / "rows.bin").write_bytes(damaged)
        assert memo.rows() is None or memo.rows().size == 0, damaged[:40]
    (memo.folder / "rows.bin").write_bytes(good)
    assert memo.rows().size == 2
