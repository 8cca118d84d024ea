"""Samples: the filtered, paged list, one sample, and deletion."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.factory import StoreSettings
from storage.paths import sibling_xml_key
from storage.uris import ObjectURI

from ..errors import Invalid, NotFound
from ..models import Dataset, Label, Sample, SampleAssignment, SampleLabel, SampleLabeler, User
from . import filters
from .filters import SampleFilter
from .input_folder import input_folder, input_root


@dataclass
class SampleView:
    """A sample with the names of its labels and labelers, as the list shows it."""

    sample: Sample
    uri: str
    labels: list[str] = field(default_factory=list)
    labeled_by: list[str] = field(default_factory=list)
    assigned_to: str | None = None
    reviewed_by: str | None = None

    def __getattr__(self, name: str):
        return getattr(self.sample, name)


@dataclass
class SamplePage:
    total: int
    items: list[SampleView]
    next_cursor: str | None
    prev_cursor: str | None = None


def sample_uri(dataset: Dataset, sample: Sample) -> ObjectURI:
    """Return the URI of a sample's image."""
    root = input_root(dataset)
    return ObjectURI(root.scheme, root.bucket, sample.key)


def list_samples(
    session: Session, dataset: Dataset, f: SampleFilter, limit: int = 20, offset: int = 0, cursor: str | None = None
) -> SamplePage:
    """Return one page of the dataset's samples matching the filter, with the filter's total."""
    resolved = filters.resolve(session, dataset.id, f)
    where = filters.resolved_conditions(dataset.id, resolved)
    total = filters.count(session, dataset.id, resolved, where)
    query = select(Sample).where(*where).limit(limit)
    backwards = False
    if cursor:
        condition, backwards = filters.cursor_condition(f.order, cursor)
        query = query.where(condition)
    elif offset:
        query = query.offset(offset)
    if backwards:  # the page before the cursor: walk backwards, then put the rows in order
        rows = list(session.scalars(query.order_by(*filters.reverse_order_by(f.order))))[::-1]
        if len(rows) < limit:  # fewer than a page lie before it: that is the first page
            rows, cursor, offset = list(session.scalars(select(Sample).where(*where).order_by(*filters.order_by(f.order)).limit(limit))), None, 0
    else:
        rows = list(session.scalars(query.order_by(*filters.order_by(f.order))))
    next_cursor = filters.encode_cursor(f.order, rows[-1]) if len(rows) == limit else None
    prev_cursor = filters.encode_cursor(f.order, rows[0], backwards=True) if rows and (cursor or offset) else None
    return SamplePage(total, describe(session, dataset, rows), next_cursor, prev_cursor)


def describe(session: Session, dataset: Dataset, samples: list[Sample]) -> list[SampleView]:
    """Attach label names and labeler names to samples, in two queries."""
    ids = [s.id for s in samples]
    labels: dict[int, list[str]] = defaultdict(list)
    labelers: dict[int, list[str]] = defaultdict(list)
    if ids:
        for sample_id, name in session.execute(
            select(SampleLabel.sample_id, Label.name).join(Label).where(SampleLabel.sample_id.in_(ids)).order_by(Label.name)
        ):
            labels[sample_id].append(name)
        for sample_id, name in session.execute(
            select(SampleLabeler.sample_id, User.username).join(User).where(SampleLabeler.sample_id.in_(ids)).order_by(User.username)
        ):
            labelers[sample_id].append(name)
    assignees = dict(session.execute(
        select(SampleAssignment.sample_id, User.username).join(User, User.id == SampleAssignment.user_id).where(SampleAssignment.sample_id.in_(ids))
    ).all()) if ids else {}
    reviewers = {s.reviewed_by_id for s in samples} - {None}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(reviewers))).all()) if reviewers else {}
    return [
        SampleView(s, str(sample_uri(dataset, s)), labels[s.id], labelers[s.id], assignees.get(s.id), names.get(s.reviewed_by_id))
        for s in samples
    ]


def get_sample(session: Session, sample_id: int) -> Sample:
    """Return a sample or raise NotFound."""
    sample = session.get(Sample, sample_id)
    if sample is None:
        raise NotFound(f"Sample {sample_id} does not exist.")
    return sample


def neighbours(session: Session, dataset: Dataset, sample: Sample, f: SampleFilter) -> tuple[int | None, int | None]:
    """Return the ids of the samples before and after this one in key order, under a filter."""
    where = filters.conditions(session, dataset.id, f)
    prev_id = session.scalar(select(Sample.id).where(*where, Sample.key < sample.key).order_by(Sample.key.desc()).limit(1))
    next_id = session.scalar(select(Sample.id).where(*where, Sample.key > sample.key).order_by(Sample.key.asc()).limit(1))
    return prev_id, next_id


def delete_samples(
    session: Session, dataset: Dataset, ids: list[int], delete_source: bool, settings: StoreSettings
) -> int:
    """Delete samples; with delete_source, their images and sibling XML go from the store too."""
    samples = list(session.scalars(select(Sample).where(Sample.dataset_id == dataset.id, Sample.id.in_(ids))))
    missing = sorted(set(ids) - {s.id for s in samples})
    if missing:
        raise Invalid(f"ids: no sample {missing} in dataset {dataset.id}.", {"ids": [f"unknown sample ids: {missing}"]})
    session.execute(delete(Sample).where(Sample.id.in_([s.id for s in samples])))
    session.flush()
    if delete_source:
        folder = input_folder(dataset, settings)
        for sample in samples:
            folder.store.delete(folder.bucket, sample.key)
            folder.store.delete(folder.bucket, sibling_xml_key(sample.key))
    return len(samples)

