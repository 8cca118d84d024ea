"""The dataset dashboard's figures: per-label counts, objects per image, image sizes, images labeled
per day and the labelers' shares.

Each figure is one grouped query over the tables and indexes that exist for the filters: objects
by `label_id` (a dataset's labels are its own, so no join to samples), `sample_labels` by label,
`sample_labelers` by (dataset, user), samples by (dataset, labeled, ...). The database does the
counting; Python only names the groups it gets back, never reads the rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.orm import Session

from ..models import AnnotationObject, Dataset, Label, Sample, SampleLabel, SampleLabeler, User
from .datasets import dataset_counts

# Objects per image: 0 to 5 each, then these ranges (low, high inclusive; None: no upper end).
OBJECT_BUCKETS = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, None)]
# Image sizes by the longer side in pixels.
SIZE_BUCKETS = [(1, 256), (257, 512), (513, 1024), (1025, 2048), (2049, 4096), (4097, None)]
DAYS_SHOWN = 366  # labeled per day: the most recent days with work

objects, samples = AnnotationObject.__table__, Sample.__table__


@dataclass
class DatasetDashboard:
    """What the dashboard shows; every list in a stable order."""

    samples: dict[str, int]
    objects: int
    labels: list[dict[str, Any]] = field(default_factory=list)
    objects_per_image: list[dict[str, Any]] = field(default_factory=list)
    image_sizes: list[dict[str, Any]] = field(default_factory=list)
    labeled_per_day: list[dict[str, Any]] = field(default_factory=list)
    labelers: list[dict[str, Any]] = field(default_factory=list)


def dashboard(session: Session, dataset: Dataset) -> DatasetDashboard:
    """Compute the dataset's dashboard in a few grouped queries."""
    counts = dataset_counts(session, dataset)
    labels = label_figures(session, dataset.id)
    return DatasetDashboard(
        samples={"total": counts.total, "labeled": counts.labeled, "unlabeled": counts.unlabeled},
        objects=sum(item["objects"] for item in labels),
        labels=labels,
        objects_per_image=objects_per_image(session, dataset.id, counts.total),
        image_sizes=image_sizes(session, dataset.id),
        labeled_per_day=labeled_per_day(session, dataset.id),
        labelers=labelers(session, dataset.id),
    )


def dataset_labels(dataset_id: int) -> Select:
    """The ids of the dataset's labels: its objects are those carrying one (objects have no dataset column)."""
    return select(Label.id).where(Label.dataset_id == dataset_id)


def label_figures(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """Return each label with its objects and the images carrying it, in the label list's order."""
    per_label = dict(session.execute(
        select(objects.c.label_id, func.count()).where(objects.c.label_id.in_(dataset_labels(dataset_id))).group_by(objects.c.label_id)
    ).all())
    images = dict(session.execute(
        select(SampleLabel.label_id, func.count()).where(SampleLabel.label_id.in_(dataset_labels(dataset_id))).group_by(SampleLabel.label_id)
    ).all())
    rows = session.execute(select(Label.id, Label.name, Label.color).where(Label.dataset_id == dataset_id).order_by(Label.id))
    return [{"name": name, "color": color, "objects": per_label.get(i, 0), "images": images.get(i, 0)} for i, name, color in rows]


def bucket_of(value: ColumnElement, buckets: list[tuple[int, int | None]]) -> ColumnElement:
    """Return the index of the bucket a value falls in (None: no bucket, e.g. an unknown size)."""
    return case(*((value <= high if high is not None else value >= low, literal(i)) for i, (low, high) in enumerate(buckets)), else_=None)


def bucket_name(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else str(low) if low == high else f"{low}-{high}"


def objects_per_image(session: Session, dataset_id: int, total: int) -> list[dict[str, Any]]:
    """Return how many images have 0, 1, 2 ... objects (the ranges of OBJECT_BUCKETS)."""
    per_sample = (
        select(func.count().label("n")).where(objects.c.label_id.in_(dataset_labels(dataset_id))).group_by(objects.c.sample_id).subquery()
    )
    bucket = bucket_of(per_sample.c.n, OBJECT_BUCKETS).label("bucket")
    found = dict(session.execute(select(bucket, func.count()).group_by(bucket)).all())
    found[0] = max(total - sum(found.values()), 0)  # images with no object have no row above
    return [{"bucket": bucket_name(low, high), "images": found.get(i, 0)} for i, (low, high) in enumerate(OBJECT_BUCKETS)]


def image_sizes(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """Return how many images fall in each range of their longer side, and how many have no known size."""
    longer = case((samples.c.width >= samples.c.height, samples.c.width), else_=samples.c.height)
    bucket = bucket_of(longer, SIZE_BUCKETS).label("bucket")
    found = dict(session.execute(select(bucket, func.count()).where(samples.c.dataset_id == dataset_id).group_by(bucket)).all())
    out = [{"bucket": bucket_name(low, high), "images": found.get(i, 0)} for i, (low, high) in enumerate(SIZE_BUCKETS)]
    return out + [{"bucket": "unknown", "images": found.get(None, 0)}]


def day_of(session: Session, column: ColumnElement) -> ColumnElement:
    """Return the UTC day of a timestamp column as 'YYYY-MM-DD' text (SQLite stores UTC without a zone)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.date(column)


def labeled_per_day(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """Return the labeled images by the UTC day they were last labeled, oldest first (the last DAYS_SHOWN days with work)."""
    day = day_of(session, samples.c.labeled_at).label("day")
    rows = session.execute(
        select(day, func.count()).where(samples.c.dataset_id == dataset_id, samples.c.labeled, samples.c.labeled_at.is_not(None))
        .group_by(day).order_by(day.desc()).limit(DAYS_SHOWN)
    ).all()
    return [{"day": d, "images": n} for d, n in reversed(rows)]


def labelers(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """Return each labeler with the images they labeled and the objects they created, most objects
    first; objects whose author is no user here count under the name their file gave (or none)."""
    images = dict(session.execute(
        select(User.username, func.count()).select_from(SampleLabeler).join(User, User.id == SampleLabeler.user_id)
        .where(SampleLabeler.dataset_id == dataset_id).group_by(User.username)
    ).all())
    author = func.coalesce(User.username, objects.c.imported_by).label("author")
    created = dict(session.execute(
        select(author, func.count()).select_from(objects).outerjoin(User, User.id == objects.c.created_by_id)
        .where(objects.c.label_id.in_(dataset_labels(dataset_id))).group_by(author)
    ).all())
    names = sorted(images.keys() | created.keys(), key=lambda n: (n is None, -created.get(n, 0), -images.get(n, 0), n or ""))
    return [{"name": n, "user": n in images, "images": images.get(n, 0), "objects": created.get(n, 0)} for n in names]
