"""Importing a ModelArts manifest into a dataset (the body of an `import` job): each line's
`source` image becomes a sample, its `annotation-loc` XML the sample's objects.

Where things may be:
- the manifest: any object of the store (`s3://bucket/path/x.manifest`);
- `source`: an image inside the dataset's input path, as a sync would find it (a sample elsewhere
  would be deleted by the next sync, which keeps the samples equal to the input path);
- `annotation-loc`: an absolute URI of the same store (any bucket), or a path relative to the
  manifest's folder.

The manifest is read a chunk at a time and imported BATCH lines at a time (memory holds one
batch, whatever the number of lines), through the sync's own steps: `planning` inserts the new
images and updates changed ones, `xml_import` fetches, parses and writes the XML (objects, labels,
attribution: `annotated-by: human/<name>` is the author of objects whose file names none, kept as
a user where one has that name, else as the imported name). A line that cannot be imported (not
JSON, no source, an image outside the input path or missing, an XML that is missing or does not
parse) is one error of the job, by line number or XML key, and the import goes on. A line
without a segmentation item adds its image and leaves the sample's objects as they are.

Imported objects are then written as the samples' sibling XML files (marked stale, rewritten by the
same job), so the bucket says what the database says and the next sync finds nothing to re-import;
image sizes still unknown are read last, as a sync reads them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import InvalidURI, ObjectNotFound
from storage.factory import StoreSettings, store_for
from storage.manifest import ManifestEntry, ManifestError, parse_line, read_lines
from storage.objects import ObjectInfo
from storage.paths import is_image_key
from storage.uris import ObjectURI, join, parse_uri

from ..config import Config
from ..errors import Invalid
from ..models import Dataset, DatasetImport, Job, Sample, User
from . import annotation_files, jobs
from .input_folder import input_root
from .object_reads import PresignedReader, Reads
from .restore import Renamed
from .sync.pipeline import transaction
from .sync.planning import Candidate, plan_page, stored_by_keys, write_plan
from .sync.sizes import read_sizes
from .sync.xml_import import Fetched, Importer, Lookups, fetch_annotation
from .versions import refuse_while_active

KIND = "import"
STAGES = tuple(stage.name for stage in jobs.STAGES[KIND])  # importing, reading image sizes, writing the XML files
BATCH = 500  # manifest lines imported together

samples = Sample.__table__


def create_import(session: Session, dataset: Dataset, manifest: str, user: User, job: Job, settings: StoreSettings,
                  allow_files: bool, stale_after_s: float) -> DatasetImport:
    """Record that the job imports this manifest into the dataset; refuse (422 naming `manifest`) a
    URI that does not parse or names no object, and (409) while the dataset is being synchronized; flush."""
    uri = manifest_uri(manifest, allow_files)
    try:
        store_for(uri, settings).stat(uri.bucket, uri.key)
    except ObjectNotFound:
        raise Invalid(f"manifest: {uri} does not exist.", {"manifest": ["no such object in the store"]}) from None
    refuse_while_active(session, dataset, "sync", stale_after_s, "The dataset is being synchronized; import when the sync has ended.")
    record = DatasetImport(dataset_id=dataset.id, manifest_uri=str(uri), job_id=job.id, created_by_id=user.id)
    session.add(record)
    session.flush()
    return record


def manifest_uri(text: str, allow_files: bool) -> ObjectURI:
    """Parse the manifest's URI: an object (not a folder); file:// only where file datasets are allowed."""
    try:
        uri = parse_uri(text.strip())
    except InvalidURI as exc:
        raise Invalid(f"manifest: {exc}", {"manifest": [str(exc)]}) from None
    if uri.scheme == "file" and not allow_files:
        reason = "file:// paths are not allowed (ALLOW_FILE_DATASETS=true allows them)"
        raise Invalid(f"manifest: {reason}.", {"manifest": [reason]})
    if not uri.key or uri.key.endswith("/"):
        raise Invalid("manifest: name a file, not a folder.", {"manifest": ["names a folder, not a manifest file"]})
    return uri


def run_import(job, make_session: sessionmaker[Session], config: Config) -> None:
    """Import the job's manifest into its dataset."""
    with make_session() as session:
        record = session.scalar(select(DatasetImport).where(DatasetImport.job_id == job.job_id))
        if record is None:
            raise LookupError(f"job {job.job_id} has no manifest to import")
        dataset = session.get(Dataset, record.dataset_id)
        importer = ManifestImport(job, make_session, config, dataset, parse_uri(record.manifest_uri))
    importer.run()


@dataclass
class Line:
    """A manifest line being imported: its number, its image and where its XML is."""

    number: int
    entry: ManifestEntry
    key: str
    xml: ObjectURI | None = None
    info: ObjectInfo | None = None


class ManifestImport:
    """One import: the dataset's input folder, the manifest and the lookups its batches share."""

    def __init__(self, job, make_session: sessionmaker[Session], config: Config, dataset: Dataset, manifest: ObjectURI):
        self.job, self.make_session, self.config = job, make_session, config
        self.dataset_id, self.root, self.manifest = dataset.id, input_root(dataset), manifest
        self.folder = ObjectURI(manifest.scheme, manifest.bucket, manifest.key.rpartition("/")[0] + "/" if "/" in manifest.key else "")
        self.store = store_for(manifest, config.store_settings)
        self.lookups = Lookups(dataset.id)

    def run(self) -> None:
        """Read the manifest a batch at a time and import it; read the unknown sizes; write the XML files."""
        self.job.stage = STAGES[0]
        size = self.store.stat(self.manifest.bucket, self.manifest.key).size
        self.job.advance("manifest_bytes", size)
        get = partial(self.read_range, self.manifest.bucket, self.manifest.key)
        with Reads(self.config.store_settings, self.root) as reads:
            batch, consumed = [], 0
            for number, line, position in read_lines(get, size):
                batch.append(self.parse(number, line))
                if len(batch) >= BATCH:
                    self.import_batch(reads, batch)
                    self.job.advance("read_bytes", position - consumed)
                    batch, consumed = [], position
            self.import_batch(reads, batch)
            self.job.advance("read_bytes", size - consumed)
            self.job.stage = STAGES[1]
            read_sizes(reads, self.job, self.make_session, self.dataset_id, self.config.max_image_pixels)
        annotation_files.run_rewrite(Renamed(self.job, *jobs.XML_STEP), self.make_session, self.config)

    def read_range(self, bucket: str, key: str, first: int, last: int) -> bytes:
        self.job.check()
        return self.store.get(bucket, key, (first, last))

    def parse(self, number: int, line: bytes | None) -> Line | None:
        """Read one line and place its image and XML; a line that cannot be imported is reported and left out."""
        self.job.count("lines")
        try:
            if line is None:
                raise ManifestError("the line is longer than the 1 MiB limit")
            entry = parse_line(line)
            return Line(number, entry, self.source_key(entry.source), self.xml_uri(entry))
        except (ManifestError, InvalidURI) as exc:
            self.job.error(f"line {number}", str(exc))
            return None

    def source_key(self, source: str) -> str:
        """Return the key of a line's image, which must lie inside the input path."""
        uri = parse_uri(source)
        if (uri.scheme, uri.bucket) != (self.root.scheme, self.root.bucket) or not uri.key.startswith(self.root.key):
            raise ManifestError(f"source {source} is not inside the dataset's input path {self.root}")
        if not is_image_key(uri.key):
            raise ManifestError(f"source {source} is not a JPG, PNG or BMP image")
        return uri.key

    def xml_uri(self, entry: ManifestEntry) -> ObjectURI | None:
        """Return where a line's XML is: its absolute URI, or its path under the manifest's folder."""
        if entry.annotation is None:
            return None
        loc = entry.annotation.loc
        uri = parse_uri(loc) if "://" in loc else join(self.folder, loc.removeprefix("./"))
        if uri.scheme != self.root.scheme:
            raise ManifestError(f"annotation-loc {loc} is not in the dataset's object store")
        return uri

    def import_batch(self, reads: Reads, lines: list[Line | None]) -> None:
        """Add or update the batch's images as samples, then import their XML."""
        lines = [line for line in lines if line is not None]
        if not lines:
            return
        self.job.check()
        infos = reads.submit(stat_image, [line.key for line in lines]).result()
        found = []
        for line, info in zip(lines, infos):
            if info is None:
                self.job.error(f"line {line.number}", f"source {line.entry.source} does not exist")
            else:
                line.info = info
                found.append(line)
        revisions = self.write_samples(found)
        self.import_xml(reads, [line for line in found if line.xml is not None], revisions)

    def write_samples(self, lines: list[Line]) -> dict[str, int]:
        """Insert the new images, update changed ones (as a sync does); return every line's sample revision by key."""
        images = {line.key: line.info for line in lines}
        with transaction(self.make_session) as session:
            plan = plan_page(images, stored_by_keys(session, self.dataset_id, list(images)))
            write_plan(session, self.dataset_id, plan)
            revisions = {row.key: row.revision for row in stored_by_keys(session, self.dataset_id, list(images))}
        self.job.count("added", len(plan.new))
        self.job.count("updated", len(plan.changed))
        self.job.count("unchanged", len(plan.unchanged))
        return revisions

    def import_xml(self, reads: Reads, lines: list[Line], revisions: dict[str, int]) -> None:
        """Fetch and parse the lines' XML (with their images' sizes) and write them through the sync's importer."""
        items = [(Candidate(line.key, line.xml.key, revisions[line.key], None, line.xml.bucket), "", None) for line in lines if line.key in revisions]
        if not items:
            return
        read = partial(fetch_annotation, max_pixels=self.config.max_image_pixels)
        fetched = reads.submit(read, items).result()
        ready = []
        for line, f in zip(lines, fetched):
            if f is None:
                self.job.error(f"line {line.number}", f"annotation-loc {line.xml} does not exist")
            else:
                attribute(f, line)
                ready.append(f)
        with transaction(self.make_session) as session:
            Importer(session, self.dataset_id, self.job, self.lookups).write(ready)
            mark_for_writing(session, [f.sample_id for f in ready if f.sample_id and f.annotation and Importer.check(f.annotation) is None])


def stat_image(reader: PresignedReader, bucket: str, key: str) -> ObjectInfo | None:
    """Describe an image of the input path; None when it does not exist (in a reading thread or helper process)."""
    try:
        return reader.store.stat(bucket, key)
    except ObjectNotFound:
        return None


def attribute(f: Fetched, line: Line) -> None:
    """Make the line's `annotated-by: human/<name>` the author of the objects whose file names none,
    and its `creation-time` their time where the file gives none."""
    if f.annotation is None:
        return
    person, when = line.entry.annotation.person, line.entry.annotation.creation_time
    for obj in f.annotation.objects:
        if obj.created_by is None and person:
            obj.created_by = person
        if obj.created_at is None and when:
            obj.created_at = when


def mark_for_writing(session: Session, sample_ids: list[int]) -> None:
    """Mark the imported samples' sibling XML files to be written from their objects: the file we
    compare with (`xml_etag`) is none yet, so each is written even where one with equal bytes lay elsewhere."""
    if sample_ids:
        session.execute(update(samples).where(samples.c.id.in_(sample_ids)).values(xml_stale=True, xml_etag=None))
