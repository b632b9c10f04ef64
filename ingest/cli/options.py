"""The click options every command shares: `--config` and `--as-of`, parsed in one place.

Kept light (click and ingest.thaidate only): every command module imports it, and `tidtam --help`
imports every command module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ingest.thaidate import DateParseError, parse_datetime

F = TypeVar("F", bound=Callable[..., Any])


class AsOf(click.ParamType):
    """A time in any form ingest.thaidate reads; a bare date means the end of that day (23:59:59)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_datetime(value, end_of_day=True)
        except DateParseError as exc:
            self.fail(f"{value!r} is not a date/time ({exc}); e.g. 2022-11-12T17:00 or '12/11/2565 17:00'",
                      param, ctx)


def config_option(command: F) -> F:
    """`--config PATH`, required: the campaign's config.yaml."""
    return click.option("--config", "config", type=click.Path(path_type=Path), required=True,
                        help="The campaign's config.yaml.")(command)


def as_of_option(text: str = "Evaluate at this time instead of now (replays a past day).") -> Callable[[F], F]:
    """`--as-of TIME`, optional: None when not given (each job takes its own "now")."""
    return click.option("--as-of", "as_of", type=AsOf(), default=None, help=text)
