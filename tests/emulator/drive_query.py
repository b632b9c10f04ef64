"""Drive v3 search query (`q`) parser: enough of the grammar for folder walks and filters.

Supported: ``'ID' in parents``, ``'x@y' in owners`` / ``writers`` / ``readers`` (from the item's
permissions, inherited from its folders: a writer is not an owner), ``trashed = false``, ``mimeType = '…'``,
``mimeType != '…'``, ``name = / != / contains '…'``, ``fullText contains '…'``,
``createdTime``/``modifiedTime`` comparisons, ``starred``/``sharedWithMe``,
``shortcutDetails.targetId = '…'``, with ``and`` / ``or`` / ``not`` and parentheses.
Anything else is Drive's 400 "Invalid Value" on q.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ApiError
from .protocol import parse_rfc3339

Predicate = Callable[[Any], bool]
Roles = Callable[[Any], Mapping[str, str]]  # item -> {email: role}

# "Search query terms and operators" (https://developers.google.com/workspace/drive/api/guides/ref-search-terms):
# `owners` are the users who own the file; `writers` those who may modify it; `readers` those who may
# read it. So an owner is also a writer and a reader, and a reader is not a writer.
_COLLECTION_ROLES = {
    "owners": frozenset({"owner"}),
    "writers": frozenset({"owner", "organizer", "fileOrganizer", "writer"}),
    "readers": frozenset({"owner", "organizer", "fileOrganizer", "writer", "commenter", "reader"}),
}


def _owner_only(f: Any) -> Mapping[str, str]:
    return {f.owner_email.lower(): "owner"} if getattr(f, "owner_email", None) else {}

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op>!=|<=|>=|=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


def invalid_q() -> ApiError:
    # Drive's answer to any q it cannot parse: terse, with location "q".
    return ApiError(400, "Invalid Value", reason="invalid", location="q")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise invalid_q()
        kind = m.lastgroup
        assert kind is not None
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = m.end()
    return out


class _InParents:
    """`'<id>' in parents`, or several of them joined by `or`: an item with any of `wanted` as a parent."""

    def __init__(self, wanted: frozenset[str]) -> None:
        self.wanted = wanted

    def __call__(self, f: Any) -> bool:
        return not self.wanted.isdisjoint(f.parents)


class _And:
    """Clauses joined by `and`."""

    def __init__(self, parts: list[Predicate]) -> None:
        self.parts = parts

    def __call__(self, f: Any) -> bool:
        return all(p(f) for p in self.parts)


def required_parents(pred: Predicate) -> frozenset[str] | None:
    """The folders an item must have one of as a parent to match `pred`, when the query says so at its
    top level (`'<id>' in parents [or …] [and …]`); else None. Lets files.list look at those folders'
    items only: a walk of a 60k-file tree asks ~500 such queries, and scanning every file with every
    clause for each made the bench time the emulator rather than tidtam (same answers either way)."""
    if isinstance(pred, _InParents):
        return pred.wanted
    if isinstance(pred, _And):
        for part in pred.parts:
            if isinstance(part, _InParents):
                return part.wanted
    return None


def compile_query(text: str, root_id: str, roles: Roles = _owner_only) -> Predicate:
    if not text.strip():
        return lambda f: True
    parser = _QueryParser(_tokens(text), root_id, roles)
    pred = parser.or_expr()
    if parser.pos != len(parser.toks):
        raise invalid_q()
    return pred


class _QueryParser:
    def __init__(self, toks: list[tuple[str, str]], root_id: str, roles: Roles) -> None:
        self.toks = toks
        self.pos = 0
        self.root_id = root_id
        self.roles = roles

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise invalid_q()
        self.pos += 1
        return tok

    def word_is(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() == word

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.word_is("or"):
            self.pos += 1
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        folders = [p.wanted for p in parts if isinstance(p, _InParents)]
        if len(folders) == len(parts):
            # tidtam's walk asks for ~30 folders' children at once: one set test instead of 30 calls per
            # file keeps a listing of 60k files from costing the bench 0.3 s a request (same answer).
            return _InParents(frozenset().union(*folders))
        return lambda f: any(p(f) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.word_is("and"):
            self.pos += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else _And(parts)

    def unary(self) -> Predicate:
        if self.word_is("not"):
            self.pos += 1
            inner = self.unary()
            return lambda f: not inner(f)
        tok = self.peek()
        if tok == ("paren", "("):
            self.pos += 1
            inner = self.or_expr()
            if self.take() != ("paren", ")"):
                raise invalid_q()
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        first = self.take()
        if first[0] == "str":
            # 'value' in collection
            if not self.word_is("in"):
                raise invalid_q()
            self.pos += 1
            coll = self.take()
            if coll[0] != "word":
                raise invalid_q()
            return self._membership(first[1], coll[1])
        if first[0] != "word":
            raise invalid_q()
        fieldname = first[1]
        op_tok = self.take()
        if op_tok[0] == "word" and op_tok[1].lower() == "contains":
            op = "contains"
        elif op_tok[0] == "op":
            op = op_tok[1]
        else:
            raise invalid_q()
        value_tok = self.take()
        if value_tok[0] == "word" and value_tok[1].lower() in ("true", "false"):
            value: Any = value_tok[1].lower() == "true"
        elif value_tok[0] == "str":
            value = value_tok[1]
        else:
            raise invalid_q()
        return self._field(fieldname, op, value)

    def _membership(self, value: str, collection: str) -> Predicate:
        if collection == "parents":
            return _InParents(frozenset({self.root_id if value == "root" else value}))
        if collection in _COLLECTION_ROLES:
            wanted_roles = _COLLECTION_ROLES[collection]
            email = value.lower()
            return lambda f: self.roles(f).get(email) in wanted_roles
        raise invalid_q()

    def _field(self, name: str, op: str, value: Any) -> Predicate:
        if name in ("trashed", "starred", "sharedWithMe", "hidden"):
            if not isinstance(value, bool) or op not in ("=", "!="):
                raise invalid_q()
            attr = {"trashed": "trashed"}.get(name)

            def get_bool(f: Any) -> bool:
                return bool(getattr(f, attr)) if attr else False

            return (lambda f: get_bool(f) == value) if op == "=" else (lambda f: get_bool(f) != value)
        if not isinstance(value, str):
            raise invalid_q()
        if name in ("name", "mimeType", "shortcutDetails.targetId"):
            attr = {"name": "name", "mimeType": "mime_type", "shortcutDetails.targetId": "shortcut_target"}[
                name
            ]
            if op == "=":
                return lambda f: getattr(f, attr) == value
            if op == "!=":
                return lambda f: getattr(f, attr) != value
            if op == "contains" and name != "shortcutDetails.targetId":
                low = value.lower()
                return lambda f: low in (getattr(f, attr) or "").lower()
            raise invalid_q()
        if name == "fullText":
            if op != "contains":
                raise invalid_q()
            low = value.lower()
            return lambda f: low in f.name.lower() or low.encode() in (f.content or b"").lower()
        if name in ("createdTime", "modifiedTime"):
            try:
                moment = parse_rfc3339(value)
            except ValueError:
                raise invalid_q() from None
            attr = "created" if name == "createdTime" else "modified"
            ops: dict[str, Callable[[Any, Any], bool]] = {
                "=": lambda a, b: a == b,
                "!=": lambda a, b: a != b,
                "<": lambda a, b: a < b,
                "<=": lambda a, b: a <= b,
                ">": lambda a, b: a > b,
                ">=": lambda a, b: a >= b,
            }
            if op not in ops:
                raise invalid_q()
            cmp = ops[op]
            return lambda f: cmp(getattr(f, attr), moment)
        raise invalid_q()
