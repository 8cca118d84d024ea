"""Running one job (`jobs/execution.py`): claiming, the heartbeat, a lost job, how a job ends."""
from __future__ import annotations

import time

import pytest

from dataset_service.jobs import execution
from dataset_service.jobs.execution import Heartbeat, JobContext, JobLost, run_job
from dataset_service.models import Job
from dataset_service.services import jobs
from storage.errors import StoreUnavailable
from tests.dataset_service.factories import dataset_obj

pytestmark = pytest.mark.commits  # the heartbeat writes from its own thread, on its own connection


@pytest.fixture
def job_id(app, dataset) -> int:
    """A queued sync job of the test's dataset."""
    with app.extensions["db_sessionmaker"].begin() as session:
        job, created = jobs.start_job(session, dataset_obj(app, dataset["id"]), "sync", None, 120.0)
        assert created
        session.flush()
        return job.id


def read_job(app, job_id: int) -> Job:
    with app.extensions["db_sessionmaker"]() as session:
        return session.get(Job, job_id)


def claim(app, job_id: int) -> JobContext:
    with app.extensions["db_sessionmaker"].begin() as session:
        assert jobs.claim_job(session, job_id, 120.0)
        return JobContext(job_id, session.get(Job, job_id).dataset_id)


def fail_elsewhere(app, job_id: int, reason: str = "failed by another runner") -> None:
    with app.extensions["db_sessionmaker"].begin() as session:
        jobs.fail_job(session, session.get(Job, job_id), reason)


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_the_heartbeat_stores_progress_counts_and_errors_while_the_body_runs(app, job_id):
    context = claim(app, job_id)
    started = read_job(app, job_id).heartbeat_at
    with Heartbeat(app.extensions["db_sessionmaker"], context, interval_s=0.05):
        context.stage = "listing"
        context.advance("listed", 5)
        context.count("added", 2)
        context.error("cats/bad.png", "image: cannot be decoded")
        assert wait_for(lambda: read_job(app, job_id).progress.get("listed") == 5)
    job = read_job(app, job_id)
    assert job.status == "running" and job.stage == "listing" and job.heartbeat_at > started
    assert job.counts["added"] == 2 and job.counts["errors"] == 1
    assert job.errors == [{"key": "cats/bad.png", "reason": "image: cannot be decoded"}]
    assert not context.lost


def test_only_the_first_hundred_errors_are_kept_but_all_are_counted():
    context = JobContext(1, 1)
    for n in range(150):
        context.error(f"k{n}", "bad")
    assert context.counts["errors"] == 150 and len(context.errors) == execution.MAX_ERRORS == 100


def test_a_job_failed_by_someone_else_is_lost_and_its_body_is_stopped(app, job_id):
    context = claim(app, job_id)
    context.check()  # still ours: nothing happens
    fail_elsewhere(app, job_id)
    Heartbeat(app.extensions["db_sessionmaker"], context).beat()
    assert context.lost
    with pytest.raises(JobLost):
        context.check()
    job = read_job(app, job_id)
    assert job.status == "failed" and job.error == "failed by another runner"


@pytest.mark.parametrize("raised, status, error", [
    (None, "completed", None),
    (StoreUnavailable("connection refused"), "failed", "object store: connection refused"),
    (ValueError("bad page"), "failed", "ValueError: bad page"),
])
def test_run_job_records_how_the_body_ended(app, config, job_id, monkeypatch, raised, status, error):
    def body(context, make_session, config):
        context.stage = "listing"
        context.count("added", 3)
        if raised is not None:
            raise raised

    monkeypatch.setattr(execution, "bodies", lambda: {"sync": body})
    assert run_job(job_id, app.extensions["db_sessionmaker"], config) == status
    job = read_job(app, job_id)
    assert (job.status, job.error) == (status, error)
    assert job.counts["added"] == 3 and job.counts["deleted"] == 0  # every count shows, also those still 0
    assert job.finished_at is not None and job.stage == (None if status == "completed" else "listing")


def test_a_job_lost_while_running_ends_without_overwriting_who_failed_it(app, config, job_id, monkeypatch):
    def body(context, make_session, config):
        fail_elsewhere(app, job_id, "the worker running this job stopped")
        assert wait_for(lambda: context.lost, timeout=execution.HEARTBEAT_S * 5)
        context.check()

    monkeypatch.setattr(execution, "bodies", lambda: {"sync": body})
    assert run_job(job_id, app.extensions["db_sessionmaker"], config) is None
    job = read_job(app, job_id)
    assert job.status == "failed" and job.error == "the worker running this job stopped"


def test_a_job_that_is_not_claimable_is_not_run(app, config, job_id, monkeypatch):
    ran = []
    monkeypatch.setattr(execution, "bodies", lambda: {"sync": lambda *args: ran.append(args)})
    assert run_job(job_id, app.extensions["db_sessionmaker"], config) == "completed"
    assert run_job(job_id, app.extensions["db_sessionmaker"], config) is None  # a second delivery of a finished job
    assert len(ran) == 1 and read_job(app, job_id).status == "completed"
