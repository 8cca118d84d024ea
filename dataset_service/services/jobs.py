"""Jobs: reading their state."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import Job


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
