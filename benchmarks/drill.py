"""`make drill`: many labelers at once while things break, then a count of what was lost.

Everything runs on loopback, started here and stopped at the end: a SeaweedFS, a TCP proxy in
front of it that can stall (it accepts and never answers), a PostgreSQL database of its own (or
SQLite with `--database sqlite`) and the API under gunicorn (2 processes, jobs in-process, as
`make run` has it). A bucket of small images is synchronized, then for `--seconds`:

- `--labelers` threads, each a user of its own, read an annotation and save a new one (a few
  polygons) on a small hot set of images, so saves collide (409 conflicts are expected);
- a chaos thread, in turns: starts a sync and SIGKILLs the API's processes in its middle (gunicorn
  starts new ones), stalls the object store for a few seconds, or uploads bad files (a
  decompression bomb, a traversal name, bytes that are no image).

Then the store is released, the API answers again, a last sync completes, and the figures are
printed: saves, conflicts, server errors (5xx other than 503: must be 0), lost writes (an
acknowledged save that the database does not hold, unless a later save or a save whose answer was
lost replaced it: must be 0), XML files that differ from the database (0), and duplicate or lost
samples after the last sync (0). Exit status 1 when any of those is not 0.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
from PIL import Image
from sqlalchemy import create_engine, text

from dataset_service.migrate import upgrade
from dataset_service.models import User
from dataset_service.passwords import hash_password
from storage.annotations import read_annotation
from storage.errors import ObjectNotFound
from storage.factory import StoreSettings, store_for
from storage.seaweedfs import SeaweedFS, free_port_base
from storage.uris import parse_uri

ADMIN_URL = os.environ.get("DRILL_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ACCESS_KEY, SECRET_KEY = "drill", "drill-secret"
BUCKET, PREFIX = "drill", "photos/"
HOT_SET = 40  # images the labelers fight over
LABELS = ("cat", "dog", "bird")
STALL_S = 4.0
KILL_AFTER_S = (0.2, 1.5)  # a sync is killed this long after it was started
CHAOS_EVERY_S = (4.0, 8.0)
REQUEST_TIMEOUT_S = 30


# --- the parts ----------------------------------------------------------------------------------


class StallingProxy:
    """A TCP proxy to the S3 server; while stalled it accepts connections and never answers."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stalled = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.server.accept()
            if self.stalled.is_set():
                self.held.append(client)  # never answered; closed when the stall ends
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while (data := source.recv(65536)) and not self.stalled.is_set():
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def stall(self, seconds: float) -> None:
        """Stall every new and open connection for a while."""
        self.stalled.set()
        time.sleep(seconds)
        self.stalled.clear()
        for client in self.held:
            client.close()
        self.held.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database(kind: str, work: Path) -> tuple[str, callable]:
    """Create the drill's database; return its URL and a function that drops it."""
    if kind == "sqlite":
        return f"sqlite:///{work / 'drill.sqlite3'}", lambda: None
    name = f"drill_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name, drop


def add_users(database_url: str, names: list[str], password: str) -> None:
    """Insert the drill's users (the admin and the labelers) with one password hash."""
    digest = hash_password(password)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for name in names:
            role = "admin" if name == "admin" else "labeler"
            connection.execute(User.__table__.insert().values(username=name, password_hash=digest, role=role))
    engine.dispose()


def start_api(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "dataset_service:create_app()", "--bind", f"127.0.0.1:{port}",
               "--workers", "2", "--threads", "8", "--worker-class", "gthread", "--timeout", "60",
               "--graceful-timeout", "2", "--error-logfile", str(log)]
    return subprocess.Popen(command, env=env, start_new_session=True)


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def png(width: int, height: int, seed: int) -> bytes:
    rng = random.Random(seed)
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256))).save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(side: int = 30000) -> bytes:
    """A small PNG whose header promises side x side pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])  # 8-bit greyscale
    rows = zlib.compress(b"\0" * (side + 1) * 64, 9)  # a few rows; the header is what matters
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


# --- what the labelers and the chaos thread record ------------------------------------------------


@dataclass
class Tally:
    """Outcomes of every request, and what each sample was acknowledged to hold."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    acked: dict[int, tuple[int, list]] = field(default_factory=dict)  # sample -> (revision, objects) of the last ack
    unknown: dict[int, list[list]] = field(default_factory=lambda: defaultdict(list))  # answers lost (killed mid-save)
    events: Counter = field(default_factory=Counter)

    def record(self, what: str, response: requests.Response | None, error: str = "") -> None:
        with self.lock:
            if response is None:
                self.statuses[f"{what} no answer"] += 1
                return
            self.statuses[f"{what} {response.status_code}"] += 1
            if response.status_code >= 500 and response.status_code != 503:
                self.server_errors.append(f"{what} {response.status_code}: {response.text[:200]}")


def shape(objects: list[dict]) -> list:
    """What a save is about, comparable across API answers and XML files."""
    return sorted((o["label"], [[round(x), round(y)] for x, y in o["points"]]) for o in objects)


def random_objects(rng: random.Random, width: int, height: int) -> list[dict]:
    out = []
    for _ in range(rng.randint(0, 3)):
        x, y = rng.randint(0, width - 8), rng.randint(0, height - 8)
        w, h = rng.randint(3, width - x), rng.randint(3, height - y)
        out.append({"label": rng.choice(LABELS), "points": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]})
    return out


def labeler(base: str, token: str, samples: list[dict], tally: Tally, until: float, seed: int) -> None:
    """Read and save annotations on the hot set until time is up."""
    rng, session = random.Random(seed), requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    while time.monotonic() < until:
        sample = rng.choice(samples)
        url = f"{base}/api/v1/samples/{sample['id']}/annotation"
        try:
            current = session.get(url, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException:
            tally.record("read", None)
            continue
        tally.record("read", current)
        if current.status_code != 200:
            time.sleep(0.2)
            continue
        objects = random_objects(rng, sample["width"], sample["height"])
        body = {"revision": current.json()["revision"], "objects": objects}
        try:
            saved = session.put(url, json=body, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException:
            tally.record("save", None)
            with tally.lock:
                tally.unknown[sample["id"]].append(shape(objects))
            continue
        tally.record("save", saved)
        if saved.status_code == 200:
            answer = saved.json()
            with tally.lock:
                if answer["revision"] > tally.acked.get(sample["id"], (-1, None))[0]:
                    tally.acked[sample["id"]] = (answer["revision"], shape(answer["objects"]))
        elif saved.status_code >= 500:
            with tally.lock:  # a 503 may come after the XML was written: its outcome is open
                tally.unknown[sample["id"]].append(shape(objects))


class Chaos:
    """Breaks one thing at a time: a sync killed midway, a stalled store, bad uploads."""

    def __init__(self, base: str, admin: requests.Session, dataset_id: int, api: subprocess.Popen, proxy: StallingProxy, tally: Tally):
        self.base, self.admin, self.dataset_id, self.api, self.proxy, self.tally = base, admin, dataset_id, api, proxy, tally

    def run(self, until: float, seed: int) -> None:
        rng = random.Random(seed)
        acts = (self.kill_a_sync, self.stall_the_store, self.bad_uploads)
        while time.monotonic() < until - 5:
            time.sleep(rng.uniform(*CHAOS_EVERY_S))
            rng.choice(acts)(rng)

    def kill_a_sync(self, rng: random.Random) -> None:
        try:
            response = self.admin.post(f"{self.base}/api/v1/datasets/{self.dataset_id}/sync", timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException:
            self.tally.record("sync start", None)
            return
        self.tally.record("sync start", response)
        time.sleep(rng.uniform(*KILL_AFTER_S))
        workers = psutil.Process(self.api.pid).children()
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
        self.tally.events["API processes killed mid-sync"] += len(workers)

    def stall_the_store(self, rng: random.Random) -> None:
        self.tally.events["object store stalls"] += 1
        self.proxy.stall(STALL_S)

    def bad_uploads(self, rng: random.Random) -> None:
        self.tally.events["bad upload rounds"] += 1
        files = [("bomb.png", bomb_png()), ("../../escape.png", png(8, 8, 1)), ("notes.png", b"not an image at all"),
                 ("empty.jpg", b"")]
        for name, data in files:
            try:
                response = self.admin.post(f"{self.base}/api/v1/datasets/{self.dataset_id}/images",
                                           files={"files": (name, data)}, timeout=REQUEST_TIMEOUT_S)
            except requests.RequestException:
                self.tally.record("bad upload", None)
                continue
            self.tally.record("bad upload", response)


# --- the run ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--labelers", type=int, default=20)
    parser.add_argument("--images", type=int, default=1500)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="drill-") as tmp:
        return run(args, Path(tmp))


def run(args, work: Path) -> int:
    s3 = SeaweedFS(work / "s3", free_port_base(), ACCESS_KEY, SECRET_KEY)
    s3.start(timeout=90)
    database_url, drop_database = database(args.database, work)
    api = None
    try:
        proxy = StallingProxy(s3.ports.s3)
        store = store_for(parse_uri(f"s3://{BUCKET}/"), StoreSettings(endpoint_url=s3.endpoint_url, access_key=ACCESS_KEY, secret_key=SECRET_KEY))
        store.ensure_bucket(BUCKET)
        fill_bucket(store, args.images)
        upgrade(database_url)
        password = secrets.token_urlsafe(16)
        names = ["admin"] + [f"labeler{n:02d}" for n in range(args.labelers)]
        add_users(database_url, names, password)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(32),
               "S3_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port}", "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY,
               "WORKER_URL": "http://127.0.0.1:9", "JOB_STALE_AFTER_S": "5", "THUMBNAIL_DIR": str(work / "thumbs"),
               "VAR_DIR": str(work)}
        for name in ("REDIS_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
        api = start_api(port, env, work / "api.log")
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", 60)
        tokens = {name: token_for(base, name, password) for name in names}
        admin = requests.Session()
        admin.headers["Authorization"] = f"Bearer {tokens['admin']}"
        dataset_id = create_dataset(admin, base)
        first = sync_to_the_end(admin, base, dataset_id)
        print(f"first sync: {first['status']} {first['counts']}", flush=True)
        samples = hot_set(admin, base, dataset_id)
        tally = Tally()
        started = time.monotonic()
        until = started + args.seconds
        chaos = Chaos(base, admin, dataset_id, api, proxy, tally)
        threads = [threading.Thread(target=labeler, args=(base, tokens[n], samples, tally, until, args.seed + i))
                   for i, n in enumerate(names[1:])]
        threads.append(threading.Thread(target=chaos.run, args=(until, args.seed)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_http(f"{base}/healthz", 60)
        last = sync_to_the_end(admin, base, dataset_id)
        return report(args, tally, time.monotonic() - started, last, check(admin, base, dataset_id, store, tally, args.images))
    finally:
        if api is not None:
            os.killpg(api.pid, signal.SIGTERM)
            api.wait(10)
        s3.stop()
        drop_database()


def fill_bucket(store, count: int) -> None:
    """Put `count` small images in 10 folders (16 uploads at a time)."""
    def put(index: int) -> None:
        store.put(BUCKET, f"{PREFIX}f{index % 10}/img{index:05d}.png", png(64 + index % 32, 48 + index % 16, index))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))


def token_for(base: str, username: str, password: str) -> str:
    response = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": password}, timeout=30)
    response.raise_for_status()
    return response.json()["token"]


def create_dataset(admin: requests.Session, base: str) -> int:
    response = admin.post(f"{base}/api/v1/datasets", json={
        "name": "drill", "input_path": f"s3://{BUCKET}/{PREFIX}", "output_path": f"s3://{BUCKET}/out/",
        "labels": [{"name": name} for name in LABELS],
    }, timeout=30)
    response.raise_for_status()
    return response.json()["id"]


def sync_to_the_end(admin: requests.Session, base: str, dataset_id: int, timeout: float = 300) -> dict:
    """Start syncs until one completes (an earlier one may be a killed job going stale)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = admin.post(f"{base}/api/v1/datasets/{dataset_id}/sync", timeout=REQUEST_TIMEOUT_S)
            if response.status_code == 202:
                job = response.json()
                while job["status"] in ("queued", "running") and time.monotonic() < deadline:
                    time.sleep(0.5)
                    job = admin.get(f"{base}/api/v1/jobs/{job['id']}", timeout=REQUEST_TIMEOUT_S).json()
                if job["status"] == "completed":
                    return job
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError("no sync completed")


def hot_set(admin: requests.Session, base: str, dataset_id: int) -> list[dict]:
    body = admin.get(f"{base}/api/v1/datasets/{dataset_id}/samples?limit={HOT_SET}&order=key", timeout=30).json()
    return [{"id": s["id"], "width": s["width"], "height": s["height"], "key": s["key"]} for s in body["items"]]


def check(admin: requests.Session, base: str, dataset_id: int, store, tally: Tally, images: int) -> dict[str, int]:
    """Count lost writes, XML files unlike the database, and duplicate or lost samples."""
    lost, xml_differs = 0, 0
    for sample_id, (revision, objects) in tally.acked.items():
        final = admin.get(f"{base}/api/v1/samples/{sample_id}/annotation", timeout=30).json()
        held = shape(final["objects"])
        if final["revision"] < revision or final["revision"] == revision and held != objects:
            lost += 1  # the acknowledged save is gone
        elif final["revision"] > revision and held not in tally.unknown.get(sample_id, []):
            lost += 1  # replaced by something no save whose answer was lost could have written
        key = admin.get(f"{base}/api/v1/samples/{sample_id}", timeout=30).json()["key"]
        if (in_file := xml_shape(store, key)) != held:
            xml_differs += 1
            print(f"  XML unlike the database: {key} revision {final['revision']}: database {held}, file {in_file}", flush=True)
    keys = listed_keys(admin, base, dataset_id)
    expected = {f"{PREFIX}f{i % 10}/img{i:05d}.png" for i in range(images)}
    return {"lost writes": lost, "XML unlike the database": xml_differs,
            "duplicate samples": len(keys) - len(set(keys)), "lost samples": len(expected - set(keys))}


def xml_shape(store, key: str) -> list:
    xml_key = key.rsplit(".", 1)[0] + ".xml"
    try:
        annotation = read_annotation(store.get(BUCKET, xml_key), xml_key)
    except ObjectNotFound:
        return []
    return sorted((o.label, [[round(x), round(y)] for x, y in o.points]) for o in annotation.objects)


def listed_keys(admin: requests.Session, base: str, dataset_id: int) -> list[str]:
    keys, cursor = [], None
    while True:
        query = "limit=100&order=key" + (f"&cursor={cursor}" if cursor else "")
        body = admin.get(f"{base}/api/v1/datasets/{dataset_id}/samples?{query}", timeout=30).json()
        keys += [item["key"] for item in body["items"]]
        cursor = body.get("next_cursor")
        if not cursor:
            return keys


def report(args, tally: Tally, elapsed: float, last: dict, found: dict[str, int]) -> int:
    saves = sum(n for k, n in tally.statuses.items() if k.startswith("save "))
    print(f"\ndrill on {args.database}: {args.labelers} labelers for {elapsed:.0f} s on {HOT_SET} images; last sync {last['status']} {last['counts']}")
    print(f"  saves tried {saves}: acknowledged {tally.statuses['save 200']}, conflicts {tally.statuses['save 409']}, "
          f"unavailable {tally.statuses['save 503']}, no answer {tally.statuses['save no answer']}")
    print("  chaos: " + ", ".join(f"{name} {n}" for name, n in sorted(tally.events.items())))
    print("  answers: " + ", ".join(f"{name} {n}" for name, n in sorted(tally.statuses.items())))
    figures = {"server errors": len(tally.server_errors), **found}
    print("  " + ", ".join(f"{name} {n}" for name, n in figures.items()))
    for line in tally.server_errors[:10]:
        print(f"    {line}")
    return 0 if not any(figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
