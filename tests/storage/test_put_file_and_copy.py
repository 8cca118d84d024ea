"""Streamed uploads and server-side copies, on the local store and a real SeaweedFS."""

from __future__ import annotations

import hashlib
import io
import tempfile

import pytest

from storage.errors import ObjectNotFound, StoreUnavailable
from storage.s3 import S3ObjectStore


def test_put_file_stores_the_file_from_its_position(backend):
    file = io.BytesIO(b"skip" + b"payload")
    file.seek(4)
    info = backend.store.put_file(backend.bucket, "a/b.txt", file, content_type="text/plain")
    assert (info.key, info.size) == ("a/b.txt", 7)
    assert backend.store.get(backend.bucket, "a/b.txt") == b"payload"


def test_put_file_streams_a_large_file_in_parts(backend):
    with tempfile.SpooledTemporaryFile(max_size=1024) as file:
        chunk = bytes(range(256)) * 4096  # 1 MiB
        for _ in range(17):  # past the 16 MiB multipart threshold
            file.write(chunk)
        file.seek(0)
        info = backend.store.put_file(backend.bucket, "big.bin", file)
    assert info.size == 17 * len(chunk)
    assert hashlib.sha256(backend.store.get(backend.bucket, "big.bin")).digest() == hashlib.sha256(chunk * 17).digest()


def test_copy_makes_an_equal_object(backend):
    backend.store.put(backend.bucket, "src/one.xml", b"<annotation/>")
    info = backend.store.copy(backend.bucket, "src/one.xml", "dst/deeper/one.xml")
    assert info.key == "dst/deeper/one.xml" and info.size == 13
    assert backend.store.get(backend.bucket, "dst/deeper/one.xml") == b"<annotation/>"
    assert backend.store.get(backend.bucket, "src/one.xml") == b"<annotation/>"


def test_copying_a_missing_object_is_not_found(backend):
    with pytest.raises(ObjectNotFound):
        backend.store.copy(backend.bucket, "nothing.xml", "copy.xml")


def test_put_file_to_an_unreachable_store_is_unavailable():
    store = S3ObjectStore("http://127.0.0.1:9", "us-east-1", "k", "s", connect_timeout=0.5, max_attempts=1)
    with pytest.raises(StoreUnavailable):
        store.put_file("bucket", "key", io.BytesIO(b"x"))
