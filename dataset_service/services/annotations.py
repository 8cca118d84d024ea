"""Labeling a sample: read its objects, save a new set with authorship, write the sibling XML."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, union, update
from sqlalchemy.orm import Session

from storage.annotations import AnnotatedObject, Annotation, write_annotation
from storage.factory import StoreSettings, store_for
from storage.paths import sibling_xml_key
from storage.uris import parse_uri

from ..errors import Conflict, Invalid
from ..models import AnnotationObject, Dataset, Sample, SampleLabel, SampleLabeler, User, utcnow
from .colors import to_rgb
from .image_probe import UndecodableImage, probe_size
from .labels import labels_by_name

SOURCES = ("manual", "extreme_points", "imported")


@dataclass
class SampleAnnotation:
    """A sample's objects at one revision, with who saved it last."""

    revision: int
    objects: list[AnnotationObject]
    saved_by: str | None = None
    saved_at: datetime | None = None
    width: int | None = None
    height: int | None = None


def load_objects(session: Session, sample_id: int) -> list[AnnotationObject]:
    """Return a sample's objects in a stable order."""
    return list(session.scalars(select(AnnotationObject).where(AnnotationObject.sample_id == sample_id).order_by(AnnotationObject.id)))


def get_annotation(session: Session, sample: Sample) -> SampleAnnotation:
    """Return the sample's current annotation."""
    return SampleAnnotation(
        revision=sample.revision,
        objects=load_objects(session, sample.id),
        saved_by=sample.saved_by.username if sample.saved_by else None,
        saved_at=sample.saved_at,
        width=sample.width,
        height=sample.height,
    )


def ensure_size(session: Session, dataset: Dataset, sample: Sample, settings: StoreSettings) -> tuple[int, int]:
    """Return the sample's image size, reading the image header once if it is not known yet."""
    if sample.width is None or sample.height is None:
        root = parse_uri(dataset.input_path)
        try:
            sample.width, sample.height = probe_size(store_for(root, settings), root.bucket, sample.key, sample.size)
        except UndecodableImage as exc:
            raise Invalid(f"The sample's image cannot be read: {exc}.") from None
        session.flush()
    return sample.width, sample.height


def save_annotation(
    session: Session, dataset: Dataset, sample: Sample, revision: int, objects: list[dict[str, Any]], user: User, settings: StoreSettings
) -> SampleAnnotation:
    """Replace the sample's objects if `revision` is current; write the sibling XML; flush."""
    width, height = ensure_size(session, dataset, sample, settings)
    labels = labels_by_name(session, dataset.id)
    _validate(objects, labels, width, height)
    _claim_revision(session, sample, revision)
    now = utcnow()
    _apply(session, sample, objects, labels, user, now)
    sample.saved_by_id, sample.saved_at = user.id, now
    refresh_sample_index(session, sample)
    sample.xml_etag = write_sibling_xml(session, dataset, sample, settings)
    sample.xml_stale = False
    session.flush()
    return get_annotation(session, sample)


def _validate(objects: list[dict[str, Any]], labels: dict, width: int, height: int) -> None:
    errors: dict[str, list[str]] = {}
    for index, obj in enumerate(objects):
        if obj["label"] not in labels:
            errors[f"objects.{index}.label"] = [f"unknown label '{obj['label']}'"]
        points = obj["points"]
        if len(points) < 3:
            errors[f"objects.{index}.points"] = ["a polygon needs at least 3 points"]
        elif any(not (0 <= x <= width and 0 <= y <= height) for x, y in points):
            errors[f"objects.{index}.points"] = [f"every point must lie inside the {width}x{height} image"]
    if errors:
        raise Invalid("Some objects are not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items()), errors)


def _claim_revision(session: Session, sample: Sample, revision: int) -> None:
    """Bump the revision only if it is still the one the client read; the row stays locked till commit."""
    result = session.execute(
        update(Sample).where(Sample.id == sample.id, Sample.revision == revision).values(revision=Sample.revision + 1)
    )
    if result.rowcount != 1:
        session.refresh(sample)
        current = get_annotation(session, sample)
        who = current.saved_by or "someone"
        when = current.saved_at.isoformat() if current.saved_at else "earlier"
        raise Conflict(
            f"This image was saved by {who} at {when} (revision {current.revision}); your copy is revision {revision}.",
            {"revision": [f"stale: the current revision is {current.revision}"]},
            {"current": current},
        )
    session.refresh(sample)


def _apply(session: Session, sample: Sample, objects: list[dict[str, Any]], labels: dict, user: User, now: datetime) -> None:
    existing = {o.id: o for o in load_objects(session, sample.id)}
    kept: set[int] = set()
    for obj in objects:
        label = labels[obj["label"]]
        points = [[float(x), float(y)] for x, y in obj["points"]]
        current = existing.get(obj.get("id")) if obj.get("id") is not None else None
        if current is not None and current.id not in kept:
            kept.add(current.id)
            if current.label_id != label.id or current.points != points:
                current.label_id, current.points = label.id, points
                current.updated_by_id, current.updated_at = user.id, now
            continue
        session.add(AnnotationObject(
            sample_id=sample.id, label_id=label.id, shape="polygon", points=points,
            source=obj.get("source") or "manual", created_by_id=user.id, created_at=now, updated_by_id=user.id, updated_at=now,
        ))
    gone = [oid for oid in existing if oid not in kept]
    if gone:
        session.execute(delete(AnnotationObject).where(AnnotationObject.id.in_(gone)))
    session.flush()
    session.expire_all()


def refresh_sample_index(session: Session, sample: Sample) -> None:
    """Recompute the sample's labeled state, label set and labeler set from its objects."""
    session.execute(delete(SampleLabel).where(SampleLabel.sample_id == sample.id))
    session.execute(delete(SampleLabeler).where(SampleLabeler.sample_id == sample.id))
    rows = session.execute(
        select(AnnotationObject.label_id, AnnotationObject.created_by_id, AnnotationObject.updated_by_id, AnnotationObject.updated_at)
        .where(AnnotationObject.sample_id == sample.id)
    ).all()
    label_ids = {row.label_id for row in rows}
    users = {u for row in rows for u in (row.created_by_id, row.updated_by_id) if u is not None}
    if label_ids:
        session.execute(insert(SampleLabel), [{"sample_id": sample.id, "label_id": i} for i in sorted(label_ids)])
    if users:
        session.execute(insert(SampleLabeler), [{"sample_id": sample.id, "user_id": i, "dataset_id": sample.dataset_id} for i in sorted(users)])
    sample.labeled = bool(label_ids)
    sample.labeled_at = max((row.updated_at for row in rows), default=None)
    session.flush()


def refresh_indexes(session: Session, sample_ids: list[int], chunk: int = 5000) -> None:
    """Recompute labeled state, label set and labeler set of many samples from their objects, in
    a few statements per chunk (set-based, for bulk changes such as deleting a label); each
    sample's revision goes up, so an editor holding the old version gets a conflict."""
    objects = AnnotationObject.__table__
    for start in range(0, len(sample_ids), chunk):
        ids = sample_ids[start:start + chunk]
        session.execute(delete(SampleLabel).where(SampleLabel.sample_id.in_(ids)))
        session.execute(delete(SampleLabeler).where(SampleLabeler.sample_id.in_(ids)))
        session.execute(insert(SampleLabel).from_select(
            ["sample_id", "label_id"],
            select(objects.c.sample_id, objects.c.label_id).where(objects.c.sample_id.in_(ids)).distinct(),
        ))
        people = union(
            select(objects.c.sample_id, objects.c.created_by_id.label("user_id")).where(objects.c.sample_id.in_(ids), objects.c.created_by_id.is_not(None)),
            select(objects.c.sample_id, objects.c.updated_by_id.label("user_id")).where(objects.c.sample_id.in_(ids), objects.c.updated_by_id.is_not(None)),
        ).subquery()
        session.execute(insert(SampleLabeler).from_select(
            ["sample_id", "user_id", "dataset_id"],
            select(people.c.sample_id, people.c.user_id, Sample.dataset_id).join(Sample, Sample.id == people.c.sample_id),
        ))
        has_objects = select(objects.c.id).where(objects.c.sample_id == Sample.id).exists()
        latest = select(func.max(objects.c.updated_at)).where(objects.c.sample_id == Sample.id).scalar_subquery()
        session.execute(
            update(Sample).where(Sample.id.in_(ids))
            .values(labeled=has_objects, labeled_at=latest, revision=Sample.revision + 1)
            .execution_options(synchronize_session=False)
        )
    session.flush()


def to_codec(dataset: Dataset, sample: Sample, objects: list[AnnotationObject]) -> Annotation:
    """Build the XML model of a sample's objects."""
    return Annotation(
        filename=sample.key.rsplit("/", 1)[-1],
        width=sample.width or 0,
        height=sample.height or 0,
        objects=[
            AnnotatedObject(
                label=o.label.name,
                points=[(x, y) for x, y in o.points],
                source=o.source,
                created_by=o.created_by.username if o.created_by else o.imported_by,
                created_at=o.created_at,
                updated_by=o.updated_by.username if o.updated_by else None,
                updated_at=o.updated_at,
                mask_color=to_rgb(o.label.color),
            )
            for o in objects
        ],
    )


def write_sibling_xml(session: Session, dataset: Dataset, sample: Sample, settings: StoreSettings) -> str | None:
    """Write (or, with no objects, delete) the sibling XML; return the stored ETag."""
    root = parse_uri(dataset.input_path)
    store = store_for(root, settings)
    key = sibling_xml_key(sample.key)
    objects = load_objects(session, sample.id)
    if not objects:
        store.delete(root.bucket, key)
        return None
    info = store.put(root.bucket, key, write_annotation(to_codec(dataset, sample, objects)), content_type="application/xml")
    return info.etag
