"""Image dimensions from the first bytes of the object, never the whole file when avoidable, and
never an image of more pixels than the limit (`MAX_IMAGE_PIXELS`)."""
from __future__ import annotations

from storage.images import DEFAULT_MAX_PIXELS, ImageError, UnreadableImage, image_header, image_size
from storage.objects import ObjectStore

HEADER_BYTES = 64 * 1024
MAX_HEADER_BYTES = 2 * 1024 * 1024  # a JPEG with a large EXIF block may put its size further in

# What the sync and the annotation save catch: an unreadable image, or one over the pixel limit.
UndecodableImage = ImageError


def size_from_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Return (width, height) from an image's leading bytes, within the pixel limit."""
    return image_size(data, max_pixels)


def probe_size(store: ObjectStore, bucket: str, key: str, size: int | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Read an object's image dimensions with a ranged GET, widening it only if needed."""
    width, height, _ = probe_image(store, bucket, key, size, max_pixels)
    return width, height


def probe_image(store: ObjectStore, bucket: str, key: str, size: int | None = None,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, int]:
    """Read an object's image width, height and depth (channels) with a ranged GET, widening it only if needed."""
    if size == 0:
        raise UnreadableImage("empty object")
    length = HEADER_BYTES
    while True:
        end = length - 1 if size is None else min(length, size) - 1
        data = store.get(bucket, key, byte_range=(0, end))
        try:
            return image_header(data, max_pixels)
        except UnreadableImage:  # too many pixels is final; a header cut short may need more bytes
            complete = len(data) < length or (size is not None and length >= size)
            if complete or length >= MAX_HEADER_BYTES:
                raise
            length *= 8
