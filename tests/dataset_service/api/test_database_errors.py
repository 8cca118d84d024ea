"""Failures of the database that valid input can meet: contention, races, an outage; each a 4xx or
503 with the documented body, never a 500 (issue 17, finding 7)."""
from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timezone

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dataset_service import create_app
from dataset_service.auth import issue_token
from dataset_service.errors import Conflict, to_response
from dataset_service.models import Label, User
from dataset_service.services import jobs, labels
from dataset_service.services.bulk import insert_samples, record_listed
from dataset_service.services.sync.pipeline import transaction
from tests.dataset_service.factories import dataset_obj


def driver_error(cls, state: str):
    """A driver exception carrying a PostgreSQL SQLSTATE or a SQLite error name, wrapped as SQLAlchemy does."""
    if state.startswith("SQLITE"):
        orig = sqlite3.OperationalError("database is locked")
        orig.sqlite_errorname = state
    else:
        orig = psycopg.errors.lookup(state)("error")
    return cls("SELECT 1", {}, orig)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no database is used
@pytest.mark.parametrize(("error", "status", "code"), [
    (driver_error(OperationalError, "40P01"), 409, "try_again"),  # deadlock detected
    (driver_error(OperationalError, "40001"), 409, "try_again"),  # serialization failure
    (driver_error(OperationalError, "SQLITE_BUSY"), 409, "try_again"),
    (driver_error(IntegrityError, "23505"), 409, "conflict"),  # a unique row inserted meanwhile
    (driver_error(IntegrityError, "23503"), 409, "conflict"),  # a referenced row deleted meanwhile
    (driver_error(OperationalError, "08006"), 503, "database_unavailable"),  # connection failure
    (OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")), 503, "database_unavailable"),
    (PoolTimeout("QueuePool limit of size 10 overflow 20 reached"), 503, "database_unavailable"),
])
def test_database_failures_map_to_one_documented_answer(app, error, status, code):
    with app.app_context():
        answered, body = to_response(error)
    assert (answered, body["error"]) == (status, code)
    assert set(body) == {"error", "message", "fields"} and body["message"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_programming_error_stays_a_500(app):
    with app.app_context():
        assert to_response(driver_error(ProgrammingError, "42P01"))[0] == 500


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("unreachable", ["postgresql+psycopg://postgres@127.0.0.1:9/none", "sqlite:////nonexistent-dir/none.sqlite3"])
def test_an_unreachable_database_is_503_database_unavailable(config, unreachable):
    app = create_app(config.replace(database_url=unreachable))
    client = app.test_client()
    with app.app_context():
        token = issue_token(User(id=1, username="ada", role="admin", session_generation=0))
    for response in (client.post("/api/v1/auth/token", json={"username": "ada", "password": "password123"}),
                     client.get("/api/v1/datasets", headers={"Authorization": f"Bearer {token}"})):
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"] == "database_unavailable"
    app.extensions["db_engine"].dispose()


@pytest.mark.commits  # the requests race on their own connections
def test_creating_the_same_label_at_once_is_one_201_and_409s(app, admin, dataset):
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def add():
        barrier.wait()
        codes.append(admin.post(f"/api/v1/datasets/{dataset['id']}/labels", json={"name": "zebra"}).status_code)

    threads = [threading.Thread(target=add) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(codes) == [201] + [409] * 7, codes
    labels = admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["labels"]
    assert [label["name"] for label in labels].count("zebra") == 1


def test_a_name_taken_after_the_check_is_a_conflict_and_the_transaction_goes_on(app, admin, dataset):
    """What a request that lost the race meets: the unique constraint fires inside a savepoint."""
    with app.extensions["db_sessionmaker"]() as session:
        with pytest.raises(Conflict), labels.unless_taken(session, "cat"):
            session.add(Label(dataset_id=dataset["id"], name="cat", color="#00ff00"))
        assert sorted(labels.labels_by_name(session, dataset["id"])) == ["cat", "dog"]


# --- deleting a dataset while its sync runs -------------------------------------------------------


def queued_sync(app, dataset_id: int) -> int:
    with app.extensions["db_sessionmaker"].begin() as session:
        job, _ = jobs.start_job(session, dataset_obj(app, dataset_id), "sync", None, 120.0)
        session.flush()
        return job.id


@pytest.mark.commits  # a sync step and the delete hold locks on their own connections
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # PostgreSQL only: SQLite has one writer at a time, no lock order to get wrong
def test_deleting_a_dataset_waits_for_a_sync_step_instead_of_deadlocking(app, admin, dataset, database_url):
    """A sync step records its listed keys (locking its job row) and then inserts samples (locking
    the dataset row); the delete, taking the rows in the same order, waits for the step to commit."""
    job_id = queued_sync(app, dataset["id"])
    listed, go_on = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def sync_step():
        try:
            with transaction(app.extensions["db_sessionmaker"]) as session:
                record_listed(session, job_id, [("cats/new.png", "e1")])
                listed.set()
                go_on.wait(10)
                now = datetime.now(timezone.utc)
                insert_samples(session, [{"dataset_id": dataset["id"], "key": "cats/new.png", "size": 1, "etag": "e1",
                                          "created_at": now, "added_at": now, "labeled": False, "revision": 0}])
            outcome["step"] = "committed"
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted below
            outcome["step"] = exc

    def delete():
        outcome["delete"] = admin.delete(f"/api/v1/datasets/{dataset['id']}")

    step = threading.Thread(target=sync_step)
    step.start()
    assert listed.wait(10)
    deleting = threading.Thread(target=delete)
    deleting.start()
    time.sleep(0.5)  # the delete now waits for a lock the step holds
    go_on.set()
    step.join(30)
    deleting.join(30)
    assert outcome["step"] == "committed", outcome["step"]
    assert outcome["delete"].status_code == 204, outcome["delete"].get_json()
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").status_code == 404


@pytest.mark.commits  # the sync runs in a job thread
def test_deleting_a_dataset_during_its_sync_is_never_a_500(app, admin, dataset, s3_server):
    bucket = dataset["input_path"].split("/")[2]
    for i in range(60):
        s3_server.store.put(bucket, f"cats/many/{i:03}.png", b"not really an image")
    started = admin.post(f"/api/v1/datasets/{dataset['id']}/sync")
    assert started.status_code == 202, started.get_json()
    codes = []
    for _ in range(50):  # a 409 (try again) is allowed; anything else but 204 is not
        response = admin.delete(f"/api/v1/datasets/{dataset['id']}")
        codes.append(response.status_code)
        if response.status_code != 409:
            break
        time.sleep(0.05)
    assert codes[-1] == 204 and set(codes) <= {204, 409}, codes
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").status_code == 404
