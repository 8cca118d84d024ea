"""Versions of a dataset: publish, list, read, delete, set as current, compare, and export one
(and download an export as a zip).

Publishing, deleting, setting current and exporting run as jobs; the answer (202) carries the job.
Reads may write: a version whose publish job died reads `failed` (see `versions.settle`).
"""
from __future__ import annotations

from http import HTTPStatus

from flask import Response, current_app

from ..access import Action
from ..auth import current_user
from ..db_session import commit, db
from ..jobs import starting
from ..schemas import (
    DiffArgs,
    DiffOut,
    ExportCreate,
    ExportEnvelope,
    ExportList,
    PageArgs,
    VersionCreate,
    VersionEnvelope,
    VersionList,
    VersionOut,
)
from ..services import datasets, export_archive, exports, publish, restore, version_diff, versions
from .blueprint import Blueprint

blp = Blueprint("versions", __name__, description="Dataset versions and their exports")


def stale_after_s() -> float:
    return current_app.config["SERVICE"].job_stale_after_s


@blp.post("/datasets/<int:dataset_id>/versions")
@blp.allow(Action.MANAGE)
@blp.arguments(VersionCreate)
@blp.response(202, VersionEnvelope)
def publish_version(data, dataset_id):
    """Publish the working state as a new version, as a job (owners); 409 while another publish runs."""
    dataset, user = datasets.get_dataset(db(), dataset_id), current_user()
    job, version = starting.start_new(
        current_app, db(), dataset, publish.KIND, user, "A version of this dataset is being published; publish again when it has ended.",
        lambda job: versions.create_version(db(), dataset, data, user, job, stale_after_s()),
    )
    return {"version": version, "job": job}


@blp.get("/datasets/<int:dataset_id>/versions")
@blp.allow(Action.VIEW)
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
@blp.allow(Action.VIEW)
@blp.response(200, VersionOut)
def get_version(dataset_id, version_id):
    """Return a version with its counts."""
    version = versions.get_version(db(), datasets.get_dataset(db(), dataset_id), version_id)
    if versions.settle(db(), [version], stale_after_s()):
        commit()
    return version


@blp.delete("/datasets/<int:dataset_id>/versions/<int:version_id>")
@blp.allow(Action.MANAGE)
@blp.response(202, VersionEnvelope)
def delete_version(dataset_id, version_id):
    """Delete a version's files and records, as a job (owners); images and the working state stay."""
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
@blp.allow(Action.MANAGE)
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


@blp.get("/datasets/<int:dataset_id>/versions/<int:version_id>/exports")
@blp.allow(Action.VIEW)
@blp.arguments(PageArgs, location="query")
@blp.response(200, ExportList)
def list_exports(args, dataset_id, version_id):
    """List a version's exports, newest first, with their jobs' state."""
    version = versions.get_version(db(), datasets.get_dataset(db(), dataset_id), version_id)
    total, items = export_archive.list_exports(db(), version, args["limit"], args["offset"])
    return {"total": total, "items": items}


@blp.get("/datasets/<int:dataset_id>/versions/<int:version_id>/exports/<int:export_id>/download")
@blp.allow(Action.VIEW)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/zip")
@blp.alt_response(HTTPStatus.CONFLICT, response=HTTPStatus.CONFLICT.name)
def download_export(dataset_id, version_id, export_id):
    """Download a completed export's files as one zip, streamed as it is read from the store."""
    version = versions.get_version(db(), datasets.get_dataset(db(), dataset_id), version_id)
    archive = export_archive.open_archive(db(), version, export_id, current_app.config["SERVICE"].store_settings)
    headers = {"Content-Disposition": f'attachment; filename="{archive.filename}"'}
    return Response(archive.chunks, mimetype="application/zip", headers=headers)


@blp.put("/datasets/<int:dataset_id>/versions/<int:version_id>/current")
@blp.allow(Action.MANAGE)
@blp.response(202, VersionEnvelope)
def set_current(dataset_id, version_id):
    """Make the working state this version's, as a job (owners): labels, objects with their
    authors, and the sibling XML files. Working changes no version holds are first published as
    `Vnnn-autosave`, so setting that one current undoes this."""
    dataset, user = datasets.get_dataset(db(), dataset_id), current_user()
    version = versions.get_version(db(), dataset, version_id)
    job, _ = starting.start_new(
        current_app, db(), dataset, restore.KIND, user, "A version of this dataset is being set as current; try again when that job has ended.",
        lambda job: restore.request_current(db(), dataset, version, job, stale_after_s()),
    )
    return {"version": version, "job": job}


@blp.get("/datasets/<int:dataset_id>/versions/<int:version_id>/diff")
@blp.allow(Action.VIEW)
@blp.arguments(DiffArgs, location="query")
@blp.response(200, DiffOut)
@blp.alt_response(HTTPStatus.CONFLICT, response=HTTPStatus.CONFLICT.name)
def diff_versions(args, dataset_id, version_id):
    """Compare a version with another (`to` its id) or with the working state (`to=working`):
    counts of samples added, deleted and changed, and a page of them with their objects' changes."""
    dataset = datasets.get_dataset(db(), dataset_id)
    source = versions.get_comparable(db(), dataset, version_id)
    target = None if args["to"] == version_diff.WORKING else versions.get_comparable(db(), dataset, int(args["to"]))
    return version_diff.diff(db(), dataset.id, source, target, args["change"], args["limit"], args["offset"])
