"""Datasets: create, read with counts, update, delete (records only)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.errors import InvalidURI
from storage.uris import parse_uri

from ..errors import Conflict, Invalid, NotFound
from ..models import Dataset, Job, Label, Sample, SampleLabel, User, utcnow
from . import annotation_files, filters
from . import labels as label_service


@dataclass
class DatasetCounts:
    total: int
    labeled: int
    unlabeled: int
    per_label: dict[str, int]
    xml_stale: int = 0  # sibling XML files waiting for an `annotation-files` job to rewrite them


def normalize_path(field: str, value: str, allow_files: bool = False) -> str:
    """Check an object-store folder URI and make it end with '/'; file:// only with `allow_files`."""
    try:
        uri = parse_uri(value)
    except InvalidURI as exc:
        raise Invalid(f"{field}: {exc}", {field: [str(exc)]}) from None
    if uri.scheme == "file" and not allow_files:
        # The API process would read, write and delete the host's files for whoever may label.
        reason = "file:// paths are not allowed (ALLOW_FILE_DATASETS=true allows them)"
        raise Invalid(f"{field}: {reason}.", {field: [reason]})
    if uri.scheme == "s3" and not uri.bucket:
        raise Invalid(f"{field}: a bucket is required.", {field: ["a bucket is required"]})
    text = str(uri)
    return text if text.endswith("/") else text + "/"


def get_dataset(session: Session, dataset_id: int) -> Dataset:
    """Return a dataset or raise NotFound."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"Dataset {dataset_id} does not exist.")
    return dataset


def list_datasets(session: Session, limit: int = 100, offset: int = 0, visible: ColumnElement[bool] | None = None) -> tuple[int, list[Dataset]]:
    """Return the total and one page of datasets (those `visible` keeps), newest first."""
    where = [] if visible is None else [visible]
    total = session.scalar(select(func.count(Dataset.id)).where(*where)) or 0
    page = session.scalars(select(Dataset).where(*where).order_by(Dataset.id.desc()).limit(limit).offset(offset))
    return total, list(page)


def create_dataset(session: Session, data: dict[str, Any], user: User, allow_files: bool = False) -> Dataset:
    """Create a dataset with its labels (file:// paths only with `allow_files`)."""
    _check_name_free(session, data["name"])
    dataset = Dataset(
        name=data["name"],
        description=data.get("description") or "",
        input_path=normalize_path("input_path", data["input_path"], allow_files),
        output_path=normalize_path("output_path", data.get("output_path") or data["input_path"], allow_files),
        created_by_id=user.id,
    )
    session.add(dataset)
    session.flush()
    for item in data.get("labels") or []:
        label_service.add_label(session, dataset, item["name"], item.get("color"))
    return dataset


def update_dataset(session: Session, dataset: Dataset, data: dict[str, Any], allow_files: bool = False) -> Dataset:
    """Change a dataset's name, description or paths (file:// paths only with `allow_files`)."""
    if "name" in data and data["name"] != dataset.name:
        _check_name_free(session, data["name"])
        dataset.name = data["name"]
    if "description" in data:
        dataset.description = data["description"] or ""
    for field in ("input_path", "output_path"):
        if field in data:
            setattr(dataset, field, normalize_path(field, data[field], allow_files))
    dataset.updated_at = utcnow()
    session.flush()
    return dataset


def delete_dataset(session: Session, dataset: Dataset) -> None:
    """Delete a dataset's records; the object store is left untouched.

    The rows are locked in the order a running sync's steps lock them, so that a delete and a sync
    wait for each other instead of deadlocking: the jobs first (a step first records its listed keys,
    which locks its job row), then the samples (an XML import locks them before it adds labels,
    which locks the dataset row), the dataset row last. A deadlock left (contention no order
    prevents) is answered 409 "try again" by the error mapping."""
    session.execute(select(Job.id).where(Job.dataset_id == dataset.id).with_for_update())
    session.execute(delete(Sample).where(Sample.dataset_id == dataset.id).execution_options(synchronize_session=False))
    session.delete(dataset)
    session.flush()


def _check_name_free(session: Session, name: str) -> None:
    if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
        raise Conflict(f"A dataset named '{name}' already exists.", {"name": ["already exists"]})


def dataset_counts(session: Session, dataset: Dataset) -> DatasetCounts:
    """Count samples in all, labeled, unlabeled and per label."""
    stats = filters.dataset_stats(session, dataset.id)
    if stats is None:
        rows = session.execute(
            select(Sample.labeled, func.count()).where(Sample.dataset_id == dataset.id).group_by(Sample.labeled)
        ).all()
        by_state = {bool(labeled): count for labeled, count in rows}
    else:
        by_state = {True: stats[1], False: stats[0] - stats[1]}
    per_label_rows = session.execute(
        select(Label.name, func.count(SampleLabel.sample_id))
        .select_from(Label)
        .outerjoin(SampleLabel, SampleLabel.label_id == Label.id)
        .where(Label.dataset_id == dataset.id)
        .group_by(Label.name)
    ).all()
    labeled, unlabeled = by_state.get(True, 0), by_state.get(False, 0)
    stale = annotation_files.stale_count(session, dataset.id)
    return DatasetCounts(labeled + unlabeled, labeled, unlabeled, {name: n for name, n in per_label_rows}, stale)


def flush_or_conflict(session: Session, message: str) -> None:
    """Flush, turning a uniqueness race into a Conflict."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message) from None
