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

from PIL import Image, UnidentifiedImageError

from storage.objects import ObjectStore

SIZE = 256  # longest side, in pixels
QUALITY = 80
FULL_QUALITY = 95  # for an image re-encoded only to drop its orientation tag
ORIENTATION = 0x0112
PRUNE_EVERY = 500  # thumbnails written by a process between two looks at the cache's size
PRUNE_TO = 0.8  # a prune goes down to this fraction of the limit, so it does not run again at once
_writes = itertools.count(1)
_pruning = threading.Lock()


class ThumbnailError(ValueError):
    """The image cannot be made into a thumbnail."""


def cache_path(cache_dir: str | Path, bucket: str, key: str, etag: str, size: int = SIZE) -> Path:
    """Return where the thumbnail of this version of the object lives (a new ETag, a new file)."""
    digest = hashlib.sha256(f"{bucket}\0{key}\0{etag}\0{size}".encode()).hexdigest()
    return Path(cache_dir) / digest[:2] / f"{digest}.jpg"


def thumbnail(store: ObjectStore, bucket: str, key: str, etag: str, cache_dir: str | Path, size: int = SIZE,
              max_bytes: int | None = None) -> Path:
    """Return the cached thumbnail file, making it from the stored image on first use.

    A hit marks the file as used (its mtime); with `max_bytes`, every few hundred writes the
    least recently used thumbnails go until the cache is under the limit again.
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
    _write_atomically(path, make_thumbnail(store.get(bucket, key), size))
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
