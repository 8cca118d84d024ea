"""Labeling a sample: read its objects, save a new set with authorship, write the sibling XML.

A save reads and writes each row once: the labels and the sample's objects are read once, the
revision is claimed with one conditional UPDATE (which locks the row), the objects are written,
the indexes derived from them are written from the objects in hand (`sample_objects`), the XML
file is written from the same objects (`annotation_files`), and the sample row gets the rest of
its changes in one more UPDATE.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from storage.factory import StoreSettings

from ..errors import Conflict, Invalid, NotFound
from ..models import AnnotationObject, Dataset, Label, Sample, User, utcnow
from .annotation_files import write_sibling_xml
from .image_probe import DEFAULT_MAX_PIXELS, UndecodableImage, probe_size
from .input_folder import InputFolder, input_folder
from .labels import labels_by_name
from .sample_objects import index_sample, load_objects


@dataclass
class SampleAnnotation:
    """A sample's objects at one revision, with who saved it last."""

    revision: int
    objects: list[AnnotationObject]
    saved_by: str | None = None
    saved_at: datetime | None = None
    width: int | None = None
    height: int | None = None


def get_annotation(session: Session, sample: Sample, objects: list[AnnotationObject] | None = None) -> SampleAnnotation:
    """Return the sample's current annotation (from `objects` when the caller holds them, as a save does)."""
    if objects is None:
        return _read_annotation(session, sample.id)
    return SampleAnnotation(
        revision=sample.revision,
        objects=objects,
        saved_by=sample.saved_by.username if sample.saved_by else None,
        saved_at=sample.saved_at,
        width=sample.width,
        height=sample.height,
    )


def _read_annotation(session: Session, sample_id: int) -> SampleAnnotation:
    """Read the revision and the objects (with their labels and authors) in one statement, so that
    both come from one snapshot: read in two under READ COMMITTED, a save committing in between
    paired revision N with the objects of N+1."""
    saved_by = aliased(User)
    rows = session.execute(
        select(Sample.revision, Sample.saved_at, Sample.width, Sample.height, saved_by.username, AnnotationObject)
        .select_from(Sample)
        .outerjoin(saved_by, saved_by.id == Sample.saved_by_id)
        .outerjoin(AnnotationObject, AnnotationObject.sample_id == Sample.id)
        .where(Sample.id == sample_id)
        .order_by(AnnotationObject.id)
        .execution_options(populate_existing=True)  # objects this session holds get this snapshot's values too
    ).all()
    if not rows:
        raise NotFound(f"Sample {sample_id} does not exist.")
    first = rows[0]
    objects = [row.AnnotationObject for row in rows if row.AnnotationObject is not None]
    return SampleAnnotation(first.revision, objects, first.username, first.saved_at, first.width, first.height)


def ensure_size(session: Session, folder: InputFolder, sample: Sample, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Return the sample's image size, reading the image header once if it is not known yet."""
    if sample.width is None or sample.height is None:
        try:
            sample.width, sample.height = probe_size(folder.store, folder.bucket, sample.key, sample.size, max_pixels)
        except UndecodableImage as exc:
            raise Invalid(f"The sample's image cannot be read: {exc}.") from None
    return sample.width, sample.height


def save_annotation(
    session: Session, dataset: Dataset, sample: Sample, revision: int, objects: list[dict[str, Any]], user: User, settings: StoreSettings,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> SampleAnnotation:
    """Replace the sample's objects if `revision` is current; write the sibling XML; flush."""
    folder = input_folder(dataset, settings)
    width, height = ensure_size(session, folder, sample, max_pixels)
    labels = labels_by_name(session, dataset.id)
    _validate(objects, labels, width, height)
    _claim_revision(session, sample, revision)
    now = utcnow()
    saved = _apply(session, sample, objects, labels, user, now)
    index_sample(session, sample, saved)
    sample.saved_by, sample.saved_at = user, now
    sample.xml_etag = write_sibling_xml(folder, sample, saved)
    sample.xml_stale = False
    session.flush()
    return get_annotation(session, sample, saved)


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
    """Bump the revision only if it is still the one the client read; the row stays locked till
    commit. The new revision is set on the loaded sample without reading it back."""
    result = session.execute(
        update(Sample).where(Sample.id == sample.id, Sample.revision == revision).values(revision=Sample.revision + 1)
        .execution_options(synchronize_session=False)
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
    # The UPDATE already wrote it: tell the session so, rather than writing or reading it again.
    set_committed_value(sample, "revision", revision + 1)


def _apply(
    session: Session, sample: Sample, objects: list[dict[str, Any]], labels: dict[str, Label], user: User, now: datetime
) -> list[AnnotationObject]:
    """Make the sample's stored objects the given ones, keeping the ids (and authorship) of those
    the client sent back; return them in a stable order, ids assigned."""
    existing = {o.id: o for o in load_objects(session, sample.id)}
    saved: list[AnnotationObject] = []
    for obj in objects:
        label = labels[obj["label"]]
        points = [[float(x), float(y)] for x, y in obj["points"]]
        current = existing.pop(obj["id"], None) if obj.get("id") is not None else None
        if current is None:
            current = AnnotationObject(
                sample_id=sample.id, label=label, shape="polygon", points=points, source=obj.get("source") or "manual",
                created_by=user, created_at=now, updated_by=user, updated_at=now,
            )
            session.add(current)
        elif current.label_id != label.id or current.points != points:
            current.label, current.points = label, points
            current.updated_by, current.updated_at = user, now
        saved.append(current)
    if existing:
        session.execute(delete(AnnotationObject).where(AnnotationObject.id.in_(list(existing))))
    session.flush()
    return sorted(saved, key=lambda o: o.id)
