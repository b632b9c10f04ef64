"""The memo's file of kept rows (`ingest.row_cache.KeptRows`): written and read a piece at a time, each
piece in `marshal`'s format where it can be, so that writing them leaves no copy of their texts behind.

Why not pickle, as the memo's other files: pickling a text that is not ASCII makes CPython keep its UTF-8
form inside the text object for as long as the text lives (`PyUnicode_AsUTF8AndSize`, which `_pickle`'s
`save_unicode` calls). The rows' 1.6 million Thai texts at 7,436 sub-districts live on in the tables
and the warehouse write, so pickling the rows grew a first sync by about 100 MB (measured offline on
the bench's kept rows: +102 MB the first time, +13 MB the second). `marshal` encodes each text into a
bytes object it lets go (`PyUnicode_AsEncodedString`, "surrogatepass"), so it grows the process by
what it writes at most. It writes and reads them about as fast as pickle did (offline, the bench's
126,521 kept rows as pickle gave them back: written in 0.85–1.04 s against pickle's 1.02 s, read in
0.59–0.61 s against 0.52–0.54 s), though the process then holds 18 MB more (`_encoded`).

`marshal` takes only the built-in types (texts, numbers, tuples, bytes, None, bools), so a row is
written as its fields, a piece's rows column by column (`_encoded`), its moments as wall-clock
microseconds with their time zones (UTC, a fixed offset, or a named zone; any other kind of time zone
and the piece is pickled as it is) and its problems as tuples. A piece that holds anything else (a value a
new source might give) is pickled whole: the rows always come back equal to what was written. Its format belongs to the Python that wrote it (as a
`.pyc` file's does), so the file starts with that Python's bytecode magic number: a file another Python
wrote is not read, and the rows are made again.
"""

from __future__ import annotations

import marshal
import pickle
import struct
from array import array
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from importlib.util import MAGIC_NUMBER
from itertools import islice
from operator import attrgetter
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from ingest.collected import Problem
from ingest.normalize import FileRow, ResponseRow
from ingest.row_cache import KeptRows

# What a rows file starts with: this layout's version, then the writing Python's bytecode magic number.
FORMAT = b"tidtam-rows/1 " + MAGIC_NUMBER
# Entries written at a time: one marshal or pickle call each (a pickler keeps an entry per object it
# wrote in its memo, 2.5 million objects at 7,436 sub-districts if written at once). Each piece is
# built whole in memory first: pieces of 10,000 entries (about 10 MB) grew a first sync at 7,436
# sub-districts by 57 MB while the rows were written (a memory probe: the freed buffers stay in the
# heap); pieces of 1,000 do not, and wrote and read the same rows offline no slower.
PIECE = 1_000
_KINDS = {b"r": "responses", b"f": "files"}
_MARSHAL, _PICKLE = b"m", b"p"
_LENGTH = struct.Struct("<Q")
_MARSHAL_VERSION = 4  # shares an object written twice in one piece, and keeps interned texts interned
_WALL_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 (wall-clock time: each moment's zone is written beside it)
_MICROSECOND = timedelta(microseconds=1)
_PROBLEM_FIELDS = attrgetter(*(f.name for f in fields(Problem)))  # a problem as the tuple of its fields


def write_rows(handle: BinaryIO, rows: KeptRows) -> None:
    """`rows` to `handle`: the format, the rows' header (campaign key and base), then their entries in pieces."""
    handle.write(FORMAT)
    _write_piece(handle, b"h", _PICKLE, pickle.dumps(KeptRows(rows.campaign, base=rows.base),
                                                     protocol=pickle.HIGHEST_PROTOCOL))
    for tag, kind in _KINDS.items():
        entries = iter(getattr(rows, kind).items())
        while piece := list(islice(entries, PIECE)):
            try:
                data, codec = marshal.dumps(_encoded(kind, piece), _MARSHAL_VERSION), _MARSHAL
            except ValueError:  # a value marshal does not take, or a time zone `_moments` does not: as it is
                data, codec = pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL), _PICKLE
            _write_piece(handle, tag, codec, data)


def read_rows(handle: BinaryIO, campaign: str | None = None) -> KeptRows | None:
    """The rows `write_rows` wrote; None when the file is not in this format of this Python, or (with
    `campaign`) the rows were made under another campaign key, told before any entry is read. A file
    cut short between pieces gives the entries before the cut (each is checked by its stamps before use)."""
    if handle.read(len(FORMAT)) != FORMAT:
        return None
    end = handle.seek(0, 2)  # the file's size, once: no piece may claim more than is left
    handle.seek(len(FORMAT))
    header = _read_piece(handle, end)
    if header is None:
        return None
    rows = pickle.loads(header[2])  # noqa: S301 (a file tidtam wrote beside its own state)
    if not isinstance(rows, KeptRows) or (campaign is not None and rows.campaign != campaign):
        return None
    while (piece := _read_piece(handle, end)) is not None:
        tag, codec, data = piece
        kind = _KINDS.get(tag)
        if kind is None:
            raise ValueError(f"damaged rows file: a piece tagged {tag!r}")
        if codec == _MARSHAL:
            getattr(rows, kind).update(_decoded(kind, marshal.loads(data)))
        elif codec == _PICKLE:
            getattr(rows, kind).update(pickle.loads(data))  # noqa: S301
        else:
            raise ValueError(f"damaged rows file: a piece in codec {codec!r}")
    return rows


def _write_piece(handle: BinaryIO, tag: bytes, codec: bytes, data: bytes) -> None:
    handle.write(tag + codec + _LENGTH.pack(len(data)))
    handle.write(data)


def _read_piece(handle: BinaryIO, end: int) -> tuple[bytes, bytes, bytes] | None:
    """The next piece's tag, codec and bytes; None at the end or where the file was cut short."""
    head = handle.read(2 + _LENGTH.size)
    if len(head) < 2 + _LENGTH.size:
        return None
    length = _LENGTH.unpack(head[2:])[0]
    if length > end - handle.tell():  # cut short, or a damaged length: never allocated
        return None
    return head[:1], head[1:2], handle.read(length)


def _encoded(kind: str, piece: list[tuple[Any, Any]]) -> tuple[Any, ...]:
    """A piece as columns (keys, stamps, then each field of the rows), its moments packed (`_moments`):
    reading it makes each row's objects once, with no tuple or text per row made only to be thrown away (0.56 s to read at 7,436 sub-districts, against 0.59 s for a tuple
    per row with moments as ISO texts. Either way the process held 268–272 MB once the rows were read
    where the pickle's left 248 MB, with the same objects alive, counted by type, but for 52,161 moments
    (a file's arrival, the same object as its creation in the pickle: shared again by `_decoded`, 266 MB);
    where the rest goes was not found)."""
    keys = [key for key, _ in piece]
    stamps = [entry[0] for _, entry in piece]
    rows = [entry[1] for _, entry in piece]
    if kind == "responses":
        return (keys, stamps, _moments(r.created_at for r in rows), [r.response_id for r in rows],
                [r.row for r in rows], [r.questions for r in rows], [_problems(r.problems) for r in rows])
    return (keys, stamps, _moments(f.created_at for f in rows), [f.file_id for f in rows], [f.row for f in rows],
            [f.reasons for f in rows], [f.countable for f in rows], [f.copy_key for f in rows],
            _moments(f.arrived_at for f in rows), [_problems(f.problems) for f in rows], [f.focus for f in rows])


def _decoded(kind: str, columns: tuple[Any, ...]) -> Iterable[tuple[Any, tuple[Any, Any]]]:
    keys, stamps, created, *fields_ = columns
    created = _moments_back(created)
    if kind == "responses":
        ids, rows, questions, problems = fields_
        return ((key, (stamp, ResponseRow(at, rid, row, asked, _problems_back(found))))
                for key, stamp, at, rid, row, asked, found in zip(keys, stamps, created, ids, rows, questions,
                                                                  problems, strict=True))
    ids, rows, reasons, countable, copy_keys, arrived, problems, focus = fields_
    # A file's arrival is mostly its creation: one object for both, as the rows had before they were written.
    arrived = [made if came == made and came.tzinfo is made.tzinfo and came.fold == made.fold else came
               for made, came in zip(created, _moments_back(arrived), strict=True)]
    return ((key, (stamp, FileRow(at, fid, row, why, counts, copy_key, came, _problems_back(found), answers)))
            for key, stamp, at, fid, row, why, counts, copy_key, came, found, answers
            in zip(keys, stamps, created, ids, rows, reasons, countable, copy_keys, arrived, problems, focus,
                   strict=True))


def _moments(values: Iterable[datetime]) -> tuple[bytes, bytes, tuple[Any, ...]]:
    """Moments as their wall-clock microseconds since 1970-01-01 (packed), each with its time zone's
    place in a short table and its `fold` (packed), and the table: UTC, a fixed offset (a Forms export's
    `+07:00`, as the state gives it back: `connectors/forms_export.py` converts to Asia/Bangkok and the
    stored ISO text comes back as `timezone(timedelta(hours=7))`, seen in the demo's kept rows) or a
    named zone (`ZoneInfo`). Any other time zone, or a datetime subclass, raises ValueError: the piece
    is pickled as it is."""
    wall, zones = array("q"), array("H")
    table: list[Any] = []
    # Per time zone object: its place in the table and 1970-01-01 in it. Two moments with one tzinfo
    # object subtract as wall-clock times (no UTC offset is asked for), as fast as two in UTC.
    known: dict[int, tuple[int, datetime]] = {}
    for value in values:
        if type(value) is not datetime:
            raise ValueError("not a datetime")
        found = known.get(id(value.tzinfo))
        if found is None:
            table.append(_zone_written(value.tzinfo))
            found = known[id(value.tzinfo)] = (len(table) - 1, _WALL_EPOCH.replace(tzinfo=value.tzinfo))
        wall.append((value - found[1]) // _MICROSECOND)
        zones.append(found[0] * 2 + value.fold)
    return wall.tobytes(), zones.tobytes(), tuple(table)


def _moments_back(written: tuple[bytes, bytes, tuple[Any, ...]]) -> list[datetime]:
    wall, zones = array("q"), array("H")
    wall.frombytes(written[0])
    zones.frombytes(written[1])
    # An aware moment plus a timedelta is wall-clock arithmetic that keeps the zone (fold 0).
    epochs = [_WALL_EPOCH.replace(tzinfo=_zone_read(z)) for z in written[2]]
    return [epochs[at >> 1] + timedelta(microseconds=us) if not at & 1
            else (epochs[at >> 1] + timedelta(microseconds=us)).replace(fold=1)
            for us, at in zip(wall, zones, strict=True)]


def _zone_written(zone: Any) -> tuple[Any, ...]:
    """A time zone as marshal can write it, only where `_zone_read` gives back an equal one that prints
    the same (so that rows come back as they were, `repr` included)."""
    if zone is None:
        return ("naive",)
    if zone is UTC:
        return ("utc",)
    if type(zone) is timezone and repr(zone) == repr(timezone(zone.utcoffset(None))):
        return ("offset", zone.utcoffset(None) // _MICROSECOND)
    if type(zone) is ZoneInfo and zone.key and ZoneInfo(zone.key) is zone:
        return ("zone", zone.key)
    raise ValueError(f"a time zone not written as text: {zone!r}")


def _zone_read(written: tuple[Any, ...]) -> Any:
    kind = written[0]
    if kind == "naive":
        return None
    if kind == "utc":
        return UTC
    if kind == "offset":
        return timezone(timedelta(microseconds=written[1]))
    if kind == "zone":
        return ZoneInfo(written[1])
    raise ValueError(f"damaged rows file: a time zone written as {written!r}")


def _problems_back(found: tuple[tuple[str, ...], ...]) -> tuple[Problem, ...]:
    return tuple(Problem(*p) for p in found) if found else ()


def _problems(problems: tuple[Problem, ...]) -> tuple[tuple[str, ...], ...]:
    if any(type(p) is not Problem for p in problems):
        raise ValueError("not a Problem")
    return tuple(map(_PROBLEM_FIELDS, problems))
