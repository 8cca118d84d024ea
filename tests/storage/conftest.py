"""Fixtures for the storage tests: the same contract runs on the local and the S3 backend."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from storage.local import LocalObjectStore
from storage.objects import ObjectStore


@dataclass
class Backend:
    """A store under test and a fresh, empty bucket on it."""

    name: str
    store: ObjectStore
    bucket: str


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path) -> Backend:
    """Give each test a fresh bucket on the local store, then on the real SeaweedFS."""
    if request.param == "local":
        store = LocalObjectStore(tmp_path)
        store.ensure_bucket("bucket")
        return Backend("local", store, "bucket")
    server = request.getfixturevalue("s3_server")
    return Backend("s3", server.store, server.new_bucket())
