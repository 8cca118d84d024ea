"""Background jobs of a dataset."""
from __future__ import annotations

from flask_smorest import Blueprint

from ..db_session import db
from ..schemas import JobList, JobOut, PageArgs
from ..services import datasets, jobs

blp = Blueprint("jobs", __name__, description="Background jobs")


@blp.get("/jobs/<int:job_id>")
@blp.response(200, JobOut)
def get_job(job_id):
    """Return a job's status, progress and counts."""
    return jobs.get_job(db(), job_id)


@blp.get("/datasets/<int:dataset_id>/jobs")
@blp.arguments(PageArgs, location="query")
@blp.response(200, JobList)
def list_jobs(args, dataset_id):
    """List a dataset's jobs, newest first."""
    datasets.get_dataset(db(), dataset_id)
    total, items = jobs.list_jobs(db(), dataset_id, args["limit"], args["offset"])
    return {"total": total, "items": items}
