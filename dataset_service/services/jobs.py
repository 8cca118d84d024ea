"""Jobs: starting one per dataset and kind at a time, reading their state, and noticing dead ones.

A job is `queued` until a runner claims it, then `running` with a heartbeat, then `completed` or
`failed`. A running job whose heartbeat stopped (its process was killed) is stale: it is failed
with the reason when someone looks at it or asks for the same job again; a runner that is handed
it again (a Celery task delivered a second time) may claim it and run it from the start.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import Dataset, Job, User, utcnow

ACTIVE = ("queued", "running")
# What a sync job reports: its progress counters and its counts.
SYNC_PROGRESS = ("listed", "processed", "sized")
SYNC_COUNTS = ("added", "updated", "deleted", "unchanged", "annotations_imported", "errors")
# What a new job of a kind shows before its runner reports anything.
INITIAL = {
    "sync": (dict.fromkeys(SYNC_PROGRESS, 0), dict.fromkeys(SYNC_COUNTS, 0)),
    "annotation-files": ({"total": 0, "processed": 0}, {"written": 0, "deleted": 0, "errors": 0}),
}
# A queued job waits for a free worker; only a queue that never delivers it makes it stale.
QUEUED_TIMEOUT_S = 3600.0


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
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # another request queued one between our read and our insert
        return active_job(session, dataset.id, kind), False
    return job, True


def stale_reason(job: Job, stale_after_s: float, now: datetime | None = None) -> str | None:
    """Say why an active job is dead, or return None while it may still be alive."""
    now = now or utcnow()
    if job.status == "running":
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


def claim_job(session: Session, job_id: int, stale_after_s: float) -> bool:
    """Take a queued job (or a running one whose runner died) for this runner; flush."""
    now = utcnow()
    stale_before = now - timedelta(seconds=stale_after_s)
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, or_(Job.status == "queued", (Job.status == "running") & (Job.heartbeat_at < stale_before)))
        .values(status="running", started_at=now, heartbeat_at=now, finished_at=None, error=None, stage=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
