"""Database models: users, datasets, labels, samples, annotation objects, jobs."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
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


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


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

    saved_by: Mapped[User | None] = relationship(lazy="joined")


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


class SyncListed(Base):
    """The keys a running sync has listed (images and XML), so that the samples it did not list
    can be found at the end whatever order the object store lists in. Emptied when the sync ends;
    UNLOGGED on PostgreSQL (scratch data: nothing is lost if a crash empties it)."""

    __tablename__ = "sync_listed"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(KeyString, primary_key=True)
    etag: Mapped[str] = mapped_column(String(128))


class AnnotationObject(Base):
    """One labeled object (a polygon) on a sample, with its authorship."""

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

    created_by: Mapped[User | None] = relationship()
