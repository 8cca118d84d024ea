"""The app on a real database and a real S3 server, with helpers to make users and datasets.

Each test's database work is rolled back at its end (one connection, one transaction, each
commit a savepoint), so seed rows a module commits once stay for all its tests. A test whose
work crosses threads or processes (a job, concurrent saves, a Celery worker) cannot share one
connection: it is marked `commits`, really commits, and the tables are emptied after it.
"""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from functools import cache

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from dataset_service import create_app
from dataset_service.auth import issue_token
from dataset_service.config import Config
from dataset_service.models import User
from dataset_service.passwords import hash_password
from tests.conftest_db import rolled_back, wipe

PASSWORD = "password123"


def make_config(database_url: str, s3_server, thumbnail_dir) -> Config:
    """The settings of a test app: the test's database and S3 server, no inference worker."""
    return Config(
        database_url=database_url,
        secret_key="test-secret",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        worker_url="http://127.0.0.1:9",  # nothing listens: the worker is down unless a test says otherwise
        worker_timeout_s=2.0,
        thumbnail_dir=str(thumbnail_dir),
        testing=True,
    )


@pytest.fixture
def config(database_url, s3_server, tmp_path) -> Config:
    return make_config(database_url, s3_server, tmp_path / "thumbs")


def commits(request) -> bool:
    """Tell whether the test must really commit (marked `commits`)."""
    return request.node.get_closest_marker("commits") is not None


@pytest.fixture
def app(config, request):
    app = create_app(config)
    if commits(request):
        yield app
        finish_jobs(app)
        app.extensions["db_engine"].dispose()
        wipe(config.database_url)
        return
    with rolled_back(app.extensions["db_engine"]) as connection:
        app.extensions["db_sessionmaker"] = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        yield app
    app.extensions["db_engine"].dispose()


def app_with(app, **changes):
    """Return an app with some settings changed that works on the same database session as `app`
    (inside its rolled-back transaction, when it has one)."""
    other = create_app(app.config["SERVICE"].replace(**changes))
    other.extensions["db_sessionmaker"] = app.extensions["db_sessionmaker"]
    return other


@pytest.fixture(scope="module")
def module_app(database_url, s3_server, tmp_path_factory):
    """An app whose work commits, for seed rows shared by a module's tests; emptied at its end."""
    app = create_app(make_config(database_url, s3_server, tmp_path_factory.mktemp("thumbs")))
    yield app
    app.extensions["db_engine"].dispose()
    wipe(database_url)


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


@cache
def password_hash(password: str = PASSWORD) -> str:
    """Hash a password once per test session (Argon2 at full cost takes a tenth of a second)."""
    return hash_password(password)


def make_user(app, username: str, role: str = "labeler", password: str = PASSWORD) -> int:
    """Insert a user row (or find the one a module's seed made); return its id."""
    with app.extensions["db_sessionmaker"]() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            user = User(username=username, password_hash=password_hash(password), role=role)
            session.add(user)
            session.commit()
            user_id = user.id
        return user_id


def as_user(app, username: str) -> Api:
    """Return a client with a token minted for the user: no login, no password check."""
    with app.app_context(), app.extensions["db_sessionmaker"]() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None, f"no user {username!r}"
        return Api(app.test_client(), issue_token(user))


def login(app, username: str, password: str = PASSWORD) -> Api:
    """Log in through the API (for the tests of logging in)."""
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return Api(client, response.get_json()["token"])


@pytest.fixture
def admin(app) -> Api:
    make_user(app, "admin", "admin")
    return as_user(app, "admin")


@pytest.fixture
def labeler(app) -> Api:
    make_user(app, "lena", "labeler")
    return as_user(app, "lena")


def image_bytes(width: int = 64, height: int = 48, fmt: str = "PNG", color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()


def add_member(app, dataset_id: int, username: str, role: str = "labeler") -> None:
    """Make the user a member of the dataset with a role (the user is made first if missing)."""
    make_user(app, username)
    response = as_user(app, "admin").post(f"/api/v1/datasets/{dataset_id}/members", json={"username": username, "role": role})
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def dataset(app, admin, bucket, s3_server):
    """A dataset over a bucket with three images in two folders; "lena" labels in it."""
    store = s3_server.store
    for key, size in (("cats/a/one.png", (64, 48)), ("cats/a/two.jpg", (80, 60)), ("cats/b/three.png", (32, 32))):
        store.put(bucket, key, image_bytes(*size, fmt="JPEG" if key.endswith("jpg") else "PNG"))
    response = admin.post("/api/v1/datasets", json={
        "name": f"cats-{uuid.uuid4().hex[:6]}", "input_path": f"s3://{bucket}/cats/", "output_path": f"s3://{bucket}/out/",
        "labels": [{"name": "cat", "color": "#ff0000"}, {"name": "dog"}],
    })
    assert response.status_code == 201, response.get_json()
    add_member(app, response.get_json()["id"], "lena")
    return response.get_json()
