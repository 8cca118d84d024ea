"""Datasets and their labels."""
from __future__ import annotations

from flask import current_app

from ..access import Action, visible_datasets
from ..auth import current_user
from ..db_session import commit, db
from ..jobs import starting
from ..schemas import DatasetCreate, DatasetList, DatasetOut, DatasetUpdate, LabelDeleteArgs, LabelIn, LabelOut, LabelUpdate, PageArgs
from ..services import datasets, labels
from .blueprint import Blueprint

blp = Blueprint("datasets", __name__, description="Datasets and labels")


def _with_counts(dataset):
    dataset.counts = datasets.dataset_counts(db(), dataset)
    return dataset


@blp.get("/datasets")
@blp.arguments(PageArgs, location="query")
@blp.response(200, DatasetList)
def list_datasets(args):
    """List the datasets the caller belongs to (admins: all), newest first."""
    total, items = datasets.list_datasets(db(), args["limit"], args["offset"], visible_datasets(current_user()))
    return {"total": total, "items": items}


@blp.post("/datasets")
@blp.admin_only
@blp.arguments(DatasetCreate)
@blp.response(201, DatasetOut)
def create_dataset(data):
    """Create a dataset (admins only)."""
    dataset = datasets.create_dataset(db(), data, current_user(), current_app.config["SERVICE"].allow_file_datasets)
    commit()
    return _with_counts(dataset)


@blp.get("/datasets/<int:dataset_id>")
@blp.allow(Action.VIEW)
@blp.response(200, DatasetOut)
def get_dataset(dataset_id):
    """Return a dataset with its sample counts."""
    return _with_counts(datasets.get_dataset(db(), dataset_id))


@blp.patch("/datasets/<int:dataset_id>")
@blp.allow(Action.MANAGE)
@blp.arguments(DatasetUpdate)
@blp.response(200, DatasetOut)
def update_dataset(data, dataset_id):
    """Change a dataset (owners)."""
    allow_files = current_app.config["SERVICE"].allow_file_datasets
    dataset = datasets.update_dataset(db(), datasets.get_dataset(db(), dataset_id), data, allow_files)
    commit()
    return _with_counts(dataset)


@blp.delete("/datasets/<int:dataset_id>")
@blp.allow(Action.DELETE)
@blp.response(204)
def delete_dataset(dataset_id):
    """Delete a dataset's records; objects in the store stay (owners)."""
    datasets.delete_dataset(db(), datasets.get_dataset(db(), dataset_id))
    commit()


@blp.post("/datasets/<int:dataset_id>/labels")
@blp.allow(Action.LABEL)
@blp.arguments(LabelIn)
@blp.response(201, LabelOut)
def add_label(data, dataset_id):
    """Add a label."""
    label = labels.add_label(db(), datasets.get_dataset(db(), dataset_id), data["name"], data.get("color"))
    commit()
    return label


@blp.patch("/datasets/<int:dataset_id>/labels/<int:label_id>")
@blp.allow(Action.MANAGE)
@blp.arguments(LabelUpdate)
@blp.response(200, LabelOut)
def update_label(data, dataset_id, label_id):
    """Rename or recolour a label; the XML files of the samples carrying it are rewritten by a job."""
    dataset = datasets.get_dataset(db(), dataset_id)
    label = labels.get_label(db(), dataset, label_id)
    stale = labels.update_label(db(), label, data.get("name"), data.get("color"))
    commit()
    if stale:
        starting.rewrite_stale_files(current_app, db(), dataset, current_user())
    return label


@blp.delete("/datasets/<int:dataset_id>/labels/<int:label_id>")
@blp.allow(Action.DELETE)
@blp.arguments(LabelDeleteArgs, location="query")
@blp.response(204)
def delete_label(args, dataset_id, label_id):
    """Delete a label; one in use needs force=true (its objects go, and a job rewrites the XML files)."""
    dataset = datasets.get_dataset(db(), dataset_id)
    stale = labels.delete_label(db(), labels.get_label(db(), dataset, label_id), args["force"])
    commit()
    if stale:
        starting.rewrite_stale_files(current_app, db(), dataset, current_user())
