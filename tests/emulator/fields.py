"""`fields` partial responses and update field masks.

Grammar (shared by the `fields` query parameter and batchUpdate `fields` masks):
``a,b(c,d/e),f.g`` — comma-separated paths, '/' or '.' between levels, parentheses for a group of
sub-selections, ``*`` for everything at that level.
A mask is a dict: name -> sub-mask, or None for "the whole subtree".
"""

from __future__ import annotations

import copy
from typing import Any

Mask = dict[str, Any]


class FieldMaskError(ValueError):
    pass


def parse(text: str) -> Mask:
    parser = _Parser(text.replace(" ", ""))
    mask = parser.items()
    if parser.pos != len(parser.text):
        raise FieldMaskError(f"Invalid field selection {text}: unexpected {parser.text[parser.pos]!r}")
    return mask


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def items(self) -> Mask:
        mask: Mask = {}
        while True:
            _merge(mask, self.item())
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1
                continue
            return mask

    def name(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",()/.":
            self.pos += 1
        if start == self.pos:
            raise FieldMaskError(f"Invalid field selection {self.text!r} at {start}")
        return self.text[start : self.pos]

    def item(self) -> Mask:
        names = [self.name()]
        while self.pos < len(self.text) and self.text[self.pos] in "/.":
            self.pos += 1
            names.append(self.name())
        sub: Mask | None = None
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            self.pos += 1
            sub = self.items()
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise FieldMaskError(f"Invalid field selection {self.text!r}: missing ')'")
            self.pos += 1
        node: Mask | None = sub
        for n in reversed(names):
            node = {n: node}
        assert node is not None
        return node


def _merge(into: Mask, other: Mask) -> None:
    for key, sub in other.items():
        if key not in into:
            into[key] = sub
        elif into[key] is None or sub is None:
            into[key] = None
        else:
            _merge(into[key], sub)


def apply(value: Any, mask: Mask | None) -> Any:
    """Keep only the masked parts of a JSON value (lists are masked element-wise)."""
    if mask is None:
        return value
    if isinstance(value, list):
        return [apply(v, mask) for v in value]
    if not isinstance(value, dict):
        return value
    if "*" in mask:
        return value
    out: dict[str, Any] = {}
    for key, sub in mask.items():
        if key in value:
            out[key] = apply(value[key], sub)
    return out


def paths(mask: Mask, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Leaf paths of a mask, e.g. {"gridProperties": {"frozenRowCount": None}} -> [("gridProperties","frozenRowCount")]."""
    out: list[tuple[str, ...]] = []
    for key, sub in mask.items():
        if sub is None:
            out.append((*prefix, key))
        else:
            out.extend(paths(sub, (*prefix, key)))
    return out


def copy_masked(target: dict[str, Any], source: dict[str, Any], mask_text: str) -> None:
    """Update-with-field-mask semantics: masked fields are copied from source, or cleared if absent."""
    mask = parse(mask_text)
    if "*" in mask:
        target.clear()
        target.update(copy.deepcopy(source))
        return
    for path in paths(mask):
        src: Any = source
        for part in path:
            src = src.get(part) if isinstance(src, dict) else None
        dst = target
        for part in path[:-1]:
            dst = dst.setdefault(part, {})
        if src is None:
            dst.pop(path[-1], None)
        else:
            dst[path[-1]] = copy.deepcopy(src)
