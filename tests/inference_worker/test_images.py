import base64
import warnings

import cv2
import numpy as np
import pytest

from inference_worker import errors
from inference_worker.images import DecodeCache, ImageLoader, decode_image, parse_image_uri
from storage.errors import AccessDenied, StoreUnavailable
from tests.inference_worker.conftest import disc_image, encode_png
from tests.storage.bombs import png_bomb


def loader_for(store, max_bytes=10_000_000, max_pixels=10_000_000):
    return ImageLoader(lambda uri: store, max_bytes, max_pixels, cache_entries=4)


def test_base64_images_decode_to_rgb():
    image, _ = disc_image(64, 48, (32, 24), 10)
    loader = loader_for(None)
    decoded = loader.from_base64(base64.b64encode(encode_png(image)).decode())
    assert decoded.shape == (48, 64, 3) and np.array_equal(decoded, image)


def test_data_urls_are_accepted():
    image, _ = disc_image(16, 16, (8, 8), 3)
    url = "data:image/png;base64," + base64.b64encode(encode_png(image)).decode()
    assert loader_for(None).from_base64(url).shape == (16, 16, 3)


@pytest.mark.parametrize("text, code", [("", "invalid_image"), ("!!!notbase64", "invalid_base64"), ("aGVsbG8=", "undecodable_image")])
def test_bad_base64_images_are_refused(text, code):
    with pytest.raises(errors.BadRequest) as caught:
        loader_for(None).from_base64(text)
    assert caught.value.code == code


def test_pixel_and_byte_limits():
    png = encode_png(disc_image(200, 100, (50, 50), 20)[0])
    with pytest.raises(errors.BadRequest, match="pixels"):
        decode_image(png, max_pixels=199 * 100)
    with pytest.raises(errors.BadRequest, match="bytes"):
        loader_for(None, max_bytes=100).from_base64(base64.b64encode(png).decode())


@pytest.mark.parametrize("side", [13_000, 20_000])  # over Pillow's warning threshold; over its error threshold
def test_decompression_bombs_are_refused_from_the_header_and_pillow_never_warns(side, monkeypatch):
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("the bomb was handed to the decoder"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning would escape as an error
        with pytest.raises(errors.BadRequest, match="limit of 40000000") as caught:
            decode_image(png_bomb(side, side), max_pixels=40_000_000)
    assert caught.value.code == "image_too_large"


def test_uri_images_are_decoded_once_per_etag(memory_store):
    memory_store.put("images", "a.png", encode_png(disc_image(64, 48, (32, 24), 10)[0]))
    loader = loader_for(memory_store)
    first = loader.from_uri("s3://images/a.png")
    second = loader.from_uri("s3://images/a.png")
    assert second is first and memory_store.gets == 1 and loader.cache.hits == 1
    memory_store.put("images", "a.png", encode_png(disc_image(64, 48, (30, 24), 10)[0]))
    assert loader.from_uri("s3://images/a.png") is not first and memory_store.gets == 2


def test_uri_byte_limit_is_checked_before_download(memory_store):
    memory_store.put("images", "big.png", encode_png(disc_image(300, 300, (150, 150), 50)[0]))
    with pytest.raises(errors.BadRequest, match="bytes"):
        loader_for(memory_store, max_bytes=100).from_uri("s3://images/big.png")
    assert memory_store.gets == 0


@pytest.mark.parametrize("failure, kind, status", [
    (StoreUnavailable("connection refused"), errors.StoreUnavailable, 503),
    (AccessDenied("denied"), errors.StoreFailed, 502),
])
def test_store_failures_become_5xx(memory_store, failure, kind, status):
    memory_store.failure = failure
    with pytest.raises(kind) as caught:
        loader_for(memory_store).from_uri("s3://images/a.png")
    assert caught.value.status == status


def test_missing_objects_are_404(memory_store):
    with pytest.raises(errors.ImageNotFound):
        loader_for(memory_store).from_uri("s3://images/none.png")


@pytest.mark.parametrize("uri, code", [
    ("http://host/a.png", "unsupported_uri_scheme"), ("file:///etc/passwd", "unsupported_uri_scheme"),
    ("ftp://x/y", "unsupported_uri_scheme"), ("s3://images/", "invalid_uri"), ("not a uri", "invalid_uri"),
])
def test_bad_uris_are_refused(uri, code):
    with pytest.raises(errors.BadRequest) as caught:
        parse_image_uri(uri)
    assert caught.value.code == code


def test_cache_evicts_the_least_recently_used():
    cache = DecodeCache(2)
    for name in "abc":
        cache.put((name, "e"), np.zeros(1))
    assert cache.get(("a", "e")) is None and cache.get(("c", "e")) is not None


def test_an_exif_orientation_is_not_applied_as_in_the_dataset_service():
    import io

    from PIL import Image

    from dataset_service.services.image_probe import size_from_bytes

    stored = Image.new("RGB", (80, 60), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees to display"
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif)
    decoded = decode_image(buffer.getvalue(), 10_000)
    assert decoded.shape == (60, 80, 3)
    assert size_from_bytes(buffer.getvalue()) == (80, 60)  # the frame the labeling page and the XML use
