"""Pseudonyms for personal data (PDPA): a keyed HMAC of the value, so the same person gets the same
pseudonym in every export made with the same key, and nobody without the key can link one back.

Key: the environment variable TIDTAM_PSEUDONYM_KEY (kept out of the config, which is shared with
the team). Names and e-mails are normalised first (case, spacing), so "Somchai@X.com " and
"somchai@x.com" are one person.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable

from ingest.errors import ConfigError

KEY_VARIABLE = "TIDTAM_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 16
# Any e-mail address in free text (problems' details, alert recipients), not only in e-mail columns.
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")


def key_from_environment(environ: dict[str, str] | None = None) -> bytes:
    value = (os.environ if environ is None else environ).get(KEY_VARIABLE, "")
    if not value:
        raise ConfigError([f"--pseudonymise needs a secret key in the environment variable {KEY_VARIABLE} "
                           f"(at least {MIN_KEY_LENGTH} characters, e.g. `export {KEY_VARIABLE}=$(openssl rand -hex 32)`); "
                           "keep it with the campaign's coordinator: the same key gives the same pseudonyms next time"])
    if len(value) < MIN_KEY_LENGTH:
        raise ConfigError([f"{KEY_VARIABLE} is {len(value)} characters long; use at least {MIN_KEY_LENGTH} "
                           f"(e.g. `export {KEY_VARIABLE}=$(openssl rand -hex 32)`)"])
    return value.encode("utf-8")


def _normal(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip().casefold()


class Pseudonymiser:
    """Replaces known personal values, and every e-mail address, wherever they occur in text."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._known: dict[str, str] = {}  # value as typed → pseudonym
        self._pattern: re.Pattern[str] | None = None

    def pseudonym(self, value: str, kind: str = "person") -> str:
        """`person-1a2b3c4d5e`, or `email-…@pseudonym.invalid` so that e-mail columns still look like e-mail."""
        digest = hmac.new(self._key, f"{kind}:{_normal(value)}".encode(), hashlib.sha256).hexdigest()[:10]
        # .invalid is reserved (RFC 2606 §2): such an address can never reach anyone.
        return f"email-{digest}@pseudonym.invalid" if kind == "email" else f"{kind}-{digest}"

    def learn(self, values: Iterable[object], kind: str = "person") -> None:
        """Values of a personal column: each is replaced wherever it appears later, in any text."""
        for value in values:
            text = str(value).strip() if value is not None else ""
            if text and text not in self._known and text.casefold() not in ("nan", "none", "-"):
                self._known[text] = self.pseudonym(text, kind)
                self._pattern = None

    def value(self, value: object, kind: str = "person") -> object:
        """A personal cell: its pseudonym ("" stays "", a missing value stays missing)."""
        if not isinstance(value, str) or not value.strip():
            return value
        return self.pseudonym(value, "email" if kind == "email" or EMAIL.fullmatch(value.strip()) else kind)

    def text(self, text: str) -> str:
        """Free text with every known personal value and every e-mail address replaced."""
        if not text:
            return text
        if self._known:
            if self._pattern is None:
                # Longest first, so "สมชาย ใจดี" is replaced whole before a shorter value inside it.
                names = sorted(self._known, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(n) for n in names))
            text = self._pattern.sub(lambda m: self._known[m.group(0)], text)
        return EMAIL.sub(lambda m: m.group(0) if m.group(0).endswith("@pseudonym.invalid")
                         else self.pseudonym(m.group(0), "email"), text)
