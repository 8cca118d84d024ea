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
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import psutil
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import Dataset, Job, User, utcnow

ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Stage:
    """One step of a job as its progress shows it: the name the job's `stage` reads while the step
    runs, the progress counter of its work done and the one of its work in all (None: not known
    before the step ends, as a listing's length). A step with no counter is one unit of work."""

    name: str
    done: str | None = None
    total: str | None = None

    def within(self, prefix: str, label: str) -> Stage:
        """The step run inside another job, whose counters carry `prefix` and whose name `label`."""
        return Stage(f"{label}: {self.name}", *(prefix + c if c else None for c in (self.done, self.total)))

    def measure(self, progress: dict[str, Any], finished: bool) -> tuple[int, int | None]:
        """Return the work done and in all (None while unknown) from the job's counters."""
        if self.done is None:
            return int(finished), 1
        done = int(progress.get(self.done, 0))
        total = int(progress.get(self.total, 0)) if self.total else None
        return done, (done if total is None and finished else total)


# The steps of each kind of job, in the order they run. A sync's listing step lists the input
# path and compares each page with the stored samples (so its end is known only when it ends);
# its import step reads the sibling XML files the listing found to import.
# A set-current's XML rewrite and autosave publish: their counters' prefix and their steps' label.
XML_STEP, AUTOSAVE_STEP = ("xml_", "XML files"), ("autosave_", "autosave")
ANNOTATION_FILES_STAGES = (Stage("writing", "processed", "total"),)
PUBLISH_STAGES = (Stage("snapshot"), Stage("writing files", "written", "total"), Stage("writing the manifest"))
STAGES: dict[str, tuple[Stage, ...]] = {
    "sync": (Stage("listing", "listed"), Stage("importing", "xml_read", "xml_found"), Stage("reading image sizes", "size_read", "to_size")),
    "annotation-files": ANNOTATION_FILES_STAGES,
    "publish": PUBLISH_STAGES,
    "export": (Stage("writing files", "written", "total"),),
    "version-delete": (Stage("deleting files", "deleted"),),
    # The XML rewrite and an autosave's publish run inside a set-current with their counters renamed.
    "set-current": (Stage("restoring"), *(s.within(*XML_STEP) for s in ANNOTATION_FILES_STAGES),
                    *(s.within(*AUTOSAVE_STEP) for s in PUBLISH_STAGES)),
    # A manifest import: its lines (bytes of the manifest read), the sizes a sync would read, the XML files written.
    "import": (Stage("importing", "read_bytes", "manifest_bytes"), Stage("reading image sizes", "size_read", "to_size"),
               *(s.within(*XML_STEP) for s in ANNOTATION_FILES_STAGES)),
}
SYNC_STAGES = STAGES["sync"]
SYNC_COUNTS = ("added", "updated", "deleted", "unchanged", "annotations_imported", "xml_restored", "errors")
COUNTS = {
    "sync": SYNC_COUNTS,
    "annotation-files": ("written", "deleted", "errors"),
    "publish": ("samples", "labeled", "objects", "files", "errors"),
    "export": ("files", "skipped", "errors"),
    "version-delete": ("versions", "files"),
    # The XML rewrite's counts carry `xml_`; an autosave's publish adds its own with `autosave_`.
    "set-current": ("samples", "objects", "xml_written", "xml_deleted", "errors"),
    "import": ("lines", "added", "updated", "unchanged", "annotations_imported", "xml_written", "errors"),
}


def counters(kind: str) -> dict[str, int]:
    """Return the progress counters a job of this kind reports, at 0."""
    return {c: 0 for stage in STAGES.get(kind, ()) for c in (stage.done, stage.total) if c}


def initial(kind: str) -> tuple[dict[str, int], dict[str, int]]:
    """Return what a new job of a kind shows before its runner reports anything: progress and counts at 0."""
    return counters(kind), dict.fromkeys(COUNTS.get(kind, ()), 0)


def progress_of(job: Job) -> dict[str, Any]:
    """Return the job's progress as the API shows it: every step with its state, work done and in
    all, and the step running now with its figures (none while queued or once ended)."""
    stages = STAGES.get(job.kind, ())
    names = [s.name for s in stages]
    current = names.index(job.stage) if job.stage in names else None
    out = []
    for i, stage in enumerate(stages):
        state = stage_state(job.status, i, current)
        done, total = stage.measure(job.progress or {}, state == "done")
        out.append({"name": stage.name, "state": state, "done": done, "total": total})
    now = out[current] if current is not None and job.status in ACTIVE else None
    return {"stage": now and now["name"], "done": now and now["done"], "total": now and now["total"], "stages": out}


STAGE_STATES = ("waiting", "running", "done", "failed")


def stage_state(status: str, index: int, current: int | None) -> str:
    """Say whether the step at `index` is waiting, running, done or failed, given the one the job is at."""
    if status == "completed":
        return "done"
    if current is None or index > current:
        return "waiting"
    if index < current:
        return "done"
    return "failed" if status == "failed" else "running"


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
    progress, counts = initial(kind)
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
