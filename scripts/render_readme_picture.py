"""Render the demo workbook's `tracking` and `progress` tabs to PNG for the README (run on demand).

    uv run tidtam demo --dir /tmp/demo
    uv run python scripts/render_readme_picture.py /tmp/demo/tidtam-warehouse.xlsx

Each tab alone (first in a copy of the workbook, the other tabs hidden, so the charts keep their data)
→ PDF with LibreOffice Calc headless, then the PDF's first page → PNG with pdftoppm. Needs the Debian
packages libreoffice-calc-nogui and poppler-utils. Writes docs/readme-tracking.png and
docs/readme-progress.png.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from PIL import Image, ImageOps

DOCS = Path(__file__).resolve().parent.parent / "docs"
TABS = {"tracking": 24, "progress": None}  # tab → data rows shown (None: all)


def _soffice(args: list[str], cwd: Path) -> None:
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{cwd}/profile", *args],
                   cwd=cwd, check=True, capture_output=True, timeout=300)


def render(workbook: Path, tab: str, rows: int | None, work: Path) -> Path:
    book = load_workbook(workbook)
    sheet = book[tab]
    book.move_sheet(sheet, offset=-book.index(sheet))  # the first tab is the one printed first
    book.active = 0
    for other in book.worksheets[1:]:
        other.sheet_state = "hidden"
    last = sheet.max_row if rows is None else min(sheet.max_row, rows + 2)
    sheet.print_area = f"A1:{_last_column(sheet)}{max(last, 24)}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    copy = work / f"{tab}.xlsx"
    book.save(copy)
    _soffice(["--convert-to", "pdf", "--outdir", str(work), str(copy)], work)
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", str(work / f"{tab}.pdf"),
                    str(work / tab)], check=True, capture_output=True, timeout=120)
    target = DOCS / f"readme-{tab}.png"
    with Image.open(work / f"{tab}.png") as page:
        # The page is mostly margin: keep what is printed, with a small border.
        box = ImageOps.invert(page.convert("L")).getbbox()
        page.crop(_pad(box, page.size) if box else (0, 0, *page.size)).save(target, optimize=True)
    return target


def _pad(box: tuple[int, int, int, int], size: tuple[int, int], border: int = 12) -> tuple[int, int, int, int]:
    return (max(box[0] - border, 0), max(box[1] - border, 0), min(box[2] + border, size[0]),
            min(box[3] + border, size[1]))


def _last_column(sheet) -> str:
    """Past the table, far enough right to take in a chart anchored beside it."""
    reach = sheet.max_column
    for chart in sheet._charts:
        reach = max(reach, chart.anchor._from.col + 9)
    return get_column_letter(reach)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for tab, rows in TABS.items():
            sys.stdout.write(f"{render(Path(sys.argv[1]), tab, rows, Path(tmp))}\n")


if __name__ == "__main__":
    main()
