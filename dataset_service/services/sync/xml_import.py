"""Importing sibling XML: fetch and parse each one, then write a batch of them in one transaction
(objects with every shape and attribute, labels created as needed in the file's mask colour,
attribution, the file's own fields).

The real image wins: its size is read from its header beside the XML, and the file's objects are
checked against it. A `<size>` that disagrees is imported against the real size, and objects
outside the image (one line each: the object, the point, the limit it passes) are left out while
the file's other objects are imported; both are said in the sample's `xml_warning` (and on the
job), which stays until a person saves the sample. Only an image that cannot be read leaves the
size to the XML (the sample then carries the image's error)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from storage.annotations import MAX_XML_BYTES, SOURCES, AnnotatedObject, Annotation, AnnotationError, read_annotation
from storage.errors import ObjectNotFound
from storage.images import DEFAULT_MAX_PIXELS

from ...models import LABEL_NAME_MAX, AnnotationObject, Label, Sample, User, utcnow
from ..bulk import update_samples
from ..image_probe import UndecodableImage, probe_image
from ..labels import next_color
from ..object_fields import header_values, row_values
from ..object_reads import PresignedReader
from ..sample_objects import ObjectFacts, write_indexes
from .pipeline import JobReport
from .planning import Candidate
from .sizes import IMAGE_ERROR

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
    image: tuple[int, int, int] | str | None = None  # the image's real width, height and depth, or why it cannot be read


def fetch_annotation(reader: PresignedReader, bucket: str, item: tuple[Candidate, str, int | None],
                     max_pixels: int = DEFAULT_MAX_PIXELS) -> Fetched | None:
    """Fetch and parse one sibling XML, and read its image's real size (in a reading thread, maybe
    of a helper process); None when the XML is gone since the listing.

    The item carries the XML's listed size when known: one over MAX_XML_BYTES is refused without
    a read; otherwise the read stops one byte past the limit, so no XML is ever read whole."""
    candidate, etag, size = item
    if size is not None and size > MAX_XML_BYTES:
        return Fetched(candidate, etag, problem=too_large(candidate.xml_key, f"{size} bytes"))
    try:
        data = reader.first_bytes(candidate.xml_bucket or bucket, candidate.xml_key, MAX_XML_BYTES + 1)
    except ObjectNotFound:  # deleted since it was listed
        return None
    if len(data) > MAX_XML_BYTES:
        return Fetched(candidate, etag, problem=too_large(candidate.xml_key, f"over {MAX_XML_BYTES} bytes"))
    image: tuple[int, int, int] | str | None
    try:
        image = probe_image(reader, bucket, candidate.key, None, max_pixels)
    except UndecodableImage as exc:
        image = str(exc)
    except ObjectNotFound:  # deleted since it was listed: the next sync deletes its sample
        image = None
    try:
        annotation = read_annotation(data, candidate.xml_key, image[:2] if isinstance(image, tuple) else None)
    except AnnotationError as exc:
        return Fetched(candidate, etag, problem=str(exc), image=image)
    return Fetched(candidate, etag, annotation=annotation, image=image)


def too_large(xml_key: str, size: str) -> str:
    """Say that an XML is over the size limit, as the parser would."""
    return f"{xml_key}: file is {size}, larger than the {MAX_XML_BYTES} byte limit"


class Lookups:
    """Label and user ids by name for one dataset's imports, learned as the batches need them."""

    def __init__(self, dataset_id: int):
        self.dataset_id = dataset_id
        self.labels: dict[str, int] | None = None
        self.users: dict[str, int | None] = {}

    def label_ids(self, session: Session, names: set[str], colors: dict[str, str] | None = None) -> dict[str, int]:
        """Return label ids by name, creating the dataset's missing labels in the colour the file
        gives them (`colors`, "#rrggbb" by name), else in distinct colours."""
        if self.labels is None:
            self.labels = dict(session.execute(select(Label.name, Label.id).where(Label.dataset_id == self.dataset_id)).all())
        for name in sorted(names - self.labels.keys()):
            color = (colors or {}).get(name) or next_color(session, self.dataset_id)
            label = Label(dataset_id=self.dataset_id, name=name, color=color)
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
            {"id": f.sample_id, "xml_etag": f.etag, **dict(zip(("width", "height"), size_of(f))),
             "labeled": f.sample_id in latest, "labeled_at": latest.get(f.sample_id), "revision": f.candidate.revision + 1,
             "error": image_error(f) or kept_error(f.error), **header_values(f.annotation, image_depth(f)),
             "xml_warning": warning(f)} for f in good
        ])
        self.job.count("annotations_imported", len(good))
        for f in good:
            for line in (warning(f) or "").splitlines():
                self.job.error(f.candidate.xml_key, XML_ERROR + line)

    def object_rows(self, good: list[Fetched]) -> list[dict[str, Any]]:
        """Return the object rows of the batch's XML, creating the labels they name."""
        names = {o.label.strip() for f in good for o in f.annotation.objects}
        people = {n for f in good for o in f.annotation.objects for n in (o.created_by, o.updated_by) if n}
        labels = self.lookups.label_ids(self.session, names, file_colors(good))
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
        "sample_id": sample_id, "label_id": labels[obj.label.strip()], **row_values(obj),
        "source": obj.source if obj.source in SOURCES else "imported",
        "created_by_id": creator, "created_at": created_at,
        "updated_by_id": updater, "updated_at": obj.updated_at or created_at,
        "imported_by": obj.created_by[:64] if obj.created_by and creator is None else None,
    }


def file_colors(good: list[Fetched]) -> dict[str, str]:
    """Return the colour ("#rrggbb") the files give each label: the first <mask_color> found."""
    colors: dict[str, str] = {}
    for o in (o for f in good for o in f.annotation.objects if o.mask_color):
        colors.setdefault(o.label.strip(), "#{:02x}{:02x}{:02x}".format(*o.mask_color))
    return colors


def size_of(f: Fetched) -> tuple[int, int]:
    """Return the sample's size: the image's own, or the XML's when the image cannot be read."""
    return f.image[:2] if isinstance(f.image, tuple) else (f.annotation.width, f.annotation.height)


def image_depth(f: Fetched) -> int | None:
    """Return the image's channels, None when it cannot be read."""
    return f.image[2] if isinstance(f.image, tuple) else None


def image_error(f: Fetched) -> str | None:
    """Return the image's error when it cannot be read (as the sizes step words it)."""
    return IMAGE_ERROR + f.image if isinstance(f.image, str) else None


def warning(f: Fetched) -> str | None:
    """Say, one line each, what importing the file overrode (a wrong <size>) and left out (objects
    outside the image); None when it imported the file as it is."""
    ann, lines = f.annotation, []
    if isinstance(f.image, tuple) and f.image[:2] != (ann.width, ann.height):
        lines.append(f"<size> says {ann.width}x{ann.height} but the image is {f.image[0]}x{f.image[1]}: imported against the image's size")
    lines += [f"left out {problem}" for problem in ann.rejected]
    return "\n".join(lines) or None


def as_xml_error(problem: str) -> str:
    """Return the problem as a sample error of the XML kind."""
    return problem if problem.startswith(XML_ERROR) else XML_ERROR + problem


def kept_error(error: str | None) -> str | None:
    """Keep an image error when an XML imports fine; an earlier XML error is gone."""
    return error if error and not error.startswith(XML_ERROR) else None
