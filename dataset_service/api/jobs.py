"""Background jobs of a dataset: start a sync or an XML rewrite, read a job, list a dataset's jobs.

The two reads may write: a job whose runner died is failed when it is read (see `jobs.reading`).
"""
from __future__ import annotations

from flask import current_app

from ..access import Action
from ..auth import current_user
from ..db_session import db
from ..jobs import reading, starting
from ..schemas import JobList, JobOut, PageArgs
from ..services import annotation_files, datasets
from .blueprint import Blueprint

blp = Blueprint("jobs", __name__, description="Background jobs")


def stale_after_s() -> float:
    """Return how long a running job may go without a heartbeat before it counts as dead."""
    return current_app.config["SERVICE"].job_stale_after_s


@blp.post("/datasets/<int:dataset_id>/sync")
@blp.allow(Action.MANAGE)
@blp.response(202, JobOut)
def sync_dataset(dataset_id):
    """Synchronize the dataset with its input path, as a job; while one runs, return that one (the
    answer is the job, as `GET /jobs/{id}` gives it)."""
    dataset = datasets.get_dataset(db(), dataset_id)
    return starting.start(current_app, db(), dataset, "sync", current_user())


@blp.post("/datasets/<int:dataset_id>/annotation-files")
@blp.allow(Action.MANAGE)
@blp.response(202, JobOut)
def rewrite_annotation_files(dataset_id):
    """Rewrite the sibling XML files marked stale (after a label was renamed, recoloured or
    deleted), as a job; this runs by itself after such a change, and can be started again."""
    dataset = datasets.get_dataset(db(), dataset_id)
    return starting.start(current_app, db(), dataset, annotation_files.KIND, current_user())


@blp.get("/jobs/<int:job_id>")
@blp.allow(Action.VIEW)
@blp.response(200, JobOut)
def get_job(job_id):
    """Return a job's status, progress and counts (a job whose runner died reads failed)."""
    return reading.read_job(db(), job_id, stale_after_s())


@blp.get("/datasets/<int:dataset_id>/jobs")
@blp.allow(Action.VIEW)
@blp.arguments(PageArgs, location="query")
@blp.response(200, JobList)
def list_jobs(args, dataset_id):
    """List a dataset's jobs, newest first (those whose runner died read failed)."""
    dataset = datasets.get_dataset(db(), dataset_id)
    total, items = reading.read_jobs(db(), dataset, args["limit"], args["offset"], stale_after_s())
    return {"total": total, "items": items}
