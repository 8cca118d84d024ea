"""Synchronize Data Source: make the dataset's samples match the images under its input path.

One pass over the listing, page by page (read ahead by `listing`: a thread, then a helper
process for long listings):

1. each page's keys are recorded in `sync_listed`, and its images are compared in bulk, by key,
   with the samples stored under the same keys: new images are inserted, images whose ETag or
   size changed are updated (their size forgotten), and the page's transaction commits (a
   dataset's first sync has nothing to compare with: its pages are inserted without lookups);
2. a sibling XML that differs from the one we last wrote or imported (`xml_etag`) is fetched and
   parsed concurrently (`object_reads`) and imported in batches: objects, labels (unknown ones
   created with distinct colours), attribution, and the image size from the XML's `<size>`. An
   XML is matched with its image(s) when it is listed (the image was listed before it: a folder's
   files come in name order and "stem.jpg" < "stem.xml"); should a store list an XML first, the
   image finds it in `sync_listed` when it comes;
3. once the listing ends, the samples it did not list are deleted with one anti-join against
   `sync_listed`; the stage "importing" waits for the last imports;
4. stage "reading image sizes": the samples whose width is still unknown are read with ranged
   GETs of their first bytes, concurrently, and stored in batches.

Nothing depends on the order of the listing: S3 lists in byte order, SeaweedFS lists a folder
before siblings such as "cats.jpg" next to "cats/", and both are synchronized exactly.
Memory stays bounded by a page plus a fixed number of reads in flight. A malformed XML or an
undecodable image sets the sample's `error` and a job error, and the sync goes on; an object
store that stops answering fails the job before anything is deleted, and running it again
finishes the work: every step is keyed by (dataset, key), so nothing is duplicated or lost.
"""
from __future__ import annotations

import logging
import time
import queue
import threading
from collections import deque
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Text, and_, any_, bindparam, delete, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from storage.annotations import SOURCES, Annotation, AnnotationError, read_annotation
from storage.errors import ObjectNotFound
from storage.factory import store_for
from storage.objects import ObjectInfo, ObjectStore
from storage.paths import is_annotation_key, is_image_key, sibling_xml_key
from storage.uris import parse_uri

from ..config import Config
from ..models import AnnotationObject, Dataset, Job, Label, Sample, SampleLabel, SampleLabeler, SyncListed, User, utcnow
from . import listing
from .image_probe import UndecodableImage, probe_size
from .labels import next_color
from .object_reads import Reads

PAGE_SIZE = 1000
ANALYZE_AFTER = 10_000  # rows a sync adds before it refreshes the planner's statistics
IN_FLIGHT = 16  # chunks of reads submitted and not yet written
IMPORT_BATCH = 200
SIZE_CHUNK = 500
LABEL_NAME_MAX = 64
XML_ERROR = "annotation: "
IMAGE_ERROR = "image: "
STAGES = ("listing", "importing", "reading image sizes")

log = logging.getLogger(__name__)
samples = Sample.__table__
objects_table = AnnotationObject.__table__
listed = SyncListed.__table__


@dataclass
class Stored:
    """A stored sample as the comparison sees it."""

    id: int
    key: str
    etag: str
    size: int
    xml_etag: str | None
    revision: int
    error: str | None


@dataclass
class Candidate:
    """An image whose sibling XML may need importing, once the listing has passed the XML's key."""

    key: str
    xml_key: str
    revision: int  # the sample's revision when compared; an import needs it unchanged
    xml_etag: str | None  # the XML we last wrote or imported


@dataclass
class Fetched:
    """A sibling XML fetched and parsed (or refused)."""

    candidate: Candidate
    etag: str
    annotation: Annotation | None = None
    problem: str | None = None
    sample_id: int | None = None  # filled in when the import locks the sample
    error: str | None = None


@dataclass
class PagePlan:
    """What one page changes: rows to insert and update, and what stays as it is."""

    new: list[ObjectInfo] = field(default_factory=list)
    changed: list[tuple[Stored, ObjectInfo]] = field(default_factory=list)
    unchanged: list[Stored] = field(default_factory=list)


def plan_page(images: dict[str, ObjectInfo], stored: Iterable[Stored]) -> PagePlan:
    """Compare the images of a page with the samples stored under the same keys."""
    plan = PagePlan()
    seen: set[str] = set()
    for row in stored:
        info = images.get(row.key)
        if info is None:
            continue
        seen.add(row.key)
        if info.etag != row.etag or info.size != row.size:
            plan.changed.append((row, info))
        else:
            plan.unchanged.append(row)
    plan.new = [info for key, info in images.items() if key not in seen]
    return plan


def page_candidates(plan: PagePlan) -> dict[str, list[Candidate]]:
    """Return the page's images as import candidates, grouped by the key of their sibling XML."""
    out: dict[str, list[Candidate]] = {}
    for candidate in (
        [Candidate(o.key, sibling_xml_key(o.key), 0, None) for o in plan.new]
        + [Candidate(r.key, sibling_xml_key(r.key), r.revision, r.xml_etag) for r, _ in plan.changed]
        + [Candidate(r.key, sibling_xml_key(r.key), r.revision, r.xml_etag) for r in plan.unchanged]
    ):
        out.setdefault(candidate.xml_key, []).append(candidate)
    return out


def xml_stem_range(xml_key: str) -> tuple[str, str]:
    """Return [low, high): the keys that start with "<folder>/<stem>." where the images of this XML lie."""
    stem = xml_key[: xml_key.rindex(".") + 1]
    return stem, stem[:-1] + "/"  # "/" follows "." in byte order: every key starting with stem + "."


# --- the job ------------------------------------------------------------------------------------


def run_sync(job, make_session: sessionmaker[Session], config: Config) -> None:
    """Synchronize the job's dataset with its input path (the body of a `sync` job)."""
    sync = Synchronizer(job, make_session, config)
    sync.run()


class Synchronizer:
    """One sync run: its store, its thread pools and what it has learned so far."""

    def __init__(self, job, make_session: sessionmaker[Session], config: Config):
        self.job, self.make_session, self.config = job, make_session, config
        with make_session() as session:
            dataset = session.get(Dataset, job.dataset_id)
            self.dataset_id = dataset.id
            self.root = parse_uri(dataset.input_path)
            self.started_at = utcnow()
            # A dataset with no sample yet (its first sync) has nothing to compare with or delete:
            # its pages are inserted without lookups and only XML keys are recorded.
            self.first = session.scalar(select(samples.c.id).where(samples.c.dataset_id == dataset.id).limit(1)) is None
        self.store: ObjectStore = store_for(self.root, config.store_settings)
        self.labels: dict[str, int] | None = None
        self.fetched: list[Fetched] = []
        self.writer: BatchWriter | None = None
        self.users: dict[str, int | None] = {}
        self.added_total = self.added_since_analyze = 0

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One step's transaction. Its commit need not wait for the disk on PostgreSQL: a crash
        can lose only the last steps, and the next sync redoes them."""
        with self.make_session.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            yield session

    def run(self) -> None:
        for name in ("listed", "processed", "sized"):
            self.job.progress.setdefault(name, 0)
        for name in ("added", "updated", "deleted", "unchanged", "annotations_imported", "errors"):
            self.job.counts.setdefault(name, 0)
        started = time.monotonic()
        with Reads(self.config.store_settings, self.root) as reads:
            try:
                self.list_and_import(reads)
            finally:
                if self.writer is not None:
                    self.writer.stop()
                self.forget_listed(quietly=True)
            imported = time.monotonic()
            self.job.stage = STAGES[2]
            self.read_sizes(reads)
        log.info("sync job %s: listed, compared and imported in %.1f s, sizes read in %.1f s; %s",
                 self.job.job_id, imported - started, time.monotonic() - imported, self.job.counts)

    # --- listing and comparing ---

    def list_and_import(self, reads: Reads) -> None:
        """Walk the listing page by page, importing sibling XML as the pages go; then delete what
        was not listed."""
        self.job.stage = STAGES[0]
        self.writer = BatchWriter(self.write_batch)
        imports = Window(IN_FLIGHT)
        self.forget_listed()
        started = time.monotonic()
        in_order, last = True, ""
        spent = {"waiting for the listing": 0.0, "comparing and writing pages": 0.0, "waiting for XML reads": 0.0}
        mark = time.monotonic()
        for page in listing.pages(self.store, self.config.store_settings, self.root, PAGE_SIZE):
            spent["waiting for the listing"] += time.monotonic() - mark
            self.job.check()
            images = {o.key: o for o in page if is_image_key(o.key)}
            xml = {o.key: o.etag for o in page if is_annotation_key(o.key)}
            # In byte order an image's XML ("stem.xml") never comes before the image; in any
            # other order, the images of this page may have their XML on an earlier page.
            in_order = in_order and all(a.key < b.key for a, b in zip(page, page[1:])) and (not page or page[0].key > last)
            mark = time.monotonic()
            ready = self.apply_page(images, xml, first_key=page[0].key if in_order and page else None)
            last = page[-1].key if page else last
            self.job.advance("listed", len(images))
            spent["comparing and writing pages"] += time.monotonic() - mark
            mark = time.monotonic()
            self.queue_imports(reads, imports, ready)
            self.job.advance("processed", len(images))
            spent["waiting for XML reads"] += time.monotonic() - mark
            mark = time.monotonic()
        listed_at = time.monotonic()
        self.delete_unlisted()
        log.info("sync job %s: listing done in %.1f s (%s), unlisted deleted in %.1f s, %d import chunks still in flight",
                 self.job.job_id, listed_at - started, ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()),
                 time.monotonic() - listed_at, len(imports.pending))
        self.job.stage = STAGES[1]
        self.write_imports(imports.drain(), force=True)
        self.writer.close()
        log.info("sync job %s: imports written %.1f s after the listing", self.job.job_id, time.monotonic() - listed_at)

    def apply_page(self, images: dict[str, ObjectInfo], xml: dict[str, str], first_key: str | None) -> list[tuple[Candidate, str]]:
        """Record the page's keys, insert and update its samples; return the XML to import with
        their ETags. `first_key` is the page's first key when the listing is in byte order so far,
        else None."""
        with self.transaction() as session:
            keys = list(xml.items()) if self.first else [(o.key, o.etag) for o in images.values()] + list(xml.items())
            record_listed(session, self.job.job_id, keys)
            plan = plan_page(images, [] if self.first else self.stored_by_keys(session, list(images)))
            self.write_plan(session, plan)
            self.keep_statistics(session, len(plan.new))
            found = page_candidates(plan)
            todo = self.xml_candidates(session, found, xml, first_key)
            if first_key is None:
                todo += self.earlier_xml(session, found, xml)
        self.job.count("added", len(plan.new))
        self.job.count("updated", len(plan.changed))
        self.job.count("unchanged", len(plan.unchanged))
        return todo

    def stored_by_keys(self, session: Session, keys: list[str]) -> list[Stored]:
        """Return the stored samples with these keys (PostgreSQL: one array parameter, not a thousand)."""
        if not keys:
            return []
        query = select(samples.c.id, samples.c.key, samples.c.etag, samples.c.size, samples.c.xml_etag,
                       samples.c.revision, samples.c.error).where(samples.c.dataset_id == self.dataset_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.where(samples.c.key == any_(bindparam("keys", keys, type_=postgresql.ARRAY(Text))))
        else:
            query = query.where(samples.c.key.in_(keys))
        return [Stored(*row) for row in session.execute(query)]

    def keep_statistics(self, session: Session, added: int) -> None:
        """ANALYZE samples each time this sync has added as many rows again (PostgreSQL).

        A first sync fills the table faster than autovacuum looks at it; with statistics that
        still say "a few rows" the planner took the trigram index for the key lookups, and the
        first sync of `make bench-sync` went from ~30 s to 52-85 s. At 10,000 added rows, then 20,000, 40,000 ...
        (a few ANALYZEs of 30,000 sampled rows each) the plans stay right.
        """
        if session.get_bind().dialect.name != "postgresql":
            return
        self.added_since_analyze += added
        if self.added_since_analyze >= max(ANALYZE_AFTER, self.added_total):
            self.added_total += self.added_since_analyze
            self.added_since_analyze = 0
            session.execute(text("ANALYZE samples"))

    def xml_candidates(self, session: Session, found: dict[str, list[Candidate]], xml: dict[str, str], first_key: str | None) -> list[tuple[Candidate, str]]:
        """Return the images of the page's XML whose XML differs from the one we last saw.

        An XML's images ("stem.bmp" ... "stem.png") come right before it in byte order: when the
        page begins before "stem.", they are all on this page; otherwise (a page boundary among
        them, or a listing out of byte order) they are looked up among the stored samples.
        """
        if not xml:
            return []
        out: list[tuple[Candidate, str]] = []
        ranges = []
        for xml_key, etag in xml.items():
            low, high = xml_stem_range(xml_key)
            if first_key is not None and first_key < low:
                out += [(c, etag) for c in found.get(xml_key, []) if c.xml_etag != etag]
            else:
                ranges.append((low, high))
        if ranges:
            rows = session.execute(
                select(samples.c.key, samples.c.revision, samples.c.xml_etag)
                .where(samples.c.dataset_id == self.dataset_id, or_(*(and_(samples.c.key >= lo, samples.c.key < hi) for lo, hi in ranges)))
            )
            for key, revision, xml_etag in rows:
                xml_key = sibling_xml_key(key) if is_image_key(key) else None
                if xml_key in xml and xml[xml_key] != xml_etag:
                    out.append((Candidate(key, xml_key, revision, xml_etag), xml[xml_key]))
        return out

    def earlier_xml(self, session: Session, found: dict[str, list[Candidate]], xml: dict[str, str]) -> list[tuple[Candidate, str]]:
        """Return the images of the page whose XML was listed on an earlier page (out of byte order)."""
        mine = [c for xml_key, group in found.items() if xml_key not in xml for c in group]
        if not mine:
            return []
        etags = dict(session.execute(select(listed.c.key, listed.c.etag).where(
            listed.c.job_id == self.job.job_id, listed.c.key.in_({c.xml_key for c in mine}))).all())
        return [(c, etags[c.xml_key]) for c in mine if c.xml_key in etags and etags[c.xml_key] != c.xml_etag]

    def delete_unlisted(self) -> None:
        """Delete the samples the listing did not show (those added since it started stay)."""
        if self.first:
            return  # every sample there is was added since the sync started
        with self.transaction() as session:
            result = session.execute(delete(samples).where(
                samples.c.dataset_id == self.dataset_id, samples.c.added_at < self.started_at,
                ~select(listed.c.key).where(listed.c.job_id == self.job.job_id, listed.c.key == samples.c.key).exists(),
            ))
        self.job.count("deleted", result.rowcount)

    def forget_listed(self, quietly: bool = False) -> None:
        """Empty the listed keys of this job and of the dataset's other jobs that are not running
        (left by a process that was killed): scratch rows that nothing needs any more."""
        stale = select(Job.id).where(Job.dataset_id == self.dataset_id, Job.id != self.job.job_id, Job.status != "running")
        try:
            with self.transaction() as session:
                session.execute(delete(listed).where(listed.c.job_id == self.job.job_id))
                session.execute(delete(listed).where(listed.c.job_id.in_(stale)))
        except Exception:
            if not quietly:
                raise
            log.warning("sync job %s: could not empty its listed keys (the next sync will)", self.job.job_id, exc_info=True)

    def write_plan(self, session: Session, plan: PagePlan) -> None:
        """Apply a page's inserts, updates and deletes in bulk; flush."""
        if plan.new:
            now = utcnow()
            insert_samples(session, [
                {"dataset_id": self.dataset_id, "key": o.key, "size": o.size, "etag": o.etag, "created_at": o.last_modified,
                 "added_at": now, "labeled": False, "revision": 0} for o in plan.new
            ])
        update_samples(session, [
            {"id": r.id, "etag": o.etag, "size": o.size, "created_at": o.last_modified, "width": None, "height": None, "error": None}
            for r, o in plan.changed
        ])

    # --- sibling XML ---

    def queue_imports(self, reads: Reads, imports: Window, todo: list[tuple[Candidate, str]]) -> None:
        """Fetch the XML to import; write what has arrived."""
        if todo:
            self.write_imports(imports.add(reads.submit(fetch_annotation, todo)))
        self.write_imports(imports.ready())

    def write_imports(self, chunks: list[list[Fetched | None]], force: bool = False) -> None:
        """Collect fetched XML; hand them to the writer thread in batches."""
        self.fetched += [f for chunk in chunks for f in chunk if f is not None]
        while len(self.fetched) >= IMPORT_BATCH or (force and self.fetched):
            batch, self.fetched = self.fetched[:IMPORT_BATCH], self.fetched[IMPORT_BATCH:]
            self.writer.put(batch)

    def write_batch(self, batch: list[Fetched]) -> None:
        """Import one batch in one transaction (in the writer thread)."""
        with self.transaction() as session:
            Importer(self, session).write(batch)

    # --- image sizes ---

    def read_sizes(self, reads: Reads) -> None:
        """Read the unknown image sizes with ranged GETs, concurrently; store them in batches."""
        window = Window(IN_FLIGHT)
        for chunk in self.unsized():
            self.write_sizes(window.add(reads.submit(read_size, chunk)))
        self.write_sizes(window.drain())

    def unsized(self) -> Iterator[list[tuple[int, str, int]]]:
        """Yield chunks of (id, key, size) of samples with no known size and no image error, by id."""
        last = 0
        while True:
            self.job.check()
            with self.make_session() as session:
                rows = session.execute(
                    select(samples.c.id, samples.c.key, samples.c.size, samples.c.error)
                    .where(samples.c.dataset_id == self.dataset_id, samples.c.width.is_(None), samples.c.id > last)
                    .order_by(samples.c.id).limit(SIZE_CHUNK)
                ).all()
            chunk = [(i, key, size) for i, key, size, error in rows if not (error or "").startswith(IMAGE_ERROR)]
            if chunk:
                yield chunk
            if len(rows) < SIZE_CHUNK:
                return
            last = rows[-1][0]

    def write_sizes(self, chunks: list[list[tuple[int, str, Any]]]) -> None:
        """Store sizes and image errors of some chunks in one transaction."""
        results = [r for chunk in chunks for r in chunk]
        sized = [{"id": i, "width": r[0], "height": r[1]} for i, _, r in results if isinstance(r, tuple)]
        broken = [{"id": i, "error": IMAGE_ERROR + r} for i, _, r in results if isinstance(r, str)]
        if not sized and not broken:
            return
        with self.transaction() as session:
            update_samples(session, sized)
            update_samples(session, broken)
        for _, key, r in results:
            if isinstance(r, str):
                self.job.error(key, IMAGE_ERROR + r)
        self.job.advance("sized", len(sized))

    # --- lookups shared by the import batches ---

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


def fetch_annotation(reader, bucket: str, item: tuple[Candidate, str]) -> Fetched | None:
    """Fetch and parse one sibling XML (in a reading thread, maybe of a helper process)."""
    candidate, etag = item
    try:
        data = reader.get(bucket, candidate.xml_key)
    except ObjectNotFound:  # deleted since it was listed
        return None
    try:
        return Fetched(candidate, etag, annotation=read_annotation(data, candidate.xml_key))
    except AnnotationError as exc:
        return Fetched(candidate, etag, problem=str(exc))


def read_size(reader, bucket: str, row: tuple[int, str, int]) -> tuple[int, str, Any]:
    """Read one image's size: (id, key, (width, height) | problem | None when the object is gone)."""
    sample_id, key, size = row
    try:
        return sample_id, key, probe_size(reader, bucket, key, size)
    except UndecodableImage as exc:
        return sample_id, key, str(exc)
    except ObjectNotFound:
        return sample_id, key, None


class Importer:
    """Write one batch of fetched XML: objects, label and labeler indexes, sample fields."""

    def __init__(self, sync: Synchronizer, session: Session):
        self.sync, self.session, self.job = sync, session, sync.job

    def write(self, batch: list[Fetched]) -> None:
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
            .where(samples.c.dataset_id == self.sync.dataset_id, samples.c.key.in_(keys)).with_for_update()
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
        if not good:
            return
        names = {o.label.strip() for f in good for o in f.annotation.objects}
        people = {n for f in good for o in f.annotation.objects for n in (o.created_by, o.updated_by) if n}
        labels = self.sync.label_ids(self.session, names)
        users = self.sync.user_ids(self.session, people)
        ids = [f.sample_id for f in good]
        for table in (objects_table, SampleLabel.__table__, SampleLabeler.__table__):
            self.session.execute(delete(table).where(table.c.sample_id.in_(ids)))
        now = utcnow()
        rows = [self.object_row(f.sample_id, o, labels, users, now) for f in good for o in f.annotation.objects]
        if rows:
            self.session.execute(insert(objects_table), rows)
            self.insert_indexes(rows)
        latest: dict[int, datetime] = {}
        for row in rows:
            latest[row["sample_id"]] = max(latest.get(row["sample_id"], row["updated_at"]), row["updated_at"])
        update_samples(self.session, [
            {"id": f.sample_id, "xml_etag": f.etag, "width": f.annotation.width, "height": f.annotation.height,
             "labeled": f.sample_id in latest, "labeled_at": latest.get(f.sample_id), "revision": f.candidate.revision + 1,
             "error": kept_error(f.error)} for f in good
        ])
        self.job.count("annotations_imported", len(good))

    def object_row(self, sample_id: int, obj, labels: dict[str, int], users: dict[str, int | None], now: datetime) -> dict[str, Any]:
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

    def insert_indexes(self, rows: list[dict[str, Any]]) -> None:
        """Fill the label and labeler filter indexes of the imported samples."""
        pairs = sorted({(r["sample_id"], r["label_id"]) for r in rows})
        self.session.execute(insert(SampleLabel.__table__), [{"sample_id": s, "label_id": l} for s, l in pairs])
        people = sorted({(r["sample_id"], u) for r in rows for u in (r["created_by_id"], r["updated_by_id"]) if u is not None})
        if people:
            self.session.execute(insert(SampleLabeler.__table__), [
                {"sample_id": s, "user_id": u, "dataset_id": self.sync.dataset_id} for s, u in people])

    def write_bad(self, bad: list[tuple[Fetched, str]]) -> None:
        """Flag samples whose XML cannot be imported; their objects stay as they were."""
        if not bad:
            return
        update_samples(self.session, [{"id": f.sample_id, "xml_etag": f.etag, "error": as_xml_error(problem)} for f, problem in bad])
        for f, problem in bad:
            self.job.error(f.candidate.xml_key, as_xml_error(problem))


def as_xml_error(problem: str) -> str:
    return problem if problem.startswith(XML_ERROR) else XML_ERROR + problem


def kept_error(error: str | None) -> str | None:
    """Keep an image error when an XML imports fine; an earlier XML error is gone."""
    return error if error and not error.startswith(XML_ERROR) else None


# --- plumbing -----------------------------------------------------------------------------------


# Array types of the sample columns a sync updates, for PostgreSQL's unnest().
PG_ARRAYS = {
    "id": "bigint[]", "etag": "text[]", "size": "bigint[]", "created_at": "timestamptz[]", "width": "integer[]",
    "height": "integer[]", "error": "text[]", "xml_etag": "text[]", "labeled": "boolean[]", "labeled_at": "timestamptz[]",
    "revision": "integer[]",
}


def update_samples(session: Session, rows: list[dict[str, Any]]) -> None:
    """Update samples by id, each row with the same columns, in bulk.

    PostgreSQL gets one statement over unnest()ed arrays: an executemany would be one statement
    per row, and the statement-level triggers on samples would fire for each.
    """
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if session.get_bind().dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(:{name} AS {PG_ARRAYS[name]})" for name in ["id", *names])
        assignments = ", ".join(f"{name} = v.{name}" for name in names)
        statement = text(f"UPDATE samples SET {assignments} FROM unnest({arrays}) AS v(id, {', '.join(names)}) WHERE samples.id = v.id")
        session.execute(statement, {name: [row[name] for row in rows] for name in ["id", *names]})
        return
    session.execute(
        update(samples).where(samples.c.id == bindparam("_id")).values({name: bindparam("_" + name) for name in names}),
        [{"_" + name: value for name, value in row.items()} for row in rows],
    )


NEW_SAMPLE_COLUMNS = ("dataset_id", "key", "size", "etag", "created_at", "added_at", "labeled", "revision")


def insert_samples(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new samples in bulk, skipping keys that are already stored.

    PostgreSQL gets COPY, several times faster than INSERTs; if a key was stored meanwhile (an
    upload raced the sync), the COPY is undone and an INSERT that skips duplicates is used.
    """
    if session.get_bind().dialect.name == "postgresql":
        try:
            with session.begin_nested():
                copy_samples(session, rows)
            return
        except psycopg.errors.UniqueViolation:
            pass
    session.execute(insert_ignoring_duplicates(session), rows)


def record_listed(session: Session, job_id: int, keys: list[tuple[str, str]]) -> None:
    """Remember the (key, ETag) pairs a sync listed (COPY on PostgreSQL)."""
    if not keys:
        return
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection().connection.driver_connection
        with connection.cursor() as cursor:
            with cursor.copy("COPY sync_listed (job_id, key, etag) FROM STDIN") as copy:
                for key, etag in keys:
                    copy.write_row((job_id, key, etag))
        return
    session.execute(insert(listed), [{"job_id": job_id, "key": key, "etag": etag} for key, etag in keys])


def copy_samples(session: Session, rows: list[dict[str, Any]]) -> None:
    """COPY rows into samples on the session's own connection (inside its transaction)."""
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY samples ({', '.join(NEW_SAMPLE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in NEW_SAMPLE_COLUMNS])


def insert_ignoring_duplicates(session: Session):
    """An INSERT of samples that skips keys already stored (a concurrent upload got there first)."""
    dialect = session.get_bind().dialect.name
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        return insert(samples)
    return module.insert(samples).on_conflict_do_nothing(index_elements=["dataset_id", "key"])


class BatchWriter:
    """A thread that writes batches while the caller goes on: the page writes and the import
    writes then wait for the database side by side. The first failure is raised to the caller."""

    def __init__(self, write: Callable[[list], None], depth: int = 4):
        self.write = write
        self.batches: queue.Queue = queue.Queue(depth)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sync-import-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.failure is None:
                try:
                    self.write(batch)
                except BaseException as exc:  # raised in the caller's thread
                    self.failure = exc

    def put(self, batch: list) -> None:
        self.raise_failure()
        self.batches.put(batch)

    def stop(self) -> None:
        """Drop the batches not written yet and end the thread (after a failure elsewhere)."""
        while True:
            try:
                self.batches.get_nowait()
            except queue.Empty:
                break
        if self.thread.is_alive():
            self.batches.put(None)
            self.thread.join()

    def close(self) -> None:
        """Wait for every batch to be written."""
        if self.thread.is_alive():
            self.batches.put(None)
            self.thread.join()
        self.raise_failure()

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure


class Window:
    """Futures in submission order, at most `size` of them unfinished; results come back in order."""

    def __init__(self, size: int):
        self.size = size
        self.pending: deque[Future] = deque()

    def add(self, future: Future) -> list:
        """Add a future; return the results that are ready, waiting while the window is full."""
        self.pending.append(future)
        out = self.ready()
        while len(self.pending) >= self.size:
            out.append(self.pending.popleft().result())
        return out

    def ready(self) -> list:
        """Return the results finished so far, in order."""
        out = []
        while self.pending and self.pending[0].done():
            out.append(self.pending.popleft().result())
        return out

    def drain(self) -> list:
        """Wait for and return every remaining result."""
        out = []
        while self.pending:
            out.append(self.pending.popleft().result())
        return out
