"""`make bench-filters`: the sample filters on 1,000,000 samples in PostgreSQL.

Seeds (in bulk, with COPY) one dataset of 1,000,000 samples with objects: 20 labels, 10 labelers,
creation times spread over a year, keys in nested folders. Then times each filter alone, three
combined, and a deep page (the 5,000th page of 100, by cursor) through the service layer, the same
code the API runs, and prints p50 and p95 with each result's total count.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import datetime, timedelta, timezone

import psycopg
from sqlalchemy import func, select

from dataset_service.db import make_engine, make_sessionmaker
from dataset_service.migrate import upgrade
from dataset_service.models import Dataset, Sample
from dataset_service.services import filters, samples
from dataset_service.services.filters import SampleFilter

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_DB", "ds_bench_filters")
N_SAMPLES, N_LABELS, N_USERS = 1_000_000, 20, 10
NOW = datetime.now(timezone.utc)
TARGET_P95_MS = 100.0


def sa_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name


def psycopg_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def create_database(fresh: bool, name: str = DB_NAME) -> bool:
    """Create a benchmark database with the schema; return True when it must be seeded."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not fresh:
            return False
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(sa_url(name))
    return True


def copy_rows(conn, table: str, columns: str, rows) -> None:
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed(n: int) -> None:
    """Fill the database in bulk with COPY."""
    rng = random.Random(7)
    url = psycopg_url(DB_NAME)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        copy_rows(conn, "users", "id, username, password_hash, role, created_at",
                  [(i, f"user{i}", "x", "labeler", NOW) for i in range(1, N_USERS + 1)])
        conn.execute("INSERT INTO datasets (id, name, description, input_path, output_path, created_at, updated_at) "
                     "VALUES (1, 'bench', '', 's3://bench/img/', 's3://bench/out/', now(), now())")
        copy_rows(conn, "labels", "id, dataset_id, name, color", [(i, 1, f"label{i:02d}", "#123456") for i in range(1, N_LABELS + 1)])
        sample_rows, object_rows, sl_rows, su_rows = [], [], [], []
        object_id = 0
        for i in range(1, n + 1):
            key = f"d{i % 100:02d}/s{(i // 100) % 10}/img_{i:07d}.jpg"
            created = NOW - timedelta(seconds=rng.randrange(365 * 86400))
            labeled = rng.random() < 0.7
            sample_rows.append((i, 1, key, 20000, f"etag{i}", 640, 480, created, created, labeled, created if labeled else None, 1 if labeled else 0))
            if labeled:
                user = rng.randrange(1, N_USERS + 1)
                su_rows.append((i, user, 1))
                for label in rng.sample(range(1, N_LABELS + 1), rng.choice((1, 1, 2, 3))):
                    object_id += 1
                    object_rows.append((object_id, i, label, "polygon", "[[1,1],[50,1],[50,40]]", "manual", user, created, user, created))
                    sl_rows.append((i, label))
        copy_rows(conn, "samples", "id, dataset_id, key, size, etag, width, height, created_at, added_at, labeled, labeled_at, revision", sample_rows)
        columns = "id, sample_id, label_id, shape, points, source, created_by_id, created_at, updated_by_id, updated_at"
        copy_rows(conn, "annotation_objects", columns, object_rows)
        copy_rows(conn, "sample_labels", "sample_id, label_id", sl_rows)
        copy_rows(conn, "sample_labelers", "sample_id, user_id, dataset_id", su_rows)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"seeded {n:,} samples, {len(object_rows):,} objects in {time.perf_counter() - started:.0f} s")


def cases(session) -> list[tuple[str, SampleFilter, str | None]]:
    """Return the timed cases: each filter alone, three combined, and the deep page."""
    month_ago = NOW - timedelta(days=30)
    count = session.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == 1))
    deep_page = min(5000, count // 100)
    deep_key = session.scalar(select(Sample.key).where(Sample.dataset_id == 1).order_by(Sample.key).offset((deep_page - 1) * 100 - 1).limit(1))
    deep_cursor = filters.encode_cursor("key", Sample(key=deep_key))
    return [
        ("all (no filter)", SampleFilter(), None),
        ("state=labeled", SampleFilter(state="labeled"), None),
        ("state=unlabeled", SampleFilter(state="unlabeled"), None),
        ("label=label07", SampleFilter(labels=["label07"]), None),
        ("label=label03,label11 (or)", SampleFilter(labels=["label03", "label11"]), None),
        ("label=label03,label11 (and)", SampleFilter(labels=["label03", "label11"], label_op="and"), None),
        ("created=1d", SampleFilter(created="1d"), None),
        ("created=1m", SampleFilter(created="1m"), None),
        ("created_from..created_to (90 days)", SampleFilter(created_from=NOW - timedelta(days=200), created_to=NOW - timedelta(days=110)), None),
        ("path=img_00123", SampleFilter(path="img_00123"), None),
        ("dir=d42/", SampleFilter(dir="d42/"), None),
        ("dir=d42/s7/", SampleFilter(dir="d42/s7/"), None),
        ("labeled_by=user4", SampleFilter(labeled_by="user4"), None),
        ("order=-created", SampleFilter(order="-created"), None),
        ("combo: labeled + label07 + created 1m", SampleFilter(state="labeled", labels=["label07"], created_from=month_ago), None),
        ("combo: dir=d42/ + labeled_by=user4", SampleFilter(dir="d42/", labeled_by="user4"), None),
        ("combo: label03 and label11 + path=img_0", SampleFilter(labels=["label03", "label11"], label_op="and", path="img_0"), None),
        (f"deep page {deep_page:,} of 100 (cursor)", SampleFilter(), deep_cursor),
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(repeats: int) -> int:
    engine = make_engine(sa_url(DB_NAME))
    make_session = make_sessionmaker(engine)
    with make_session() as session:
        dataset = session.get(Dataset, 1)
        timed = cases(session)
    print(f"\n{'case':44} {'total':>9} {'p50 ms':>8} {'p95 ms':>8}")
    worst = 0.0
    for name, f, cursor in timed:
        times, total = [], 0
        for i in range(repeats + 2):
            with make_session() as session:
                started = time.perf_counter()
                page = samples.list_samples(session, dataset, f, limit=100, cursor=cursor)
                elapsed = (time.perf_counter() - started) * 1000
            total = page.total
            if i >= 2:
                times.append(elapsed)
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        worst = max(worst, p95)
        print(f"{name:44} {total:>9,} {p50:>8.1f} {p95:>8.1f}", flush=True)
    print(f"\nworst p95: {worst:.1f} ms (target <= {TARGET_P95_MS:.0f} ms): {'OK' if worst <= TARGET_P95_MS else 'OVER TARGET'}")
    engine.dispose()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=N_SAMPLES)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--fresh", action="store_true", help="drop and seed again even if the database exists")
    args = parser.parse_args()
    if create_database(args.fresh):
        seed(args.samples)
    else:
        print(f"reusing database {DB_NAME} (pass --fresh to seed again)")
    return run(args.repeats)


if __name__ == "__main__":
    raise SystemExit(main())
