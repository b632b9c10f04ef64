"""Decide whether an uploaded photo is a real, big-enough picture: decode it (JPEG, PNG, HEIC/HEIF,
WebP) and measure it as it is displayed (EXIF orientation applied).

The size rule does not care how the phone was held: the short side is held to the smaller of
min_width/min_height and the long side to the larger, so a portrait 3024×4032 passes "4032×3024".
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from ingest.campaign import PhotoRules
from ingest.facts import Violation
from ingest.workers import memory_headroom

try:  # HEIC/HEIF is what iPhones upload; pillow-heif teaches Pillow to open it.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pass

PHOTO_KINDS = ("jpeg", "png", "heic", "webp")
# The largest phone photo: a 200-megapixel camera (Samsung Galaxy S23 Ultra) saves 16,320 x 12,240 =
# 199.8 MP in its 200 MP mode (PCMag's review; the resolution as reported by Android Headlines).
MAX_PHOTO_PIXELS = 210_000_000
# Pixels actually decoded. A JPEG is decoded at 1/8 scale (so the 200 MP photo is 3.1 MP); HEIC, PNG
# and WebP are decoded whole, and the largest phone photos in those formats are 48 MP (an iPhone's
# "HEIF Max", 8,064 x 6,048 = 48.8 MP, iOS 17). At 3-4 bytes a pixel, 50 MP is 150-200 MB of memory.
MAX_DECODED_PIXELS = 50_000_000
# Pillow's own decompression-bomb check (a warning above MAX_IMAGE_PIXELS, an error above twice it) is
# set to the same limit, so it never refuses a real photo before ours decides (its default, 89 MP,
# refused the 200 MP one).
Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS
# Memory a decode takes per decoded pixel, measured in a worker: HEIC 7.0-7.5 bytes (libheif's YUV
# frames, its RGB output and Pillow's copy), PNG 3.9 for RGB; JPEG is decoded small (draft).
_DECODE_BYTES_PER_PIXEL = {"HEIF": 8, "PNG": 5, "WEBP": 5, "JPEG": 4, "MPO": 4}
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height
# What Pillow and its plugins raise on bytes that are not, or no longer, a decodable image.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError,
                  KeyError, TypeError, RuntimeError, ZeroDivisionError)
_NOT_PHOTO_TH = {
    "docx": "เป็นไฟล์ Word ไม่ใช่ไฟล์ภาพถ่าย",
    "doc": "เป็นไฟล์ Word ไม่ใช่ไฟล์ภาพถ่าย",
    "pdf": "เป็นไฟล์ PDF ไม่ใช่ไฟล์ภาพถ่าย",
    "gif": "เป็นไฟล์ GIF ต้องเป็นภาพถ่าย JPEG, PNG, HEIC หรือ WebP",
}


@dataclass(frozen=True)
class PhotoCheck:
    width: int | None
    height: int | None
    violations: tuple[Violation, ...]


def _not_image(kind: str, detail: str) -> PhotoCheck:
    reason = _NOT_PHOTO_TH.get(kind, "ไม่ใช่ไฟล์ภาพ หรือไฟล์ภาพเสียหาย")
    return PhotoCheck(None, None, (Violation("not_image", reason, detail),))


def _displayed_size(image: Image.Image, size: tuple[int, int]) -> tuple[int, int]:
    """`size` (as stored) turned as shown. Pillow finds a PNG's EXIF only by decoding the whole image
    (its eXIf chunk may follow the pixels), so this comes after the decode limits."""
    width, height = size
    try:
        orientation = image.getexif().get(0x0112)
    except _DECODE_ERRORS:  # a broken EXIF block does not make a broken photo
        orientation = None
    return (height, width) if orientation in _ROTATED else (width, height)


def check_photo(content: bytes, kind: str, rules: PhotoRules) -> PhotoCheck:
    """Decode the whole image (a truncated upload fails only when its pixels are read)."""
    if kind not in PHOTO_KINDS:
        return _not_image(kind, f"content is {kind}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                pixels = image.size[0] * image.size[1]
                if pixels > MAX_PHOTO_PIXELS:
                    return PhotoCheck(*image.size, (Violation(
                        "too_large", "ภาพมีความละเอียดสูงผิดปกติ ระบบไม่เปิดอ่าน",
                        f"{image.size[0]}x{image.size[1]} > {MAX_PHOTO_PIXELS} pixels"),))
                stored = image.size
                if image.format == "JPEG" or image.format == "MPO":
                    # Decoding at 1/8 scale still reads every byte, so truncation is still caught.
                    image.draft("RGB", (max(1, image.size[0] // 8), max(1, image.size[1] // 8)))
                if (decoded := image.size[0] * image.size[1]) > MAX_DECODED_PIXELS:
                    return PhotoCheck(*stored, (Violation(
                        "too_large", f"ภาพ {image.format} ความละเอียดสูงเกินกว่าจะตรวจได้ ({decoded / 1e6:.0f} ล้านพิกเซล) "
                        "กรุณาส่งภาพถ่ายต้นฉบับจากกล้องหรือโทรศัพท์ (JPEG หรือ HEIC)",
                        f"{image.format} {image.size[0]}x{image.size[1]}: {decoded} pixels to decode > "
                        f"{MAX_DECODED_PIXELS}"),))
                need = decoded * _DECODE_BYTES_PER_PIXEL.get(image.format or "", 5)
                if (room := memory_headroom()) is not None and need > room:
                    # libheif reports a failed allocation as a broken image: refuse before decoding.
                    raise MemoryError(f"{image.format} {image.size[0]}x{image.size[1]} needs ~{need // 2**20} MB")
                width, height = _displayed_size(image, stored)
                image.load()
    except Image.DecompressionBombError as exc:  # Pillow's own cap, met at open, before ours
        return PhotoCheck(None, None, (Violation("too_large", "ภาพมีความละเอียดสูงผิดปกติ ระบบไม่เปิดอ่าน",
                                                 str(exc)[:300]),))
    except _DECODE_ERRORS as exc:
        return _not_image(kind, f"{type(exc).__name__}: {exc}"[:300])
    short_min, long_min = sorted((rules.min_width, rules.min_height))
    short_side, long_side = sorted((width, height))
    if short_side < short_min or long_side < long_min:
        return PhotoCheck(width, height, (Violation(
            "too_small", f"ภาพเล็กเกินไป ({width}×{height}) ต้องอย่างน้อย {rules.min_width}×{rules.min_height}",
            f"{width}x{height} < {rules.min_width}x{rules.min_height}"),))
    return PhotoCheck(width, height, ())
