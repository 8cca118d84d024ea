"""`make bench-sync`: Synchronize Data Source on 100,000 images in a real SeaweedFS.

Starts its own SeaweedFS on free loopback ports (its data is kept under var/bench/sync, so the
100,000 uploads happen once) and a PostgreSQL database of its own on 127.0.0.1:5432 (created and
dropped here). The bucket holds 100 folders of 1,000 small images; every tenth image has a
sibling XML with objects. Then it prints, in one run:

- the raw listing time: a plain boto3 ListObjectsV2 pagination of the prefix, taken before each
  sync; the machine is shared, so the floor is the median of the three;
- the first sync: the time until every sample is listed with its imported objects (the job
  leaves its importing stage), and the time until the job completes (every image size known);
- an unchanged re-sync;
- a re-sync after 1% deleted + 1% added + 1% changed images, with its counts;

each sync with the peak RSS of the process that ran it (a fresh child process per sync, the
same code a jobs worker runs) and of its largest helper process, and the ratio of each time to
the floor against its target.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import boto3
import psycopg
from botocore.config import Config as BotoConfig
from PIL import Image

from storage.annotations import AnnotatedObject, Annotation, write_annotation
from storage.seaweedfs import SeaweedFS, busy_ports, derive_ports, free_port_base

VAR = Path(os.environ.get("VAR_DIR", "var")).resolve() / "bench" / "sync"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ACCESS_KEY, SECRET_KEY = "bench", "bench-secret"
BUCKET, PREFIX = "bench-sync", "images/"
FOLDERS, PER_FOLDER, XML_EVERY = 100, 1000, 10
CHURN = 0.01
DATA_VERSION = 1  # bump when the generated objects change, to upload them again
TARGETS = {"listed": 2.0, "complete": 10.0, "unchanged": 1.3}
LABELS = ("cat", "dog", "bird", "car", "person")


# --- the objects in the bucket ------------------------------------------------------------------


def image_key(index: int) -> str:
    return f"{PREFIX}f{index // PER_FOLDER:03d}/img{index:06d}.jpg"


def xml_key(index: int) -> str:
    return image_key(index)[: -len(".jpg")] + ".xml"


def added_key(index: int) -> str:
    return f"{PREFIX}f{index // PER_FOLDER:03d}/new{index:06d}.jpg"


class Images:
    """A few dozen small JPEGs of different sizes; an image's bytes depend on its index only."""

    def __init__(self, variants: int = 48) -> None:
        self.variants = [self._jpeg(40 + 3 * v, 30 + 2 * v, v) for v in range(variants)]

    @staticmethod
    def _jpeg(width: int, height: int, seed: int) -> tuple[bytes, int, int]:
        image = Image.new("RGB", (width, height), (seed * 5 % 256, 90, 200 - seed))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=70)
        return buffer.getvalue(), width, height

    def of(self, index: int, changed: bool = False) -> tuple[bytes, int, int]:
        return self.variants[(index + (7 if changed else 0)) % len(self.variants)]


def annotation_xml(index: int, width: int, height: int) -> bytes:
    """An XML with one to three polygons; half of the files carry our attribution."""
    rng = random.Random(index)
    objects = []
    for n in range(1 + index % 3):
        x, y = rng.uniform(0, width / 2), rng.uniform(0, height / 2)
        points = [(round(x, 1), round(y, 1)), (round(x + width / 3, 1), round(y, 1)), (round(x + width / 4, 1), round(y + height / 3, 1))]
        ours = index % 20 == 0
        objects.append(AnnotatedObject(
            label=LABELS[(index + n) % len(LABELS)], points=points, source="manual" if ours else "imported",
            created_by="alice" if ours else None, created_at=datetime(2026, 1, 2, tzinfo=timezone.utc) if ours else None,
        ))
    return write_annotation(Annotation(filename=image_key(index).rsplit("/", 1)[-1], width=width, height=height, objects=objects))


def churn_sets(total: int) -> tuple[list[int], list[int], list[int]]:
    """Return the indexes to delete, to change, and of the images to add: 1% each, disjoint."""
    rng = random.Random(42)
    picked = rng.sample(range(total), int(2 * CHURN * total))
    count = int(CHURN * total)
    return sorted(picked[:count]), sorted(picked[count:]), sorted(rng.sample(range(total), count))


# --- the S3 server and the uploads ---------------------------------------------------------------


def boto_client(endpoint: str):
    config = BotoConfig(max_pool_connections=32, retries={"max_attempts": 5, "mode": "standard"},
                        request_checksum_calculation="when_required", response_checksum_validation="when_required")
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config,
                                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def start_seaweedfs(var: Path = VAR) -> SeaweedFS:
    """Start SeaweedFS (its data under `var`) on the port it used last time when that is free, else on new free ports."""
    var.mkdir(parents=True, exist_ok=True)
    port_file = var / "s3-port"
    port = int(port_file.read_text()) if port_file.exists() else 0
    if not port or busy_ports("127.0.0.1", derive_ports(port).all()):
        port = free_port_base()
    port_file.write_text(str(port))
    server = SeaweedFS(var / "seaweed", port, ACCESS_KEY, SECRET_KEY, volume_size_limit_mb=256)
    started = time.perf_counter()
    server.start(timeout=120)
    print(f"SeaweedFS on {server.endpoint_url} (data in {var / 'seaweed'}), ready in {time.perf_counter() - started:.1f} s", flush=True)
    return server


def put_all(client, items, threads: int = 24, bucket: str = BUCKET) -> None:
    """PUT (key, bytes) pairs concurrently."""
    def put(item):
        key, data = item
        client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/xml" if key.endswith(".xml") else "image/jpeg")

    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(put, items):
            pass


def originals(indexes, images: Images):
    """Yield the original objects (image and, for every tenth, its XML) of some indexes."""
    for index in indexes:
        data, width, height = images.of(index)
        yield image_key(index), data
        if index % XML_EVERY == 0:
            yield xml_key(index), annotation_xml(index, width, height)


def prepare(client, images: Images, total: int) -> None:
    """Upload the objects once; later runs only undo what the previous churn changed."""
    marker = VAR / "prepared.json"
    wanted = {"version": DATA_VERSION, "total": total}
    deleted, changed, added = churn_sets(total)
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        started = time.perf_counter()
        put_all(client, originals(deleted + changed, images))
        for index in added:
            client.delete_object(Bucket=BUCKET, Key=added_key(index))
        print(f"bucket restored to its {total:,} images in {time.perf_counter() - started:.1f} s", flush=True)
        return
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.ClientError as exc:
        if "BucketAlreadyOwnedByYou" not in str(exc) and "BucketAlreadyExists" not in str(exc):
            raise
    started = time.perf_counter()
    put_all(client, originals(range(total), images))
    for index in added:
        client.delete_object(Bucket=BUCKET, Key=added_key(index))
    marker.write_text(json.dumps(wanted))
    print(f"uploaded {total:,} images and {total // XML_EVERY:,} XML files in {time.perf_counter() - started:.0f} s", flush=True)


def apply_churn(client, images: Images, total: int) -> dict[str, int]:
    """Delete 1%, change 1% and add 1% images; return the expected sync counts."""
    deleted, changed, added = churn_sets(total)
    with ThreadPoolExecutor(24) as pool:
        list(pool.map(lambda i: client.delete_object(Bucket=BUCKET, Key=image_key(i)), deleted))
    put_all(client, ((image_key(i), images.of(i, changed=True)[0]) for i in changed))
    put_all(client, ((added_key(i), images.of(i)[0]) for i in added))
    return {"added": len(added), "updated": len(changed), "deleted": len(deleted), "unchanged": total - len(deleted) - len(changed)}


def store_listing(endpoint: str) -> float:
    """Time the project's own listing of the prefix (`S3ObjectStore.list_pages`, lxml on signed GETs)."""
    from storage.s3 import S3ObjectStore

    store = S3ObjectStore(endpoint, "us-east-1", ACCESS_KEY, SECRET_KEY)
    started, cpu = time.perf_counter(), time.process_time()
    count = sum(len(page) for page in store.list_pages(BUCKET, PREFIX, 1000))
    assert count >= 1, "the store's listing found nothing"
    print(f"the project's listing: {count:,} objects, {time.process_time() - cpu:.1f} s of CPU in this process", flush=True)
    return time.perf_counter() - started


def raw_listing(client) -> tuple[float, int]:
    """Time a plain boto3 ListObjectsV2 pagination of the prefix."""
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX, PaginationConfig={"PageSize": 1000}):
        count += len(page.get("Contents", []))
    print(f"raw boto3 listing: {time.process_time() - cpu:.1f} s of CPU in this process", flush=True)
    return time.perf_counter() - started, count


# --- the database and the syncs ----------------------------------------------------------------


def sa_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name


def create_database(name: str) -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    from dataset_service.migrate import upgrade

    upgrade(sa_url(name))
    return sa_url(name)


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_config(database_url: str, endpoint: str):
    from dataset_service.config import Config

    return Config(database_url=database_url, s3_endpoint_url=endpoint, s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY)


def create_dataset(make_session) -> int:
    from dataset_service.services import datasets, users

    with make_session.begin() as session:
        admin = users.create_user(session, "admin", "bench-password", "admin")
        users.create_user(session, "alice", "bench-password", "labeler")
        dataset = datasets.create_dataset(session, {"name": "bench", "input_path": f"s3://{BUCKET}/{PREFIX}"}, admin)
        return dataset.id


def timed_sync(make_session, dataset_id: int, database_url: str, endpoint: str) -> dict:
    """Queue a sync, run it in a fresh child process, and time its stages from here."""
    from dataset_service.models import Dataset, Job
    from dataset_service.services.jobs import start_job

    with make_session.begin() as session:
        job, _ = start_job(session, session.get(Dataset, dataset_id), "sync", None, 120)
        job_id = job.id
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.sync", "--execute", str(job_id), "--database-url", database_url,
                              "--endpoint", endpoint], stdout=subprocess.PIPE, text=True)
    listed_at = None
    with make_session() as session:  # one connection, a light query five times a second
        while child.poll() is None:
            stage, status = session.execute(select_stage(job_id)).one()
            session.rollback()
            if listed_at is None and (stage == "reading image sizes" or status in ("completed", "failed")):
                listed_at = datetime.now(timezone.utc)
            time.sleep(0.2)
    report = json.loads(child.stdout.read().strip().splitlines()[-1])
    with make_session() as session:
        job = session.get(Job, job_id)
        if listed_at is None:
            listed_at = job.finished_at
        return {"status": job.status, "error": job.error, "counts": job.counts, "progress": job.progress,
                "listed_s": (listed_at - job.started_at).total_seconds(), "complete_s": (job.finished_at - job.started_at).total_seconds(),
                "peak_rss_mb": report["peak_rss_mb"], "helpers_rss_mb": report["helpers_rss_mb"]}


def select_stage(job_id: int):
    from sqlalchemy import select

    from dataset_service.models import Job

    return select(Job.stage, Job.status).where(Job.id == job_id)


def execute(job_id: int, database_url: str, endpoint: str) -> int:
    """The child: run one job as a jobs worker would, then report the peak RSS."""
    import resource

    from dataset_service.db import make_engine, make_sessionmaker
    from dataset_service.jobs.execution import run_job

    if os.environ.get("BENCH_LOG"):
        import logging

        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    config = service_config(database_url, endpoint)
    run_job(job_id, make_sessionmaker(make_engine(database_url)), config)
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "helpers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
    return 0


def peak_rss_mb() -> float:
    """Return this process's own peak RSS in MB: Linux's VmHWM. (getrusage's ru_maxrss is no good in a
    child: exec carries over the peak of the parent it was forked from.)"""
    try:
        with open("/proc/self/status") as status:
            for row in status:
                if row.startswith("VmHWM:"):
                    return int(row.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_samples(make_session, dataset_id: int) -> tuple[int, int, int]:
    """Return (samples, labeled samples, samples without a size)."""
    from sqlalchemy import func, select

    from dataset_service.models import Sample

    with make_session() as session:
        where = Sample.dataset_id == dataset_id
        return (session.scalar(select(func.count()).where(where)), session.scalar(select(func.count()).where(where, Sample.labeled)),
                session.scalar(select(func.count()).where(where, Sample.width.is_(None))))


def line(name: str, seconds: float, floor: float, target: float | None, extra: str = "") -> str:
    ratio = seconds / floor
    verdict = "" if target is None else (f"<= {target:g}x: " + ("OK" if ratio <= target else "OVER"))
    return f"{name:46} {seconds:6.1f} s {floor:6.1f} s {ratio:6.2f}x  {verdict:22} {extra}"


def rss(result: dict) -> str:
    return f"peak RSS {result['peak_rss_mb']:.0f} MB (helper processes {result['helpers_rss_mb']:.0f} MB)"


def run(server, client, images: Images, total: int, keep_db: bool = False) -> int:
    from dataset_service.db import make_engine, make_sessionmaker

    name = f"ds_bench_sync_{os.getpid()}"
    database_url = create_database(name)
    engine = make_engine(database_url)
    make_session = make_sessionmaker(engine)
    ok = True
    try:
        dataset_id = create_dataset(make_session)
        raw_s, raw_count = raw_listing(client)
        print(f"raw boto3 listing: {raw_count:,} objects in {raw_s:.1f} s ({raw_count / raw_s:,.0f} keys/s)  load average {os.getloadavg()[0]:.1f}", flush=True)
        ours_s = store_listing(server.endpoint_url)
        print(f"the project's listing (S3ObjectStore.list_pages): {ours_s:.1f} s", flush=True)
        first = timed_sync(make_session, dataset_id, database_url, server.endpoint_url)
        samples, labeled, unsized = check_samples(make_session, dataset_id)
        print(f"first sync: {first['status']} {first['error'] or ''} counts {first['counts']}; "
              f"{samples:,} samples, {labeled:,} labeled, {unsized} without size", flush=True)
        ok &= first["status"] == "completed" and samples == total and labeled == total // XML_EVERY and unsized == 0
        raw2_s, _ = raw_listing(client)
        unchanged = timed_sync(make_session, dataset_id, database_url, server.endpoint_url)
        print(f"unchanged re-sync: counts {unchanged['counts']}", flush=True)
        ok &= unchanged["counts"]["unchanged"] == total and unchanged["counts"]["annotations_imported"] == 0
        expected = apply_churn(client, images, total)
        raw3_s, _ = raw_listing(client)
        churn = timed_sync(make_session, dataset_id, database_url, server.endpoint_url)
        got = {k: churn["counts"][k] for k in expected}
        exact = got == expected
        ok &= exact and churn["status"] == "completed"
        print(f"churn re-sync: counts {churn['counts']} (expected {expected}: {'exact' if exact else 'WRONG'})", flush=True)

        floor = statistics.median([raw_s, raw2_s, raw3_s])  # the machine is shared: the middle of three listings
        print(f"\n{'':46} {'time':>8} {'floor':>8} {'ratio':>7}  {'target':22}")
        print(line("raw boto3 listing (the floor: median of 3)", floor, floor, None,
                   f"{raw_count:,} objects; listings took {raw_s:.1f}, {raw2_s:.1f} and {raw3_s:.1f} s"))
        print(line("the project's own listing (for reference)", ours_s, floor, None, "S3ObjectStore.list_pages: signed GETs read with lxml"))
        print(line("first sync: samples listed with objects", first["listed_s"], floor, TARGETS["listed"]))
        print(line("first sync: job complete (every size)", first["complete_s"], floor, TARGETS["complete"], rss(first)))
        print(line("unchanged re-sync", unchanged["complete_s"], floor, TARGETS["unchanged"], rss(unchanged)))
        print(line("churn re-sync (1% del + 1% add + 1% change)", churn["complete_s"], floor, None, rss(churn)))
        c = churn["counts"]
        print(f"churn counts: added {c['added']}, updated {c['updated']}, deleted {c['deleted']}, unchanged {c['unchanged']}, "
              f"errors {c['errors']}: {'exact' if exact else 'NOT EXACT'}")
        ok &= first["listed_s"] <= TARGETS["listed"] * floor and first["complete_s"] <= TARGETS["complete"] * floor
        ok &= unchanged["complete_s"] <= TARGETS["unchanged"] * floor
        print("all within targets" if ok else "SOME RESULT IS OFF TARGET")
        return 0 if ok else 1
    finally:
        engine.dispose()
        if keep_db:
            print(f"kept database {database_url}")
        else:
            drop_database(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=FOLDERS * PER_FOLDER)
    parser.add_argument("--prepare-only", action="store_true", help="upload the objects and stop")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database for inspection")
    parser.add_argument("--execute", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.execute:
        return execute(args.execute, args.database_url, args.endpoint)
    server = start_seaweedfs()
    try:
        client = boto_client(server.endpoint_url)
        images = Images()
        prepare(client, images, args.images)
        if args.prepare_only:
            return 0
        return run(server, client, images, args.images, args.keep_db)
    finally:
        server.stop()  # fast, and the uploaded objects stay for the next run


if __name__ == "__main__":
    raise SystemExit(main())
