"""Images as the pages show them: grid thumbnails, made once and cached on disk by key and ETag, and
the labeling canvas's image, both in the stored pixel frame.

Labels are pixel coordinates of the image as stored: the sizes we record, the inference worker and
the XML all ignore the EXIF orientation tag. Browsers obey it, so an image carrying one is sent
without it; otherwise a labeler would draw on a rotated picture.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import os
import tempfile
import threading
from pathlib import Path

from PIL import Image

from storage.images import DEFAULT_MAX_PIXELS, ImageError, decode_reduced, open_image
from storage.objects import ObjectStore

SIZE = 256  # longest side, in pixels
QUALITY = 80
FULL_QUALITY = 95  # for an image re-encoded only to drop its orientation tag
ORIENTATION = 0x0112
PRUNE_EVERY = 500  # thumbnails written by a process between two looks at the cache's size
PRUNE_TO = 0.8  # a prune goes down to this fraction of the limit, so it does not run again at once
# The most pixels one thumbnail decodes (75 MB as RGB, 100 MB as RGBA; a 13000x13000 PNG took
# 1.25 GB): a JPEG decodes at 1/2 to 1/8 scale and stays far below; a larger PNG or BMP gets the placeholder.
MAX_DECODED_PIXELS = 25_000_000
_writes = itertools.count(1)
_pruning = threading.Lock()


class ThumbnailError(ValueError):
    """The image cannot be made into a thumbnail."""


def cache_path(cache_dir: str | Path, bucket: str, key: str, etag: str, size: int = SIZE) -> Path:
    """Return where the thumbnail of this version of the object lives (a new ETag, a new file)."""
    digest = hashlib.sha256(f"{bucket}\0{key}\0{etag}\0{size}".encode()).hexdigest()
    return Path(cache_dir) / digest[:2] / f"{digest}.jpg"


def thumbnail(store: ObjectStore, bucket: str, key: str, etag: str, cache_dir: str | Path, size: int = SIZE,
              max_bytes: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Path:
    """Return the cached thumbnail file, making it from the stored image on first use.

    A hit marks the file as used (its mtime); with `max_bytes`, every few hundred writes the
    least recently used thumbnails go until the cache is under the limit again. An image of more
    than `max_pixels` pixels is not read (ThumbnailError).
    """
    path = cache_path(cache_dir, bucket, key, etag, size)
    try:
        os.utime(path)
        return path
    except FileNotFoundError:
        pass
    except OSError:  # a cache we may read but not touch (read-only mount): serve it all the same
        if path.exists():
            return path
    _write_atomically(path, make_thumbnail(store.get(bucket, key), size, max_pixels))
    if max_bytes and next(_writes) % PRUNE_EVERY == 0 and _pruning.acquire(blocking=False):
        threading.Thread(target=_prune_and_release, args=(cache_dir, max_bytes), name="thumbnail-prune", daemon=True).start()
    return path


def prune(cache_dir: str | Path, max_bytes: int) -> tuple[int, int]:
    """Delete the least recently used thumbnails until the cache holds at most PRUNE_TO of
    `max_bytes`, when it holds more than `max_bytes`; return (files deleted, bytes freed)."""
    entries = []
    for entry in Path(cache_dir).glob("*/*.jpg"):
        try:
            stat = entry.stat()
        except FileNotFoundError:  # deleted meanwhile by another process
            continue
        entries.append((stat.st_mtime, stat.st_size, entry))
    total = sum(size for _, size, _ in entries)
    if total <= max_bytes:
        return 0, 0
    deleted = freed = 0
    for _, size, entry in sorted(entries, key=lambda e: e[0]):
        if total - freed <= max_bytes * PRUNE_TO:
            break
        entry.unlink(missing_ok=True)
        deleted, freed = deleted + 1, freed + size
    return deleted, freed


def _prune_and_release(cache_dir: str | Path, max_bytes: int) -> None:
    try:
        prune(cache_dir, max_bytes)
    finally:
        _pruning.release()


def make_thumbnail(data: bytes, size: int = SIZE, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Return a JPEG whose longest side is at most `size`, in the stored pixel frame, decoding at
    most MAX_DECODED_PIXELS (and nothing of an image over `max_pixels`)."""
    out = io.BytesIO()
    try:
        with open_image(data, max_pixels) as header:
            image = decode_reduced(header, (size, size), min(max_pixels, MAX_DECODED_PIXELS))
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            image.save(out, format="JPEG", quality=QUALITY, optimize=True)
    except ImageError as exc:
        raise ThumbnailError(str(exc)) from None
    return out.getvalue()


def without_orientation(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Return the image unchanged, or re-encoded without its EXIF orientation tag if it has one
    (an image over `max_pixels` pixels, or one we cannot read, is sent as it is)."""
    out = io.BytesIO()
    try:
        with open_image(data, max_pixels) as image:
            if image.format not in ("JPEG", "PNG") or image.getexif().get(ORIENTATION, 1) == 1:
                return data
            options = {"quality": FULL_QUALITY} if image.format == "JPEG" else {}
            image.save(out, format=image.format, **options)
    except ImageError:
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
