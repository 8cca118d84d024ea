"""An HTTPS object store signed by a private CA: every path (boto3 and the fast lister) verifies
with the CA file from the settings, and without it refuses the endpoint."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from storage.errors import StorageError
from storage.factory import StoreSettings, store_for
from storage.seaweedfs import SeaweedFS, free_port_base
from storage.uris import parse_uri

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a certificate")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """SeaweedFS whose S3 API speaks HTTPS only, with a self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert),
    ], check=True, capture_output=True)
    server = SeaweedFS(folder / "data", free_port_base(), "tls-key", "tls-secret", volume_size_limit_mb=64, tls=(cert, key))
    try:
        server.start(timeout=60)
    except StorageError as exc:
        pytest.fail(f"SeaweedFS with TLS did not start: {exc}")
    yield server, cert
    server.stop()


def settings(server, ca_bundle=None) -> StoreSettings:
    return StoreSettings(endpoint_url=server.endpoint_url, access_key="tls-key", secret_key="tls-secret", ca_bundle=ca_bundle)


def test_the_ca_file_of_the_settings_verifies_every_request(tls_server):
    server, cert = tls_server
    assert server.endpoint_url.startswith("https://")
    store = store_for(parse_uri("s3://secure-bucket/a.txt"), settings(server, str(cert)))
    store.ensure_bucket("secure-bucket")
    for i in range(5):
        store.put("secure-bucket", f"p/{i}.txt", b"x" * i)
    assert store.get("secure-bucket", "p/3.txt") == b"xxx"
    pages = list(store.list_pages("secure-bucket", "p/", page_size=2))  # the lister, on its own HTTPS pool
    assert [[o.key for o in page] for page in pages] == [["p/0.txt", "p/1.txt"], ["p/2.txt", "p/3.txt"], ["p/4.txt"]]


def test_an_unknown_ca_is_refused_by_the_lister_too(tls_server, monkeypatch):
    server, cert = tls_server
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    store = store_for(parse_uri("s3://secure-bucket/a.txt"), settings(server))
    with pytest.raises(StorageError):
        store.stat("secure-bucket", "p/1.txt")
    with pytest.raises(StorageError) as refused:
        list(store.list_pages("secure-bucket", "p/"))
    assert "SSL" in str(refused.value) or "certificate" in str(refused.value).lower()
