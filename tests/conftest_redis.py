"""Pytest plugin: the machine's Redis for the Celery tests (skipped locally when absent, required under CI)."""
from __future__ import annotations

import os
import socket

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database number for this test process; missing Redis skips locally and fails under CI."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2):
            pass
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_HOST}:{REDIS_PORT} is required under CI: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{1 + os.getpid() % 15}"
