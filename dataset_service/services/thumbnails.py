"""Images as the pages show them: grid thumbnails, made once and cached on disk by key and ETag, and
the labeling canvas's image, both in the stored pixel frame.

Labels are pixel coordinates of the image as stored: the sizes we record, the inference worker and
the XML all ignore the EXIF orientation tag. Browsers obey it, so an image carrying one is sent
without it; otherwise a labeler would draw on a rotated picture.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from storage.objects import ObjectStore

SIZE = 256  # longest side, in pixels
QUALITY = 80
FULL_QUALITY = 95  # for an image re-encoded only to drop its orientation tag
ORIENTATION = 0x0112


class ThumbnailError(ValueError):
    """The image cannot be made into a thumbnail."""


def cache_path(cache_dir: str | Path, bucket: str, key: str, etag: str, size: int = SIZE) -> Path:
    """Return where the thumbnail of this version of the object lives (a new ETag, a new file)."""
    digest = hashlib.sha256(f"{bucket}\0{key}\0{etag}\0{size}".encode()).hexdigest()
    return Path(cache_dir) / digest[:2] / f"{digest}.jpg"


def thumbnail(store: ObjectStore, bucket: str, key: str, etag: str, cache_dir: str | Path, size: int = SIZE) -> Path:
    """Return the cached thumbnail file, making it from the stored image on first use."""
    path = cache_path(cache_dir, bucket, key, etag, size)
    if not path.exists():
        _write_atomically(path, make_thumbnail(store.get(bucket, key), size))
    return path


def make_thumbnail(data: bytes, size: int = SIZE) -> bytes:
    """Return a JPEG whose longest side is at most `size`, in the stored pixel frame."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (size, size))  # JPEG decodes at a reduced scale: much faster
            image = image.convert("RGB")
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=QUALITY, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ThumbnailError(f"not a readable image ({exc.__class__.__name__})") from None
    return out.getvalue()


def without_orientation(data: bytes) -> bytes:
    """Return the image unchanged, or re-encoded without its EXIF orientation tag if it has one."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.getexif().get(ORIENTATION, 1) == 1 or image.format not in ("JPEG", "PNG"):
                return data
            out = io.BytesIO()
            options = {"quality": FULL_QUALITY} if image.format == "JPEG" else {}
            image.save(out, format=image.format, **options)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return data
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file so a reader never sees half a thumbnail."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
