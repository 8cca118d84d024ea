"""Database models: users, datasets, labels, samples, annotation objects, jobs, versions."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    or_,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .db import Base

# Keys compare byte-wise so that a directory prefix is an index range on PostgreSQL too.
LABEL_NAME_MAX = 64  # characters of a label's name, wherever one comes from (API, page, imported XML)
NAME_MAX = 64  # characters of a user's or a dataset's name

KeyString = String(1024).with_variant(String(1024, collation="C"), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


GENERATION_MODULUS = 2**31  # session generations wrap below this, to fit a 32-bit integer column


def new_session_generation() -> int:
    """Return a user's first session generation: random, so that no credential made before matches it."""
    return secrets.randbelow(GENERATION_MODULUS)


class User(Base):
    # AUTOINCREMENT: SQLite would otherwise give a deleted user's id to the next user created.
    __tablename__ = "users"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # An inactive user cannot log in and none of their tokens or sessions work.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Tokens and page sessions carry the generation they were made in; changing it ends them all
    # (password change, deactivation, logout, revocation).
    session_generation: Mapped[int] = mapped_column(Integer, default=new_session_generation, server_default=text("0"))


class LoginFailure(Base):
    """A failed login, counted per username and per client address to throttle password guessing;
    rows older than the throttling window are deleted as new failures come."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_key", "scope", "key", "failed_at"),
        Index("ix_login_failures_failed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))  # "user" (key: the username) or "address"
    key: Mapped[str] = mapped_column(String(255))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginLock(Base):
    """A username or a client address locked out of logging in until `locked_until`. Rows are only
    added (so that API processes never race on one), and the recent ones make the next lock longer."""

    __tablename__ = "login_locks"
    __table_args__ = (
        Index("ix_login_locks_key", "scope", "key", "locked_until"),
        Index("ix_login_locks_locked_until", "locked_until"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))  # as LoginFailure.scope
    key: Mapped[str] = mapped_column(String(255))
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime())


# A member's role in one dataset: `owner` manages it, `reviewer` reviews and labels, `labeler`
# labels what it is given. What each may do is `dataset_service.access`'s one table.
DATASET_ROLES = ("owner", "reviewer", "labeler")
# Where a sample stands in review; None: never submitted (its state is then labeled or unlabeled).
REVIEW_STATES = ("submitted", "accepted", "rejected")
RATINGS = ("A", "B", "C", "D")
# A sample whose work is still its labeler's: never submitted, or sent back (OPEN_WORK: as SQL).
OPEN_STATES = (None, "rejected")


class DatasetMember(Base):
    """A user's role in a dataset (site admins need none)."""

    __tablename__ = "dataset_members"
    __table_args__ = (Index("ix_dataset_members_user", "user_id", "dataset_id"),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    input_path: Mapped[str] = mapped_column(String(1024))
    output_path: Mapped[str] = mapped_column(String(1024))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    labels: Mapped[list["Label"]] = relationship(
        back_populates="dataset", order_by="Label.id", cascade="all, delete-orphan", passive_deletes=True
    )
    created_by: Mapped[User | None] = relationship()


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(LABEL_NAME_MAX))
    color: Mapped[str] = mapped_column(String(7))

    dataset: Mapped[Dataset] = relationship(back_populates="labels")


class Sample(Base):
    """One image in the dataset's input path: the labeling record."""

    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("dataset_id", "key"),
        Index("ix_samples_dataset_created", "dataset_id", "created_at", "id"),
        Index("ix_samples_dataset_labeled_key", "dataset_id", "labeled", "key"),
        Index("ix_samples_dataset_labeled_created", "dataset_id", "labeled", "created_at", "id"),
        Index("ix_samples_unsized", "dataset_id", "id", sqlite_where=text("width IS NULL"), postgresql_where=text("width IS NULL")),
        Index("ix_samples_xml_stale", "dataset_id", "id", sqlite_where=text("xml_stale"), postgresql_where=text("xml_stale")),
        # The review filter and the review queue.
        Index("ix_samples_dataset_review", "dataset_id", "review_state", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(KeyString)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(128))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    labeled: Mapped[bool] = mapped_column(Boolean, default=False)
    labeled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revision: Mapped[int] = mapped_column(Integer, default=0)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    xml_etag: Mapped[str | None] = mapped_column(String(128))
    # The sibling XML no longer matches the objects (a label was renamed, recoloured or deleted):
    # an "annotation-files" job rewrites it.
    xml_stale: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    error: Mapped[str | None] = mapped_column(Text)
    # The image's channels (<size>/<depth>): from its sibling XML, else from the image's header.
    depth: Mapped[int | None] = mapped_column(Integer)
    # The sibling XML's own fields, written back as they came: {"folder", "source", "segmented",
    # "attributes", "extensions"} (see storage.annotations.Annotation); None: a file of ours.
    xml_header: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What importing the sibling XML left out or overrode (objects outside the image, a wrong
    # <size>), shown until a person saves the sample; a background job never rewrites its file.
    xml_warning: Mapped[str | None] = mapped_column(Text)
    # Where it stands in review (see REVIEW_STATES); who it is given to is its SampleAssignment.
    review_state: Mapped[str | None] = mapped_column(String(16))
    review_reason: Mapped[str | None] = mapped_column(Text)
    review_rating: Mapped[str | None] = mapped_column(String(1))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    saved_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[saved_by_id])


OPEN_WORK = or_(Sample.review_state.is_(None), Sample.review_state == "rejected")  # OPEN_STATES, on samples


class SampleAssignment(Base):
    """Who a sample is given to. A table of its own, narrow, so that handing out a million samples
    writes a million small rows, not a million wide sample rows with all their indexes; and with
    one foreign key only (its sample: a dataset's deletion reaches it through its samples, a user's
    deletion deletes it in `users.delete_user`), as each key checked costs per row inserted."""

    __tablename__ = "sample_assignments"
    # The state rides in the labeler's index as a non-key column (PostgreSQL): the queue walks the
    # index in sample order, and "assigned to X and submitted" is counted from the index alone.
    __table_args__ = (Index("ix_sample_assignments_user", "dataset_id", "user_id", "open", "sample_id", postgresql_include=["review_state"]),)

    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(Id)
    user_id: Mapped[int] = mapped_column(Id)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The sample's OPEN_WORK, kept here by the review steps (`assignment.mark_review`), so that a
    # labeler's queue and its count are one index range, with no visit to each sample.
    open: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The sample's review_state, kept with `open` by the same steps (`assignment.mark_review`).
    review_state: Mapped[str | None] = mapped_column(String(16))


class SampleLabel(Base):
    """Which labels a sample carries: the label filter's index."""

    __tablename__ = "sample_labels"
    __table_args__ = (Index("ix_sample_labels_label", "label_id", "sample_id"),)

    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True)


class SampleLabeler(Base):
    """Who labeled a sample (authors of its current objects): the labeled-by filter's index."""

    __tablename__ = "sample_labelers"
    __table_args__ = (Index("ix_sample_labelers_dataset_user", "dataset_id", "user_id", "sample_id"),)

    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # Copied from the sample so that "labeled by" is counted from this table alone.
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))


class DatasetStats(Base):
    """Sample counts per dataset, kept by PostgreSQL triggers so that totals need no scan.

    No foreign key: the triggers may touch it while a dataset's samples are deleted in cascade.
    """

    __tablename__ = "dataset_stats"

    dataset_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    labeled: Mapped[int] = mapped_column(BigInteger, default=0)
    assigned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # its samples given to someone


class SyncListed(Base):
    """The keys a running sync has listed (images and XML), so that the samples it did not list
    can be found at the end whatever order the object store lists in. Emptied when the sync ends;
    UNLOGGED on PostgreSQL (scratch data: nothing is lost if a crash empties it)."""

    __tablename__ = "sync_listed"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(KeyString, primary_key=True)
    etag: Mapped[str] = mapped_column(String(128))


class AnnotationObject(Base):
    """One labeled object on a sample: its shape as itself (see storage.annotations.SHAPES), its
    PASCAL-VOC attributes, and its authorship."""

    __tablename__ = "annotation_objects"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)
    shape: Mapped[str] = mapped_column(String(16), default="polygon")
    points: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(String(NAME_MAX))
    radius: Mapped[float | None] = mapped_column(Float)  # circles
    pose: Mapped[str] = mapped_column(Text, default="Unspecified", server_default="Unspecified")
    truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    occluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    difficult: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    confidence: Mapped[float | None] = mapped_column(Float)
    properties: Mapped[dict[str, str] | None] = mapped_column(JSON)  # key -> value
    parts: Mapped[list[Any] | None] = mapped_column(JSON)  # [{"name", "xmin", "ymin", "xmax", "ymax"}]
    extra_shapes: Mapped[list[Any] | None] = mapped_column(JSON)  # [{"shape", "points", "radius"?}]
    extensions: Mapped[list[str] | None] = mapped_column(JSON)  # elements of the file's object kept verbatim

    label: Mapped[Label] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id], lazy="joined")


class Job(Base):
    """A background job (sync, publish, export) with its progress and outcome."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_dataset_created", "dataset_id", "id"),
        # At most one queued or running job of a kind per dataset, even when two requests race.
        Index(
            "ux_jobs_active", "dataset_id", "kind", unique=True,
            sqlite_where=text("status IN ('queued', 'running')"), postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The process that claimed it, "<host>:<pid>:<start time>": its host can tell at once that it died.
    runner: Mapped[str | None] = mapped_column(String(320))

    created_by: Mapped[User | None] = relationship()


# What a version goes through: `creating` while its publish job runs, `normal` once every file is
# written, `failed` when the publish did not finish, `deleting` while its files are removed.
VERSION_STATES = ("creating", "normal", "failed", "deleting")


class DatasetVersion(Base):
    """A published, immutable snapshot of a dataset's working state, with its files under the output path."""

    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "name"),
        Index("ix_dataset_versions_dataset", "dataset_id", "id"),
        # One current version per dataset.
        Index("ux_dataset_versions_current", "dataset_id", unique=True, sqlite_where=text("is_current"), postgresql_where=text("is_current")),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    train_ratio: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="creating")
    error: Mapped[str | None] = mapped_column(Text)
    # Where it was taken from and where its files go, fixed when it is created (the dataset's
    # name and paths may change later; the version's files stay where they were written).
    input_path: Mapped[str] = mapped_column(String(1024))
    folder_uri: Mapped[str] = mapped_column(String(1024))
    manifest_uri: Mapped[str] = mapped_column(String(1024))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id", ondelete="SET NULL"))
    # The label list the snapshot was taken with, [{"id", "name", "color"}] by id: a label's
    # index in masks and categories is its position + 1.
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sample_count: Mapped[int] = mapped_column(BigInteger, default=0)
    labeled_count: Mapped[int] = mapped_column(BigInteger, default=0)
    object_count: Mapped[int] = mapped_column(BigInteger, default=0)
    label_stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {label: {"samples": n, "objects": n}}
    added_count: Mapped[int] = mapped_column(BigInteger, default=0)
    modified_count: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # The version the working state was last made equal to: by its publish, or by "set as current".
    is_current: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Published by a "set as current" to keep the working state it replaced (never made current by itself).
    autosave: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The last "set-current" job asked to make this version current (how that job finds it; no
    # foreign key: once the job is gone the id is only history).
    current_job_id: Mapped[int | None] = mapped_column(Id)

    created_by: Mapped[User | None] = relationship()
    job: Mapped[Job | None] = relationship()


class VersionSample(Base):
    """One sample as a version holds it: the working row's values at the snapshot's instant.

    No foreign key to samples: the working sample may go while the version stays."""

    __tablename__ = "version_samples"
    __table_args__ = (Index("ux_version_samples_sample", "version_id", "sample_id", unique=True),)

    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(KeyString, primary_key=True)
    sample_id: Mapped[int] = mapped_column(Id)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(128))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    labeled: Mapped[bool] = mapped_column(Boolean)
    labeled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revision: Mapped[int] = mapped_column(Integer)
    saved_by_id: Mapped[int | None] = mapped_column(Id)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    xml_etag: Mapped[str | None] = mapped_column(String(128))
    depth: Mapped[int | None] = mapped_column(Integer)
    xml_header: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class VersionObject(Base):
    """One object as a version holds it, with its authors (ids, and names kept in case the users go)."""

    __tablename__ = "version_objects"

    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True)
    sample_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    object_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    label_id: Mapped[int] = mapped_column(Id)
    shape: Mapped[str] = mapped_column(String(16))
    points: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(Id)
    created_by: Mapped[str | None] = mapped_column(String(NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(Id)
    updated_by: Mapped[str | None] = mapped_column(String(NAME_MAX))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    imported_by: Mapped[str | None] = mapped_column(String(NAME_MAX))
    radius: Mapped[float | None] = mapped_column(Float)
    pose: Mapped[str] = mapped_column(Text, default="Unspecified", server_default="Unspecified")
    truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    occluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    difficult: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    confidence: Mapped[float | None] = mapped_column(Float)
    properties: Mapped[dict[str, str] | None] = mapped_column(JSON)
    parts: Mapped[list[Any] | None] = mapped_column(JSON)
    extra_shapes: Mapped[list[Any] | None] = mapped_column(JSON)
    extensions: Mapped[list[str] | None] = mapped_column(JSON)


class VersionExport(Base):
    """An export of a version in one format (voc, coco, manifest), written by its job under the version's folder."""

    __tablename__ = "version_exports"
    __table_args__ = (Index("ix_version_exports_version", "version_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(16))
    folder_uri: Mapped[str] = mapped_column(String(1024))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    version: Mapped[DatasetVersion] = relationship()
    job: Mapped[Job | None] = relationship()


class SampleRevision(Base):
    """One saved state of a sample's objects: who saved it, when, with which tool, and whose
    revision it replaced. Objects are kept compactly (their fields as the API gives them)."""

    __tablename__ = "sample_revisions"
    __table_args__ = (UniqueConstraint("sample_id", "revision"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    objects: Mapped[list[Any]] = mapped_column(JSON)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    tool: Mapped[str] = mapped_column(String(16))  # "api", "page", "restore", "sync", "set-current"
    # The revision this one replaced, and who had saved it (for an overwrite after a conflict).
    replaced_revision: Mapped[int | None] = mapped_column(Integer)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    restored_from: Mapped[int | None] = mapped_column(Integer)  # a restore: the revision it brought back

    saved_by: Mapped[User | None] = relationship(foreign_keys=[saved_by_id], lazy="joined")
    replaced_by: Mapped[User | None] = relationship(foreign_keys=[replaced_by_id], lazy="joined")


ACCEPTANCE_STATES = ("open", "finished")


class Acceptance(Base):
    """An owner's acceptance check of submitted work: a seeded draw of samples, each passed or
    rejected, then finished with pass all / reject all / pass the rest."""

    __tablename__ = "acceptances"
    __table_args__ = (Index("ix_acceptances_dataset", "dataset_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="open")
    seed: Mapped[int] = mapped_column(Integer)
    pool: Mapped[int] = mapped_column(Integer)  # submitted samples when drawn
    drawn: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(16))  # pass_all, reject_all, pass_rest
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AcceptanceSample(Base):
    """A sample drawn for an acceptance check, with who labeled it and the owner's verdict."""

    __tablename__ = "acceptance_samples"

    acceptance_id: Mapped[int] = mapped_column(ForeignKey("acceptances.id", ondelete="CASCADE"), primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True)
    labeler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rating: Mapped[str | None] = mapped_column(String(1))  # the reviewer's, when drawn
    verdict: Mapped[str | None] = mapped_column(String(8))  # None, "pass", "reject"
    reason: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DatasetImport(Base):
    """A ModelArts manifest imported into a dataset by its job: its images become samples, its
    annotation files their objects (`services.manifest_import`)."""

    __tablename__ = "dataset_imports"
    __table_args__ = (Index("ix_dataset_imports_dataset", "dataset_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    manifest_uri: Mapped[str] = mapped_column(String(1024))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    created_by: Mapped[User | None] = relationship()
    job: Mapped[Job | None] = relationship()
