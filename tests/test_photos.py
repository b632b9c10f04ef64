"""Photos of the focus group: a photo counts when it decodes (JPEG, PNG, HEIC, WebP) and is big enough;
the same bytes give the same hashes, so a photo uploaded twice is counted once downstream."""

from __future__ import annotations

import hashlib
import io
import random

import pytest
from docx_corpus import image_bytes, minimal_pdf, png_bomb, valid_record
from PIL import Image

from ingest.campaign import PhotoRules
from ingest.file_checks import inspect_photo


def heif_can_encode() -> bool:
    try:
        import pillow_heif

        return bool(pillow_heif.libheif_info().get("encoders"))
    except (ImportError, AttributeError):
        return False


def noisy_jpeg(width: int = 320, height: int = 240) -> bytes:
    """Real photo-like data, so that cutting the file cuts into the compressed pixels."""
    rng = random.Random(1)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


ANY_SIZE = PhotoRules()
SIZED = PhotoRules(min_width=800, min_height=600)
needs_heif = pytest.mark.skipif(not heif_can_encode(), reason="pillow-heif has no HEIF encoder here")

CASES = [
    pytest.param(lambda: image_bytes("JPEG", 1024, 768), SIZED, "jpeg", (1024, 768), (), id="jpeg"),
    pytest.param(lambda: image_bytes("PNG", 1024, 768), SIZED, "png", (1024, 768), (), id="png"),
    pytest.param(lambda: image_bytes("WEBP", 1024, 768), SIZED, "webp", (1024, 768), (), id="webp"),
    pytest.param(lambda: image_bytes("HEIF", 1024, 768), SIZED, "heic", (1024, 768), (), id="heic",
                 marks=needs_heif),
    pytest.param(lambda: image_bytes("JPEG", 600, 800), SIZED, "jpeg", (600, 800), (), id="portrait_passes"),
    pytest.param(lambda: image_bytes("JPEG", 800, 600, exif_orientation=6), SIZED, "jpeg", (600, 800), (),
                 id="exif_rotated_reports_displayed_size"),
    pytest.param(lambda: image_bytes("JPEG", 640, 480), SIZED, "jpeg", (640, 480), ("too_small",), id="too_small"),
    pytest.param(lambda: noisy_jpeg()[:4000], ANY_SIZE, "jpeg", (None, None), ("not_image",), id="truncated_jpeg"),
    pytest.param(lambda: image_bytes("PNG", 300, 300)[:200], ANY_SIZE, "png", (None, None), ("not_image",),
                 id="truncated_png"),
    pytest.param(lambda: image_bytes("HEIF", 256, 256)[:300], ANY_SIZE, "heic", (None, None), ("not_image",),
                 id="truncated_heic", marks=needs_heif),
    pytest.param(lambda: image_bytes("WEBP", 256, 256)[:60], ANY_SIZE, "webp", (None, None), ("not_image",),
                 id="truncated_webp"),
    pytest.param(lambda: image_bytes("GIF"), ANY_SIZE, "gif", (None, None), ("not_image",), id="gif"),
    pytest.param(valid_record, ANY_SIZE, "docx", (None, None), ("not_image",), id="record_uploaded_as_photo"),
    pytest.param(minimal_pdf, ANY_SIZE, "pdf", (None, None), ("not_image",), id="pdf"),
    pytest.param(lambda: b"", ANY_SIZE, "unknown", (None, None), ("not_image",), id="empty"),
    pytest.param(lambda: b"\xff\xd8\xff" + bytes(100), ANY_SIZE, "jpeg", (None, None), ("not_image",),
                 id="jpeg_magic_only"),
    pytest.param(png_bomb, ANY_SIZE, "png", (None, None), ("too_large",), id="decompression_bomb"),
    pytest.param(lambda: image_bytes("PNG", 64, 64), PhotoRules(max_file_bytes=100), "png", (None, None),
                 ("too_large",), id="file_too_large"),
]


@pytest.mark.parametrize(("build", "rules", "kind", "size", "codes"), CASES)
def test_photo_facts(build, rules: PhotoRules, kind: str, size, codes) -> None:
    facts = inspect_photo(build(), rules)
    assert facts.content_type == kind
    assert (facts.width, facts.height) == size
    assert tuple(v.code for v in facts.violations) == codes
    assert all(v.reason_th for v in facts.violations)


def test_the_same_photo_twice_has_the_same_hashes_and_drive_md5() -> None:
    photo = image_bytes("JPEG", 1024, 768)
    first, second = inspect_photo(photo, ANY_SIZE), inspect_photo(bytes(photo), ANY_SIZE)
    assert (first.sha256, first.md5) == (second.sha256, second.md5)
    assert first.md5 == hashlib.md5(photo).hexdigest()  # what Drive reports as md5Checksum
    other = inspect_photo(image_bytes("JPEG", 1024, 768, color=(0, 0, 0)), ANY_SIZE)
    assert other.sha256 != first.sha256


@pytest.mark.parametrize("seed", range(60))
def test_damaged_photos_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    data = bytearray(noisy_jpeg(64, 48) if seed % 2 else image_bytes("PNG", 64, 48))
    for _ in range(rng.randrange(1, 30)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    facts = inspect_photo(bytes(data[: rng.randrange(8, len(data) + 1)]), ANY_SIZE)
    assert {v.code for v in facts.violations} <= {"not_image", "too_small", "too_large"}
