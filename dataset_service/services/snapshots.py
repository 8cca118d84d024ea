"""A version's snapshot: the working samples and objects copied at one instant, its counts, and
reading it back a page at a time.

The copy is two INSERT ... SELECT statements (samples, then objects with their authors' names),
set-based whatever the dataset's size, in one transaction that reads one instant: REPEATABLE READ
on PostgreSQL (every statement sees the snapshot taken by the first), and on SQLite the write lock
the first INSERT takes, which keeps every other writer out until the commit. A save either is
wholly in the version (its revision and its objects) or not at all.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, literal, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from ..models import AnnotationObject, DatasetVersion, Id, Label, Sample, User, VersionObject, VersionSample, utcnow
from .object_fields import OBJECT_FIELDS

PAGE = 500  # samples read back per query

samples, objects = Sample.__table__, AnnotationObject.__table__
kept, kept_objects = VersionSample.__table__, VersionObject.__table__
SAMPLE_COLUMNS = ("key", "sample_id", "size", "etag", "width", "height", "created_at", "labeled", "labeled_at", "revision",
                  "saved_by_id", "saved_at", "xml_etag", "depth", "xml_header")
# An object's attributes besides its shape and points (radius, pose, flags, confidence, properties, parts, ...), copied as they are.
OBJECT_ATTRIBUTES = tuple(name for name in OBJECT_FIELDS if name not in ("shape", "points"))


@contextmanager
def one_instant(make_session: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction whose reads all see one instant (REPEATABLE READ on PostgreSQL); committed at the end."""
    with make_session() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session
        session.commit()


def take(session: Session, version: DatasetVersion) -> None:
    """Copy the dataset's samples and objects into the version, and its labels and counts; flush.

    The copy comes first: on SQLite its INSERT is what starts the transaction and takes the write lock."""
    dataset_id = version.dataset_id
    vid = literal(version.id, Id)
    session.execute(insert(kept).from_select(
        ["version_id", *SAMPLE_COLUMNS],
        select(vid, samples.c.key, samples.c.id, *(samples.c[name] for name in SAMPLE_COLUMNS[2:])).where(samples.c.dataset_id == dataset_id),
    ))
    creator, updater = aliased(User.__table__), aliased(User.__table__)
    session.execute(insert(kept_objects).from_select(
        ["version_id", "sample_id", "object_id", "label_id", "shape", "points", "source", "created_by_id", "created_by", "created_at",
         "updated_by_id", "updated_by", "updated_at", "imported_by", *OBJECT_ATTRIBUTES],
        select(vid, objects.c.sample_id, objects.c.id, objects.c.label_id, objects.c.shape, objects.c.points, objects.c.source,
               objects.c.created_by_id, creator.c.username, objects.c.created_at, objects.c.updated_by_id, updater.c.username,
               objects.c.updated_at, objects.c.imported_by, *(objects.c[name] for name in OBJECT_ATTRIBUTES))
        .select_from(objects.join(samples, samples.c.id == objects.c.sample_id)
                     .outerjoin(creator, creator.c.id == objects.c.created_by_id)
                     .outerjoin(updater, updater.c.id == objects.c.updated_by_id))
        .where(samples.c.dataset_id == dataset_id),
    ))
    labels = session.execute(select(Label.id, Label.name, Label.color).where(Label.dataset_id == dataset_id).order_by(Label.id)).all()
    version.labels = [{"id": label_id, "name": name, "color": color} for label_id, name, color in labels]
    version.snapshot_at = utcnow()
    count(session, version)
    session.flush()


def count(session: Session, version: DatasetVersion) -> None:
    """Set the version's counts from its snapshot, and what changed since the previous finished version."""
    vid = version.id
    version.sample_count, version.labeled_count = session.execute(
        select(func.count(), func.coalesce(func.sum(case((kept.c.labeled, 1), else_=0)), 0)).where(kept.c.version_id == vid)
    ).one()
    version.object_count = session.scalar(select(func.count()).select_from(kept_objects).where(kept_objects.c.version_id == vid)) or 0
    per_label = {
        label_id: {"samples": n_samples, "objects": n_objects}
        for label_id, n_objects, n_samples in session.execute(
            select(kept_objects.c.label_id, func.count(), func.count(kept_objects.c.sample_id.distinct()))
            .where(kept_objects.c.version_id == vid).group_by(kept_objects.c.label_id)
        )
    }
    version.label_stats = {item["name"]: per_label.get(item["id"], {"samples": 0, "objects": 0}) for item in version.labels}
    version.previous_id = session.scalar(
        select(DatasetVersion.id).where(DatasetVersion.dataset_id == version.dataset_id, DatasetVersion.id < vid, DatasetVersion.state == "normal")
        .order_by(DatasetVersion.id.desc()).limit(1)
    )
    version.added_count, version.modified_count, version.deleted_count = changes(session, vid, version.previous_id)


def changes(session: Session, version_id: int, previous_id: int | None) -> tuple[int, int, int]:
    """Count the samples added, modified (another revision, image or sample) and deleted since the previous version."""
    now, before = kept.alias("now"), kept.alias("before")
    if previous_id is None:
        return session.scalar(select(func.count()).select_from(now).where(now.c.version_id == version_id)) or 0, 0, 0

    def missing(a, b, a_id, b_id):
        there = select(b.c.key).where(b.c.version_id == b_id, b.c.key == a.c.key).exists()
        return session.scalar(select(func.count()).select_from(a).where(a.c.version_id == a_id, ~there)) or 0

    modified = session.scalar(
        select(func.count()).select_from(now.join(before, before.c.key == now.c.key))
        .where(now.c.version_id == version_id, before.c.version_id == previous_id,
               (now.c.sample_id != before.c.sample_id) | (now.c.revision != before.c.revision) | (now.c.etag != before.c.etag))
    ) or 0
    return missing(now, before, version_id, previous_id), modified, missing(before, now, previous_id, version_id)


@dataclass(frozen=True)
class SnapshotObject:
    object_id: int
    label_id: int
    shape: str
    points: list[Any]
    source: str
    created_by: str | None
    created_at: datetime
    updated_by: str | None
    updated_at: datetime
    imported_by: str | None
    # The object's attributes (`object_fields.OBJECT_ATTRIBUTES`): `object_fields.codec_object` takes a SnapshotObject.
    radius: float | None = None
    pose: str = "Unspecified"
    truncated: bool = False
    occluded: bool = False
    difficult: bool = False
    confidence: float | None = None
    properties: dict[str, str] | None = None
    parts: list[Any] | None = None
    extra_shapes: list[Any] | None = None
    extensions: list[str] | None = None


@dataclass(frozen=True)
class SnapshotSample:
    key: str
    sample_id: int
    etag: str
    width: int | None
    height: int | None
    revision: int
    labeled: bool
    objects: list[SnapshotObject]
    depth: int | None = None  # with `xml_header`: the file's own fields (`object_fields.file_depth`, `file_fields`)
    xml_header: dict[str, Any] | None = None


def pages(make_session: sessionmaker[Session], version_id: int, size: int = PAGE) -> Iterator[list[SnapshotSample]]:
    """Yield the version's samples with their objects, in key order, a page at a time (each its own short read)."""
    after: str | None = None
    while True:
        with make_session() as session:
            query = select(kept).where(kept.c.version_id == version_id)
            if after is not None:
                query = query.where(kept.c.key > after)
            rows = session.execute(query.order_by(kept.c.key).limit(size)).all()
            if not rows:
                return
            found: dict[int, list[SnapshotObject]] = {row.sample_id: [] for row in rows}
            labeled = [row.sample_id for row in rows if row.labeled]
            if labeled:
                for o in session.execute(
                    select(kept_objects).where(kept_objects.c.version_id == version_id, kept_objects.c.sample_id.in_(labeled))
                    .order_by(kept_objects.c.sample_id, kept_objects.c.object_id)
                ):
                    found[o.sample_id].append(SnapshotObject(
                        o.object_id, o.label_id, o.shape, o.points, o.source, o.created_by, o.created_at, o.updated_by, o.updated_at, o.imported_by,
                        **{name: o._mapping[name] for name in OBJECT_ATTRIBUTES},
                    ))
        yield [SnapshotSample(r.key, r.sample_id, r.etag, r.width, r.height, r.revision, r.labeled, found[r.sample_id], r.depth, r.xml_header)
               for r in rows]
        after = rows[-1].key
