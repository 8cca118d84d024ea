"""A sample's objects and the indexes derived from them: the one home of that rule.

What the filters read is derived from a sample's objects, never typed in: whether it is
labeled and when it was last labeled (`samples.labeled`, `samples.labeled_at`), which labels it
carries (`sample_labels`) and who labeled it (`sample_labelers`: every object's creator and last
editor). It is derived in two ways, one per kind of change:
- from the rows in hand (`write_indexes`): a save and a sync import know the objects they wrote;
- set-based in SQL (`refresh_indexes`): a change to many samples at once, such as deleting a
  label, whose objects nobody holds.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, union, update
from sqlalchemy.orm import Session

from ..models import AnnotationObject, Sample, SampleLabel, SampleLabeler

INDEX_CHUNK = 5000  # samples per set-based refresh


@dataclass(frozen=True)
class ObjectFacts:
    """What the indexes need to know of one object."""

    sample_id: int
    label_id: int
    created_by_id: int | None
    updated_by_id: int | None
    updated_at: datetime

    @classmethod
    def of(cls, obj: AnnotationObject) -> "ObjectFacts":
        return cls(obj.sample_id, obj.label_id, obj.created_by_id, obj.updated_by_id, obj.updated_at)


def load_objects(session: Session, sample_id: int) -> list[AnnotationObject]:
    """Return a sample's objects in a stable order (labels and authors loaded with them)."""
    query = select(AnnotationObject).where(AnnotationObject.sample_id == sample_id).order_by(AnnotationObject.id)
    return list(session.scalars(query))


def write_indexes(session: Session, dataset_id: int, sample_ids: Sequence[int], facts: Iterable[ObjectFacts]) -> dict[int, datetime]:
    """Replace the label and labeler rows of these samples with those their objects imply.

    `facts` are every object the samples now have. Return when each labeled sample was last
    labeled; a sample missing from the answer has no object, so it is unlabeled. The caller
    writes both onto the sample row with its other changes (one write of that row)."""
    facts = list(facts)
    session.execute(delete(SampleLabel).where(SampleLabel.sample_id.in_(sample_ids)))
    session.execute(delete(SampleLabeler).where(SampleLabeler.sample_id.in_(sample_ids)))
    labels = sorted({(f.sample_id, f.label_id) for f in facts})
    if labels:
        session.execute(insert(SampleLabel), [{"sample_id": s, "label_id": label} for s, label in labels])
    people = sorted({(f.sample_id, u) for f in facts for u in (f.created_by_id, f.updated_by_id) if u is not None})
    if people:
        session.execute(insert(SampleLabeler), [{"sample_id": s, "user_id": u, "dataset_id": dataset_id} for s, u in people])
    latest: dict[int, datetime] = {}
    for f in facts:
        latest[f.sample_id] = max(latest.get(f.sample_id, f.updated_at), f.updated_at)
    return latest


def index_sample(session: Session, sample: Sample, objects: list[AnnotationObject]) -> None:
    """Derive one sample's indexes from all its objects (flushed); the labeled state is set on
    the sample for its next flush."""
    latest = write_indexes(session, sample.dataset_id, [sample.id], [ObjectFacts.of(o) for o in objects])
    sample.labeled, sample.labeled_at = sample.id in latest, latest.get(sample.id)


def refresh_indexes(session: Session, sample_ids: list[int], chunk: int = INDEX_CHUNK) -> None:
    """Recompute labeled state, label set and labeler set of many samples from their objects, in
    a few statements per chunk; each sample's revision goes up, so an editor holding the old
    version gets a conflict."""
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
