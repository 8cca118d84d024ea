"""The pixel bound every image decode goes through: refused from the header, before any decoding."""
from __future__ import annotations

import io
import warnings

import pytest
from PIL import Image, ImageFile

from storage.images import TooManyPixels, UnreadableImage, decode_reduced, image_size, open_image
from tests.storage.bombs import png_bomb


def encoded(width: int, height: int, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any pixel is decoded."""
    def load(self):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_decompression_bomb_is_refused_from_its_header(no_decoding):
    bomb = png_bomb(20_000, 20_000)
    assert len(bomb) < 500_000
    with pytest.raises(TooManyPixels, match="limit of 100000000"):
        with open_image(bomb):
            pass


def test_the_limit_is_the_callers_and_pillows_warning_never_escapes(no_decoding):
    bomb = png_bomb(13_000, 13_000)  # over Pillow's own warning threshold, under its error
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would raise here
        assert image_size(bomb, max_pixels=200_000_000) == (13_000, 13_000)
        with pytest.raises(TooManyPixels) as caught:
            image_size(bomb, max_pixels=169_000_000 - 1)
    assert caught.value.size == (13_000, 13_000) and "13000x13000 is 169000000 pixels" in str(caught.value)


@pytest.mark.parametrize("data", [b"", b"not an image", encoded(40, 30, "PNG")[:30]])
def test_unreadable_bytes_are_refused(data):
    with pytest.raises(UnreadableImage):
        image_size(data)


def test_a_file_broken_past_its_header_is_unreadable_when_decoded():
    data = encoded(400, 300, "PNG")
    with pytest.raises(UnreadableImage):
        with open_image(data[: len(data) // 2]) as image:
            image.load()


def test_a_jpeg_decodes_at_a_reduced_scale_within_the_cap():
    with open_image(encoded(800, 600, "JPEG")) as image:
        reduced = decode_reduced(image, (64, 64), max_pixels=10_000)
    assert reduced.size == (100, 75) and reduced.mode == "RGB"  # 1/8 scale


def test_other_formats_over_the_cap_are_refused_before_decoding(no_decoding):
    with open_image(encoded(800, 600, "PNG")) as image, pytest.raises(TooManyPixels):
        decode_reduced(image, (64, 64), max_pixels=10_000)
