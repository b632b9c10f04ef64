"""E-mail addresses and header values checked strictly, before anything reaches a message or a server.

Units' addresses come from a contacts file people type by hand: anything not a plain address is
reported, never "repaired", and no value with a line break can become a header.
"""

from __future__ import annotations

import inspect
import re
from email.headerregistry import Address
from email.utils import parseaddr

# A plain ASCII addr-spec with a dotted domain: what government and Google mailboxes use. Quoted local
# parts, IP literals and IDN domains are legal in RFC 5322 but, here, almost always a typing slip.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+[A-Za-z]{{2,63}}$")
# CR, LF and every other control character: a header value holding one could start a new header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
# `strict=` arrived in the security releases of 3.11.10/3.12.6 (CVE-2023-27043); older 3.11 lacks it,
# and the strict addr-spec check below covers what it would reject.
_PARSEADDR_STRICT = "strict" in inspect.signature(parseaddr).parameters


def has_control(text: str) -> bool:
    return bool(_CONTROL.search(text))


def address_problem(text: str) -> str | None:
    """Why `text` is not a usable plain address (English, for logs and reports), or None."""
    if has_control(text):
        return "contains a line break or control character"
    if not _ADDR_SPEC.match(text):
        return "is not an e-mail address (expected name@domain.tld)"
    if len(text) > 254:
        return "is longer than 254 characters"
    return None


def plain_address(text: str) -> Address:
    """An Address from a plain address; ValueError naming the problem otherwise."""
    problem = address_problem(text)
    if problem:
        raise ValueError(f"{text!r} {problem}")
    return Address(addr_spec=text)


def mailbox(text: str) -> Address:
    """An Address from 'Display Name <addr>' or a plain address (the sender, a Reply-To)."""
    if has_control(text):
        raise ValueError(f"{text!r} contains a line break or control character")
    name, addr = parseaddr(text, strict=True) if _PARSEADDR_STRICT else parseaddr(text)
    if not addr:
        raise ValueError(f"{text!r} is not an e-mail address (expected 'Name <name@domain.tld>')")
    address = plain_address(addr)
    return Address(display_name=name, addr_spec=address.addr_spec)

