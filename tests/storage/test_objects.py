"""The object store contract, run against LocalObjectStore and a real SeaweedFS."""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from storage.errors import ObjectNotFound, StorageError
from storage.objects import ObjectInfo


def _keys(pages) -> list[str]:
    return [info.key for page in pages for info in page]


def test_put_returns_size_and_md5_etag(backend):
    info = backend.store.put(backend.bucket, "a/b/cat.jpg", b"meow")
    assert info.key == "a/b/cat.jpg"
    assert info.size == 4
    assert info.etag == hashlib.md5(b"meow").hexdigest()
    assert info.last_modified.tzinfo is not None


def test_stat_describes_the_object(backend):
    backend.store.put(backend.bucket, "x/y.png", b"0123456789")
    info = backend.store.stat(backend.bucket, "x/y.png")
    assert (info.key, info.size) == ("x/y.png", 10)
    assert info.etag == hashlib.md5(b"0123456789").hexdigest()
    assert info.last_modified.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - info.last_modified) < timedelta(minutes=5)


def test_get_returns_what_was_put(backend):
    data = bytes(range(256)) * 40
    backend.store.put(backend.bucket, "bin/data.bin", data)
    assert backend.store.get(backend.bucket, "bin/data.bin") == data


def test_put_overwrites_and_changes_the_etag(backend):
    first = backend.store.put(backend.bucket, "k", b"aaaa")
    second = backend.store.put(backend.bucket, "k", b"bbbb")
    assert first.etag != second.etag
    assert backend.store.get(backend.bucket, "k") == b"bbbb"
    assert backend.store.stat(backend.bucket, "k").etag == second.etag


def test_empty_object(backend):
    backend.store.put(backend.bucket, "empty", b"")
    assert backend.store.get(backend.bucket, "empty") == b""
    assert backend.store.stat(backend.bucket, "empty").size == 0


@pytest.mark.parametrize(
    ("byte_range", "expected"),
    [((0, 0), b"0"), ((0, 3), b"0123"), ((5, 9), b"56789"), ((8, 100), b"89")],
)
def test_range_get_is_inclusive_and_clipped(backend, byte_range, expected):
    backend.store.put(backend.bucket, "digits", b"0123456789")
    assert backend.store.get(backend.bucket, "digits", byte_range) == expected


def test_range_starting_past_the_end_is_refused(backend):
    backend.store.put(backend.bucket, "digits", b"0123456789")
    with pytest.raises(StorageError, match="not satisfiable|InvalidRange") as caught:
        backend.store.get(backend.bucket, "digits", (10, 20))
    assert not isinstance(caught.value, ObjectNotFound)


@pytest.mark.parametrize("byte_range", [(5, 3), (-1, 2)])
def test_invalid_range_is_a_value_error(backend, byte_range):
    with pytest.raises(ValueError):
        backend.store.get(backend.bucket, "whatever", byte_range)


def test_missing_object_raises_not_found_naming_it(backend):
    for call in (backend.store.stat, backend.store.get):
        with pytest.raises(ObjectNotFound, match="nope/missing.jpg") as caught:
            call(backend.bucket, "nope/missing.jpg")
        assert caught.value.bucket == backend.bucket
        assert caught.value.key == "nope/missing.jpg"


def test_missing_bucket_raises_not_found(backend):
    with pytest.raises(ObjectNotFound, match="no-such-bucket-here"):
        backend.store.get("no-such-bucket-here", "k")


def test_listing_a_missing_bucket_is_not_found(backend):
    with pytest.raises(ObjectNotFound, match="no-such-bucket-here"):
        next(backend.store.list_pages("no-such-bucket-here", ""))


def test_delete_is_idempotent(backend):
    backend.store.put(backend.bucket, "gone", b"x")
    backend.store.delete(backend.bucket, "gone")
    backend.store.delete(backend.bucket, "gone")
    backend.store.delete(backend.bucket, "never/was")
    with pytest.raises(ObjectNotFound):
        backend.store.stat(backend.bucket, "gone")


def test_pagination_is_lazy_ordered_and_recursive(backend):
    keys = [f"p/{name}" for name in ("b.jpg", "a.jpg", "d/e.jpg", "c.png", "d/f/g.xml", "h", "i")]
    for key in keys:
        backend.store.put(backend.bucket, key, key.encode())
    pages = backend.store.list_pages(backend.bucket, "p/", page_size=2)
    assert isinstance(pages, Iterator)
    collected = list(pages)
    assert [len(page) for page in collected] == [2, 2, 2, 1]
    assert _keys(collected) == sorted(keys)
    assert all(isinstance(info, ObjectInfo) for page in collected for info in page)
    by_key = {info.key: info for page in collected for info in page}
    assert by_key["p/h"].size == 3
    assert by_key["p/h"].etag == hashlib.md5(b"p/h").hexdigest()


def test_listing_orders_keys_like_s3(backend):
    keys = ["a0", "a/b", "a/c/d", "Z", "ä", "b_2", "b/1"]
    for key in keys:
        backend.store.put(backend.bucket, key, b"x")
    assert _keys(backend.store.list_pages(backend.bucket, "", page_size=3)) == sorted(keys)


def test_file_sorting_before_a_same_stem_folder(backend):
    # S3 order is UTF-8 binary: "a.txt" < "a/b" because "." < "/". SeaweedFS 4.48 walks its
    # directory tree instead and lists the "a/" folder first. Each key still comes once, and
    # pagination loses nothing, so callers must not merge-join listings on key order.
    keys = ["a.txt", "a/b", "a/c/d", "a0"]
    for key in keys:
        backend.store.put(backend.bucket, key, b"x")
    listed = _keys(backend.store.list_pages(backend.bucket, "", page_size=1))
    if backend.name == "local":
        assert listed == sorted(keys)
    else:
        assert sorted(listed) == sorted(keys)
        assert listed in (sorted(keys), ["a/b", "a/c/d", "a.txt", "a0"])


def test_prefix_is_a_string_prefix_not_a_folder(backend):
    for key in ("cat/1.jpg", "cat/sub/2.jpg", "cats.jpg", "dog/1.jpg"):
        backend.store.put(backend.bucket, key, b"x")
    assert _keys(backend.store.list_pages(backend.bucket, "cat")) == [
        "cat/1.jpg", "cat/sub/2.jpg", "cats.jpg",
    ]
    assert _keys(backend.store.list_pages(backend.bucket, "cat/")) == ["cat/1.jpg", "cat/sub/2.jpg"]
    assert _keys(backend.store.list_pages(backend.bucket, "cat/s")) == ["cat/sub/2.jpg"]
    assert _keys(backend.store.list_pages(backend.bucket, "ca", page_size=1)) == [
        "cat/1.jpg", "cat/sub/2.jpg", "cats.jpg",
    ]


def test_listing_nothing_yields_no_pages(backend):
    assert list(backend.store.list_pages(backend.bucket, "nothing/here/")) == []


def test_page_size_is_checked(backend):
    with pytest.raises(ValueError):
        next(backend.store.list_pages(backend.bucket, "", page_size=0))


def test_unicode_and_space_keys(backend):
    key = "dir with space/ünï cødé 猫 #1.jpg"
    backend.store.put(backend.bucket, key, b"unicode")
    assert backend.store.get(backend.bucket, key) == b"unicode"
    assert _keys(backend.store.list_pages(backend.bucket, "dir with space/")) == [key]
    with urllib.request.urlopen(backend.store.presigned_url(backend.bucket, key)) as response:
        assert response.read() == b"unicode"


def test_keys_that_need_escaping_list_as_they_were_put(backend):
    keys = ["esc/a+b c.jpg", "esc/100%.png", "esc/x&y<z>.jpg", "esc/q'\"uote.bmp", "esc/tab\there.png", "esc/%2F.jpg"]
    for key in keys:
        backend.store.put(backend.bucket, key, b"k")
    assert sorted(_keys(backend.store.list_pages(backend.bucket, "esc/", page_size=2))) == sorted(keys)
    assert _keys(backend.store.list_pages(backend.bucket, "esc/a+b")) == ["esc/a+b c.jpg"]


def test_listing_describes_each_object_like_stat(backend):
    backend.store.put(backend.bucket, "desc/one.png", b"12345")
    [page] = list(backend.store.list_pages(backend.bucket, "desc/"))
    stat = backend.store.stat(backend.bucket, "desc/one.png")
    assert (page[0].key, page[0].size, page[0].etag) == (stat.key, 5, stat.etag)
    assert page[0].etag == "827ccb0eea8a706c4c34a16891f84e7b"  # the MD5 of the bytes, quotes stripped
    assert page[0].last_modified.tzinfo is not None
    assert abs((page[0].last_modified - stat.last_modified).total_seconds()) < 2


def test_presigned_url_fetches_the_object(backend):
    backend.store.put(backend.bucket, "img/cat.png", b"\x89PNG...", content_type="image/png")
    url = backend.store.presigned_url(backend.bucket, "img/cat.png", expires_s=60)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"\x89PNG..."
        if backend.name == "s3":
            assert response.headers["Content-Type"] == "image/png"


def test_ensure_bucket_is_idempotent(backend):
    backend.store.ensure_bucket(backend.bucket)
    backend.store.ensure_bucket(backend.bucket)
    backend.store.put(backend.bucket, "still-here", b"x")
    assert backend.store.get(backend.bucket, "still-here") == b"x"


def test_store_is_safe_to_share_between_threads(backend):
    def roundtrip(n: int) -> bytes:
        key = f"threads/{n:03d}"
        backend.store.put(backend.bucket, key, str(n).encode() * 100)
        return backend.store.get(backend.bucket, key)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(roundtrip, range(32)))
    assert results == [str(n).encode() * 100 for n in range(32)]
    assert len(_keys(backend.store.list_pages(backend.bucket, "threads/"))) == 32
