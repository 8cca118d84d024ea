"""Importing sibling XML: fetch and parse each one, then write a batch of them in one transaction
(objects, labels created as needed, attribution, the image size from `<size>`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from storage.annotations import MAX_XML_BYTES, SOURCES, AnnotatedObject, Annotation, AnnotationError, read_annotation
from storage.errors import ObjectNotFound

from ...models import LABEL_NAME_MAX, AnnotationObject, Label, Sample, User, utcnow
from ..bulk import update_samples
from ..labels import next_color
from ..object_reads import PresignedReader
from ..sample_objects import ObjectFacts, write_indexes
from .pipeline import JobReport
from .planning import Candidate

XML_ERROR = "annotation: "

samples = Sample.__table__
objects_table = AnnotationObject.__table__


@dataclass
class Fetched:
    """A sibling XML fetched and parsed (or refused)."""

    candidate: Candidate
    etag: str
    annotation: Annotation | None = None
    problem: str | None = None
    sample_id: int | None = None  # filled in when the import locks the sample
    error: str | None = None


def fetch_annotation(reader: PresignedReader, bucket: str, item: tuple[Candidate, str, int | None]) -> Fetched | None:
    """Fetch and parse one sibling XML (in a reading thread, maybe of a helper process).

    The item carries the XML's listed size when known: one over MAX_XML_BYTES is refused without
    a read; otherwise the read stops one byte past the limit, so no XML is ever read whole."""
    candidate, etag, size = item
    if size is not None and size > MAX_XML_BYTES:
        return Fetched(candidate, etag, problem=too_large(candidate.xml_key, f"{size} bytes"))
    try:
        data = reader.first_bytes(bucket, candidate.xml_key, MAX_XML_BYTES + 1)
    except ObjectNotFound:  # deleted since it was listed
        return None
    if len(data) > MAX_XML_BYTES:
        return Fetched(candidate, etag, problem=too_large(candidate.xml_key, f"over {MAX_XML_BYTES} bytes"))
    try:
        return Fetched(candidate, etag, annotation=read_annotation(data, candidate.xml_key))
    except AnnotationError as exc:
        return Fetched(candidate, etag, problem=str(exc))


def too_large(xml_key: str, size: str) -> str:
    """Say that an XML is over the size limit, as the parser would."""
    return f"{xml_key}: file is {size}, larger than the {MAX_XML_BYTES} byte limit"


class Lookups:
    """Label and user ids by name for one dataset's imports, learned as the batches need them."""

    def __init__(self, dataset_id: int):
        self.dataset_id = dataset_id
        self.labels: dict[str, int] | None = None
        self.users: dict[str, int | None] = {}

    def label_ids(self, session: Session, names: set[str]) -> dict[str, int]:
        """Return label ids by name, creating the dataset's missing labels with distinct colours."""
        if self.labels is None:
            self.labels = dict(session.execute(select(Label.name, Label.id).where(Label.dataset_id == self.dataset_id)).all())
        for name in sorted(names - self.labels.keys()):
            label = Label(dataset_id=self.dataset_id, name=name, color=next_color(session, self.dataset_id))
            session.add(label)
            session.flush()
            self.labels[name] = label.id
        return self.labels

    def user_ids(self, session: Session, names: set[str]) -> dict[str, int | None]:
        """Return user ids by user name; names of no user map to None."""
        unknown = names - self.users.keys()
        if unknown:
            found = dict(session.execute(select(User.username, User.id).where(User.username.in_(unknown))).all())
            self.users.update({name: found.get(name) for name in unknown})
        return self.users


class Importer:
    """Write one batch of fetched XML: objects, label and labeler indexes, sample fields."""

    def __init__(self, session: Session, dataset_id: int, job: JobReport, lookups: Lookups):
        self.session, self.dataset_id, self.job, self.lookups = session, dataset_id, job, lookups

    def write(self, batch: list[Fetched]) -> None:
        """Import the batch's XML into the samples that are still as they were compared."""
        current = self.lock(batch)
        good, bad, seen = [], [], set()
        for f in batch:
            row = current.get(f.candidate.key)
            if row is None or row.revision != f.candidate.revision or f.candidate.key in seen:
                continue  # deleted, saved by someone since we compared (their work wins), or already here
            seen.add(f.candidate.key)
            f.sample_id, f.error = row.id, row.error
            problem = f.problem or self.check(f.annotation)
            (bad if problem else good).append((f, problem))
        self.write_good([f for f, _ in good])
        self.write_bad(bad)

    def lock(self, batch: list[Fetched]) -> dict[str, Any]:
        """Lock the batch's samples; return (id, revision, error) of those that still exist, by key."""
        keys = [f.candidate.key for f in batch]
        rows = self.session.execute(
            select(samples.c.id, samples.c.key, samples.c.revision, samples.c.error)
            .where(samples.c.dataset_id == self.dataset_id, samples.c.key.in_(keys)).with_for_update()
        )
        return {row.key: row for row in rows}

    @staticmethod
    def check(annotation: Annotation) -> str | None:
        """Refuse what the database cannot hold."""
        for obj in annotation.objects:
            if not obj.label.strip() or len(obj.label.strip()) > LABEL_NAME_MAX:
                return f"{XML_ERROR}label {obj.label[:80]!r} must have 1 to {LABEL_NAME_MAX} characters"
        return None

    def write_good(self, good: list[Fetched]) -> None:
        """Replace the samples' objects with the XML's; derive their indexes and labeled state."""
        if not good:
            return
        ids = [f.sample_id for f in good]
        rows = self.object_rows(good)
        self.session.execute(delete(objects_table).where(objects_table.c.sample_id.in_(ids)))
        if rows:
            self.session.execute(insert(objects_table), rows)
        facts = [ObjectFacts(r["sample_id"], r["label_id"], r["created_by_id"], r["updated_by_id"], r["updated_at"]) for r in rows]
        latest = write_indexes(self.session, self.dataset_id, ids, facts)
        update_samples(self.session, [
            {"id": f.sample_id, "xml_etag": f.etag, "width": f.annotation.width, "height": f.annotation.height,
             "labeled": f.sample_id in latest, "labeled_at": latest.get(f.sample_id), "revision": f.candidate.revision + 1,
             "error": kept_error(f.error)} for f in good
        ])
        self.job.count("annotations_imported", len(good))

    def object_rows(self, good: list[Fetched]) -> list[dict[str, Any]]:
        """Return the object rows of the batch's XML, creating the labels they name."""
        names = {o.label.strip() for f in good for o in f.annotation.objects}
        people = {n for f in good for o in f.annotation.objects for n in (o.created_by, o.updated_by) if n}
        labels = self.lookups.label_ids(self.session, names)
        users = self.lookups.user_ids(self.session, people)
        now = utcnow()
        return [object_row(f.sample_id, o, labels, users, now) for f in good for o in f.annotation.objects]

    def write_bad(self, bad: list[tuple[Fetched, str]]) -> None:
        """Flag samples whose XML cannot be imported; their objects stay as they were."""
        if not bad:
            return
        update_samples(self.session, [{"id": f.sample_id, "xml_etag": f.etag, "error": as_xml_error(problem)} for f, problem in bad])
        for f, problem in bad:
            self.job.error(f.candidate.xml_key, as_xml_error(problem))


def object_row(sample_id: int, obj: AnnotatedObject, labels: dict[str, int], users: dict[str, int | None], now: datetime) -> dict[str, Any]:
    """Turn a parsed object into a row; our attribution is kept, others' count as imported."""
    creator = users.get(obj.created_by) if obj.created_by else None
    updater = users.get(obj.updated_by) if obj.updated_by else creator
    created_at = obj.created_at or now
    return {
        "sample_id": sample_id, "label_id": labels[obj.label.strip()], "shape": obj.shape,
        "points": [[float(x), float(y)] for x, y in obj.points],
        "source": obj.source if obj.source in SOURCES else "imported",
        "created_by_id": creator, "created_at": created_at,
        "updated_by_id": updater, "updated_at": obj.updated_at or created_at,
        "imported_by": obj.created_by[:64] if obj.created_by and creator is None else None,
    }


def as_xml_error(problem: str) -> str:
    """Return the problem as a sample error of the XML kind."""
    return problem if problem.startswith(XML_ERROR) else XML_ERROR + problem


def kept_error(error: str | None) -> str | None:
    """Keep an image error when an XML imports fine; an earlier XML error is gone."""
    return error if error and not error.startswith(XML_ERROR) else None
