"""Thumbnails for the grid (made on the server, cached by key and ETag) and the labeling page's image."""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from dataset_service.services import thumbnails
from tests.dataset_service.conftest import image_bytes
from tests.dataset_service.factories import add_sample
from tests.dataset_service.web.pages import signed_in
from tests.storage.bombs import png_bomb


@pytest.fixture
def photo(app, admin, dataset, s3_server):
    """A 900x600 JPEG in the dataset's folder, with its sample."""
    bucket = dataset["input_path"].split("/")[2]
    data = image_bytes(900, 600, "JPEG", color=(20, 120, 220))
    s3_server.store.put(bucket, "cats/big.jpg", data)
    return {"id": add_sample(app, dataset["id"], "cats/big.jpg"), "bucket": bucket, "bytes": data}


def test_make_thumbnail_keeps_the_aspect_and_the_limit():
    thumb = Image.open(io.BytesIO(thumbnails.make_thumbnail(image_bytes(900, 300, "PNG"))))
    assert thumb.format == "JPEG" and thumb.size == (256, 85)


def rotated_jpeg() -> bytes:
    """A 400x200 JPEG whose EXIF says to show it turned by 90 degrees."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 200), (200, 10, 10)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_pages_show_images_in_the_stored_pixel_frame_whatever_exif_says():
    thumb = Image.open(io.BytesIO(thumbnails.make_thumbnail(rotated_jpeg())))
    assert thumb.size == (256, 128) and thumb.getexif().get(0x0112, 1) == 1
    full = Image.open(io.BytesIO(thumbnails.without_orientation(rotated_jpeg())))
    assert full.size == (400, 200) and full.getexif().get(0x0112, 1) == 1
    plain = image_bytes(30, 20, "JPEG")
    assert thumbnails.without_orientation(plain) is plain


def test_make_thumbnail_refuses_what_is_not_an_image():
    with pytest.raises(thumbnails.ThumbnailError):
        thumbnails.make_thumbnail(b"GIF89a no")


def test_cache_path_changes_with_the_etag(tmp_path):
    one = thumbnails.cache_path(tmp_path, "b", "k.jpg", "etag1")
    assert one != thumbnails.cache_path(tmp_path, "b", "k.jpg", "etag2")
    assert one.parent.parent == tmp_path and one.suffix == ".jpg"


def test_prune_drops_the_least_recently_used_thumbnails_down_under_the_limit(tmp_path):
    files = []
    for i in range(10):
        path = thumbnails.cache_path(tmp_path, "b", f"k{i}.jpg", "e")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))  # k0 is the least recently used
        files.append(path)
    assert thumbnails.prune(tmp_path, 20_000) == (0, 0)  # under the limit: nothing goes
    os.utime(files[0])  # k0 was just served: now the most recent
    deleted, freed = thumbnails.prune(tmp_path, 5_000)
    assert (deleted, freed) == (6, 6000)  # down to 80 % of the limit
    assert [p.exists() for p in files] == [True, False, False, False, False, False, False, True, True, True]


class CountingStore:
    def __init__(self, data: bytes):
        self.data, self.gets = data, 0

    def get(self, bucket, key):
        self.gets += 1
        return self.data


def test_thumbnails_over_the_limit_are_pruned_as_they_are_written(tmp_path, monkeypatch):
    monkeypatch.setattr(thumbnails, "PRUNE_EVERY", 1)
    store = CountingStore(image_bytes(300, 200, "PNG"))
    one = thumbnails.thumbnail(store, "b", "a.png", "e1", tmp_path, max_bytes=1)
    assert store.gets == 1
    for _ in range(100):  # the pruning thread of that write has run by then
        if not one.exists():
            break
        time.sleep(0.05)
    assert not one.exists()  # the cache limit of 1 byte keeps nothing
    thumbnails.thumbnail(store, "b", "a.png", "e1", tmp_path)
    thumbnails.thumbnail(store, "b", "a.png", "e1", tmp_path)
    assert store.gets == 2  # made again once, then served from the cache


def test_thumbnail_route_serves_a_cached_small_jpeg(app, photo, s3_server, config):
    client, _ = signed_in(app)
    response = client.get(f"/samples/{photo['id']}/thumbnail")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(response.data)).size) == 256
    assert len(response.data) < len(photo["bytes"])
    assert list(Path(config.thumbnail_dir).rglob("*.jpg"))
    s3_server.store.delete(photo["bucket"], "cats/big.jpg")  # the cache answers without the store now
    assert client.get(f"/samples/{photo['id']}/thumbnail").data == response.data
    etag = response.headers["ETag"]
    assert client.get(f"/samples/{photo['id']}/thumbnail", headers={"If-None-Match": etag}).status_code == 304


def test_thumbnail_of_an_unreadable_image_is_a_placeholder(app, admin, dataset, s3_server):
    bucket = dataset["input_path"].split("/")[2]
    s3_server.store.put(bucket, "cats/broken.png", b"\x89PNG not really")
    sample_id = add_sample(app, dataset["id"], "cats/broken.png")
    client, _ = signed_in(app)
    response = client.get(f"/samples/{sample_id}/thumbnail")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["X-Image-Error"].startswith("not a readable image")  # the upload's report reads it


def test_image_route_streams_the_image_to_logged_in_users(app, photo, client):
    assert client.get(f"/samples/{photo['id']}/image").status_code == 302  # to the login page
    browser, _ = signed_in(app)
    response = browser.get(f"/samples/{photo['id']}/image")
    assert response.status_code == 200 and response.data == photo["bytes"] and response.mimetype == "image/jpeg"
    assert browser.get(f"/samples/{photo['id']}/image", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any pixel is decoded (a decoded bomb would cost gigabytes)."""
    def load(self):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_png_over_the_thumbnail_cap_is_refused_before_decoding(no_decoding):
    legal = png_bomb(13_000, 13_000)  # 500 KB would cost 1.25 GB decoded
    with pytest.raises(thumbnails.ThumbnailError, match="pixels"):
        thumbnails.make_thumbnail(legal, max_pixels=200_000_000)
    with pytest.raises(thumbnails.ThumbnailError, match="pixels"):
        thumbnails.make_thumbnail(png_bomb(20_000, 20_000))


def test_a_jpeg_decodes_reduced_where_another_format_is_over_the_cap(monkeypatch):
    monkeypatch.setattr(thumbnails, "MAX_DECODED_PIXELS", 200_000)  # 800x600 is 480,000; at 1/2 scale 120,000
    thumb = Image.open(io.BytesIO(thumbnails.make_thumbnail(image_bytes(800, 600, "JPEG"))))
    assert thumb.size == (256, 192)
    with pytest.raises(thumbnails.ThumbnailError, match="pixels"):
        thumbnails.make_thumbnail(image_bytes(800, 600, "PNG"))


def test_the_image_of_a_bomb_is_sent_as_it_is_without_decoding(no_decoding):
    legal = png_bomb(13_000, 13_000)
    assert thumbnails.without_orientation(legal) is legal


def test_thumbnail_of_a_bomb_is_a_placeholder(app, admin, dataset, s3_server, no_decoding):
    bucket = dataset["input_path"].split("/")[2]
    for key, size in (("cats/legal.png", 13_000), ("cats/bomb.png", 20_000)):
        s3_server.store.put(bucket, key, png_bomb(size, size))
    client, _ = signed_in(app)
    for key in ("cats/legal.png", "cats/bomb.png"):
        response = client.get(f"/samples/{add_sample(app, dataset['id'], key)}/thumbnail")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", key
