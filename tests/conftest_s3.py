"""Pytest plugin: a real SeaweedFS S3 server for the whole test session, on free loopback ports.

Load it with `pytest_plugins = ["tests.conftest_s3"]`. Locally a server that cannot start
skips the tests that need it; under CI (`CI=true`) it fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.errors import StorageError
from storage.factory import StoreSettings
from storage.s3 import S3ObjectStore
from storage.seaweedfs import SeaweedFS, free_port_base

START_ATTEMPTS = 3


@dataclass
class S3TestServer:
    """A running SeaweedFS: its endpoint, credentials, a store on it, and fresh buckets."""

    endpoint_url: str
    access_key: str
    secret_key: str = field(repr=False)
    store: S3ObjectStore
    settings: StoreSettings

    def new_bucket(self, prefix: str = "test") -> str:
        """Create and return a bucket no other test uses."""
        name = f"{prefix}-{uuid.uuid4().hex[:16]}"
        self.store.ensure_bucket(name)
        return name


def _under_ci() -> bool:
    """Tell whether the suite runs under CI, where missing services must fail the run."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _start(data_dir: Path, access_key: str, secret_key: str) -> SeaweedFS:
    """Start SeaweedFS on free ports, retrying with new ports if another process took them."""
    for attempt in range(1, START_ATTEMPTS + 1):
        server = SeaweedFS(
            data_dir / f"attempt-{attempt}", free_port_base(), access_key, secret_key,
            volume_size_limit_mb=64,
        )
        try:
            server.start(timeout=60)
            return server
        except StorageError:
            if attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3TestServer]:
    """Run one SeaweedFS for the session and stop it at the end."""
    access_key, secret_key = f"test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        server = _start(tmp_path_factory.mktemp("seaweedfs"), access_key, secret_key)
    except StorageError as exc:
        if _under_ci():
            raise
        pytest.skip(f"SeaweedFS could not start: {exc}")
    settings = StoreSettings(
        endpoint_url=server.endpoint_url, access_key=access_key, secret_key=secret_key
    )
    store = S3ObjectStore(server.endpoint_url, "us-east-1", access_key, secret_key)
    try:
        yield S3TestServer(server.endpoint_url, access_key, secret_key, store, settings)
    finally:
        server.stop()  # SIGKILL: fast, and what was written stays on disk (the data is thrown away anyway)
