"""Opening images with a bound on their pixels: the header is read and its size checked before
anything is decoded, and a reduced decode (JPEG at 1/2 to 1/8 scale) is capped too.

Every image the service or the worker decodes is opened here. Pillow's own guard is one
process-wide setting (`Image.MAX_IMAGE_PIXELS`: a warning at 89 megapixels, an error at twice
that); each caller has its own limit instead, and Pillow's error surfaces as `TooManyPixels`.
"""
from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageFile, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 100_000_000
# What Pillow raises for bytes it cannot read, when opening or while decoding.
READ_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error)


class ImageError(ValueError):
    """An image we will not decode: unreadable, or with more pixels than allowed."""


class UnreadableImage(ImageError):
    """The bytes are not an image we can read."""


class TooManyPixels(ImageError):
    """The image has more pixels than the limit."""

    def __init__(self, limit: int, size: tuple[int, int] | None = None):
        what = f"{size[0]}x{size[1]} is {size[0] * size[1]} pixels" if size else "it has too many pixels"
        super().__init__(f"{what}, more than the limit of {limit}")
        self.limit, self.size = limit, size


def check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse a width and height of more than `max_pixels` pixels."""
    if size[0] * size[1] > max_pixels:
        raise TooManyPixels(max_pixels, size)


@contextmanager
def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[ImageFile.ImageFile]:
    """Open an image's header, refusing more than `max_pixels` pixels; nothing is decoded yet.

    Pillow's errors inside the block (a broken file found while decoding) become UnreadableImage.
    """
    with _open(data, max_pixels) as image:
        check_pixels(image.size, max_pixels)
        try:
            yield image
        except ImageError:
            raise
        except Image.DecompressionBombError:  # Pillow checks again in a few operations (crop)
            raise TooManyPixels(max_pixels) from None
        except READ_ERRORS as exc:
            raise UnreadableImage(_reason(exc)) from None


def decode_reduced(image: ImageFile.ImageFile, size: tuple[int, int], max_pixels: int) -> Image.Image:
    """Decode an open image in RGB at the smallest scale its format offers that still covers
    `size` (JPEG: down to 1/8; other formats: full size), refusing to decode more than `max_pixels`."""
    image.draft("RGB", size)  # a JPEG's size is now the reduced one; other formats ignore it
    check_pixels(image.size, max_pixels)
    return image.convert("RGB")


def image_size(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Return (width, height) from an image's header, within the pixel limit."""
    width, height, _ = image_header(data, max_pixels)
    return width, height


def image_header(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, int]:
    """Return (width, height, depth) from an image's header, within the pixel limit; the depth is
    its channels as PASCAL VOC's <depth> counts them (a palette image is a colour one: 3)."""
    with open_image(data, max_pixels) as image:
        (width, height), depth = image.size, channels(image)
    if width <= 0 or height <= 0:
        raise UnreadableImage("image has no pixels")
    return width, height, depth


def channels(image: Image.Image) -> int:
    """Return an opened image's channels, read from its mode (nothing is decoded)."""
    return 3 if image.mode == "P" else len(image.getbands())


def _open(data: bytes, max_pixels: int) -> ImageFile.ImageFile:
    """Identify the image and read its header, keeping Pillow's global guard quiet (ours follows)."""
    try:
        with warnings.catch_warnings():
            # Not thread-safe in Python 3.11: a race can at worst leave this one category ignored for good.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooManyPixels(max_pixels) from None
    except READ_ERRORS as exc:
        raise UnreadableImage(_reason(exc)) from None


def _reason(exc: BaseException) -> str:
    return f"not a readable image ({exc.__class__.__name__})"
