"""Jobs of a dead runner: known by the process recorded at claim, failed when a runner starts on its host."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import psutil
import pytest

from dataset_service.jobs import celery_app, runners
from dataset_service.jobs.celery_app import make_celery
from dataset_service.models import Job
from dataset_service.services import jobs
from tests.dataset_service.factories import add_dataset, dataset_obj

pytestmark = pytest.mark.commits  # runners start with their own sessions, and a Celery worker in another process

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def runner_of(process: subprocess.Popen) -> str:
    """Return the runner id a job claimed by that process would carry."""
    return f"{jobs.this_host()}:{process.pid}:{psutil.Process(process.pid).create_time():.2f}"


@pytest.fixture
def sleeper():
    """A live process of this host, other than this one."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def dead_runner() -> str:
    """The runner id of a process of this host that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    runner = runner_of(process)
    process.kill()
    process.wait()
    return runner


def claimed(app, dataset_id: int, runner: str, kind: str = "sync") -> int:
    """Queue a job of the dataset and claim it for `runner`; return its id."""
    with app.extensions["db_sessionmaker"].begin() as session:
        job, created = jobs.start_job(session, dataset_obj(app, dataset_id), kind, None, 120.0)
        assert created
        session.flush()
        assert jobs.claim_job(session, job.id, 120.0, runner=runner)
        return job.id


def read(app, job_id: int) -> Job:
    with app.extensions["db_sessionmaker"]() as session:
        return session.get(Job, job_id)


@pytest.fixture
def four_jobs(app, admin, bucket, dead_runner, sleeper) -> dict[str, int]:
    """Running jobs claimed by: a dead process here, a live one here, this process, a process of another host."""
    owners = {
        "dead": dead_runner, "live": runner_of(sleeper), "this": jobs.this_runner(),
        "elsewhere": f"other-host/4026531836:{os.getpid()}:{time.time() - 5:.2f}",
    }
    return {name: claimed(app, add_dataset(app, bucket), runner) for name, runner in owners.items()}


def assert_only_the_dead_one_failed(app, ids: dict[str, int]) -> None:
    dead = read(app, ids.pop("dead"))
    assert dead.status == "failed" and dead.finished_at is not None
    assert "its process" in dead.error and "has ended" in dead.error and socket.gethostname() in dead.error
    assert {name: read(app, job_id).status for name, job_id in ids.items()} == dict.fromkeys(ids, "running")


# --- whose process is gone ---------------------------------------------------------------------


def test_a_runner_id_names_this_process_and_a_live_one_has_not_ended(sleeper):
    host, pid, started = jobs.this_runner().split(":")
    assert host == jobs.this_host() and host.startswith(socket.gethostname()) and int(pid) == os.getpid()
    assert abs(float(started) - psutil.Process().create_time()) < 0.01
    assert not jobs.runner_ended(jobs.this_runner()) and not jobs.runner_ended(runner_of(sleeper))


def test_a_gone_process_a_reused_pid_and_a_zombie_have_ended(dead_runner):
    assert jobs.runner_ended(dead_runner)
    assert jobs.runner_ended(f"{jobs.this_host()}:{os.getpid()}:{psutil.Process().create_time() - 60:.2f}")  # pid reused
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    runner = runner_of(zombie)
    deadline = time.monotonic() + 10
    while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:  # ended, not reaped yet
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert jobs.runner_ended(runner)
    zombie.wait()


@pytest.mark.parametrize("runner", [None, "", "garbage", "other-host/1:1:1.00", "other-host:1:1.00", f"{socket.gethostname()}-2:1:1.00"])
def test_other_hosts_and_unknown_runners_are_never_judged_here(runner):
    assert not jobs.runner_ended(runner)


# --- at a runner's start ------------------------------------------------------------------------


def test_a_thread_runner_starting_fails_the_jobs_of_dead_local_processes_only(app, four_jobs):
    assert isinstance(runners.runner(app), runners.ThreadRunner)
    assert_only_the_dead_one_failed(app, dict(four_jobs))


def test_a_celery_worker_ready_fails_them_too(app, config, four_jobs):
    celery_app.fail_dead_jobs_at_start(sender=SimpleNamespace(app=make_celery(config)))
    assert_only_the_dead_one_failed(app, dict(four_jobs))


def test_another_celery_app_is_left_alone(app, four_jobs):
    celery_app.fail_dead_jobs_at_start(sender=SimpleNamespace(app=SimpleNamespace()))
    assert read(app, four_jobs["dead"]).status == "running"


def test_a_real_celery_worker_fails_them_when_it_is_ready(app, config, four_jobs, redis_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": config.database_url, "REDIS_URL": redis_url, "CELERY_QUEUE": f"recovery-{uuid.uuid4().hex[:8]}"}
    command = [sys.executable, "-m", "celery", "-A", "dataset_service.jobs.celery_app", "worker", "--pool", "threads", "-c", "1",
               "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"recovery-{uuid.uuid4().hex[:8]}@%h"]
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while read(app, four_jobs["dead"]).status == "running":
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(20)
    assert_only_the_dead_one_failed(app, dict(four_jobs))


# --- when a job is read or asked for again --------------------------------------------------------


def test_a_sync_whose_process_died_here_is_replaced_at_once(app, admin, dataset, dead_runner):
    old = claimed(app, dataset["id"], dead_runner)  # its heartbeat is fresh: only its process tells it is dead
    response = admin.post(f"/api/v1/datasets/{dataset['id']}/sync")
    assert response.status_code == 202 and response.get_json()["id"] != old
    dead = admin.get(f"/api/v1/jobs/{old}").get_json()
    assert dead["status"] == "failed" and "has ended" in dead["error"]


def test_reading_a_job_whose_process_died_here_fails_it(app, admin, dataset, dead_runner, sleeper):
    dead, live = claimed(app, dataset["id"], dead_runner), claimed(app, dataset["id"], runner_of(sleeper), "annotation-files")
    assert admin.get(f"/api/v1/jobs/{dead}").get_json()["status"] == "failed"
    assert admin.get(f"/api/v1/jobs/{live}").get_json()["status"] == "running"
    listed = {j["id"]: j["status"] for j in admin.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["items"]}
    assert listed == {dead: "failed", live: "running"}


def test_a_claim_records_the_process_that_runs_the_job(app, dataset):
    with app.extensions["db_sessionmaker"].begin() as session:
        job, _ = jobs.start_job(session, dataset_obj(app, dataset["id"]), "sync", None, 120.0)
        session.flush()
        assert jobs.claim_job(session, job.id, 120.0)
    assert read(app, job.id).runner == jobs.this_runner()


def test_a_job_whose_process_died_here_may_be_claimed_again_at_once(app, admin, bucket, dead_runner, sleeper):
    dead, live = claimed(app, add_dataset(app, bucket), dead_runner), claimed(app, add_dataset(app, bucket), runner_of(sleeper))
    with app.extensions["db_sessionmaker"].begin() as session:  # a Celery task delivered again, both heartbeats fresh
        assert jobs.claim_job(session, dead, 120.0) and not jobs.claim_job(session, live, 120.0)
    assert read(app, dead).runner == jobs.this_runner() and read(app, live).runner == runner_of(sleeper)
