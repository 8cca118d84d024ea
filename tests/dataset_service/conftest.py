"""The app on a real database and a real S3 server, with helpers to make users and datasets."""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

import pytest
from PIL import Image

from dataset_service import create_app
from dataset_service.config import Config
from dataset_service.services import users as user_service
from tests.conftest_db import wipe


@pytest.fixture
def config(database_url, s3_server, tmp_path) -> Config:
    return Config(
        database_url=database_url,
        secret_key="test-secret",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        worker_url="http://127.0.0.1:9",  # nothing listens: the worker is down unless a test says otherwise
        worker_timeout_s=2.0,
        thumbnail_dir=str(tmp_path / "thumbs"),
        testing=True,
    )


@pytest.fixture
def app(config):
    app = create_app(config)
    yield app
    finish_jobs(app)
    app.extensions["db_engine"].dispose()
    wipe(config.database_url)


def finish_jobs(app, timeout: float = 60) -> None:
    """Let jobs a test started in this process (e.g. a label change's XML rewrite) end before the
    database is wiped under them."""
    runner = app.extensions.get("job_runner")
    if runner is not None and hasattr(runner, "wait_idle"):
        assert runner.wait_idle(timeout), "a background job did not end"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def bucket(s3_server) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3_server.store.ensure_bucket(name)
    return name


@dataclass
class Api:
    """A test client that speaks JSON with a bearer token."""

    client: object
    token: str | None = None

    def _headers(self, headers=None):
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(headers or {})
        return out

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


def make_user(app, username: str, role: str = "labeler", password: str = "password123") -> None:
    with app.extensions["db_sessionmaker"]() as session:
        user_service.create_user(session, username, password, role)
        session.commit()


def login(app, username: str, password: str = "password123") -> Api:
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return Api(client, response.get_json()["token"])


@pytest.fixture
def admin(app) -> Api:
    make_user(app, "admin", "admin")
    return login(app, "admin")


@pytest.fixture
def labeler(app) -> Api:
    make_user(app, "lena", "labeler")
    return login(app, "lena")


def image_bytes(width: int = 64, height: int = 48, fmt: str = "PNG", color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def dataset(admin, bucket, s3_server):
    """A dataset over a bucket with three images in two folders."""
    store = s3_server.store
    for key, size in (("cats/a/one.png", (64, 48)), ("cats/a/two.jpg", (80, 60)), ("cats/b/three.png", (32, 32))):
        store.put(bucket, key, image_bytes(*size, fmt="JPEG" if key.endswith("jpg") else "PNG"))
    response = admin.post("/api/v1/datasets", json={
        "name": f"cats-{uuid.uuid4().hex[:6]}", "input_path": f"s3://{bucket}/cats/", "output_path": f"s3://{bucket}/out/",
        "labels": [{"name": "cat", "color": "#ff0000"}, {"name": "dog"}],
    })
    assert response.status_code == 201, response.get_json()
    return response.get_json()
