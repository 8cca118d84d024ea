"""store_for picks the backend for a URI."""

from __future__ import annotations

from types import SimpleNamespace

from storage.factory import StoreSettings, store_for
from storage.local import LocalObjectStore
from storage.s3 import S3ObjectStore
from storage.uris import parse_uri


def test_file_uris_use_the_local_store_at_root(tmp_path):
    (tmp_path / "cat.jpg").write_bytes(b"jpg")
    uri = parse_uri((tmp_path / "cat.jpg").as_uri())
    store = store_for(uri, StoreSettings())
    assert isinstance(store, LocalObjectStore)
    assert store.get(uri.bucket, uri.key) == b"jpg"


def test_s3_store_is_shared_per_settings():
    settings = StoreSettings(endpoint_url="http://127.0.0.1:1", access_key="a", secret_key="b")
    first = store_for(parse_uri("s3://bucket/a"), settings)
    again = store_for(parse_uri("s3://other/b"), StoreSettings(**vars(settings)))
    other = store_for(parse_uri("s3://bucket/a"), StoreSettings(endpoint_url="http://127.0.0.1:2"))
    assert isinstance(first, S3ObjectStore)
    assert first is again
    assert other is not first


def test_local_root_serves_s3_uris_from_a_directory(tmp_path):
    (tmp_path / "bucket" / "a").mkdir(parents=True)
    (tmp_path / "bucket" / "a" / "k").write_bytes(b"local")
    uri = parse_uri("s3://bucket/a/k")
    store = store_for(uri, StoreSettings(local_root=tmp_path))
    assert store.get(uri.bucket, uri.key) == b"local"


def test_settings_repr_hides_the_secret():
    assert "hunter2" not in repr(StoreSettings(secret_key="hunter2"))


def test_s3_server_settings_reach_the_server(s3_server):
    bucket = s3_server.new_bucket()
    store = store_for(parse_uri(f"s3://{bucket}/x"), s3_server.settings)
    store.put(bucket, "x", b"via factory")
    assert s3_server.store.get(bucket, "x") == b"via factory"


def test_settings_come_from_any_config_with_the_s3_settings():
    config = SimpleNamespace(
        s3_endpoint_url="https://s3.internal:9000", s3_region="eu-west-3", s3_access_key="a", s3_secret_key="b",
        s3_path_style=False, s3_ca_bundle="/etc/ssl/ca.pem", worker_url="ignored",
    )
    assert StoreSettings.from_config(config) == StoreSettings(
        endpoint_url="https://s3.internal:9000", region="eu-west-3", access_key="a", secret_key="b",
        path_style=False, ca_bundle="/etc/ssl/ca.pem",
    )
