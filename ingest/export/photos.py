"""photos/<code>_<name>/: each unit's counted photos (duplicates do not count, so they are dropped),
named <code>_<n>.<ext> in arrival order, and a contact sheet per unit (a JPEG grid headed with the
unit's name) to look through a unit's photos at once.

Contact sheets are encoded with fixed settings (quality, no optimisation, no progressive scan, 4:2:0),
so the same photos give the same bytes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from connectors.pandas_text import pd
from ingest.errors import ItemError
from ingest.export.metadata import strip_metadata
from ingest.export.photo_bytes import PhotoBytes
from ingest.export.snapshot import Snapshot
from ingest.export.thai_font import thai_font_file

log = logging.getLogger(__name__)
FOLDER = "photos"
EXTENSIONS = {"jpeg": "jpg", "png": "png", "heic": "heic", "webp": "webp", "gif": "gif"}
THUMB = (320, 240)
COLUMNS = 4
TITLE_HEIGHT = 76
# Pillow's own encoder settings, spelled out: a later Pillow changing a default must not change the bytes.
JPEG_SETTINGS = {"quality": 80, "optimize": False, "progressive": False, "subsampling": 2}
Progress = Callable[[str, int, int], None]
# Photos read at once: a Drive download is mostly waiting (as in ingest.collect's DOWNLOAD_WORKERS).
READ_WORKERS = 8


@dataclass
class PhotoExport:
    files: list[Path] = field(default_factory=list)
    copied: int = 0
    skipped: list[str] = field(default_factory=list)  # "<origin>: why", for the manifest and the screen


def counted_photos(snapshot: Snapshot) -> dict[str, pd.DataFrame]:
    files = snapshot.tables.files
    if not len(files):
        return {}
    photos = files[(files["kind"] == "photo") & files["counted"].astype(bool)]
    photos = photos.sort_values(["unit_code", "arrived_at", "file_id"])
    return {code: rows for code, rows in photos.groupby("unit_code", sort=True)}


def _extension(content_type: str, name: str) -> str:
    if content_type in EXTENSIONS:
        return EXTENSIONS[content_type]
    suffix = Path(name).suffix.lstrip(".").lower()
    return suffix or "bin"


def safe_folder_name(code: str, name: str) -> str:
    """"<code>_<name>" usable as a folder on Windows too (no reserved characters)."""
    cleaned = "".join("_" if c in '<>:"/\\|?*' or ord(c) < 32 else c for c in name).strip(" .")
    return f"{code}_{cleaned}" if cleaned else code


def export_photos(snapshot: Snapshot, out: Path, reader: PhotoBytes, *, pseudonymised: bool,
                  progress: Progress | None = None) -> PhotoExport:
    result = PhotoExport()
    by_unit = counted_photos(snapshot)
    total = sum(len(rows) for rows in by_unit.values())
    names = {u.code: u.name for u in snapshot.campaign.units}
    done = 0

    def read(row: tuple) -> bytes | ItemError:
        try:
            return reader.read(row.file_id, row.sha256)
        except ItemError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=READ_WORKERS, thread_name_prefix="export-photo") as pool:
        for code, rows in by_unit.items():
            done = _unit_photos(code, names.get(code, ""), rows, out, pool.map(read, rows.itertuples(index=False)),
                                result, pseudonymised, done, total, progress)
    return result


def _unit_photos(code: str, name: str, rows: pd.DataFrame, out: Path, contents: Iterable[bytes | ItemError],
                 result: PhotoExport, pseudonymised: bool, done: int, total: int, progress: Progress | None) -> int:
    """Write one unit's photos (read in order on the pool's threads) and its contact sheet."""
    folder = out / FOLDER / safe_folder_name(code, name)
    folder.mkdir(parents=True, exist_ok=True)
    thumbs: list[tuple[str, bytes | None]] = []
    for n, (row, content) in enumerate(zip(rows.itertuples(index=False), contents, strict=True), start=1):
        if isinstance(content, ItemError):
            result.skipped.append(str(content))
            log.warning("photo not exported: %s", content)
        else:
            if pseudonymised:
                content = strip_metadata(content)
            path = folder / f"{code}_{n}.{_extension(row.content_type, row.name)}"
            path.write_bytes(content)
            result.files.append(path)
            result.copied += 1
            thumbs.append((path.name, content))
        done += 1
        if progress:
            progress("photos", done, total)
    sheet = folder / f"{code}_contact_sheet.jpg"
    sheet.write_bytes(contact_sheet(code, name, thumbs))
    result.files.append(sheet)
    return done


def _thumbnail(content: bytes | None) -> Image.Image:
    tile = Image.new("RGB", THUMB, (235, 235, 235))
    if content is None:
        return tile
    try:
        with Image.open(io.BytesIO(content)) as image:
            picture = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        # A format Pillow cannot open here (HEIC without a plugin): a grey tile with its position.
        ImageDraw.Draw(tile).text((10, 10), "(preview not available)", fill=(90, 90, 90))
        return tile
    picture.thumbnail(THUMB)
    tile.paste(picture, ((THUMB[0] - picture.width) // 2, (THUMB[1] - picture.height) // 2))
    return tile


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    path = thai_font_file()
    if path is None:
        return ImageFont.load_default()
    return ImageFont.truetype(path, size)


def contact_sheet(code: str, name: str, photos: list[tuple[str, bytes | None]]) -> bytes:
    """A grid of (file name, bytes): each tile labelled with the name it has in the export."""
    rows = max(1, -(-len(photos) // COLUMNS))
    gap = 8
    width = COLUMNS * THUMB[0] + (COLUMNS + 1) * gap
    height = TITLE_HEIGHT + rows * (THUMB[1] + gap) + gap
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    # Without a Thai font the name would come out as boxes: then the code alone.
    title = f"{code} {name} · {len(photos)} ภาพ" if thai_font_file() else f"{code} ({len(photos)})"
    draw.text((gap, 16), title, fill=(0, 0, 0), font=_font(40))
    label_font = _font(22)
    for index, (label, content) in enumerate(photos):
        x = gap + (index % COLUMNS) * (THUMB[0] + gap)
        y = TITLE_HEIGHT + (index // COLUMNS) * (THUMB[1] + gap)
        sheet.paste(_thumbnail(content), (x, y))
        box = draw.textbbox((x + 6, y + 4), label, font=label_font)
        draw.rectangle((box[0] - 4, box[1] - 2, box[2] + 4, box[3] + 2), fill=(0, 0, 0))
        draw.text((x + 6, y + 4), label, fill=(255, 255, 255), font=label_font)
    out = io.BytesIO()
    sheet.save(out, "JPEG", **JPEG_SETTINGS)
    return out.getvalue()
