"""Importing a ModelArts manifest into a dataset, as a job."""
from __future__ import annotations

from flask import current_app

from ..access import Action
from ..auth import current_user
from ..db_session import db
from ..jobs import starting
from ..schemas import ImportCreate, ImportEnvelope
from ..services import datasets, manifest_import
from .blueprint import Blueprint

blp = Blueprint("imports", __name__, description="Importing ModelArts manifests")


@blp.post("/datasets/<int:dataset_id>/import")
@blp.allow(Action.MANAGE)
@blp.arguments(ImportCreate)
@blp.response(202, ImportEnvelope)
def import_manifest(data, dataset_id):
    """Import a ModelArts manifest as a job (the dataset's managers): its `source` images inside the input path
    become samples, its `annotation-loc` XML their objects; a line that cannot be imported is one of
    the job's errors. 409 while the dataset is synchronized or another import runs."""
    dataset, user, service = datasets.get_dataset(db(), dataset_id), current_user(), current_app.config["SERVICE"]
    job, record = starting.start_new(
        current_app, db(), dataset, manifest_import.KIND, user, "A manifest is being imported into this dataset; import again when it has ended.",
        lambda job: manifest_import.create_import(db(), dataset, data["manifest"], user, job, service.store_settings,
                                                  service.allow_file_datasets, service.job_stale_after_s),
    )
    return {"import": record, "job": job}
