"""Comparing two states of a dataset: two versions' snapshots, or a version and the working state.

Set-based, whatever the dataset's size: the two sides' samples are joined by key (a full outer
join) and their objects by id (another), in SQL; only the page of samples shown is read into Python,
with its objects. A sample is
- `added`: its key is only on the `to` side; `deleted`: only on the `from` side;
- `changed`: on both, with another image (ETag) or other objects: an object on one side only, or on
  both with another label (compared by name, as label ids differ after a label is made again) or
  another value of a compared column (the shape, the points, and any column both object tables
  gain later but authorship: see `COMPARED`).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Select, Text, and_, case, cast, func, literal, null, or_, select, true, union
from sqlalchemy.orm import Session

from ..models import AnnotationObject, DatasetVersion, Label, Sample, User, VersionObject, VersionSample

CHANGES = ("added", "deleted", "changed")
WORKING = "working"

samples, objects, labels, users = Sample.__table__, AnnotationObject.__table__, Label.__table__, User.__table__
kept, kept_objects = VersionSample.__table__, VersionObject.__table__
# Who made an object and when: its history, not its content.
AUTHORSHIP = {"created_by_id", "created_by", "created_at", "updated_by_id", "updated_by", "updated_at", "imported_by"}
# The object columns both tables have, compared as they are; the sample and the label are compared by key and name.
COMPARED = tuple(c.name for c in objects.columns if c.name in kept_objects.c and c.name not in AUTHORSHIP | {"sample_id", "label_id"})


def _comparable(column: ColumnElement) -> ColumnElement:
    """JSON compares as its text (PostgreSQL's json has no equality; both sides hold copies of the same text)."""
    return cast(column, Text) if isinstance(column.type, JSON) else column


class Side:
    """One state of the dataset: its samples (key, sample_id, etag) and its objects (sample_id,
    object_id, label name, the compared columns; with their key and authors for a page's details)."""

    name: str
    version_id: int | None

    def samples(self) -> Select:
        raise NotImplementedError

    def objects(self) -> Select:
        raise NotImplementedError

    def keys_of(self, sample_ids) -> Select:
        """Return the keys of these samples (a select of ids)."""
        samples = self.samples().subquery()
        return select(samples.c.key).where(samples.c.sample_id.in_(sample_ids))

    def objects_of(self, keys: Iterable[str]) -> Select:
        """Return the objects of these samples, with their key and authors."""
        raise NotImplementedError


class VersionSide(Side):
    def __init__(self, version: DatasetVersion):
        self.name, self.version_id = version.name, version.id
        self.label_names = {item["id"]: item["name"] for item in version.labels}

    def samples(self) -> Select:
        return select(kept.c.key, kept.c.sample_id, kept.c.etag).where(kept.c.version_id == self.version_id)

    def _columns(self) -> list[ColumnElement]:
        o = kept_objects
        label = case(self.label_names, value=o.c.label_id) if self.label_names else null()
        return [o.c.sample_id, o.c.object_id, label.label("label"), *(_comparable(o.c[name]).label(name) for name in COMPARED)]

    def objects(self) -> Select:
        return select(*self._columns()).where(kept_objects.c.version_id == self.version_id)

    def objects_of(self, keys: Iterable[str]) -> Select:
        o = kept_objects
        authors = [func.coalesce(o.c.created_by, o.c.imported_by).label("created_by"), o.c.updated_by, o.c.updated_at]
        return (
            select(kept.c.key, *self._columns(), *authors)
            .select_from(o.join(kept, and_(kept.c.version_id == o.c.version_id, kept.c.sample_id == o.c.sample_id)))
            .where(o.c.version_id == self.version_id, kept.c.key.in_(list(keys)))
        )


class WorkingSide(Side):
    def __init__(self, dataset_id: int):
        self.name, self.version_id, self.dataset_id = WORKING, None, dataset_id

    def samples(self) -> Select:
        return select(samples.c.key, samples.c.id.label("sample_id"), samples.c.etag).where(samples.c.dataset_id == self.dataset_id)

    def _columns(self) -> list[ColumnElement]:
        o = objects
        return [o.c.sample_id, o.c.id.label("object_id"), labels.c.name.label("label"), *(_comparable(o.c[name]).label(name) for name in COMPARED)]

    def _joined(self):
        return objects.join(samples, samples.c.id == objects.c.sample_id).join(labels, labels.c.id == objects.c.label_id)

    def objects(self) -> Select:
        return select(*self._columns()).select_from(self._joined()).where(samples.c.dataset_id == self.dataset_id)

    def objects_of(self, keys: Iterable[str]) -> Select:
        o, creator, updater = objects, users.alias("creator"), users.alias("updater")
        authors = [func.coalesce(creator.c.username, o.c.imported_by).label("created_by"), updater.c.username.label("updated_by"), o.c.updated_at]
        joined = self._joined().outerjoin(creator, creator.c.id == o.c.created_by_id).outerjoin(updater, updater.c.id == o.c.updated_by_id)
        return select(samples.c.key, *self._columns(), *authors).select_from(joined).where(
            samples.c.dataset_id == self.dataset_id, samples.c.key.in_(list(keys))
        )


def side_of(dataset_id: int, version: DatasetVersion | None) -> Side:
    """Return a version's side, or the working state's (None)."""
    return WorkingSide(dataset_id) if version is None else VersionSide(version)


# --- set-based ----------------------------------------------------------------------------------


def _object_differences(a: Side, b: Side):
    """Return the objects on one side only or unlike their other self (a full outer join by id), as
    a CTE of the samples they are on: `a_sample_id` (null for an object only on `b`), `b_sample_id`."""
    oa, ob = a.objects().subquery("oa"), b.objects().subquery("ob")
    differs = or_(
        oa.c.object_id.is_(None), ob.c.object_id.is_(None), oa.c.label.is_distinct_from(ob.c.label),
        *(oa.c[name].is_distinct_from(ob.c[name]) for name in COMPARED),
    )
    return (
        select(oa.c.sample_id.label("a_sample_id"), ob.c.sample_id.label("b_sample_id"))
        .select_from(oa.join(ob, oa.c.object_id == ob.c.object_id, full=True)).where(differs).cte("object_changes")
    )


def _changes(a: Side, b: Side):
    """Return a subquery of every sample key of either side with its change (null when unchanged)."""
    sa, sb = a.samples().subquery("sa"), b.samples().subquery("sb")
    found = _object_differences(a, b)
    # The keys of the samples whose objects differ (the few rows of the CTE, looked up by sample id).
    touched = union(a.keys_of(select(found.c.a_sample_id)), b.keys_of(select(found.c.b_sample_id))).subquery("touched")
    change = case(
        (sa.c.key.is_(None), literal("added")), (sb.c.key.is_(None), literal("deleted")),
        (or_(sa.c.etag != sb.c.etag, touched.c.key.is_not(None)), literal("changed")),
        else_=null(),
    )
    joined = sa.join(sb, sa.c.key == sb.c.key, full=True).outerjoin(touched, touched.c.key == sa.c.key)
    return select(
        func.coalesce(sb.c.key, sa.c.key).label("key"), change.label("change"),
        sa.c.sample_id.label("from_sample_id"), sb.c.sample_id.label("to_sample_id"),
    ).select_from(joined).subquery("changes")


def holds_unversioned_changes(session: Session, dataset_id: int, version: DatasetVersion) -> bool:
    """Tell whether the working state has objects the version does not hold for an image that is
    still there: an object the version lacks or holds otherwise, or a version's object gone from
    a sample that is still there. (Samples added without objects, or gone, lose nothing.)"""
    found = _object_differences(VersionSide(version), WorkingSide(dataset_id))
    on_working = select(found.c.b_sample_id).where(found.c.b_sample_id.is_not(None))
    still_there = select(kept.c.key).where(kept.c.version_id == version.id, kept.c.sample_id.in_(select(found.c.a_sample_id))).where(
        kept.c.key.in_(select(samples.c.key).where(samples.c.dataset_id == dataset_id))
    )
    return bool(session.scalar(select(or_(on_working.exists(), still_there.exists()))))


# --- the answer -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectChange:
    id: int
    label: str | None
    shape: str
    created_by: str | None
    updated_by: str | None
    updated_at: datetime | None
    before_label: str | None = None  # changed objects: the label on the `from` side
    fields: tuple[str, ...] = ()  # changed objects: what changed ("label", "points", ...)


@dataclass(frozen=True)
class SampleChange:
    key: str
    change: str
    from_sample_id: int | None
    to_sample_id: int | None
    added: list[ObjectChange]
    removed: list[ObjectChange]
    changed: list[ObjectChange]


@dataclass(frozen=True)
class Diff:
    source: str
    target: str
    counts: dict[str, int]
    total: int  # the samples the list pages over (those of `change` when given)
    items: list[SampleChange]


def diff(session: Session, dataset_id: int, source: DatasetVersion, target: DatasetVersion | None,
         change: str | None = None, limit: int = 20, offset: int = 0) -> Diff:
    """Compare a version with another or with the working state (None): counts per change and a
    page of the changed samples, in key order, with their objects added, removed and changed."""
    a, b = VersionSide(source), side_of(dataset_id, target)
    changes = _changes(a, b)
    # The counts ride along with the page (window aggregates over every changed sample): one pass.
    tallies = [func.count().filter(changes.c.change == name).over().label(f"n_{name}") for name in CHANGES]
    listed = select(changes, *tallies).where(changes.c.change.is_not(None)).subquery("listed")
    wanted = listed.c.change == change if change else true()
    rows = session.execute(select(listed).where(wanted).order_by(listed.c.key).limit(limit).offset(offset)).all()
    if rows:
        counts = {name: getattr(rows[0], f"n_{name}") for name in CHANGES}
    elif offset == 0 and change is None:  # nothing changed
        counts = dict.fromkeys(CHANGES, 0)
    else:  # a page past the end: count on their own
        found = dict(session.execute(select(changes.c.change, func.count()).where(changes.c.change.is_not(None)).group_by(changes.c.change)).all())
        counts = {name: found.get(name, 0) for name in CHANGES}
    total = counts[change] if change else sum(counts.values())
    return Diff(a.name, b.name, counts, total, _details(session, a, b, rows))


def _details(session: Session, a: Side, b: Side, rows) -> list[SampleChange]:
    """Read the page's objects on both sides and say, per sample, which were added, removed, changed."""
    keys = [row.key for row in rows]
    before, after = _objects_by_key(session, a, keys), _objects_by_key(session, b, keys)
    items = []
    for row in rows:
        old, new = before.get(row.key, {}), after.get(row.key, {})
        changed = [_changed(old[i], new[i]) for i in sorted(old.keys() & new.keys())]
        items.append(SampleChange(
            row.key, row.change, row.from_sample_id, row.to_sample_id,
            added=[_object(new[i]) for i in sorted(new.keys() - old.keys())],
            removed=[_object(old[i]) for i in sorted(old.keys() - new.keys())],
            changed=[item for item in changed if item.fields],
        ))
    return items


def _objects_by_key(session: Session, side: Side, keys: list[str]) -> dict[str, dict[int, Any]]:
    found: dict[str, dict[int, Any]] = {}
    if keys:
        for row in session.execute(side.objects_of(keys)):
            found.setdefault(row.key, {})[row.object_id] = row
    return found


def _object(row) -> ObjectChange:
    return ObjectChange(row.object_id, row.label, row.shape, row.created_by, row.updated_by, row.updated_at)


def _changed(old, new) -> ObjectChange:
    fields = tuple(name for name in ("label", *COMPARED) if getattr(old, name) != getattr(new, name))
    return ObjectChange(new.object_id, new.label, new.shape, new.created_by, new.updated_by, new.updated_at, old.label, fields)
