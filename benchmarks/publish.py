"""`make bench-publish`: publish, diff and export a dataset of 100,000 samples against a real SeaweedFS.

Starts its own SeaweedFS on free loopback ports (its data is kept under var/bench/publish, so the
images and XML files are uploaded once) and a PostgreSQL database of its own on 127.0.0.1:5432
(created and dropped here), seeded with COPY: 100,000 samples, 30% labeled with two to five
polygons each (about 100,000 objects, 10 labels, 10 labelers), their images (JPEGs of 320x240 to
790x616) and the sibling XML of the labeled ones in the bucket. Then, in one run:

- publish V001 (a `publish` job, run in a fresh child process as a jobs worker runs it);
- the floor: PUT as many objects of the same sizes as V001's files with the project's own store
  client (`S3ObjectStore`, as many threads as a publish writes with);
- change 1% of the samples (objects moved, relabelled, removed, added), publish V002;
- diff V001 against V002 (counts and a first page of 100, the service the API runs), in a child;
- export V002 as COCO and as VOC (jobs, each in a child);
- set V001 current (a job in a child: the working state restored, its XML files rewritten), for reference;

and prints each step's time, the peak RSS of the process that ran it, and publish's ratio to the
floor, against the targets: publish <= 3x the floor, diff <= 2 s, peak RSS <= 500 MB.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from PIL import Image

from benchmarks.sync import ACCESS_KEY, SECRET_KEY, boto_client, create_database, drop_database, peak_rss_mb, put_all, start_seaweedfs
from storage.annotations import AnnotatedObject, Annotation, write_annotation

VAR = Path(os.environ.get("VAR_DIR", "var")).resolve() / "bench" / "publish"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BUCKET, PREFIX, OUTPUT = "bench-publish", "images/", "out/"
SAMPLES, PER_FOLDER = 100_000, 1000
LABELED_PER_TEN = 3  # 30% of the samples are labeled
OBJECTS = (2, 3, 5)  # polygons per labeled sample, in turn: 3.33 on average
LABELS = ("cat", "dog", "bird", "car", "person", "tree", "road", "sky", "boat", "sign")
LABELERS = 10
CHANGED = 0.01
DATA_VERSION = 1  # bump when the generated objects change, to upload them again
TARGETS = {"publish_ratio": 3.0, "diff_s": 2.0, "rss_mb": 500.0}
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


# --- what the dataset holds ---------------------------------------------------------------------


def image_key(index: int) -> str:
    return f"{PREFIX}f{index // PER_FOLDER:03d}/img{index:06d}.jpg"


def labeled(index: int) -> bool:
    return index % 10 < LABELED_PER_TEN


class Images:
    """48 flat JPEGs, 320x240 to 790x616; an image's bytes depend on its index only."""

    def __init__(self, variants: int = 48) -> None:
        self.variants = [self._jpeg(320 + 10 * v, 240 + 8 * v, v) for v in range(variants)]

    @staticmethod
    def _jpeg(width: int, height: int, seed: int) -> tuple[bytes, int, int, str]:
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (seed * 5 % 256, 90, 200 - seed)).save(buffer, format="JPEG", quality=70)
        data = buffer.getvalue()
        return data, width, height, hashlib.md5(data).hexdigest()

    def of(self, index: int) -> tuple[bytes, int, int, str]:
        return self.variants[index % len(self.variants)]


def polygons(index: int, width: int, height: int) -> list[tuple[int, list[list[float]]]]:
    """Return a labeled sample's objects: (label index, points), convex polygons of 5 to 8 points."""
    rng = random.Random(index)
    out = []
    for _ in range(OBJECTS[(index // 10) % len(OBJECTS)]):
        cx, cy = rng.uniform(0.25, 0.75) * width, rng.uniform(0.25, 0.75) * height
        radius = rng.uniform(0.08, 0.24) * min(width, height)
        n = rng.randint(5, 8)
        points = [[round(cx + radius * math.cos(2 * math.pi * k / n), 1), round(cy + radius * math.sin(2 * math.pi * k / n), 1)] for k in range(n)]
        out.append((rng.randrange(len(LABELS)), points))
    return out


def labeler_of(index: int) -> int:
    return 2 + index % LABELERS  # user ids 2..11; 1 is the admin


def xml_of(index: int, width: int, height: int) -> bytes:
    objects = [
        AnnotatedObject(label=LABELS[label], points=[tuple(p) for p in points], source="manual",
                        created_by=f"labeler{labeler_of(index) - 1}", created_at=EPOCH, updated_at=EPOCH)
        for label, points in polygons(index, width, height)
    ]
    return write_annotation(Annotation(filename=image_key(index).rsplit("/", 1)[-1], width=width, height=height, objects=objects))


# --- the bucket ----------------------------------------------------------------------------------


def prepare(client, images: Images, total: int) -> None:
    """Upload the images and the labeled ones' XML once (a marker file says they are there)."""
    marker = VAR / "prepared.json"
    wanted = {"version": DATA_VERSION, "total": total}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"bucket already holds the {total:,} images (from {marker})", flush=True)
        return
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.ClientError as exc:
        if "BucketAlreadyOwnedByYou" not in str(exc) and "BucketAlreadyExists" not in str(exc):
            raise
    started = time.perf_counter()

    def objects():
        for index in range(total):
            data, width, height, _ = images.of(index)
            yield image_key(index), data
            if labeled(index):
                yield image_key(index)[:-4] + ".xml", xml_of(index, width, height)

    put_all(client, objects(), bucket=BUCKET)
    marker.write_text(json.dumps(wanted))
    print(f"uploaded {total:,} images and {sum(map(labeled, range(total))):,} XML files in {time.perf_counter() - started:.0f} s", flush=True)


# --- the database --------------------------------------------------------------------------------


def copy_rows(conn, table: str, columns: str, rows) -> None:
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed(conninfo: str, images: Images, total: int) -> int:
    """Fill the database with COPY; return the number of objects."""
    started = time.perf_counter()
    counts = {"objects": 0}
    with psycopg.connect(conninfo) as conn:
        copy_rows(conn, "users", "id, username, password_hash, role, created_at",
                  [(1, "admin", "x", "admin", EPOCH)] + [(i, f"labeler{i - 1}", "x", "labeler", EPOCH) for i in range(2, 2 + LABELERS)])
        conn.execute("INSERT INTO datasets (id, name, description, input_path, output_path, created_by_id, created_at, updated_at) "
                     "VALUES (1, 'bench', '', %s, %s, 1, now(), now())", (f"s3://{BUCKET}/{PREFIX}", f"s3://{BUCKET}/{OUTPUT}"))
        copy_rows(conn, "labels", "id, dataset_id, name, color",
                  [(i + 1, 1, name, f"#{(37 * i) % 256:02x}{(91 * i + 40) % 256:02x}{(53 * i + 90) % 256:02x}") for i, name in enumerate(LABELS)])
        xml_etags = {index: hashlib.md5(xml_of(index, *images.of(index)[1:3])).hexdigest() for index in range(total) if labeled(index)}
        copy_rows(conn, "samples", "id, dataset_id, key, size, etag, width, height, created_at, added_at, labeled, labeled_at, revision, "
                  "saved_by_id, saved_at, xml_etag", _sample_rows(images, total, xml_etags))
        copy_rows(conn, "annotation_objects", "id, sample_id, label_id, shape, points, source, created_by_id, created_at, updated_by_id, updated_at",
                  _object_rows(images, total, counts))
        copy_rows(conn, "sample_labels", "sample_id, label_id",
                  sorted({(index + 1, label + 1) for index in range(total) if labeled(index) for label, _ in polygons(index, *images.of(index)[1:3])}))
        copy_rows(conn, "sample_labelers", "sample_id, user_id, dataset_id", [(index + 1, labeler_of(index), 1) for index in range(total) if labeled(index)])
        for table in ("users", "datasets", "labels", "samples", "annotation_objects"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"seeded {total:,} samples, {counts['objects']:,} objects with COPY in {time.perf_counter() - started:.0f} s", flush=True)
    return counts["objects"]


def _sample_rows(images: Images, total: int, xml_etags: dict[int, str]):
    for index in range(total):
        data, width, height, etag = images.of(index)
        when = EPOCH + timedelta(seconds=index)
        done = labeled(index)
        yield (index + 1, 1, image_key(index), len(data), etag, width, height, when, when, done, when if done else None, 1 if done else 0,
               labeler_of(index) if done else None, when if done else None, xml_etags.get(index))


def _object_rows(images: Images, total: int, counts: dict[str, int]):
    for index in range(total):
        if not labeled(index):
            continue
        when, user = EPOCH + timedelta(seconds=index), labeler_of(index)
        for label, points in polygons(index, *images.of(index)[1:3]):
            counts["objects"] += 1
            yield (counts["objects"], index + 1, label + 1, "polygon", json.dumps(points), "manual", user, when, user, when)


def change_one_percent(make_session, total: int) -> dict[str, int]:
    """Change 1% of the samples as saves would (objects moved, relabelled, removed; unlabeled ones
    labeled), with their indexes recomputed; return how many of each."""
    from sqlalchemy import delete, insert, select, update

    from dataset_service.models import AnnotationObject, Sample, utcnow
    from dataset_service.services.sample_objects import refresh_indexes

    rng = random.Random(42)
    picked = rng.sample(range(total), int(CHANGED * total))
    moved = [i for i in picked if labeled(i)][::2]
    relabelled = [i for i in picked if labeled(i)][1::4]
    cleared = [i for i in picked if labeled(i)][3::4]
    new = [i for i in picked if not labeled(i)]
    now = utcnow()
    with make_session.begin() as session:
        first = {sample_id: object_id for sample_id, object_id in session.execute(
            select(AnnotationObject.sample_id, AnnotationObject.id).where(AnnotationObject.sample_id.in_([i + 1 for i in moved + relabelled]))
            .order_by(AnnotationObject.sample_id, AnnotationObject.id.desc()))}
        for index in moved:
            obj = session.get(AnnotationObject, first[index + 1])
            obj.points = [[x + 1.0, y] for x, y in obj.points]
            obj.updated_by_id, obj.updated_at = 3, now
        for index in relabelled:
            obj = session.get(AnnotationObject, first[index + 1])
            obj.label_id, obj.updated_by_id, obj.updated_at = obj.label_id % len(LABELS) + 1, 3, now
        session.execute(delete(AnnotationObject).where(AnnotationObject.sample_id.in_([i + 1 for i in cleared])))
        session.execute(insert(AnnotationObject), [
            {"sample_id": i + 1, "label_id": 1 + k, "shape": "polygon", "points": [[10.0, 10.0], [60.0, 10.0], [35.0, 50.0]], "source": "manual",
             "created_by_id": 4, "created_at": now, "updated_by_id": 4, "updated_at": now}
            for i in new for k in range(2)
        ])
        session.flush()
        changed = sorted(i + 1 for i in moved + relabelled + cleared + new)
        refresh_indexes(session, changed)
        session.execute(update(Sample).where(Sample.id.in_(changed)).values(saved_by_id=3, saved_at=now))
    return {"moved": len(moved), "relabelled": len(relabelled), "cleared": len(cleared), "labeled": len(new)}


# --- the steps -------------------------------------------------------------------------------------


def start(make_session, kind: str, attach) -> int:
    """Queue a job of this kind with what `attach` records for it; return its id."""
    from sqlalchemy import select

    from dataset_service.models import Dataset, User
    from dataset_service.services.jobs import start_job

    with make_session.begin() as session:
        dataset, admin = session.get(Dataset, 1), session.scalar(select(User).where(User.username == "admin"))
        job, created = start_job(session, dataset, kind, admin, 120)
        assert created, f"a {kind} job is already active"
        attach(session, dataset, admin, job)
        return job.id


def run_child(*args: str) -> tuple[dict, float]:
    """Run this module (or benchmarks.sync's job runner) in a fresh process; return its last JSON line and its wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", *args], stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def timed_job(make_session, job_id: int, database_url: str, endpoint: str) -> dict:
    """Run a queued job in a child process as a jobs worker does; return its times, counts and peak RSS."""
    from dataset_service.models import Job

    report, wall = run_child("benchmarks.sync", "--execute", str(job_id), "--database-url", database_url, "--endpoint", endpoint)
    with make_session() as session:
        job = session.get(Job, job_id)
        assert job.status == "completed", f"job {job_id} ({job.kind}) {job.status}: {job.error}"
        return {"seconds": (job.finished_at - job.started_at).total_seconds(), "wall_s": wall, "counts": job.counts,
                "peak_rss_mb": report["peak_rss_mb"]}


def publish(make_session, name: str, database_url: str, endpoint: str) -> tuple[dict, int]:
    from dataset_service.models import DatasetVersion
    from dataset_service.services.versions import create_version

    def attach(session, dataset, admin, job):
        create_version(session, dataset, {"name": name}, admin, job, 120)

    job_id = start(make_session, "publish", attach)
    result = timed_job(make_session, job_id, database_url, endpoint)
    with make_session() as session:
        from sqlalchemy import select

        return result, session.scalar(select(DatasetVersion.id).where(DatasetVersion.job_id == job_id))


def export(make_session, version_id: int, fmt: str, database_url: str, endpoint: str) -> dict:
    from dataset_service.models import DatasetVersion
    from dataset_service.services.exports import create_export

    def attach(session, dataset, admin, job):
        create_export(session, session.get(DatasetVersion, version_id), fmt, admin, job)

    return timed_job(make_session, start(make_session, "export", attach), database_url, endpoint)


def set_current(make_session, version_id: int, database_url: str, endpoint: str) -> dict:
    from dataset_service.models import DatasetVersion
    from dataset_service.services.restore import KIND, request_current

    def attach(session, dataset, admin, job):
        request_current(session, dataset, session.get(DatasetVersion, version_id), job, 120)

    return timed_job(make_session, start(make_session, KIND, attach), database_url, endpoint)


def diff_in_child(database_url: str, a: int, b: int) -> dict:
    """The child: time the diff the API answers (counts and a page of 100), twice; report the peak RSS."""
    from dataset_service.db import make_engine, make_sessionmaker
    from dataset_service.models import DatasetVersion
    from dataset_service.services.version_diff import diff

    make_session = make_sessionmaker(make_engine(database_url))
    times, answer = [], None
    for _ in range(2):
        with make_session() as session:
            started = time.perf_counter()
            answer = diff(session, 1, session.get(DatasetVersion, a), session.get(DatasetVersion, b), limit=100)
            times.append(time.perf_counter() - started)
    print(json.dumps({"seconds": times[0], "warm_s": times[1], "counts": answer.counts, "items": len(answer.items),
                      "changed_objects": sum(len(i.added) + len(i.removed) + len(i.changed) for i in answer.items),
                      "peak_rss_mb": peak_rss_mb()}))
    return 0


def version_files(store, version_folder: str) -> list[int]:
    """Return the sizes of every file under a version's folder but its exports."""
    from storage.uris import parse_uri

    root = parse_uri(version_folder)
    return [info.size for page in store.list_pages(root.bucket, root.key) for info in page if "/export/" not in info.key]


def floor(store, sizes: list[int], threads: int) -> float:
    """Time PUTs of as many objects of these sizes with the project's store client, as many at once as a publish writes."""
    from storage.s3 import _TRANSFER

    small = os.urandom(max([s for s in sizes if s < _TRANSFER.multipart_threshold], default=1))

    def put(item):
        number, size = item
        key = f"floor/{number:06d}"
        if size < _TRANSFER.multipart_threshold:
            store.put(BUCKET, key, small[:size], content_type="application/octet-stream")
        else:  # as publish stores its manifest: streamed from a file
            store.put_file(BUCKET, key, io.BytesIO(os.urandom(size)), content_type="application/octet-stream")

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(put, enumerate(sizes)):
            pass
    return time.perf_counter() - started


# --- the run ---------------------------------------------------------------------------------------


def line(name: str, seconds: float, rss_mb: float | None, verdict: str, extra: str = "") -> str:
    rss = f"{rss_mb:7.0f} MB" if rss_mb is not None else " " * 10
    return f"{name:44} {seconds:8.1f} s {rss}  {verdict:28} {extra}"


def run(server, images: Images, total: int, keep_db: bool) -> int:
    from dataset_service.db import make_engine, make_sessionmaker
    from dataset_service.services.version_files import WRITERS
    from storage.s3 import S3ObjectStore

    name = f"ds_bench_publish_{os.getpid()}"
    database_url = create_database(name)
    engine = make_engine(database_url)
    make_session = make_sessionmaker(engine)
    endpoint = server.endpoint_url
    store = S3ObjectStore(endpoint, "us-east-1", ACCESS_KEY, SECRET_KEY)
    try:
        objects = seed(ADMIN_URL.rsplit("/", 1)[0] + "/" + name, images, total)
        print(f"load average {os.getloadavg()[0]:.1f}; publishing V001", flush=True)
        first, v1 = publish(make_session, "V001", database_url, endpoint)
        from dataset_service.models import DatasetVersion

        with make_session() as session:
            folder = session.get(DatasetVersion, v1).folder_uri
        sizes = version_files(store, folder)
        print(f"V001: {first['seconds']:.1f} s, {len(sizes):,} files, {sum(sizes) / 1e6:.0f} MB; timing the floor", flush=True)
        floor_s = floor(store, sizes, WRITERS)
        changes = change_one_percent(make_session, total)
        print(f"changed {changes}; publishing V002", flush=True)
        second, v2 = publish(make_session, "V002", database_url, endpoint)
        diffed, _ = run_child("benchmarks.publish", "--diff", str(v1), str(v2), "--database-url", database_url)
        print(f"diff: {diffed}", flush=True)
        coco = export(make_session, v2, "coco", database_url, endpoint)
        voc = export(make_session, v2, "voc", database_url, endpoint)
        print(f"exports: COCO {coco['seconds']:.1f} s, VOC {voc['seconds']:.1f} s; setting V001 current", flush=True)
        restored = set_current(make_session, v1, database_url, endpoint)

        ok = True
        ratio = first["seconds"] / floor_s
        ok &= ratio <= TARGETS["publish_ratio"] and diffed["seconds"] <= TARGETS["diff_s"]
        steps = (first, second, coco, voc, diffed, restored)
        ok &= all(step["peak_rss_mb"] <= TARGETS["rss_mb"] for step in steps)
        c = first["counts"]
        print(f"\n{total:,} samples, {c['labeled']:,} labeled, {objects:,} objects; V001 wrote {len(sizes):,} files ({sum(sizes) / 1e6:.0f} MB)")
        print(f"{'step':44} {'time':>10} {'peak RSS':>10}  {'target':28}")
        print(line("floor: PUT the same sizes (S3ObjectStore)", floor_s, None, "", f"{len(sizes):,} objects, {WRITERS} at once"))
        print(line("publish V001", first["seconds"], first["peak_rss_mb"], _verdict(ratio, TARGETS["publish_ratio"], f"{ratio:.2f}x floor <= 3x")))
        ratio2 = second["seconds"] / floor_s
        print(line("publish V002 (1% changed)", second["seconds"], second["peak_rss_mb"], f"{ratio2:.2f}x floor"))
        dc = diffed["counts"]
        print(line("diff V001 -> V002 (counts + page of 100)", diffed["seconds"], diffed["peak_rss_mb"],
                   _verdict(diffed["seconds"], TARGETS["diff_s"], "<= 2 s"),
                   f"added {dc['added']}, deleted {dc['deleted']}, changed {dc['changed']}; again {diffed['warm_s']:.2f} s"))
        print(line("export V002 as COCO", coco["seconds"], coco["peak_rss_mb"], "", f"{coco['counts'].get('files', 0)} files"))
        print(line("export V002 as VOC", voc["seconds"], voc["peak_rss_mb"], "", f"{voc['counts'].get('files', 0):,} files"))
        rc = restored["counts"]
        print(line("set V001 current (for reference)", restored["seconds"], restored["peak_rss_mb"], "",
                   f"{rc['samples']:,} samples, {rc['objects']:,} objects, {rc['xml_written'] + rc['xml_deleted']:,} XML files rewritten"))
        print(f"peak RSS target <= {TARGETS['rss_mb']:.0f} MB for every step: "
              + ("met" if all(step["peak_rss_mb"] <= TARGETS["rss_mb"] for step in steps) else "OVER"))
        print("all within targets" if ok else "SOME RESULT IS OFF TARGET")
        return 0 if ok else 1
    finally:
        engine.dispose()
        if keep_db:
            print(f"kept database {database_url}")
        else:
            drop_database(name)


def _verdict(value: float, target: float, text: str) -> str:
    return f"{text}: " + ("OK" if value <= target else "OVER")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=SAMPLES, help="samples in the dataset (30%% labeled)")
    parser.add_argument("--prepare-only", action="store_true", help="upload the objects and stop")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database for inspection")
    parser.add_argument("--diff", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.diff:
        return diff_in_child(args.database_url, *args.diff)
    server = start_seaweedfs(VAR)
    try:
        client = boto_client(server.endpoint_url)
        images = Images()
        prepare(client, images, args.samples)
        if args.prepare_only:
            return 0
        return run(server, images, args.samples, args.keep_db)
    finally:
        server.stop()  # fast, and the uploaded objects stay for the next run


if __name__ == "__main__":
    raise SystemExit(main())
