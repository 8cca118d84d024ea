"""Versions of a dataset: publish, list, read, delete, and export one.

Publishing, deleting and exporting run as jobs; the answer (202) carries the job. Reads may
write: a version whose publish job died reads `failed` (see `versions.settle`).
"""
from __future__ import annotations

from flask import current_app

from ..auth import current_user
from ..db_session import commit, db
from ..jobs import starting
from ..schemas import ExportCreate, ExportEnvelope, PageArgs, VersionCreate, VersionEnvelope, VersionList, VersionOut
from ..services import datasets, exports, publish, versions
from .blueprint import Blueprint

blp = Blueprint("versions", __name__, description="Dataset versions and their exports")


def stale_after_s() -> float:
    return current_app.config["SERVICE"].job_stale_after_s


@blp.post("/datasets/<int:dataset_id>/versions")
@blp.admin_only
@blp.arguments(VersionCreate)
@blp.response(202, VersionEnvelope)
def publish_version(data, dataset_id):
    """Publish the working state as a new version, as a job (admins only); 409 while another publish runs."""
    dataset, user = datasets.get_dataset(db(), dataset_id), current_user()
    job, version = starting.start_new(
        current_app, db(), dataset, publish.KIND, user, "A version of this dataset is being published; publish again when it has ended.",
        lambda job: versions.create_version(db(), dataset, data, user, job),
    )
    return {"version": version, "job": job}


@blp.get("/datasets/<int:dataset_id>/versions")
@blp.arguments(PageArgs, location="query")
@blp.response(200, VersionList)
def list_versions(args, dataset_id):
    """List a dataset's versions, newest first."""
    dataset = datasets.get_dataset(db(), dataset_id)
    total, items = versions.list_versions(db(), dataset.id, args["limit"], args["offset"])
    if versions.settle(db(), items, stale_after_s()):
        commit()
    return {"total": total, "items": items}


@blp.get("/datasets/<int:dataset_id>/versions/<int:version_id>")
@blp.response(200, VersionOut)
def get_version(dataset_id, version_id):
    """Return a version with its counts."""
    version = versions.get_version(db(), datasets.get_dataset(db(), dataset_id), version_id)
    if versions.settle(db(), [version], stale_after_s()):
        commit()
    return version


@blp.delete("/datasets/<int:dataset_id>/versions/<int:version_id>")
@blp.admin_only
@blp.response(202, VersionEnvelope)
def delete_version(dataset_id, version_id):
    """Delete a version's files and records, as a job (admins only); images and the working state stay."""
    dataset = datasets.get_dataset(db(), dataset_id)
    version = versions.get_version(db(), dataset, version_id)
    versions.settle(db(), [version], stale_after_s())
    job, _ = starting.start_new(
        current_app, db(), dataset, versions.DELETE_KIND, current_user(),
        "Versions of this dataset are being deleted; delete this one when that job has ended.",
        lambda job: versions.mark_deleting(db(), version),
    )
    return {"version": version, "job": job}


@blp.post("/datasets/<int:dataset_id>/versions/<int:version_id>/exports")
@blp.admin_only
@blp.arguments(ExportCreate)
@blp.response(202, ExportEnvelope)
def export_version(data, dataset_id, version_id):
    """Export a finished version as PASCAL VOC, COCO or its manifest, as a job writing under the version's folder."""
    dataset, user = datasets.get_dataset(db(), dataset_id), current_user()
    version = versions.get_version(db(), dataset, version_id)
    job, export = starting.start_new(
        current_app, db(), dataset, exports.KIND, user, "An export of this dataset is running; export again when it has ended.",
        lambda job: exports.create_export(db(), version, data["format"], user, job),
    )
    return {"export": export, "job": job}
