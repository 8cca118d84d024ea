"""Jobs: starting one per dataset and kind at a time, reading their state, and noticing dead ones.

A job is `queued` until a runner claims it, then `running` with a heartbeat, then `completed` or
`failed`. A running job whose heartbeat stopped (its process was killed) is stale: it is failed
with the reason when someone looks at it or asks for the same job again; a runner that is handed
it again (a Celery task delivered a second time) may claim it and run it from the start.

A claim records the runner, "<host>:<pid>:<process start time>". On that host a job whose process
is gone is dead at once, without waiting for the heartbeat's deadline: when it is read, when its
job is asked for again, and when a runner starts there (`fail_dead_local`). Other hosts cannot see
the process and keep the heartbeat rule.
"""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from functools import cache

import psutil
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import Dataset, Job, User, utcnow

ACTIVE = ("queued", "running")
# What a sync job reports: its progress counters and its counts.
SYNC_PROGRESS = ("listed", "processed", "sized")
SYNC_COUNTS = ("added", "updated", "deleted", "unchanged", "annotations_imported", "xml_restored", "errors")
# What a new job of a kind shows before its runner reports anything.
INITIAL = {
    "sync": (dict.fromkeys(SYNC_PROGRESS, 0), dict.fromkeys(SYNC_COUNTS, 0)),
    "annotation-files": ({"total": 0, "processed": 0}, {"written": 0, "deleted": 0, "errors": 0}),
    "publish": ({"total": 0, "written": 0}, {"samples": 0, "labeled": 0, "objects": 0, "files": 0, "errors": 0}),
    "export": ({"total": 0, "written": 0}, {"files": 0, "skipped": 0, "errors": 0}),
    "version-delete": ({}, {"versions": 0, "files": 0}),
    # The XML rewrite's counters carry `xml_`; an autosave's publish adds its own with `autosave_`.
    "set-current": ({"xml_total": 0, "xml_processed": 0}, {"samples": 0, "objects": 0, "xml_written": 0, "xml_deleted": 0, "errors": 0}),
}
# A queued job waits for a free worker; only a queue that never delivers it makes it stale.
QUEUED_TIMEOUT_S = 3600.0
# Process start times are read in ticks (1/100 s) and written rounded; within this they are the same process.
START_TIME_SLACK_S = 1.0


def get_job(session: Session, job_id: int) -> Job:
    """Return a job or raise NotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    return job


def list_jobs(session: Session, dataset_id: int, limit: int, offset: int) -> tuple[int, list[Job]]:
    """Return a dataset's jobs, newest first."""
    total = session.scalar(select(func.count(Job.id)).where(Job.dataset_id == dataset_id)) or 0
    rows = session.scalars(select(Job).where(Job.dataset_id == dataset_id).order_by(Job.id.desc()).limit(limit).offset(offset))
    return total, list(rows)


def active_job(session: Session, dataset_id: int, kind: str) -> Job | None:
    """Return the dataset's queued or running job of this kind, if any."""
    return session.scalar(select(Job).where(Job.dataset_id == dataset_id, Job.kind == kind, Job.status.in_(ACTIVE)))


def start_job(session: Session, dataset: Dataset, kind: str, user: User | None, stale_after_s: float) -> tuple[Job, bool]:
    """Queue a job unless one of the kind is active for the dataset; return it and whether it is new."""
    current = active_job(session, dataset.id, kind)
    if current is not None and not fail_if_stale(session, current, stale_after_s):
        return current, False
    progress, counts = INITIAL.get(kind, ({}, {}))
    job = Job(kind=kind, dataset_id=dataset.id, status="queued", created_by_id=user.id if user else None,
              progress=dict(progress), counts=dict(counts), errors=[])
    begin_sqlite(session)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # another request queued one between our read and our insert
        return active_job(session, dataset.id, kind), False
    return job, True


def begin_sqlite(session: Session) -> None:
    """Open SQLite's transaction before a savepoint. pysqlite begins one only before a data change:
    a SAVEPOINT coming first would be a transaction of its own, and releasing it would commit what
    it holds (a job the request then refuses would stay queued)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


def stale_reason(job: Job, stale_after_s: float, now: datetime | None = None) -> str | None:
    """Say why an active job is dead, or return None while it may still be alive."""
    now = now or utcnow()
    if job.status == "running":
        if runner_ended(job.runner):
            return runner_ended_reason(job.runner)
        last = job.heartbeat_at or job.started_at or job.created_at
        if now - last > timedelta(seconds=stale_after_s):
            return f"the worker running this job stopped (no heartbeat since {last.isoformat(timespec='seconds')})"
    elif job.status == "queued" and now - job.created_at > timedelta(seconds=max(stale_after_s, QUEUED_TIMEOUT_S)):
        return f"no worker picked this job up (queued since {job.created_at.isoformat(timespec='seconds')})"
    return None


def fail_if_stale(session: Session, job: Job, stale_after_s: float) -> bool:
    """Fail a dead job with the reason; return whether it was dead. The caller commits."""
    reason = stale_reason(job, stale_after_s) if job.status in ACTIVE else None
    if reason is None:
        return False
    fail_job(session, job, reason)
    return True


def fail_job(session: Session, job: Job, reason: str) -> None:
    """Mark an active job failed with a reason; flush."""
    session.execute(
        update(Job).where(Job.id == job.id, Job.status.in_(ACTIVE))
        .values(status="failed", error=reason, finished_at=utcnow(), stage=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(job)


def claim_job(session: Session, job_id: int, stale_after_s: float, runner: str | None = None) -> bool:
    """Take a queued job (or a running one whose runner died) for `runner` (default: this process); flush."""
    now = utcnow()
    stale_before = now - timedelta(seconds=stale_after_s)
    claimable = or_(Job.status == "queued", (Job.status == "running") & (Job.heartbeat_at < stale_before))
    previous = session.scalar(select(Job.runner).where(Job.id == job_id, Job.status == "running"))
    if runner_ended(previous):  # e.g. Celery delivers it again after its pool process here was killed
        claimable = or_(claimable, (Job.status == "running") & (Job.runner == previous))
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, claimable)
        .values(status="running", started_at=now, heartbeat_at=now, finished_at=None, error=None, stage=None,
                runner=runner or this_runner())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def fail_dead_local(session: Session) -> list[Job]:
    """Fail the running jobs whose runner was a process of this host that has ended; flush. The caller commits."""
    running = session.scalars(select(Job).where(Job.status == "running", Job.runner.startswith(f"{this_host()}:", autoescape=True)))
    dead = [job for job in running if runner_ended(job.runner)]
    for job in dead:
        fail_job(session, job, runner_ended_reason(job.runner))
    return dead


def this_runner() -> str:
    """Return this process's runner id, "<host>:<pid>:<start time>" (computed each time: a fork changes it)."""
    process = psutil.Process()
    return f"{this_host()}:{process.pid}:{process.create_time():.2f}"


@cache
def this_host() -> str:
    """Name the pid space of this process: the host name and, on Linux, the pid namespace.

    Containers can share a host name (pods on the host's network) but not their processes; the
    namespace keeps one from judging the other's pids."""
    try:
        return f"{socket.gethostname()}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return socket.gethostname()


def runner_ended(runner: str | None) -> bool:
    """Tell whether a runner id names a process of this host that is gone (False for another host's)."""
    parsed = _parse_runner(runner)
    if parsed is None or parsed[0] != this_host():
        return False
    _, pid, started = parsed
    try:
        process = psutil.Process(pid)
        # The same pid with another start time is a new process that reused the number.
        return abs(process.create_time() - started) > START_TIME_SLACK_S or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # e.g. not allowed to look: it exists
        return False


def runner_ended_reason(runner: str) -> str:
    """Say that a job's process ended, naming the process."""
    host, pid, _ = _parse_runner(runner)
    return f"the worker running this job stopped (its process {pid} on {host.split('/')[0]} has ended)"


def _parse_runner(runner: str | None) -> tuple[str, int, float] | None:
    """Split a runner id into host, pid and start time; None when it is not one."""
    host, _, rest = (runner or "").partition(":")
    pid, _, started = rest.partition(":")
    try:
        return (host, int(pid), float(started)) if host else None
    except ValueError:
        return None
