"""The running stack (`python -m dataset_service.devstack`, what `make run` runs) and a headless Chromium.

Outside CI a missing part (the devstack module, Chromium, Playwright) skips the browser tests
with the reason; under CI=true it fails them.
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
READY_TIMEOUT_S = 240
STOP_GRACE_S = 45
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Variables of the developer's own stack that must not leak into the test stack.
STACK_VARIABLES = ("DATABASE_URL", "SECRET_KEY", "S3_ENDPOINT_URL", "WORKER_URL", "THUMBNAIL_DIR", "CELERY_BROKER_URL", "REDIS_URL")


def require(problem: str | None) -> None:
    """Skip (or, under CI, fail) when a part the browser tests need is missing."""
    if problem:
        if IN_CI:
            pytest.fail(f"browser tests need this under CI: {problem}")
        pytest.skip(problem)


@dataclass
class Stack:
    """The running stack: where it answers and the keys it was given."""

    url: str
    s3_endpoint: str
    access_key: str
    secret_key: str
    admin_password: str
    var_dir: Path
    output: list[str] = field(default_factory=list)
    celery: bool = False  # jobs run by a Celery worker of the stack

    def store(self):
        """Return an object store client for the stack's S3 server."""
        from storage.factory import StoreSettings, store_for
        from storage.uris import parse_uri

        settings = StoreSettings(endpoint_url=self.s3_endpoint, access_key=self.access_key, secret_key=self.secret_key)
        return store_for(parse_uri("s3://any-bucket/"), settings)

    def token(self, username: str = "admin", password: str | None = None) -> str:
        """Return an API token."""
        response = requests.post(f"{self.url}/api/v1/auth/token", json={"username": username, "password": password or self.admin_password}, timeout=10)
        response.raise_for_status()
        return response.json()["token"]

    def api(self, method: str, path: str, token: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)


def free_port(avoid: set[int]) -> int:
    """Return a port free on loopback now, outside `avoid`."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def stack_ports() -> dict[str, int]:
    """Pick the S3 port (with SeaweedFS's derived ports free) and two more for the API and the worker."""
    from storage.seaweedfs import derive_ports, free_port_base

    s3 = free_port_base()
    taken = set(derive_ports(s3).all())
    api = free_port(taken)
    worker = free_port(taken | {api})
    return {"S3_PORT": s3, "API_PORT": api, "WORKER_PORT": worker}


def celery_env() -> dict[str, str]:
    """Run the stack's jobs on Celery when Redis answers (required under CI): `make run` then
    starts a Celery worker, and the browser's "Synchronize" goes through it."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            pass
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"browser tests need Redis on 127.0.0.1:6379 under CI: {exc}")
        return {}  # jobs run in the API processes, as `make run` does without Redis
    return {"REDIS_URL": f"redis://127.0.0.1:6379/{1 + os.getpid() % 15}", "CELERY_QUEUE": f"e2e-{secrets.token_hex(4)}"}


def start_stack(var_dir: Path) -> tuple[subprocess.Popen, Stack]:
    """Start the devstack in its own process group; return it with what the tests need to know."""
    ports = stack_ports()
    keys = {"S3_ACCESS_KEY": "e2e" + secrets.token_hex(4), "S3_SECRET_KEY": secrets.token_hex(12), "ADMIN_PASSWORD": secrets.token_urlsafe(12)}
    env = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}
    env.update({k: str(v) for k, v in ports.items()}, VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **keys)
    celery = celery_env()
    env.update(celery)
    process = subprocess.Popen(
        [sys.executable, "-m", "dataset_service.devstack"], env=env, cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    stack = Stack(
        url=f"http://127.0.0.1:{ports['API_PORT']}", s3_endpoint=f"http://127.0.0.1:{ports['S3_PORT']}",
        access_key=keys["S3_ACCESS_KEY"], secret_key=keys["S3_SECRET_KEY"], admin_password=keys["ADMIN_PASSWORD"], var_dir=var_dir,
        celery=bool(celery),
    )
    return process, stack


def wait_ready(process: subprocess.Popen, stack: Stack) -> None:
    """Read the stack's output until it prints READY; fail with its output if it dies or stalls."""
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            stack.output.append(line.rstrip())
            if line.startswith("READY "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready.wait(0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_stack(process)
            logs = "\n".join(stack.output[-40:])
            pytest.fail(f"the devstack did not print READY (exit code {process.returncode}); its output:\n{logs}")


def stop_stack(process: subprocess.Popen) -> None:
    """SIGTERM the devstack (it stops its children), then SIGKILL its group if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """Start `python -m dataset_service.devstack` on free ports with a temporary VAR_DIR; stop it
    when the browser tests are done, not at the end of the whole run."""
    require(None if importlib.util.find_spec("dataset_service.devstack") else "dataset_service.devstack is not there yet")
    var_dir = tmp_path_factory.mktemp("stack")
    process, info = start_stack(var_dir)
    try:
        wait_ready(process, info)
        yield info
    finally:
        stop_stack(process)
        shutil.rmtree(var_dir / "s3", ignore_errors=True)


@pytest.fixture(scope="package")
def browser():
    """A headless Chromium, shared by the browser tests."""
    require(None if Path(CHROMIUM).exists() else f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    require(None if importlib.util.find_spec("playwright") else "Playwright for Python is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the tests' screenshots go: a temporary folder, or the committed docs/screenshots/ when
    `UPDATE_SCREENSHOTS=1` (`make screenshots`), so a test run leaves the checkout clean."""
    if os.environ.get("UPDATE_SCREENSHOTS", "").lower() in ("1", "true", "yes"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


def log_in(browser, stack: Stack, username: str = "admin", password: str | None = None):
    """Open a fresh browser context (its own cookies) and log in through the login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)
    context.set_default_timeout(20_000)
    # The labeling page autosaves after a pause (on by default): a test saves when it means to,
    # unless it turns autosave on itself (the autosave test does).
    context.add_init_script("if (localStorage.getItem('labeling.autosave') === null) localStorage.setItem('labeling.autosave', 'off');")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or stack.admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")
    return page


@pytest.fixture
def admin_page(browser, stack):
    page = log_in(browser, stack)
    yield page
    assert not page.js_errors, f"JavaScript errors on the page: {page.js_errors}"
    page.context.close()
