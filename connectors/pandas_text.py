"""pandas as tidtam uses it: text columns hold plain Python strings.

pandas 3 stores text in pyarrow arrays when pyarrow is installed (it is, for `tidtam export`'s
Parquet), and a pyarrow string must be valid UTF-8: a lone surrogate (a file name with bytes that
are not UTF-8, kept raw by surrogateescape, connectors/local_folder.py) makes building the frame
raise UnicodeEncodeError. Python storage keeps such text as it is; it is cleaned only where it is
written out (connectors/cells.py, ingest/export). Every module of ours imports pandas from here.
"""

from __future__ import annotations

import pandas as pd

pd.set_option("mode.string_storage", "python")

__all__ = ["pd"]
