"""Image dimensions from the first bytes of the object, never the whole file when avoidable."""
from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from storage.objects import ObjectStore

HEADER_BYTES = 64 * 1024
MAX_HEADER_BYTES = 2 * 1024 * 1024  # a JPEG with a large EXIF block may put its size further in


class UndecodableImage(ValueError):
    """The bytes are not an image we can read."""


def size_from_bytes(data: bytes) -> tuple[int, int]:
    """Return (width, height) from an image's leading bytes."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UndecodableImage(f"not a readable image ({exc.__class__.__name__})") from None
    if width <= 0 or height <= 0:
        raise UndecodableImage("image has no pixels")
    return width, height


def probe_size(store: ObjectStore, bucket: str, key: str, size: int | None = None) -> tuple[int, int]:
    """Read an object's image dimensions with a ranged GET, widening it only if needed."""
    if size == 0:
        raise UndecodableImage("empty object")
    length = HEADER_BYTES
    while True:
        end = length - 1 if size is None else min(length, size) - 1
        data = store.get(bucket, key, byte_range=(0, end))
        try:
            return size_from_bytes(data)
        except UndecodableImage:
            complete = len(data) < length or (size is not None and length >= size)
            if complete or length >= MAX_HEADER_BYTES:
                raise
            length *= 8
