"""Readiness with a stalled object store: /readyz answers at once and holds no request thread."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from tests.dataset_service.conftest import app_with


@pytest.fixture
def stalled_store() -> Iterator[str]:
    """An endpoint that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:  # closed
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in held:
        connection.close()


@pytest.fixture
def served():
    """Serve an app on one request thread: a request that hangs would block every other one."""
    servers = []

    def serve(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=False)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_readyz_answers_at_once_while_the_store_hangs(app, admin, stalled_store, served):
    stalled = app_with(app, s3_endpoint_url=stalled_store)
    base = served(stalled)
    answers = []
    deadline = time.monotonic() + 4  # past the check's 2 s timeout: its failure is reported
    while time.monotonic() < deadline:
        started = time.monotonic()
        ready = requests.get(f"{base}/readyz", timeout=5)
        me = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {admin.token}"}, timeout=5)
        answers.append((time.monotonic() - started, ready.status_code, ready.json()["checks"], me.status_code))
        time.sleep(0.2)
    # Below the store check's own 2 s timeout (a waiting request would take at least that; before, over
    # 120 s): 0.8 s is what a quiet machine shows, the margin is for a loaded one.
    assert max(seconds for seconds, *_ in answers) < 1.8, answers
    assert {(status, checks["database"], me) for _, status, checks, me in answers} == {(503, "ok", 200)}
    assert answers[0][2]["object_store"] == "checking"
    assert answers[-1][2]["object_store"].startswith("error: "), answers[-1]
    stalled.extensions["db_engine"].dispose()
