"""One sync run: list the input path page by page, apply each page, import the sibling XML as
the pages go, delete what was not listed, then read the unknown image sizes (see the package's
docstring for the whole algorithm)."""
from __future__ import annotations

import logging
import time
from functools import partial

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.objects import ObjectInfo
from storage.paths import is_annotation_key, is_image_key

from ...config import Config
from ...models import Dataset, Job, Sample, SyncListed, utcnow
from .. import listing
from ..bulk import record_listed
from ..input_folder import input_folder
from ..jobs import SYNC_COUNTS, SYNC_STAGES, counters
from ..object_reads import Reads
from ..versions import published_roots
from .missing_xml import restore as restore_missing_xml
from .pipeline import BatchWriter, JobReport, Window, transaction
from .planning import Candidate, PagePlan, page_candidates, plan_page, stored_by_keys, write_plan, xml_to_import
from .sizes import read_sizes
from .xml_import import Fetched, Importer, Lookups, fetch_annotation

PAGE_SIZE = 1000
ANALYZE_AFTER = 10_000  # rows a sync adds before it refreshes the planner's statistics
IMPORT_BATCH = 200
LISTING, IMPORTING, SIZING = (stage.name for stage in SYNC_STAGES)

log = logging.getLogger(__name__)
samples = Sample.__table__
listed = SyncListed.__table__


def run_sync(job: JobReport, make_session: sessionmaker[Session], config: Config) -> None:
    """Synchronize the job's dataset with its input path (the body of a `sync` job)."""
    sync = Synchronizer(job, make_session, config)
    sync.run()


class Synchronizer:
    """One sync run: its store, its thread pools and what it has learned so far."""

    def __init__(self, job: JobReport, make_session: sessionmaker[Session], config: Config):
        self.job, self.make_session, self.config = job, make_session, config
        with make_session() as session:
            dataset = session.get(Dataset, job.dataset_id)
            self.dataset_id = dataset.id
            folder = input_folder(dataset, config.store_settings)
            self.published = published_roots(session, dataset)  # a version's files are no samples
            self.started_at = utcnow()
            # A dataset with no sample yet (its first sync) has nothing to compare with or delete:
            # its pages are inserted without lookups and only XML keys are recorded.
            self.first = session.scalar(select(samples.c.id).where(samples.c.dataset_id == dataset.id).limit(1)) is None
        self.root, self.store = folder.root, folder.store
        self.lookups = Lookups(self.dataset_id)
        self.fetched: list[Fetched] = []
        self.writer: BatchWriter | None = None
        self.added_total = self.added_since_analyze = 0

    def run(self) -> None:
        """List, compare and import; then read the unknown image sizes."""
        for name in counters("sync"):
            self.job.progress.setdefault(name, 0)
        for name in SYNC_COUNTS:
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
            self.job.stage = SIZING
            read_sizes(reads, self.job, self.make_session, self.dataset_id, self.config.max_image_pixels)
        log.info("sync job %s: listed, compared and imported in %.1f s, sizes read in %.1f s; %s",
                 self.job.job_id, imported - started, time.monotonic() - imported, self.job.counts)

    # --- listing and comparing ---

    def list_and_import(self, reads: Reads) -> None:
        """Walk the listing page by page, importing sibling XML as the pages go; then delete what
        was not listed."""
        self.job.stage = LISTING
        self.writer = BatchWriter(self.write_batch)
        imports = Window()
        self.forget_listed()
        started = time.monotonic()
        in_order, last = True, ""
        spent = {"waiting for the listing": 0.0, "comparing and writing pages": 0.0, "waiting for XML reads": 0.0}
        mark = time.monotonic()
        for page in listing.pages(self.store, self.config.store_settings, self.root, PAGE_SIZE):
            spent["waiting for the listing"] += time.monotonic() - mark
            page = [o for o in page if not o.key.startswith(self.published)]
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
            self.queue_imports(reads, imports, ready, {o.key: o.size for o in page if is_annotation_key(o.key)})
            spent["waiting for XML reads"] += time.monotonic() - mark
            mark = time.monotonic()
        listed_at = time.monotonic()
        self.delete_unlisted()
        log.info("sync job %s: listing done in %.1f s (%s), unlisted deleted in %.1f s, %d import chunks still in flight",
                 self.job.job_id, listed_at - started, ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()),
                 time.monotonic() - listed_at, len(imports.pending))
        self.job.stage = IMPORTING
        self.write_imports(imports.drain(), force=True)
        self.writer.close()
        if not self.first:  # a first sync knows only the XML it listed
            restore_missing_xml(self.job, self.make_session, self.config, self.dataset_id)
        log.info("sync job %s: imports written %.1f s after the listing", self.job.job_id, time.monotonic() - listed_at)

    def apply_page(self, images: dict[str, ObjectInfo], xml: dict[str, str], first_key: str | None) -> list[tuple[Candidate, str]]:
        """Record the page's keys, insert and update its samples; return the XML to import with
        their ETags. `first_key` is the page's first key when the listing is in byte order so far,
        else None."""
        with transaction(self.make_session) as session:
            keys = list(xml.items()) if self.first else [(o.key, o.etag) for o in images.values()] + list(xml.items())
            record_listed(session, self.job.job_id, keys)
            plan = plan_page(images, [] if self.first else stored_by_keys(session, self.dataset_id, list(images)))
            self.write_plan(session, plan)
            self.keep_statistics(session, len(plan.new))
            todo = xml_to_import(session, self.dataset_id, self.job.job_id, page_candidates(plan), xml, first_key)
        self.job.count("added", len(plan.new))
        self.job.count("updated", len(plan.changed))
        self.job.count("unchanged", len(plan.unchanged))
        return todo

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

    def write_plan(self, session: Session, plan: PagePlan) -> None:
        """Apply a page's inserts and updates in bulk."""
        write_plan(session, self.dataset_id, plan)

    def delete_unlisted(self) -> None:
        """Delete the samples the listing did not show (those added since it started stay)."""
        if self.first:
            return  # every sample there is was added since the sync started
        with transaction(self.make_session) as session:
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
            with transaction(self.make_session) as session:
                session.execute(delete(listed).where(listed.c.job_id == self.job.job_id))
                session.execute(delete(listed).where(listed.c.job_id.in_(stale)))
        except Exception:
            if not quietly:
                raise
            log.warning("sync job %s: could not empty its listed keys (the next sync will)", self.job.job_id, exc_info=True)

    # --- sibling XML ---

    def queue_imports(self, reads: Reads, imports: Window, todo: list[tuple[Candidate, str]], sizes: dict[str, int]) -> None:
        """Fetch the XML to import, with the sizes this page lists (an XML of an earlier page has none);
        write what has arrived."""
        if todo:
            items = [(candidate, etag, sizes.get(candidate.xml_key)) for candidate, etag in todo]
            self.job.advance("xml_found", len(items))
            read = partial(fetch_annotation, max_pixels=self.config.max_image_pixels)  # module-level: helper processes can run it
            self.write_imports(imports.add(reads.submit(read, items)))
        self.write_imports(imports.ready())

    def write_imports(self, chunks: list[list[Fetched | None]], force: bool = False) -> None:
        """Collect fetched XML; hand them to the writer thread in batches."""
        self.job.advance("xml_read", sum(len(chunk) for chunk in chunks))
        self.fetched += [f for chunk in chunks for f in chunk if f is not None]
        while len(self.fetched) >= IMPORT_BATCH or (force and self.fetched):
            batch, self.fetched = self.fetched[:IMPORT_BATCH], self.fetched[IMPORT_BATCH:]
            self.writer.put(batch)

    def write_batch(self, batch: list[Fetched]) -> None:
        """Import one batch in one transaction (in the writer thread)."""
        with transaction(self.make_session) as session:
            Importer(session, self.dataset_id, self.job, self.lookups).write(batch)
