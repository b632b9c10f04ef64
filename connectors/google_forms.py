"""Google Forms as a responses source: the Forms API, or the form's linked response spreadsheet.

Answers are keyed by question title, as the "Download responses" export keys them, so one config
(`unit_question: จังหวัด`) works with every responses backend.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.a1 import column_letters, quote_tab
from connectors.base import Answer, FormResponse, ResponseBatch
from connectors.forms_columns import is_timestamp_header, timestamp_column
from connectors.forms_export import responses_from_rows
from connectors.google_api import GoogleApi, GoogleApiError
from connectors.google_auth import SCOPES
from ingest.errors import FatalSourceError
from ingest.forms_time import spreadsheet_zone
from ingest.thaidate import DateParseError

log = logging.getLogger(__name__)

PAGE_SIZE = 5000  # the largest page forms.responses.list gives
# Responses become visible to the list a little after they were submitted: re-read this much.
OVERLAP = timedelta(minutes=5)
_FORM_FIELDS = "items(title,questionItem/question/questionId,questionGroupItem/questions(questionId,rowQuestion/title))"


class FormsApiSource:
    """`forms.get` for question titles, then `forms.responses.list`, incrementally by createTime.

    The cursor is JSON: the latest createTime seen and the question titles, so an incremental run
    costs one call; a full run (no cursor) reads the form again and re-reads every response.

    Edited responses: arrival is `createTime` ("the first time the response was submitted"), which an
    edit leaves alone; `lastSubmittedTime` moves. Google documents the list filter as "responses
    submitted after timestamp N" without saying which of the two it compares (forms.responses.list
    reference), so the incremental read is built to be right either way: its lower bound is the latest
    *createTime* seen, minus the overlap. Compared on createTime, every new response is at or after it;
    compared on lastSubmittedTime, the same responses and some edited ones come back (upserted, same
    arrival). An edit itself never moves the cursor (that would skip responses created before the edit
    but listed after the read). Edits of older responses are caught by the periodic full read
    (`schedule.full_every`, a day by default).
    """

    def __init__(self, api: GoogleApi, form_id: str, *, overlap: timedelta = OVERLAP) -> None:
        self.api = api
        self.form_id = form_id
        self.overlap = overlap

    @property
    def _forms(self) -> Any:
        return self.api.collection("forms", "v1", SCOPES["forms"], "forms")

    @property
    def _what(self) -> str:
        return f"Google Form {self.form_id}"

    def check(self) -> str:
        """One cheap call proving the form is readable (for `tidtam doctor`)."""
        form = self.api.execute(self._forms.get(formId=self.form_id, fields="formId,info/title"), what=self._what)
        return f"form {form.get('info', {}).get('title', '')!r} is readable"

    def responses(self, since: str | None = None) -> ResponseBatch:
        cursor = _Cursor.parse(since, self.form_id)
        questions = cursor.questions if cursor else self._questions()
        after = cursor.after - self.overlap if cursor and cursor.after else None
        query = f"timestamp >= {_zulu(after)}" if after else None
        found, untitled = self._list(query, questions)
        if cursor and untitled:
            # The form gained a question since the last full read: its titles are read again, then this
            # read's responses under them (one more list call, of an incremental read's few responses),
            # so every response takes the form's titles as they are now, a renamed question's too. A full
            # read has just read the titles; an answer to a question since deleted keeps its id.
            questions = self._questions()
            found, _ = self._list(query, questions)
        latest = cursor.after if cursor else None
        for response in found.values():
            if latest is None or response.created_at > latest:
                latest = response.created_at
        return ResponseBatch(list(found.values()), complete=cursor is None,
                             cursor=_Cursor(self.form_id, latest, questions).dump())

    def _questions(self) -> dict[str, str]:
        """Question id → the column title the CSV export would give it (grid rows: "grid [row]")."""
        form = self.api.execute(self._forms.get(formId=self.form_id, fields=_FORM_FIELDS), what=self._what)
        titles: dict[str, str] = {}
        used: set[str] = set()
        for item in form.get("items", []):
            title = str(item.get("title") or "").strip()
            found = []
            if "questionItem" in item:
                found.append((item["questionItem"]["question"]["questionId"], title))
            for question in item.get("questionGroupItem", {}).get("questions", []):
                row = str(question.get("rowQuestion", {}).get("title") or "").strip()
                found.append((question["questionId"], f"{title} [{row}]"))
            for qid, name in found:
                name = name or qid
                titles[qid] = name if name not in used else f"{name} ({qid})"  # two questions, one title
                used.add(titles[qid])
        return titles

    def _list(self, query: str | None, questions: Mapping[str, str]) -> tuple[dict[str, FormResponse], bool]:
        """Every page, de-duplicated by responseId (a response edited between pages comes back), and
        whether some response answers a question not in `questions`.

        Each page's responses are converted as the page comes and its JSON let go: a first sync at
        7,436 sub-districts grew by ≈680 MB while the 15 pages of 74,360 responses were held whole
        (with the Drive walk's listing beside them; bench/README.md, the memory pass)."""
        found: dict[str, FormResponse] = {}
        untitled = False
        token = None
        while True:
            # prettyPrint=false: a standard parameter of every Google API ("Returns response with
            # indentations and line breaks", default true, in the discovery document's top-level
            # parameters); a page of 5,000 responses is much smaller without the indentation.
            args: dict[str, Any] = {"formId": self.form_id, "pageSize": PAGE_SIZE, "prettyPrint": False}
            if query:
                args["filter"] = query  # a page token is only valid with the filter it came from
            if token:
                args["pageToken"] = token
            page = self.api.execute(self._forms.responses().list(**args), what=self._what)
            for item in page.get("responses", []):
                untitled = untitled or any(qid not in questions for qid in item.get("answers", {}))
                found[item["responseId"]] = self._response(item, questions)
            token = page.get("nextPageToken")
            if not token:
                return found, untitled

    def _response(self, item: Mapping[str, Any], questions: Mapping[str, str]) -> FormResponse:
        answers: dict[str, Answer] = {}
        file_ids: list[str] = []
        for qid, answer in item.get("answers", {}).items():
            if "fileUploadAnswers" in answer:
                uploads = answer["fileUploadAnswers"].get("answers", [])
                file_ids.extend(u["fileId"] for u in uploads if u.get("fileId"))
                values = [str(u.get("fileName") or u.get("fileId") or "") for u in uploads]
            else:
                values = [str(a.get("value", "")) for a in answer.get("textAnswers", {}).get("answers", [])]
            values = [v for v in values if v.strip()]
            if values:
                answers[questions.get(qid, qid)] = values[0] if len(values) == 1 else tuple(values)
        last = item.get("lastSubmittedTime")
        return FormResponse(
            response_id=item["responseId"], created_at=_time(item["createTime"]), answers=answers,
            origin=f"form {self.form_id} response {item['responseId']}",
            last_submitted_at=_time(last) if last else None, respondent_email=item.get("respondentEmail"),
            file_ids=tuple(file_ids))


class FormsSheetSource:
    """The form's linked response spreadsheet, parsed like a "Download responses" file.

    Arrival times are read unformatted (serial numbers, in the spreadsheet's own `timeZone`), so no
    locale or display format can change them; the other columns are read as people see them. The
    responses tab is found by its header, not its place: people add tabs in front of it. The tab's
    title and the zone are kept in the cursor, so a run costs two `values.get` calls; the spreadsheet's
    metadata is read again only on the first run or after the tab was renamed.
    """

    def __init__(self, api: GoogleApi, spreadsheet_id: str, *, worksheet: str | None = None,
                 timestamp_order: str | None = None) -> None:
        self.api = api
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet
        self.timestamp_order = timestamp_order

    @property
    def _what(self) -> str:
        return f"response spreadsheet {self.spreadsheet_id}"

    def check(self) -> str:
        tab, _ = self._locate()
        return f"tab {tab!r} is readable"

    def responses(self, since: str | None = None) -> ResponseBatch:
        memo = _json(since) if since else {}
        remembered = memo.get("tab") if memo.get("timeZone") else None
        tab, zone = (remembered, str(memo["timeZone"])) if remembered else self._locate()
        try:
            values = self._values(tab, "FORMATTED_VALUE")
        except GoogleApiError as exc:
            if exc.status != 400 or tab != remembered:
                raise
            tab, zone = self._locate()  # renamed since the last run
            values = self._values(tab, "FORMATTED_VALUE")
        cursor = json.dumps({"tab": tab, "timeZone": zone}, ensure_ascii=False)
        if not values:
            return ResponseBatch([], complete=True, cursor=cursor)
        name = f"sheet {self.spreadsheet_id} tab {tab}"
        header, rows = [str(c) for c in values[0]], [list(r) for r in values[1:]]
        stamp_col = timestamp_column(name, header, rows)
        letter = column_letters(stamp_col)
        serials = self._values(tab, "UNFORMATTED_VALUE", f"{letter}2:{letter}")
        for row, cell in zip(rows, serials, strict=False):
            if row and cell and stamp_col < len(row):
                row[stamp_col] = cell[0]
        try:
            serial_zone = spreadsheet_zone(zone)
        except DateParseError as exc:
            raise FatalSourceError(f"{self._what}: {exc}; set the zone in File → Settings",
                                   source=self.spreadsheet_id) from None
        batch = responses_from_rows(name, header, rows, timestamp_order=self.timestamp_order,
                                    serial_zone=serial_zone, stamp_col=stamp_col)
        return ResponseBatch(batch.responses, complete=True, cursor=cursor, problems=batch.problems)

    def _locate(self) -> tuple[str, str]:
        """The responses tab and the spreadsheet's time zone (one `spreadsheets.get`, one `batchGet`)."""
        http = self.api.sheets_http(SCOPES["sheets_readonly"])
        meta = self.api.call("sheets.spreadsheets.get", lambda: http.fetch_sheet_metadata(
            self.spreadsheet_id, params={"fields": "properties.timeZone,sheets.properties(title,index)"}),
            what=self._what)
        zone = str(meta.get("properties", {}).get("timeZone") or "Asia/Bangkok")
        titles = [str(s["properties"]["title"])
                  for s in sorted(meta.get("sheets", []), key=lambda s: s["properties"].get("index", 0))]
        if self.worksheet:
            return self.worksheet, zone
        if not titles:
            raise FatalSourceError(f"{self._what} has no tabs", source=self.spreadsheet_id)
        ranges = [quote_tab(t) + "!1:1" for t in titles]
        body = self.api.call("sheets.spreadsheets.values.batchGet", lambda: http.values_batch_get(
            self.spreadsheet_id, ranges, params={"valueRenderOption": "FORMATTED_VALUE"}), what=self._what)
        headers = [(r.get("values") or [[]])[0] for r in body.get("valueRanges", [])]
        # Forms writes its responses to a tab it names "Form Responses 1" ("การตอบแบบฟอร์ม 1" in Thai),
        # headed by its timestamp column; people add summary tabs, often in front of it.
        for title, header in zip(titles, headers, strict=False):
            if any(is_timestamp_header(h) for h in header):
                log.info("%s: responses are on tab %r (its header has the timestamp column)", self._what, title)
                return title, zone
        log.info("%s: no tab has a known timestamp header; reading the first tab %r", self._what, titles[0])
        return titles[0], zone

    def _values(self, tab: str, render: str, cells: str | None = None) -> list[list[Any]]:
        http = self.api.sheets_http(SCOPES["sheets_readonly"])
        rng = quote_tab(tab) + (f"!{cells}" if cells else "")
        params = {"valueRenderOption": render}
        if render == "UNFORMATTED_VALUE":
            params["dateTimeRenderOption"] = "SERIAL_NUMBER"
        body = self.api.call("sheets.spreadsheets.values.get", lambda: http.values_get(
            self.spreadsheet_id, rng, params=params), what=self._what)
        return body.get("values", [])


class _Cursor:
    def __init__(self, form_id: str, after: datetime | None, questions: Mapping[str, str]) -> None:
        self.form_id, self.after, self.questions = form_id, after, dict(questions)

    # What `after` holds; a cursor written before (the latest lastSubmittedTime) means one full read.
    BY = "createTime"

    @classmethod
    def parse(cls, text: str | None, form_id: str) -> _Cursor | None:
        data = _json(text)
        if data.get("form") != form_id or not isinstance(data.get("questions"), dict) or data.get("by") != cls.BY:
            return None  # no cursor, or one from another form or version: read everything
        after = data.get("after")
        return cls(form_id, datetime.fromisoformat(after) if after else None, data["questions"])

    def dump(self) -> str:
        return json.dumps({"form": self.form_id, "by": self.BY, "after": self.after.isoformat() if self.after else None,
                           "questions": self.questions}, ensure_ascii=False, sort_keys=True)


def _json(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _zulu(moment: datetime) -> str:
    # The filter takes RFC 3339 in UTC ("Z") as Google documents it, to the second (rounded down:
    # a little more overlap, never a gap).
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
