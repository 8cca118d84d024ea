"""Where jobs run: a thread of this process (embedded default) or a Celery worker (broker set)."""
from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from ..config import Config
from .execution import fail_dead_jobs, run_job

log = logging.getLogger(__name__)

THREAD_JOBS = 2  # jobs one embedded process runs at once; more wait as queued


class QueueUnavailable(Exception):
    """The job could not be handed to the queue."""


class Runner(Protocol):
    def submit(self, job_id: int) -> None:
        """Hand over a committed, queued job."""


class ThreadRunner:
    """Run each job in a daemon thread of this process, a few at a time."""

    def __init__(self, make_session: sessionmaker[Session], config: Config, slots: int = THREAD_JOBS):
        self.make_session, self.config = make_session, config
        self._slots = threading.BoundedSemaphore(slots)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def submit(self, job_id: int) -> None:
        thread = threading.Thread(target=self._run, args=(job_id,), name=f"job-{job_id}", daemon=True)
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()} | {thread}
        thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted job has ended (e.g. before shutting down); return whether they did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def _run(self, job_id: int) -> None:
        with self._slots:
            try:
                run_job(job_id, self.make_session, self.config)
            except Exception:  # the thread has no caller to tell; a stale job gets failed later
                log.exception("job %s: runner failed", job_id)


class CeleryRunner:
    """Send each job to the Celery workers through the broker."""

    def __init__(self, config: Config):
        from .celery_app import make_celery

        self.celery = make_celery(config)
        self.queue = config.job_queue

    def submit(self, job_id: int) -> None:
        from .celery_app import TASK_NAME

        try:
            self.celery.send_task(TASK_NAME, args=[job_id], queue=self.queue, retry=True,
                                  retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})
        except Exception as exc:  # kombu raises several kinds when the broker is down
            raise QueueUnavailable(f"the job queue is unreachable: {exc.__class__.__name__}: {exc}") from exc


def make_runner(config: Config, make_session: sessionmaker[Session]) -> Runner:
    """Return Celery when a broker is configured, else in-process threads (first failing what a dead process here left running)."""
    if config.broker_url:
        return CeleryRunner(config)
    fail_dead_jobs(make_session)
    return ThreadRunner(make_session, config)


def runner(app: Flask) -> Runner:
    """Return the app's runner, made on first use."""
    if "job_runner" not in app.extensions:
        app.extensions["job_runner"] = make_runner(app.config["SERVICE"], app.extensions["db_sessionmaker"])
    return app.extensions["job_runner"]
