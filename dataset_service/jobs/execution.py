"""Running one job: claim it, keep its heartbeat and progress fresh, record how it ended."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageError

from ..config import Config
from ..models import Job, utcnow
from ..services import annotation_files, exports, manifest_import, publish, restore, versions
from ..services.jobs import claim_job, fail_dead_local, initial
from ..services.sync import run_sync

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
MAX_ERRORS = 100


class JobLost(Exception):
    """The job is no longer ours: it was failed as stale while this runner was still at it."""


@dataclass
class JobContext:
    """What a job's body reports into; the heartbeat thread stores it every second."""

    job_id: int
    dataset_id: int
    stage: str | None = None
    progress: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    lost: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, n: int = 1) -> None:
        """Add to a count (from any of the job's threads)."""
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def advance(self, name: str, n: int = 1) -> None:
        """Add to a progress counter."""
        with self.lock:
            self.progress[name] = self.progress.get(name, 0) + n

    def error(self, key: str, reason: str) -> None:
        """Record a per-object problem; the job goes on. Only the first 100 are kept."""
        with self.lock:
            self.counts["errors"] = self.counts.get("errors", 0) + 1
            if len(self.errors) < MAX_ERRORS:
                self.errors.append({"key": key, "reason": reason})

    def check(self) -> None:
        """Stop the body when the job was taken away from this runner."""
        if self.lost:
            raise JobLost(f"job {self.job_id} was failed by someone else while running")

    def snapshot(self) -> dict[str, Any]:
        """Return the values to store, copied so the body can go on changing them."""
        with self.lock:
            return {"stage": self.stage, "progress": dict(self.progress), "counts": dict(self.counts), "errors": list(self.errors)}


class Heartbeat:
    """A thread that stores the job's heartbeat and progress, each time in its own short transaction."""

    def __init__(self, make_session: sessionmaker[Session], context: JobContext, interval_s: float = HEARTBEAT_S):
        self.make_session, self.context, self.interval_s = make_session, context, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{context.job_id}-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except Exception:  # a database hiccup must not kill the heartbeat; the next beat retries
                log.warning("job %s: heartbeat failed", self.context.job_id, exc_info=True)

    def beat(self) -> None:
        """Store the progress; notice when the job is no longer running for us."""
        with self.make_session.begin() as session:
            result = session.execute(
                update(Job).where(Job.id == self.context.job_id, Job.status == "running")
                .values(heartbeat_at=utcnow(), **self.context.snapshot())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 0:
                self.context.lost = True


Body = Callable[[JobContext, sessionmaker[Session], Config], None]


def bodies() -> dict[str, Body]:
    """Return the job bodies by kind."""
    return {
        "sync": run_sync, annotation_files.KIND: annotation_files.run_rewrite,
        publish.KIND: publish.run_publish, exports.KIND: exports.run_export, versions.DELETE_KIND: versions.run_delete,
        restore.KIND: restore.run_set_current, manifest_import.KIND: manifest_import.run_import,
    }


def fail_dead_jobs(make_session: sessionmaker[Session]) -> None:
    """Fail, and commit, the jobs that a process of this host left running when it died (a runner starting here calls it)."""
    try:
        with make_session.begin() as session:
            dead = fail_dead_local(session)
    except Exception:  # the runner starts anyway: reads and the heartbeat's deadline still fail them later
        log.exception("could not fail the jobs of dead runners")
        return
    for job in dead:
        log.warning("job %s failed at start-up: %s", job.id, job.error)


def run_job(job_id: int, make_session: sessionmaker[Session], config: Config) -> str | None:
    """Run a queued job to its end; return its final status, or None when it was not ours to run."""
    with make_session.begin() as session:
        if not claim_job(session, job_id, config.job_stale_after_s):
            log.info("job %s: not claimable (already running elsewhere or finished)", job_id)
            return None
        job = session.get(Job, job_id)
        progress, counts = initial(job.kind)  # every count shows, even when it stays 0
        context = JobContext(job_id, job.dataset_id, progress=dict(progress), counts=dict(counts))
        body = bodies()[job.kind]
    with Heartbeat(make_session, context):
        status, reason = _run_body(body, context, make_session, config)
    if status is not None:
        _finish(make_session, context, status, reason)
    return status


def _run_body(body: Body, context: JobContext, make_session, config: Config) -> tuple[str | None, str | None]:
    """Run the body; turn its outcome into a status and a reason."""
    try:
        body(context, make_session, config)
    except JobLost:
        return None, None
    except StorageError as exc:
        log.warning("job %s failed: %s", context.job_id, exc)
        return "failed", f"object store: {exc}"
    except Exception as exc:  # noqa: BLE001 - any failure ends the job as failed, with the reason
        log.exception("job %s failed", context.job_id)
        return "failed", f"{exc.__class__.__name__}: {exc}"
    return "completed", None


def _finish(make_session: sessionmaker[Session], context: JobContext, status: str, reason: str | None) -> None:
    """Store the outcome with the final progress and counts."""
    values = context.snapshot()
    if status == "completed":
        values["stage"] = None
    with make_session.begin() as session:
        session.execute(
            update(Job).where(Job.id == context.job_id, Job.status == "running")
            .values(status=status, error=reason, finished_at=utcnow(), heartbeat_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
