"""The Celery app of the jobs workers: `celery -A dataset_service.jobs.celery_app worker`.

Settings come from the environment like the API's (`Config.from_env()`): the broker from
`REDIS_URL` or `CELERY_BROKER_URL`, the queue from `CELERY_QUEUE` (default `jobs`), and the
database and object store the job bodies use. Making the app opens no connection; each worker
process opens its database engine on its first task. A worker that starts first fails the jobs a
dead process of its host left running (`worker_ready`).
"""
from __future__ import annotations

from functools import lru_cache

from celery import Celery
from celery.signals import worker_ready

from ..config import Config
from ..db import make_engine, make_sessionmaker
from .execution import fail_dead_jobs, run_job

TASK_NAME = "dataset_service.run_job"


def make_celery(config: Config) -> Celery:
    """Build a Celery app whose one task runs a job with this config."""
    celery = Celery("dataset_service", broker=config.broker_url, set_as_current=False)
    celery.service_config = config  # for the worker_ready handler below, which gets only the app
    celery.conf.update(
        task_default_queue=config.job_queue,
        task_ignore_result=True,
        # A job's message is acknowledged when it ends, so a worker killed midway leaves it to another.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
    )

    @celery.task(name=TASK_NAME)
    def run_job_task(job_id: int) -> str | None:
        return run_job(job_id, _sessionmaker(config.database_url), config)

    return celery


@worker_ready.connect
def fail_dead_jobs_at_start(sender, **_kwargs) -> None:
    """When a worker of one of our apps is ready: fail the jobs that a dead process of this host left running."""
    config = getattr(sender.app, "service_config", None)
    if config is None:
        return
    # Its own engine, closed after: pool processes forked later must not inherit its connections.
    engine = make_engine(config.database_url)
    try:
        fail_dead_jobs(make_sessionmaker(engine))
    finally:
        engine.dispose()


@lru_cache(maxsize=4)
def _sessionmaker(database_url: str):
    """Return this process's sessionmaker for the database, made on first use (after a fork)."""
    return make_sessionmaker(make_engine(database_url))


app = make_celery(Config.from_env())
