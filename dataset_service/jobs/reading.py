"""Reading jobs for a request; a job whose runner died is recorded failed by whoever reads it first.

A GET writes here on purpose: a runner that was killed never reports again, so its job would
read `running` (or `queued`) forever; the first reader past the heartbeat's deadline fails it
with the reason and commits that, once per request.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import Dataset, Job
from ..services import jobs


def read_job(session: Session, job_id: int, stale_after_s: float) -> Job:
    """Return a job, failed first (and committed) if its runner died."""
    job = jobs.get_job(session, job_id)
    _fail_dead(session, [job], stale_after_s)
    return job


def read_jobs(session: Session, dataset: Dataset, limit: int, offset: int, stale_after_s: float) -> tuple[int, list[Job]]:
    """Return the total and a page of a dataset's jobs, newest first, the dead ones failed (and committed)."""
    total, items = jobs.list_jobs(session, dataset.id, limit, offset)
    _fail_dead(session, items, stale_after_s)
    return total, items


def _fail_dead(session: Session, items: list[Job], stale_after_s: float) -> None:
    """Fail the jobs whose runner died; commit when there were any."""
    failed = [jobs.fail_if_stale(session, job, stale_after_s) for job in items]  # every one, not up to the first
    if any(failed):
        session.commit()
