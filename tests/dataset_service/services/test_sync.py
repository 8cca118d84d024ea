"""Synchronize Data Source against a real SeaweedFS, on SQLite and PostgreSQL, through both runners."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dataset_service.models import Job, Sample, SyncListed
from dataset_service.services import bulk, listing, object_reads
from dataset_service.services.sync import run as sync_run
from dataset_service.services.sync.planning import Stored, plan_page, xml_stem_range
from storage.annotations import AnnotatedObject, Annotation, write_annotation
from storage.objects import ObjectInfo
from storage.uris import parse_uri
from tests.dataset_service.conftest import image_bytes

pytestmark = pytest.mark.commits  # jobs run in threads and Celery workers: their work must be committed

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
RUN_ID = uuid.uuid4().hex[:8]

FOREIGN_XML = b"""<?xml version="1.0"?>
<annotation><folder>a</folder><filename>one.png</filename>
  <size><width>64</width><height>48</height><depth>3</depth></size>
  <object><name>cat</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
  <object><name>zebra</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
    <polygon><x1>5</x1><y1>5</y1><x2>20</x2><y2>5</y2><x3>12</x3><y3>20</y3></polygon></object>
</annotation>"""


# --- runners: in-process threads, or a real Celery worker on Redis --------------------------------


class Workers:
    """One Celery worker process per database, each on its own queue, for the whole session."""

    def __init__(self, redis_url: str, s3_server, log_dir: Path):
        self.redis_url, self.s3_server, self.log_dir = redis_url, s3_server, log_dir
        self.processes: dict[str, tuple[subprocess.Popen, str]] = {}

    def queue_for(self, database_url: str) -> str:
        if database_url not in self.processes:
            self.processes[database_url] = self._start(database_url, f"sync-test-{RUN_ID}-{len(self.processes)}")
        return self.processes[database_url][1]

    def _start(self, database_url: str, queue: str) -> tuple[subprocess.Popen, str]:
        env = {
            **os.environ, "DATABASE_URL": database_url, "REDIS_URL": self.redis_url, "CELERY_QUEUE": queue,
            "S3_ENDPOINT_URL": self.s3_server.endpoint_url, "S3_ACCESS_KEY": self.s3_server.access_key,
            "S3_SECRET_KEY": self.s3_server.secret_key,
        }
        command = [sys.executable, "-m", "celery", "-A", "dataset_service.jobs.celery_app", "worker", "-Q", queue,
                   "-n", f"{queue}@%h", "--pool", "threads", "-c", "2", "--without-gossip", "--without-mingle",
                   "--without-heartbeat", "--loglevel", "INFO"]
        log = (self.log_dir / f"{queue}.log").open("wb")
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True), queue

    def stop(self) -> None:
        for process, _ in self.processes.values():
            process.terminate()
        for process, _ in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def celery_workers(redis_url, s3_server, tmp_path_factory):
    workers = Workers(redis_url, s3_server, tmp_path_factory.mktemp("celery"))
    yield workers
    workers.stop()


@pytest.fixture(params=["threads", "celery"])
def runner_kind(request) -> str:
    return request.param


@pytest.fixture
def config(config, runner_kind, request):
    """The app's config, sending jobs to Celery when the test runs on that runner."""
    if runner_kind != "celery":
        return config
    workers = request.getfixturevalue("celery_workers")
    return config.replace(broker_url=workers.redis_url, job_queue=workers.queue_for(config.database_url))


# --- helpers ----------------------------------------------------------------------------------


def bucket_of(dataset) -> str:
    return dataset["input_path"].split("/")[2]


def run_sync(api, dataset_id: int, timeout: float = 60) -> dict:
    response = api.post(f"/api/v1/datasets/{dataset_id}/sync")
    assert response.status_code == 202, response.get_json()
    return wait_job(api, response.get_json()["id"], timeout)


def wait_job(api, job_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/jobs/{job_id}").get_json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


def all_samples(api, dataset_id: int) -> dict[str, dict]:
    items = api.get(f"/api/v1/datasets/{dataset_id}/samples?limit=100").get_json()["items"]
    return {s["key"]: s for s in items}


def our_xml(filename: str, width: int, height: int, *objects: tuple[str, str | None]) -> bytes:
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    return write_annotation(Annotation(filename, width, height, objects=[
        AnnotatedObject(label, [(1, 1), (9, 1), (5, 8)], source="manual", created_by=who, created_at=when, updated_by=who, updated_at=when)
        for label, who in objects
    ]))


def steps(job: dict) -> list[tuple]:
    """Each step of the job's progress: name, state, done, total."""
    return [(s["name"], s["state"], s["done"], s["total"]) for s in job["progress"]["stages"]]


def counts(job: dict) -> tuple:
    c = job["counts"]
    return c["added"], c["updated"], c["deleted"], c["unchanged"], c["annotations_imported"], c["errors"]


# --- the semantics ----------------------------------------------------------------------------


def test_sync_semantics(app, admin, labeler, dataset, s3_server, runner_kind):
    """New, changed and deleted images; XML import, re-import and our own XML; errors; both runners."""
    store, bucket, ds = s3_server.store, bucket_of(dataset), dataset["id"]
    # The dataset fixture holds cats/a/one.png (64x48), cats/a/two.jpg (80x60), cats/b/three.png (32x32).
    store.put(bucket, "cats/a/one.xml", FOREIGN_XML)
    store.put(bucket, "cats/b/UPPER.JPEG", image_bytes(20, 10, "JPEG"))
    store.put(bucket, "cats/c/d/deep.bmp", image_bytes(7, 5, "BMP"))
    store.put(bucket, "cats/c/ours.png", image_bytes(16, 12))
    store.put(bucket, "cats/c/ours.xml", our_xml("ours.png", 16, 12, ("dog", "admin"), ("dog", "ghost")))
    store.put(bucket, "cats/c/bad.png", image_bytes(9, 9))
    store.put(bucket, "cats/c/bad.xml", b"<annotation><size><width>9</width>")
    store.put(bucket, "cats/c/broken.jpg", b"\xff\xd8 not a jpeg at all")
    store.put(bucket, "cats/notes.txt", b"not an image")
    store.put(bucket, "cats/a/one.json", b"{}")
    store.put(bucket, "dogs/outside.png", image_bytes())

    job = run_sync(admin, ds)
    assert job["status"] == "completed", job
    assert job["kind"] == "sync" and job["dataset_id"] == ds and job["created_by"] == "admin"
    assert job["stage"] is None and job["error"] is None and job["duration_s"] >= 0
    assert counts(job) == (8, 0, 0, 0, 2, 2)
    assert steps(job) == [("listing", "done", 8, 8), ("importing", "done", 3, 3), ("reading image sizes", "done", 6, 6)]  # 5 sized, 1 broken
    assert job["progress"]["stage"] is None and job["progress"]["done"] is None
    assert {e["key"]: e["reason"].split(":")[0] for e in job["errors"]} == {"cats/c/bad.xml": "annotation", "cats/c/broken.jpg": "image"}

    found = all_samples(admin, ds)
    assert sorted(found) == ["cats/a/one.png", "cats/a/two.jpg", "cats/b/UPPER.JPEG", "cats/b/three.png",
                             "cats/c/bad.png", "cats/c/broken.jpg", "cats/c/d/deep.bmp", "cats/c/ours.png"]
    assert {k: (s["width"], s["height"]) for k, s in found.items()} == {
        "cats/a/one.png": (64, 48), "cats/a/two.jpg": (80, 60), "cats/b/UPPER.JPEG": (20, 10), "cats/b/three.png": (32, 32),
        "cats/c/bad.png": (9, 9), "cats/c/broken.jpg": (None, None), "cats/c/d/deep.bmp": (7, 5), "cats/c/ours.png": (16, 12)}
    assert found["cats/c/bad.png"]["error"].startswith("annotation: cats/c/bad.xml")
    assert found["cats/c/broken.jpg"]["error"].startswith("image: ")
    assert found["cats/a/one.png"]["state"] == "labeled" and found["cats/a/two.jpg"]["state"] == "unlabeled"
    assert sorted(found["cats/a/one.png"]["labels"]) == ["cat", "zebra"]

    one = admin.get(f"/api/v1/samples/{found['cats/a/one.png']['id']}/annotation").get_json()
    assert [(o["label"], o["shape"], o["source"], o["created_by"]) for o in one["objects"]] == [
        ("cat", "bndbox", "imported", None), ("zebra", "polygon", "imported", None)]
    assert one["objects"][0]["points"] == [[1, 2], [30, 2], [30, 40], [1, 40]]
    ours = admin.get(f"/api/v1/samples/{found['cats/c/ours.png']['id']}/annotation").get_json()
    assert [(o["source"], o["created_by"], o["created_at"][:19]) for o in ours["objects"]] == [
        ("manual", "admin", "2026-03-04T05:06:07"), ("manual", "ghost", "2026-03-04T05:06:07")]
    assert found["cats/c/ours.png"]["labeled_by"] == ["admin"]
    colors = {label["name"]: label["color"] for label in admin.get(f"/api/v1/datasets/{ds}").get_json()["labels"]}
    assert set(colors) == {"cat", "dog", "zebra"} and len(set(colors.values())) == 3

    # Someone labels ours.png here (we write its XML); the store changes behind our back.
    saved = labeler.put(f"/api/v1/samples/{found['cats/c/ours.png']['id']}/annotation", json={
        "revision": ours["revision"], "objects": [{"label": "cat", "points": [[1, 1], [10, 1], [10, 10]]}]})
    assert saved.status_code == 200, saved.get_json()
    store.delete(bucket, "cats/b/three.png")
    store.put(bucket, "cats/b/four.png", image_bytes(11, 13))
    store.put(bucket, "cats/a/two.jpg", image_bytes(50, 40, "JPEG"))
    store.put(bucket, "cats/a/one.xml", our_xml("one.png", 64, 48, ("dog", "lena")))

    job = run_sync(admin, ds)
    assert job["status"] == "completed", job
    assert counts(job) == (1, 1, 1, 6, 1, 0)
    found = all_samples(admin, ds)
    assert "cats/b/three.png" not in found and found["cats/b/four.png"]["width"] == 11
    assert (found["cats/a/two.jpg"]["width"], found["cats/a/two.jpg"]["height"]) == (50, 40)
    assert found["cats/a/one.png"]["labels"] == ["dog"] and found["cats/a/one.png"]["labeled_by"] == ["lena"]
    assert found["cats/c/ours.png"]["labels"] == ["cat"] and found["cats/c/ours.png"]["labeled_by"] == ["lena"]
    assert found["cats/c/broken.jpg"]["error"].startswith("image: ")

    job = run_sync(admin, ds)
    assert counts(job) == (0, 0, 0, 8, 0, 0)
    listed = admin.get(f"/api/v1/datasets/{ds}/jobs").get_json()
    assert listed["total"] == 3 and [j["id"] for j in listed["items"]] == sorted((j["id"] for j in listed["items"]), reverse=True)


def test_sync_of_an_emptied_folder_removes_every_sample(app, admin, dataset, s3_server):
    store, bucket, ds = s3_server.store, bucket_of(dataset), dataset["id"]
    assert counts(run_sync(admin, ds))[0] == 3
    for page in store.list_pages(bucket, "cats/"):
        for info in page:
            store.delete(bucket, info.key)
    job = run_sync(admin, ds)
    assert counts(job) == (0, 0, 3, 0, 0, 0)
    assert all_samples(admin, ds) == {}


# --- one job at a time, and dead jobs ----------------------------------------------------------


@pytest.mark.parametrize("runner_kind", ["threads"], indirect=True)
def test_running_sync_is_returned_and_a_dead_one_is_failed(app, admin, labeler, dataset):
    ds = dataset["id"]
    assert labeler.post(f"/api/v1/datasets/{ds}/sync").status_code == 403
    now = datetime.now(timezone.utc)
    with app.extensions["db_sessionmaker"].begin() as session:
        running = Job(kind="sync", dataset_id=ds, status="running", started_at=now, heartbeat_at=now, progress={}, counts={}, errors=[])
        session.add(running)
    response = admin.post(f"/api/v1/datasets/{ds}/sync")
    assert response.status_code == 202 and response.get_json()["id"] == running.id

    stale = datetime.now(timezone.utc) - timedelta(seconds=app.config["SERVICE"].job_stale_after_s + 5)
    with app.extensions["db_sessionmaker"].begin() as session:
        session.get(Job, running.id).heartbeat_at = stale
    dead = admin.get(f"/api/v1/jobs/{running.id}").get_json()
    assert dead["status"] == "failed" and "no heartbeat" in dead["error"]
    job = run_sync(admin, ds)
    assert job["id"] != running.id and job["status"] == "completed" and job["counts"]["added"] == 3


# --- the object store goes away mid-sync, then comes back -----------------------------------------


class FlakyProxy:
    """A TCP proxy to the S3 server that drops everything after a number of requests, until revived."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        self.limit: int | None = None
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(self, requests: int) -> None:
        self.requests, self.limit = 0, requests

    def revive(self) -> None:
        self.limit = None

    @property
    def down(self) -> bool:
        return self.limit is not None and self.requests >= self.limit

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.connections += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counting: bool) -> None:
        try:
            while data := source.recv(65536):
                if counting:
                    self.requests += data.count(b" HTTP/1.1\r\n")
                if self.down:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for sock in self.connections:
                sock.close()


@pytest.mark.parametrize("runner_kind", ["threads"], indirect=True)
def test_store_unreachable_mid_sync_fails_then_a_new_sync_completes(app, admin, dataset, s3_server, monkeypatch):
    store, bucket, ds = s3_server.store, bucket_of(dataset), dataset["id"]
    for i in range(40):
        store.put(bucket, f"cats/many/img{i:02d}.png", image_bytes(10 + i, 10))
        if i % 4 == 0:
            store.put(bucket, f"cats/many/img{i:02d}.xml", our_xml(f"img{i:02d}.png", 10 + i, 10, ("cat", "admin")))
    monkeypatch.setattr(sync_run, "PAGE_SIZE", 6)
    proxy = FlakyProxy(int(s3_server.endpoint_url.rsplit(":", 1)[1]))
    app.config["SERVICE"] = app.config["SERVICE"].replace(s3_endpoint_url=f"http://127.0.0.1:{proxy.port}")
    try:
        proxy.cut_after(5)
        failed = run_sync(admin, ds)
        assert failed["status"] == "failed", failed
        assert failed["error"].startswith("object store:") and failed["stage"] == "listing"
        assert [step[:2] for step in steps(failed)] == [("listing", "failed"), ("importing", "waiting"), ("reading image sizes", "waiting")]
        with app.extensions["db_sessionmaker"]() as session:
            partial = session.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == ds))
        assert 0 < partial < 43

        with app.extensions["db_sessionmaker"]() as session:
            assert session.scalar(select(func.count()).select_from(SyncListed)) == 0  # no scratch rows left behind
        proxy.revive()
        job = run_sync(admin, ds)
        assert job["status"] == "completed", job
        assert job["counts"]["added"] == 43 - partial and job["counts"]["deleted"] == 0
        with app.extensions["db_sessionmaker"]() as session:
            keys = session.scalars(select(Sample.key).where(Sample.dataset_id == ds)).all()
            unsized = session.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == ds, Sample.width.is_(None)))
        assert len(keys) == len(set(keys)) == 43 and unsized == 0
        labeled = all_samples(admin, ds)
        assert sum(1 for s in labeled.values() if s["state"] == "labeled") == 10
    finally:
        proxy.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("runner_kind", ["threads"], indirect=True)
def test_long_syncs_list_and_read_in_helper_processes(app, admin, dataset, s3_server, monkeypatch):
    store, bucket, ds = s3_server.store, bucket_of(dataset), dataset["id"]
    for i in range(20):
        store.put(bucket, f"cats/many/img{i:02d}.png", image_bytes(10 + i, 10))
        if i % 4 == 0:
            store.put(bucket, f"cats/many/img{i:02d}.xml", our_xml(f"img{i:02d}.png", 10 + i, 10, ("cat", "admin")))
    store.put(bucket, "cats/many/junk.png", b"\x89PNG but no more")
    monkeypatch.setattr(object_reads, "PROCESS_THRESHOLD", 0)
    monkeypatch.setattr(sync_run, "PAGE_SIZE", 4)  # 8 pages: the listing moves to its helper process too
    job = run_sync(admin, ds)
    assert job["status"] == "completed", job
    assert counts(job) == (24, 0, 0, 0, 5, 1) and job["errors"][0]["key"] == "cats/many/junk.png"
    found = all_samples(admin, ds)
    assert [found[f"cats/many/img{i:02d}.png"]["width"] for i in range(20)] == [10 + i for i in range(20)]
    assert sum(1 for s in found.values() if s["state"] == "labeled") == 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("runner_kind", ["threads"], indirect=True)
def test_unreachable_queue_fails_the_job_with_503(app, admin, dataset):
    app.config["SERVICE"] = app.config["SERVICE"].replace(broker_url="redis://127.0.0.1:9/0")
    app.extensions.pop("job_runner", None)
    response = admin.post(f"/api/v1/datasets/{dataset['id']}/sync")
    assert response.status_code == 503, response.get_json()
    jobs = admin.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["items"]
    assert jobs[0]["status"] == "failed" and "queue" in jobs[0]["error"]


# --- listing order -------------------------------------------------------------------------------


FOLDER_BESIDE_FILES = ["cats/x.jpg", "cats/x-2.jpg", "cats/x/inner.png", "cats/x.y/z.png", "cats/x/y/deep.png", "cats/x0.png"]


def put_folder_beside_files(store, bucket: str) -> None:
    """Keys whose S3 byte order ("x-2.jpg" < "x.jpg" < "x/") differs from SeaweedFS's folder-first walk."""
    for key in FOLDER_BESIDE_FILES:
        store.put(bucket, key, image_bytes(10, 8))
    store.put(bucket, "cats/x.xml", our_xml("x.jpg", 10, 8, ("cat", "admin")))
    store.put(bucket, "cats/x/inner.xml", our_xml("inner.png", 10, 8, ("dog", "admin")))


@pytest.mark.parametrize("runner_kind", ["threads"], indirect=True)
def test_a_folder_beside_files_of_the_same_stem_syncs_exactly(app, admin, dataset, s3_server, monkeypatch):
    """SeaweedFS lists "cats/x/" before "cats/x-2.jpg" and "cats/x.jpg": nothing may be deleted wrongly."""
    store, bucket, ds = s3_server.store, bucket_of(dataset), dataset["id"]
    put_folder_beside_files(store, bucket)
    monkeypatch.setattr(sync_run, "PAGE_SIZE", 2)  # the out-of-order keys fall on different pages
    first = run_sync(admin, ds)
    assert first["status"] == "completed", first
    assert counts(first) == (9, 0, 0, 0, 2, 0)
    found = all_samples(admin, ds)
    assert set(FOLDER_BESIDE_FILES) <= set(found) and len(found) == 9
    assert found["cats/x.jpg"]["labels"] == ["cat"] and found["cats/x/inner.png"]["labels"] == ["dog"]

    again = run_sync(admin, ds)
    assert counts(again) == (0, 0, 0, 9, 0, 0), again

    store.delete(bucket, "cats/x-2.jpg")
    store.delete(bucket, "cats/x/y/deep.png")
    store.put(bucket, "cats/x.xml", our_xml("x.jpg", 10, 8, ("zebra", "admin")))
    churn = run_sync(admin, ds)
    assert counts(churn) == (0, 0, 2, 7, 1, 0), churn
    found = all_samples(admin, ds)
    assert "cats/x-2.jpg" not in found and "cats/x/y/deep.png" not in found
    assert found["cats/x.jpg"]["labels"] == ["zebra"] and found["cats/x/inner.png"]["labels"] == ["dog"]
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(select(func.count()).select_from(SyncListed)) == 0  # the scratch keys are gone


@pytest.mark.parametrize("runner_kind", ["threads"], indirect=True)
def test_a_store_listing_in_any_order_still_imports_each_xml_once(app, admin, dataset, s3_server, monkeypatch):
    """A store that lists XML before its image (reverse order here): the image finds it in sync_listed."""
    store, bucket, ds = s3_server.store, bucket_of(dataset), dataset["id"]
    put_folder_beside_files(store, bucket)
    real_pages = listing.pages

    def reversed_pages(*args):
        keys = [info for page in real_pages(*args) for info in page][::-1]
        return iter([keys[i:i + 3] for i in range(0, len(keys), 3)])

    monkeypatch.setattr(listing, "pages", reversed_pages)
    job = run_sync(admin, ds)
    assert counts(job) == (9, 0, 0, 0, 2, 0), job
    found = all_samples(admin, ds)
    assert found["cats/x.jpg"]["labels"] == ["cat"] and found["cats/x/inner.png"]["labels"] == ["dog"]
    store.put(bucket, "cats/x/inner.xml", our_xml("inner.png", 10, 8, ("zebra", "admin")))
    job = run_sync(admin, ds)
    assert counts(job) == (0, 0, 0, 9, 1, 0), job
    assert all_samples(admin, ds)["cats/x/inner.png"]["labels"] == ["zebra"]


def test_the_listing_helper_takes_over_without_dropping_keys_out_of_byte_order(s3_server, monkeypatch):
    """The thread's first page ends inside "p/x/", which SeaweedFS walks before "p/x-2.jpg" and
    "p/x.jpg": the helper process's pages must still deliver those two, and nothing twice."""
    store, bucket = s3_server.store, f"order-{RUN_ID}"
    store.ensure_bucket(bucket)
    keys = ["p/x/a.png", "p/x/b.png", "p/x-2.jpg", "p/x.jpg", "p/y.png"]
    for key in keys:
        store.put(bucket, key, b"x")
    real_started = listing.HelperFeed.started

    def started(self):  # wait for the helper: the switch happens after the first page, always
        deadline = time.monotonic() + 60
        while not real_started(self):
            assert time.monotonic() < deadline, "the listing helper did not start"
            time.sleep(0.05)
        return True

    monkeypatch.setattr(listing.HelperFeed, "started", started)
    root = parse_uri(f"s3://{bucket}/p/")
    pages = list(listing.pages(store, s3_server.settings, root, 2))
    listed = [info.key for page in pages for info in page]
    assert sorted(listed) == sorted(keys) and len(listed) == len(keys)


def test_plan_page_sorts_new_changed_and_unchanged():
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    info = {k: ObjectInfo(k, size, etag, when) for k, size, etag in (("a.png", 1, "x"), ("b.png", 2, "y"), ("d.png", 4, "w"))}
    stored = [Stored(1, "a.png", "x", 1, None, 0, None), Stored(2, "b.png", "old", 2, None, 0, None),
              Stored(3, "c.png", "z", 3, None, 0, None)]
    plan = plan_page(info, stored)
    assert [o.key for o in plan.new] == ["d.png"]
    assert [(r.key, o.etag) for r, o in plan.changed] == [("b.png", "y")]
    assert [r.key for r in plan.unchanged] == ["a.png"]


def test_xml_stem_range_holds_exactly_the_keys_of_that_stem():
    low, high = xml_stem_range("a/cats.xml")
    inside = ["a/cats.jpg", "a/cats.PNG", "a/cats.jpeg", "a/cats.x/y.png"]
    outside = ["a/cats-2.jpg", "a/cats/b.png", "a/cats0.png", "a/cat.png", "a/catsz.jpg"]
    assert all(low <= k < high for k in inside)
    assert not any(low <= k < high for k in outside)


@pytest.mark.parametrize("runner_kind", ["threads"], indirect=True)
def test_insert_samples_skips_keys_stored_meanwhile(app, dataset):
    now = datetime.now(timezone.utc)

    def row(key):
        return {"dataset_id": dataset["id"], "key": key, "size": 1, "etag": "e", "created_at": now, "added_at": now, "labeled": False, "revision": 0}

    with app.extensions["db_sessionmaker"].begin() as session:
        bulk.insert_samples(session, [row("cats/x/raced.png")])
    with app.extensions["db_sessionmaker"].begin() as session:
        bulk.insert_samples(session, [row("cats/x/a.png"), row("cats/x/raced.png"), row("cats/x/b.png")])
    with app.extensions["db_sessionmaker"]() as session:
        keys = session.scalars(select(Sample.key).where(Sample.dataset_id == dataset["id"]).order_by(Sample.key)).all()
    assert keys == ["cats/x/a.png", "cats/x/b.png", "cats/x/raced.png"]
