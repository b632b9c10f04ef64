"""A font file that can draw Thai, for the contact sheets' unit names (Pillow draws with a font file).

fontconfig is asked for the fonts that cover Thai (`fc-list :lang=th`); the Sarabun family is preferred
(the government's standard, or Laksaman, TLWG's libre release of the same design, Debian package
fonts-tlwg-laksaman), then any other.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

PREFERRED = ("TH Sarabun New", "THSarabunNew", "TH SarabunPSK", "Laksaman", "Sarabun", "Garuda", "Loma", "Norasi")


@cache
def thai_font_file() -> str | None:
    """The path of a regular-weight font covering Thai, or None when the machine has none."""
    if shutil.which("fc-list") is None:
        return None
    try:
        listing = subprocess.run(["fc-list", ":lang=th", "family", "style", "file"], capture_output=True, text=True,
                                 timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    fonts = []
    for line in listing.splitlines():
        path, _, rest = line.partition(": ")
        family = rest.split(":")[0].split(",")[0].strip()
        style = rest.partition("style=")[2]
        if path.lower().endswith((".ttf", ".otf")) and "Bold" not in style and "Italic" not in style \
                and "Oblique" not in style:
            fonts.append((family, path))
    if not fonts:
        return None
    rank = {name.casefold(): i for i, name in enumerate(PREFERRED)}
    return min(fonts, key=lambda f: (rank.get(f[0].casefold(), len(PREFERRED)), f[0], f[1]))[1]
