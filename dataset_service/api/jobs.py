"""Background jobs of a dataset: start a sync or an XML rewrite, read a job, list a dataset's jobs."""
from __future__ import annotations

import logging

from flask import current_app
from flask_smorest import Blueprint

from ..auth import admin_required, current_user
from ..db_session import commit, db
from ..errors import Unavailable
from ..jobs.runners import QueueUnavailable, runner
from ..schemas import JobEnvelope, JobList, JobOut, PageArgs
from ..services import annotation_files, datasets, jobs

log = logging.getLogger(__name__)
blp = Blueprint("jobs", __name__, description="Background jobs")


def stale_after_s() -> float:
    return current_app.config["SERVICE"].job_stale_after_s


@blp.post("/datasets/<int:dataset_id>/sync")
@admin_required
@blp.response(202, JobEnvelope)
def sync_dataset(dataset_id):
    """Synchronize the dataset with its input path, as a job; while one runs, return that one."""
    return {"job": start(datasets.get_dataset(db(), dataset_id), "sync", "The sync")}


@blp.post("/datasets/<int:dataset_id>/annotation-files")
@admin_required
@blp.response(202, JobEnvelope)
def rewrite_annotation_files(dataset_id):
    """Rewrite the sibling XML files marked stale (after a label was renamed, recoloured or
    deleted), as a job; this runs by itself after such a change, and can be started again."""
    return {"job": start(datasets.get_dataset(db(), dataset_id), annotation_files.KIND, "The XML rewrite")}


def start(dataset, kind: str, what: str):
    """Queue a job of this kind for the dataset (or return the active one) and hand it over."""
    job, created = jobs.start_job(db(), dataset, kind, current_user(), stale_after_s())
    commit()
    if created:
        try:
            runner(current_app).submit(job.id)
        except QueueUnavailable as exc:
            jobs.fail_job(db(), job, str(exc))
            commit()
            raise Unavailable(f"{what} could not be started: {exc}.") from None
    return job


def rewrite_stale_files(dataset) -> None:
    """After a committed label change: start rewriting the XML files it made stale.

    The change itself stands either way; when the queue is down the marks stay, and
    `POST /datasets/{id}/annotation-files` (or the next label change) starts the rewrite later.
    """
    try:
        start(dataset, annotation_files.KIND, "The XML rewrite")
    except Unavailable as exc:
        log.warning("dataset %s: %s", dataset.id, exc.message)


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
