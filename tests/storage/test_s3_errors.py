"""Provider errors become our exceptions: checked against the real SeaweedFS and a closed port."""

from __future__ import annotations

import socket
import time

import pytest

from storage.errors import AccessDenied, ObjectNotFound, StoreUnavailable
from storage.s3 import S3ObjectStore


def _store(endpoint: str, access_key: str, secret_key: str, **options) -> S3ObjectStore:
    return S3ObjectStore(endpoint, "us-east-1", access_key, secret_key, **options)


def test_missing_key_is_not_found(s3_server):
    bucket = s3_server.new_bucket()
    with pytest.raises(ObjectNotFound, match=f"bucket '{bucket}', key 'no/such.jpg'"):
        s3_server.store.get(bucket, "no/such.jpg")


def test_missing_bucket_is_not_found(s3_server):
    with pytest.raises(ObjectNotFound, match="bucket not found"):
        s3_server.store.get("never-created-bucket", "k")


def test_wrong_secret_is_access_denied(s3_server):
    bucket = s3_server.new_bucket()
    s3_server.store.put(bucket, "k", b"x")
    store = _store(s3_server.endpoint_url, s3_server.access_key, "wrong-secret", max_attempts=1)
    with pytest.raises(AccessDenied, match="SignatureDoesNotMatch") as caught:
        store.get(bucket, "k")
    assert caught.value.bucket == bucket


def test_unknown_access_key_is_access_denied(s3_server):
    bucket = s3_server.new_bucket()
    store = _store(s3_server.endpoint_url, "nobody", "nothing", max_attempts=1)
    for call in (lambda: store.stat(bucket, "k"), lambda: next(store.list_pages(bucket, ""))):
        with pytest.raises(AccessDenied):
            call()
    with pytest.raises(AccessDenied, match="InvalidAccessKeyId"):
        store.put(bucket, "k", b"x")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_closed_port_is_unavailable_fast():
    store = _store(f"http://127.0.0.1:{_closed_port()}", "a", "b", connect_timeout=1, max_attempts=2)
    started = time.monotonic()
    for call in (
        lambda: store.get("bucket", "k"),
        lambda: store.put("bucket", "k", b"x"),
        lambda: next(store.list_pages("bucket", "")),
        lambda: store.ensure_bucket("bucket"),
    ):
        with pytest.raises(StoreUnavailable, match="unreachable"):
            call()
    assert time.monotonic() - started < 10


def test_presigning_needs_no_server():
    store = _store(f"http://127.0.0.1:{_closed_port()}", "a", "b")
    url = store.presigned_url("bucket", "a b/c.jpg", expires_s=60)
    assert url.startswith("http://127.0.0.1:") and "/bucket/a%20b/c.jpg?" in url
    assert "X-Amz-Expires=60" in url
