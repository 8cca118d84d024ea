"""Publishing a version (the body of a `publish` job): take the snapshot, then write its files.

Under the version's folder (`<output>/<DatasetName>-<datasetId>/annotation/<Version>/`):
- `annotations/<path>.xml`: each labeled sample's XML, written from the snapshot (whole-pixel
  coordinates, `mask_source` naming its mask), `<path>` being the image's key under the input
  folder without its extension;
- `segmentationClassRaw/<path>.png`: its class mask, 8-bit, each pixel the index of its label in
  the version's label list (0 the background), and `segmentationClassRaw/labelmap.txt` beside them;
- `<Version>.manifest`: one line per sample, labeled or not, composed in a temporary file as the
  pages go and uploaded last.

The files come from the snapshot a page at a time (never all samples in memory), several at once.
The version turns `normal` only after the manifest is stored; a publish that stops before (the
store went away, the process died) leaves it `failed`, and a job delivered again after its process
died carries on from the snapshot it already took.
"""
from __future__ import annotations

import logging

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.annotations import write_annotation
from storage.manifest import ManifestAnnotation, annotated_by, manifest_line
from storage.masks import labelmap_text, png_bytes

from ..config import Config
from ..models import DatasetVersion, utcnow
from . import jobs, snapshots
from .version_files import (
    MANIFEST_SUFFIX,
    SamplePaths,
    VersionLabels,
    class_mask,
    last_editor,
    spool,
    to_annotation,
    version_folder,
    writer_pool,
)
from .versions import make_current, mark_failed

KIND = "publish"
STAGES = tuple(stage.name for stage in jobs.PUBLISH_STAGES)
XML_DIR, MASK_DIR = "annotations", "segmentationClassRaw"

log = logging.getLogger(__name__)


def run_publish(job, make_session: sessionmaker[Session], config: Config) -> None:
    """Snapshot the dataset into the job's version and write the version's files."""
    with make_session() as session:
        version_id = session.scalar(select(DatasetVersion.id).where(DatasetVersion.job_id == job.job_id))
    if version_id is None:
        raise LookupError(f"job {job.job_id} has no version to publish")
    try:
        Publisher(job, make_session, config, version_id).run()
    except BaseException as exc:
        reason = f"object store: {exc}" if exc.__class__.__module__.startswith("storage") else f"{exc.__class__.__name__}: {exc}"
        mark_failed(make_session, version_id, reason)
        raise


def analyze_snapshots(make_session: sessionmaker[Session]) -> None:
    """Refresh PostgreSQL's statistics of the snapshot tables, which a publish has just grown by a
    dataset's rows: comparing versions (`version_diff`) is planned from them."""
    with make_session.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE version_samples, version_objects"))


class Publisher:
    """One publish: its version, folder, labels and where each sample's files go."""

    def __init__(self, job, make_session: sessionmaker[Session], config: Config, version_id: int):
        self.job, self.make_session, self.version_id = job, make_session, version_id
        self.settings = config.store_settings

    def run(self) -> None:
        version = self.snapshot()
        analyze_snapshots(self.make_session)
        self.job.advance("total", version.sample_count)
        for name, value in (("samples", version.sample_count), ("labeled", version.labeled_count), ("objects", version.object_count)):
            self.job.count(name, value)
        self.version, self.folder = version, version_folder(version, self.settings)
        self.labels, self.paths = VersionLabels(version), SamplePaths(version)
        self.job.stage = STAGES[1]
        with spool() as manifest, writer_pool(self.job.job_id) as pool:
            for page in snapshots.pages(self.make_session, version.id):
                self.job.check()
                for line in pool.map(self.write_sample, page):
                    manifest.write(line)
                self.job.advance("written", len(page))
            self.folder.put(f"{MASK_DIR}/labelmap.txt", labelmap_text(self.labels.colors()).encode(), "text/plain; charset=utf-8")
            self.job.stage = STAGES[2]
            self.folder.put_file(version.name + MANIFEST_SUFFIX, manifest, "application/jsonlines")
        self.finish()

    def snapshot(self) -> DatasetVersion:
        """Take the snapshot unless an earlier run of this job already did; return the version."""
        self.job.stage = STAGES[0]
        with snapshots.one_instant(self.make_session) as session:
            version = session.get(DatasetVersion, self.version_id)
            if version.state != "creating":
                raise RuntimeError(f"version {version.name} is {version.state}, not being created")
            if version.snapshot_at is None:
                snapshots.take(session, version)
            else:
                log.info("version %s: carrying on from the snapshot taken at %s", version.id, version.snapshot_at)
        return version

    def write_sample(self, sample: snapshots.SnapshotSample) -> bytes:
        """Write a sample's XML and mask (when it is labeled); return its manifest line."""
        items = []
        if sample.objects:
            if not (sample.width and sample.height):
                self.job.error(sample.key, "the image's size is unknown: no XML or mask written")
            else:
                items = [self.write_files(sample)]
        return manifest_line(self.paths.source(sample.key), sample.key, self.version.train_ratio, items)

    def write_files(self, sample: snapshots.SnapshotSample) -> ManifestAnnotation:
        stem = self.paths.stem(sample.key)
        mask_path, xml_path = f"{MASK_DIR}/{stem}.png", f"{XML_DIR}/{stem}.xml"
        self.folder.put(mask_path, png_bytes(class_mask(sample, self.labels)), "image/png")
        xml = write_annotation(to_annotation(sample, self.labels, self.folder.uri(mask_path)))
        self.folder.put(xml_path, xml, "application/xml")
        self.job.count("files", 2)
        last = last_editor(sample)
        return ManifestAnnotation(self.folder.uri(xml_path), annotated_by(last.updated_by or last.created_by or last.imported_by), last.updated_at)

    def finish(self) -> None:
        """Make the version `normal`: every file is in place. A published version becomes the current
        one (the working state is what it holds); an autosave does not: the version set as current is."""
        with self.make_session.begin() as session:
            version = session.get(DatasetVersion, self.version_id)
            if version.state != "creating":
                raise RuntimeError(f"version {version.name} became {version.state} while it was published")
            version.state, version.finished_at, version.error = "normal", utcnow(), None
            if not version.autosave:
                make_current(session, version)
