"""`make bench-team`: team labeling on 1,000,000 samples in PostgreSQL.

Seeds (with COPY) one dataset of 1,000,000 samples, 30% labeled, and 20 labelers who are members.
Then, through the service layer the API runs:
- assigns every unlabeled sample evenly to the 20 labelers (one statement) and times it;
- hands a third of each labeler's work in (submitted) so the queue has holes, then times each
  labeler's "next image" (`GET .../next`) from random places in their queue;
- times the sample list filtered by `assigned_to` + `review` (a page of 100 with its total).
Targets (issue #14): assignment <= 15 s, next image p95 <= 20 ms, filters p95 <= 100 ms.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import datetime, timezone

import psycopg

from benchmarks.filters import copy_rows, create_database, percentile, psycopg_url, sa_url
from dataset_service.access import RULES, Action
from dataset_service.db import make_engine, make_sessionmaker
from dataset_service.models import Dataset
from dataset_service.services import assignment, samples
from dataset_service.services.filters import SampleFilter

DB_NAME = os.environ.get("BENCH_TEAM_DB", "ds_bench_team")
N_SAMPLES, N_LABELERS = 1_000_000, 20
NOW = datetime.now(timezone.utc)
TARGETS = {"assign_s": 15.0, "next_p95_ms": 20.0, "filter_p95_ms": 100.0}


def seed(n: int) -> None:
    create_database(fresh=True, name=DB_NAME)
    rng = random.Random(11)
    url = psycopg_url(DB_NAME)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        copy_rows(conn, "users", "id, username, password_hash, role, created_at",
                  [(i, f"labeler{i:02d}", "x", "labeler", NOW) for i in range(1, N_LABELERS + 1)])
        conn.execute("INSERT INTO datasets (id, name, description, input_path, output_path, created_at, updated_at) "
                     "VALUES (1, 'bench', '', 's3://bench/img/', 's3://bench/out/', now(), now())")
        copy_rows(conn, "dataset_members", "dataset_id, user_id, role, added_at", [(1, i, "labeler", NOW) for i in range(1, N_LABELERS + 1)])
        rows = []
        for i in range(1, n + 1):
            labeled = rng.random() < 0.3
            rows.append((i, 1, f"d{i % 100:02d}/img_{i:07d}.jpg", 20000, f"etag{i}", 640, 480, NOW, NOW, labeled, NOW if labeled else None, 0))
        copy_rows(conn, "samples", "id, dataset_id, key, size, etag, width, height, created_at, added_at, labeled, labeled_at, revision", rows)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"seeded {n:,} samples and {N_LABELERS} labelers in {time.perf_counter() - started:.0f} s", flush=True)


def timed(fn, repeats: int) -> tuple[list[float], object]:
    times, result = [], None
    for i in range(repeats + 2):
        started = time.perf_counter()
        result = fn(i)
        if i >= 2:
            times.append((time.perf_counter() - started) * 1000)
    return times, result


def run(repeats: int, n: int) -> int:
    engine = make_engine(sa_url(DB_NAME))
    make_session = make_sessionmaker(engine)
    names = [f"labeler{i:02d}" for i in range(1, N_LABELERS + 1)]
    with make_session() as session:
        started = time.perf_counter()
        done = assignment.assign(session, 1, SampleFilter(state="unlabeled", assigned_to="nobody"), names, None, RULES[Action.LABEL])
        session.commit()
        assign_s = time.perf_counter() - started
    shares = sorted(done.per_labeler.values())
    print(f"assign {done.matched:,} unlabeled samples evenly to {N_LABELERS}: {assign_s:.2f} s "
          f"(each {shares[0]:,}..{shares[-1]:,}; target <= {TARGETS['assign_s']:.0f} s)", flush=True)
    with make_session() as session:  # a third of each queue handed in: the queue has holes
        session.connection().exec_driver_sql(
            "UPDATE samples SET review_state = 'submitted' WHERE id IN (SELECT sample_id FROM sample_assignments) AND id %% 3 = 0")
        session.connection().exec_driver_sql(  # as review.submit does
            "UPDATE sample_assignments SET open = false, review_state = 'submitted' WHERE sample_id %% 3 = 0")
        session.commit()
    with psycopg.connect(psycopg_url(DB_NAME), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE samples")
        conn.execute("VACUUM ANALYZE sample_assignments")
    rng = random.Random(3)
    with make_session() as session:
        def next_image(i: int):
            user_id = 1 + i % N_LABELERS
            return assignment.next_open(session, 1, user_id, rng.randrange(1, n))
        times, last = timed(next_image, repeats * 10)
    next_p95 = percentile(times, 0.95)
    print(f"next image ({len(times)} calls, {last[1]:,} open in the last queue): p50 {statistics.median(times):.1f} ms, "
          f"p95 {next_p95:.1f} ms (target <= {TARGETS['next_p95_ms']:.0f} ms)", flush=True)
    worst = 0.0
    with make_session() as session:
        dataset = session.get(Dataset, 1)
        for name, f in (
            ("assigned_to=labeler07", SampleFilter(assigned_to="labeler07")),
            ("assigned_to=labeler07 + review=open", SampleFilter(assigned_to="labeler07", review="open")),
            ("assigned_to=labeler07 + review=submitted", SampleFilter(assigned_to="labeler07", review="submitted")),
            ("review=submitted", SampleFilter(review="submitted")),
            ("assigned_to=nobody", SampleFilter(assigned_to="nobody")),
        ):
            times, page = timed(lambda i, f=f: samples.list_samples(session, dataset, f, limit=100), repeats)
            p95 = percentile(times, 0.95)
            worst = max(worst, p95)
            print(f"filter {name:44} total {page.total:>9,}  p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms", flush=True)
    print(f"filters worst p95 {worst:.1f} ms (target <= {TARGETS['filter_p95_ms']:.0f} ms)")
    ok = assign_s <= TARGETS["assign_s"] and next_p95 <= TARGETS["next_p95_ms"] and worst <= TARGETS["filter_p95_ms"]
    print("all targets met" if ok else "OVER TARGET")
    engine.dispose()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=N_SAMPLES)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    seed(args.samples)
    return run(args.repeats, args.samples)


if __name__ == "__main__":
    raise SystemExit(main())
