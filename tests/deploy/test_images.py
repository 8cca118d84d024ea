"""The images build and run: `BUILD_IMAGES=1 pytest tests/deploy/test_images.py` (minutes; root, buildah).

Builds the API image with deploy/build-images.sh, on $BASE or else localhost/bookworm-base:1, which
deploy/base-image.sh makes from Debian's packages (no registry needed). Then runs it with
`buildah run` as the image says (its user, environment and command): the migrations on SQLite, the
compose file's S3 server from the same image, and gunicorn until /healthz, the image's health
check and /readyz answer. BUILD_IMAGES=all also builds the worker image (TORCH=cpu by default,
TORCH=cuda for PyPI's build) and waits for its /healthz. `buildah run` shares this machine's
network, so every port is a free one here.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from storage.seaweedfs import GRPC_OFFSET, derive_ports, free_port_base

ROOT = Path(__file__).resolve().parents[2]
BUILD = os.environ.get("BUILD_IMAGES", "")
BASE = os.environ.get("BASE", "localhost/bookworm-base:1")
TAG = "test"
BUILDAH = ["buildah", "--storage-driver", "vfs"]
ISOLATION = ["--isolation", "chroot"]
S3_KEYS = {"AWS_ACCESS_KEY_ID": "image-test", "AWS_SECRET_ACCESS_KEY": "image-test-secret"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BUILD not in ("1", "all"), reason="builds take minutes: BUILD_IMAGES=1 (API image) or all"),
    pytest.mark.skipif(shutil.which("buildah") is None or os.geteuid() != 0, reason="needs root and buildah (apt-get install buildah debootstrap)"),
]


def buildah(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*BUILDAH, *args], check=True, capture_output=True, text=True, **kwargs)


def build(name: str) -> str:
    """Build an image with the build script; return its name."""
    env = {**os.environ, "BASE": BASE, "TAG": TAG}
    done = subprocess.run([str(ROOT / "deploy/build-images.sh"), name], env=env, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return f"localhost/dataset-service-{name}:{TAG}"


def image_config(image: str) -> dict:
    return json.loads(buildah("inspect", "--type", "image", image).stdout)["Docker"]["config"]


@contextmanager
def container(image: str) -> Iterator[str]:
    name = buildah("from", image).stdout.strip()
    try:
        yield name
    finally:
        buildah("rm", name)


def env_args(env: dict[str, str]) -> list[str]:
    return [f"--env={key}={value}" for key, value in env.items()]


def run(ctr: str, command: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*BUILDAH, "run", *ISOLATION, *env_args(env or {}), ctr, "--", *command], capture_output=True, text=True, timeout=timeout)


@contextmanager
def serving(ctr: str, command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run a server in the container in its own process group; stop the group afterwards."""
    with log.open("w") as out:
        command = [*BUILDAH, "run", *ISOLATION, *env_args(env), ctr, "--", *command]
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(url: str, timeout: float, process: subprocess.Popen, log: Path) -> bytes:
    """Poll a URL until it answers 200; return its body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}: {log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:g} s: {log.read_text()[-3000:]}")


def wait_for_ready(url: str, timeout: float) -> dict:
    """Poll /readyz until it says ready (503 while the store starts); return its last answer."""
    deadline, answer = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            answer = json.load(exc)
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} not ready within {timeout:g} s: {answer}")


def free_port() -> int:
    return derive_ports(free_port_base()).s3


def s3_command(ports) -> list[str]:
    """The compose file's S3 command, moved to free ports (the last of a repeated flag wins)."""
    command = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())["services"]["s3"]["command"]
    moved = {"master": ports.master, "volume": ports.volume, "filer": ports.filer, "s3": ports.s3}
    return command + [f"-{name}.port={port}" for name, port in moved.items()] + [f"-{name}.port.grpc={port + GRPC_OFFSET}" for name, port in moved.items()]


@pytest.fixture(scope="module")
def api_image() -> Iterator[str]:
    image = build("api")
    yield image
    buildah("rmi", image)


def test_api_image_runs_as_the_charts_user_with_a_health_check_and_no_torch(api_image):
    config = image_config(api_image)
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == ["gunicorn", "dataset_service:create_app()"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    with container(api_image) as ctr:
        heavy = "import importlib.util as u; print([m for m in ('torch', 'onnxruntime', 'cv2', 'inference_worker') if u.find_spec(m)])"
        done = run(ctr, ["python", "-c", heavy])
        assert done.stdout.strip() == "[]", done.stderr
        assert run(ctr, ["id", "-u"]).stdout.strip() == "10001"


def test_api_image_migrates_and_answers_healthz_and_readyz_with_the_compose_s3_server(api_image, tmp_path):
    ports = derive_ports(free_port_base())
    api_port = free_port()
    env = {
        "PORT": str(api_port),
        "DATABASE_URL": "sqlite:////tmp/dataset_service.sqlite3",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{ports.s3}",
        "S3_ACCESS_KEY": S3_KEYS["AWS_ACCESS_KEY_ID"],
        "S3_SECRET_KEY": S3_KEYS["AWS_SECRET_ACCESS_KEY"],
    }
    config = image_config(api_image)
    with container(api_image) as ctr:
        migrated = run(ctr, ["flask", "--app", "dataset_service", "db", "upgrade"], env)
        assert migrated.returncode == 0, migrated.stderr
        s3_log, api_log = tmp_path / "s3.log", tmp_path / "api.log"
        with serving(ctr, s3_command(ports), S3_KEYS, s3_log) as s3, serving(ctr, config["Cmd"], env, api_log) as api:
            assert json.loads(wait_for(f"http://127.0.0.1:{api_port}/healthz", 60, api, api_log)) == {"status": "ok"}
            health = run(ctr, config["Healthcheck"]["Test"][1:], {"PORT": str(api_port)})
            assert health.returncode == 0, health.stderr
            wait_for(f"http://127.0.0.1:{ports.s3}/healthz", 90, s3, s3_log)
            ready = wait_for_ready(f"http://127.0.0.1:{api_port}/readyz", 60)
            assert ready["checks"] == {"database": "ok", "object_store": "ok"}


@pytest.mark.skipif(BUILD != "all", reason="the worker image installs torch: BUILD_IMAGES=all")
def test_worker_image_checks_its_weights_at_build_and_answers_healthz(tmp_path):
    image = build("worker")
    try:
        config = image_config(image)
        assert config["User"] == "10001:10001" and config["Cmd"] == ["python", "-m", "inference_worker"]
        port = free_port()
        log = tmp_path / "worker.log"
        with container(image) as ctr, serving(ctr, config["Cmd"], {"WORKER_PORT": str(port)}, log) as worker:
            wait_for(f"http://127.0.0.1:{port}/healthz", 300, worker, log)
            health = run(ctr, ["sh", "-c", config["Healthcheck"]["Test"][1]], {"WORKER_PORT": str(port)})
            assert health.returncode == 0, health.stderr
    finally:
        buildah("rmi", image)
