"""pandas as tidtam uses it: text columns hold plain Python strings, and imported on first use.

pandas 3 stores text in pyarrow arrays when pyarrow is installed (it is, for `tidtam export`'s
Parquet), and a pyarrow string must be valid UTF-8: a lone surrogate (a file name with bytes that
are not UTF-8, kept raw by surrogateescape, connectors/local_folder.py) makes building the frame
raise UnicodeEncodeError. Python storage keeps such text as it is; it is cleaned only where it is
written out (connectors/cells.py, ingest/export). Every module of ours imports pandas from here.

`pd` imports pandas when an attribute of it is first asked for, not when a module naming it is
imported: a sync that reuses the last run's tables (ingest.memo) never touches a frame, and pandas'
import is 1.5 s of such a sync's 4 s process on the 2-core bench machine.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any


class _Pandas:
    """Stands for the pandas module; each attribute, once fetched, is kept on the instance, so later
    uses (`pd.Timestamp` once per cell) cost a plain attribute lookup."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and introspection probe these: not pandas' business
            raise AttributeError(name)
        value = getattr(_pandas(), name)
        setattr(self, name, value)
        return value


def _pandas() -> ModuleType:
    import pandas

    if pandas.get_option("mode.string_storage") != "python":
        pandas.set_option("mode.string_storage", "python")
    return pandas


if TYPE_CHECKING:
    import pandas as pd
else:
    pd = _Pandas()

__all__ = ["pd"]
