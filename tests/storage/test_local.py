"""What only the local backend does: directory layout, atomic writes, refusing escapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.errors import AccessDenied, InvalidURI, ObjectNotFound
from storage.local import TEMP_PREFIX, LocalObjectStore


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path)
    store.ensure_bucket("b")
    return store


def test_objects_are_files_under_root_bucket_key(store, tmp_path):
    store.put("b", "a/c/x.txt", b"hi")
    assert (tmp_path / "b" / "a" / "c" / "x.txt").read_bytes() == b"hi"


def test_empty_bucket_is_the_root(tmp_path):
    store = LocalObjectStore(tmp_path)
    (tmp_path / "img.png").write_bytes(b"png")
    assert store.get("", "img.png") == b"png"
    assert [i.key for page in store.list_pages("", "") for i in page] == ["img.png"]


def test_put_into_missing_bucket_is_not_found(tmp_path):
    with pytest.raises(ObjectNotFound, match="bucket not found"):
        LocalObjectStore(tmp_path).put("absent", "k", b"x")


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/etc/passwd", "a//b", "a/./b", "", "dir/"])
def test_keys_that_are_not_plain_relative_paths_are_refused(store, key):
    with pytest.raises(InvalidURI):
        store.put("b", key, b"x")


@pytest.mark.parametrize("bucket", ["..", ".", "a/b"])
def test_bucket_must_be_one_segment(store, bucket):
    with pytest.raises(InvalidURI):
        store.get(bucket, "k")


def test_writes_leave_no_temporary_files_and_listings_skip_them(store, tmp_path):
    store.put("b", "d/k", b"1")
    store.put("b", "d/k", b"2")
    assert os.listdir(tmp_path / "b" / "d") == ["k"]
    (tmp_path / "b" / "d" / f"{TEMP_PREFIX}crashed").write_bytes(b"half")
    assert [i.key for page in store.list_pages("b", "") for i in page] == ["d/k"]


def test_etag_follows_content_changes_of_equal_size(store):
    first = store.put("b", "k", b"aaaa").etag
    second = store.put("b", "k", b"bbbb").etag
    assert first != second == store.stat("b", "k").etag


def test_presigned_url_is_a_file_uri(store, tmp_path):
    store.put("b", "a b.txt", b"x")
    assert store.presigned_url("b", "a b.txt") == (tmp_path / "b" / "a b.txt").as_uri()


def test_directories_are_not_objects(store):
    store.put("b", "dir/k", b"x")
    with pytest.raises(ObjectNotFound):
        store.get("b", "dir")
    with pytest.raises(ObjectNotFound):
        store.stat("b", "dir")
    store.delete("b", "dir")
    assert store.get("b", "dir/k") == b"x"


def test_special_files_are_not_objects(store, tmp_path):
    store.put("b", "k", b"x")
    os.mkfifo(tmp_path / "b" / "pipe")
    assert [i.key for page in store.list_pages("b", "") for i in page] == ["k"]
    with pytest.raises(ObjectNotFound):
        store.stat("b", "pipe")


def test_symlinked_directories_are_not_followed(store, tmp_path):
    store.put("b", "real/k", b"x")
    (tmp_path / "b" / "loop").symlink_to(tmp_path / "b")
    assert [i.key for page in store.list_pages("b", "") for i in page] == ["real/k"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_file_is_access_denied(store, tmp_path):
    store.put("b", "secret", b"x")
    (tmp_path / "b" / "secret").chmod(0)
    with pytest.raises(AccessDenied):
        store.get("b", "secret")
