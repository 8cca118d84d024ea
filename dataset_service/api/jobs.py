"""Background jobs of a dataset: start a sync, read a job, list a dataset's jobs."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from ..auth import admin_required, current_user
from ..db_session import commit, db
from ..errors import Unavailable
from ..jobs.runners import QueueUnavailable, runner
from ..schemas import JobEnvelope, JobList, JobOut, PageArgs
from ..services import datasets, jobs

blp = Blueprint("jobs", __name__, description="Background jobs")


def stale_after_s() -> float:
    return current_app.config["SERVICE"].job_stale_after_s


@blp.post("/datasets/<int:dataset_id>/sync")
@admin_required
@blp.response(202, JobEnvelope)
def sync_dataset(dataset_id):
    """Synchronize the dataset with its input path, as a job; while one runs, return that one."""
    dataset = datasets.get_dataset(db(), dataset_id)
    job, created = jobs.start_job(db(), dataset, "sync", current_user(), stale_after_s())
    commit()
    if created:
        try:
            runner(current_app).submit(job.id)
        except QueueUnavailable as exc:
            jobs.fail_job(db(), job, str(exc))
            commit()
            raise Unavailable(f"The sync could not be started: {exc}.") from None
    return {"job": job}


@blp.get("/jobs/<int:job_id>")
@blp.response(200, JobOut)
def get_job(job_id):
    """Return a job's status, progress and counts."""
    job = jobs.get_job(db(), job_id)
    if jobs.fail_if_stale(db(), job, stale_after_s()):
        commit()
    return job


@blp.get("/datasets/<int:dataset_id>/jobs")
@blp.arguments(PageArgs, location="query")
@blp.response(200, JobList)
def list_jobs(args, dataset_id):
    """List a dataset's jobs, newest first."""
    datasets.get_dataset(db(), dataset_id)
    total, items = jobs.list_jobs(db(), dataset_id, args["limit"], args["offset"])
    if any([jobs.fail_if_stale(db(), job, stale_after_s()) for job in items]):
        commit()
    return {"total": total, "items": items}
