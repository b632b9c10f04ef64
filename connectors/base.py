"""The contracts between tidtam and the outside world: plain records and small protocols.

Connectors know nothing of campaigns: a responses source yields form responses, an uploads source
lists files and reads their bytes, a warehouse stores named tables, a mailer sends messages.
Some connectors can do more (be checked by `tidtam doctor`, say whether a message went out, be
closed, count their Google calls): each such capability is one small runtime-checkable protocol,
so the caller asks `isinstance(connector, Checkable)` instead of probing for attribute names.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal, Protocol, runtime_checkable

# An answer is one string, or several for checkboxes, grids and file uploads.
Answer = str | tuple[str, ...]


@dataclass(frozen=True)
class FormResponse:
    """One submission of a form, as the source gives it (answers keyed by question title)."""

    response_id: str
    created_at: datetime
    answers: Mapping[str, Answer]
    origin: str  # where a person finds it again: "responses.csv row 14", "form 1FAIpQ… response ACYDB…"
    last_submitted_at: datetime | None = None
    respondent_email: str | None = None
    file_ids: tuple[str, ...] = ()  # Drive files attached through a file-upload question


@dataclass(frozen=True)
class UploadedFile:
    """Metadata of one uploaded file; its bytes are read separately, and only when needed."""

    file_id: str
    name: str
    folders: tuple[str, ...]  # folder names from the campaign root down to the file's parent
    mime_type: str
    created_at: datetime
    size: int | None = None
    md5: str | None = None  # Drive's md5Checksum; None for Google Docs and local files
    version: str | None = None  # anything that changes when the content changes
    modified_at: datetime | None = None
    uploader_email: str | None = None
    origin: str = ""
    exported_from: str | None = None  # "application/vnd.google-apps.document" when exported, not uploaded
    # A link that opens each of `folders` (same order, same length), for a person to click: a Drive
    # folder's page, a local folder's file:// URI. () when the source cannot tell (and in a state
    # stored before files carried it).
    folder_urls: tuple[str, ...] = ()
    # When the source last saw the file change (Drive: the `time` of its changes-feed entry); only an
    # incremental listing knows it. A move into the tree is such a change, and createdTime survives it.
    changed_at: datetime | None = None
    # When it came into the upload tree, as ingest.arrival decided; None until then (read: created_at).
    arrived_at: datetime | None = None


@dataclass(frozen=True)
class FileListing:
    """What an uploads source returned: current files, and ids known to be gone when incremental."""

    files: Sequence[UploadedFile]
    removed_ids: Sequence[str] = ()
    complete: bool = True  # True: `files` is everything there is; False: only what changed
    cursor: str | None = None
    problems: Sequence[str] = ()  # "where: what" for parts that could not be listed (e.g. one unshared folder)
    # True when the listing shows the source as it is (Drive's API), so a file missing from it was not
    # in the tree then; a mirror on disk may lag behind Drive, so what it lists late is not "moved in".
    live: bool = False


@dataclass(frozen=True)
class ResponseBatch:
    responses: Sequence[FormResponse]
    complete: bool = True  # True: every response of the form; False: only those since the cursor
    cursor: str | None = None
    problems: Sequence[str] = ()  # rows the source could not read at all, named for a person


class ResponsesSource(Protocol):
    def responses(self, since: str | None = None) -> ResponseBatch: ...


class UploadsSource(Protocol):
    def files(self, since: str | None = None) -> FileListing: ...

    def read(self, file: UploadedFile) -> bytes: ...


@dataclass(frozen=True)
class SheetFormat:
    """How a table should look to a person: frozen header, a fill colour per row."""

    frozen_rows: int = 1
    row_colours: Sequence[str | None] = ()  # "#RRGGBB" per data row, None for no fill
    column_widths: Sequence[int] = ()


@dataclass(frozen=True)
class Chart:
    """A native chart of some of its table's columns; each warehouse draws it from this one spec.

    Ranges are column indices of the table and a fixed number of data rows below its header: a Sheets
    chart is created once and kept, so its range spans the rows the table will ever have (the days of
    a whole campaign), not only those written so far; empty rows draw nothing.
    """

    kind: Literal["line", "bar"]
    title: str
    domain: int  # the column of labels (x axis of a line, categories of a bar chart)
    series: tuple[int, ...]  # the columns drawn; each one's header names its series
    rows: int  # data rows spanned below the header
    place_on: str | None = None  # the tab that shows it (None: the table's own)
    anchor_column: int = 0  # where its top-left corner sits on that tab (0-based)
    anchor_row: int = 1


@dataclass(frozen=True)
class EditableColumns:
    """Columns of a table that a person fills in, each row's kept beside the row's stable key.

    The key column is at `key`; the `count` editable columns follow it. A warehouse reads them back
    by key (`read_edits`) and, when it rewrites rows, takes the values it finds there at that moment
    over the ones the table carries, so a person's cell is never written over.
    """

    key: int  # index of the key column in the header
    count: int
    choices: tuple[str, ...] = ()  # a dropdown on the first editable column


@runtime_checkable
class ColumnarRows(Protocol):
    """Rows that can give one column without making every row (ingest.publish.analyst.FrameRows)."""

    def column(self, index: int) -> Sequence[Any]: ...


def column_of(rows: Sequence[Sequence[Any]], index: int) -> Sequence[Any]:
    """Every row's cell `index` (the rows must have it)."""
    return rows.column(index) if isinstance(rows, ColumnarRows) else [row[index] for row in rows]


@dataclass(frozen=True)
class RowPieces:
    """Keys of a table's data rows taken `size` at a time, from a maker that can tell a piece unchanged
    without looking at its values (ingest.publish.analyst.piece_keys): two pieces with the same key at
    the same place, in tables of the same header, hold the same values."""

    size: int
    keys: Sequence[str]


@dataclass
class Table:
    """A named table for the warehouse: header plus rows of plain values."""

    name: str
    header: Sequence[str]
    # A list, or a sequence that makes its rows when asked (ingest.publish.analyst.FrameRows): read it by
    # index or in order, and copy a row before changing it.
    rows: Sequence[list[Any]] = field(default_factory=list)
    sheet_format: SheetFormat | None = None
    note: str | None = None  # one line above the header, e.g. "updated 12 พ.ย. 65 17:00"
    # A formula of ours (never respondent text) shown beside the note and evaluated when the sheet is
    # opened: it is how a sheet nobody updates any more can still say that it is stale.
    note_formula: str | None = None
    charts: Sequence[Chart] = ()
    # Cells that link somewhere: (data row, column) → target, both 0-based. A target is a URL
    # ("https://…", "file://…") or rows of another tab of the same workbook, "#tab!A5:K9".
    links: Mapping[tuple[int, int], str] = field(default_factory=dict)
    editable: EditableColumns | None = None
    # A digest of everything above, from whoever made the table: two tables of the same name and
    # fingerprint are equal ("" = not known). A warehouse that remembers the fingerprint it last wrote
    # under a tab need not look at a table that has it again.
    fingerprint: str = ""
    # Set on a table made from its fingerprint alone: what makes the whole table (see `whole`).
    loader: Callable[[], Table] | None = field(default=None, repr=False, compare=False)
    # Per column, the types of its values, from a maker that has the values by column anyway
    # (`ingest.publish.analyst.frame_table`); None: found from the rows when needed. Whoever changes
    # rows of a table that has them keeps them true (`connectors.edits.keep_edits`).
    column_types: Sequence[frozenset[type]] | None = field(default=None, repr=False, compare=False)
    # Every row's length, when its maker knows it without looking at each (a frame's rows: its column
    # count); None: found from the rows when needed.
    row_width: int | None = field(default=None, repr=False, compare=False)
    # The rows' keys by piece (`RowPieces`), so that a warehouse that remembers what it wrote under
    # them need not look at a piece again; None: not known. Whoever changes rows drops them
    # (`connectors.edits.keep_edits`).
    pieces: RowPieces | None = field(default=None, repr=False, compare=False)

    def whole(self) -> Table:
        """This table with its header and rows: a table made from a fingerprint alone is made now."""
        if self.loader is None:
            return self
        made = self.loader()
        return replace(made, fingerprint=self.fingerprint or made.fingerprint)


class Warehouse(Protocol):
    def write(self, tables: Iterable[Table]) -> None: ...


@runtime_checkable
class EditableWarehouse(Warehouse, Protocol):
    def read_edits(self, tabs: Mapping[str, Sequence[str]], *, undecided: Collection[str] = ()
                   ) -> dict[str, dict[str, tuple[str, ...]]]:
        """Per tab, key → the editable cells of its row, for tabs whose header holds the named key and
        editable columns (`tabs`: tab → (key header, editable headers...)); rows with all of them blank
        are included (a cleared cell is an edit too), a tab not there yet is left out. For a tab in
        `undecided` (the caller knows no edit of it) the rows may be left out while all are blank."""
        ...


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@runtime_checkable
class Checkable(Protocol):
    def check(self) -> str:
        """One cheap call proving the object is reachable (for `tidtam doctor`); what was found."""
        ...


@runtime_checkable
class DeliveryProbe(Protocol):
    def delivered(self, message_id: str) -> bool | None:
        """Whether a message went out (None: cannot tell); settles the intents of a crashed run."""
        ...


@runtime_checkable
class Closeable(Protocol):
    def close(self) -> None: ...


@runtime_checkable
class CallCounting(Protocol):
    def api_calls(self) -> Mapping[str, int]:
        """Google API calls so far, per method id, of a client the connector holds on its own."""
        ...
