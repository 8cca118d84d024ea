"""Grid thumbnails: made once from the image, cached on disk by key and ETag, never the full image."""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from storage.objects import ObjectStore

SIZE = 256  # longest side, in pixels
QUALITY = 80


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
    """Return a JPEG whose longest side is at most `size`, upright as EXIF says."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (size, size))  # JPEG decodes at a reduced scale: much faster
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=QUALITY, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ThumbnailError(f"not a readable image ({exc.__class__.__name__})") from None
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
