"""Sibling XML files that went missing: the database holds objects we wrote or imported for a
sample (its `xml_etag` is set), but the listing showed no XML file beside its image.

That happens when someone deleted the file in the bucket, or when a save emptied an image's
objects, deleted its file and died before its transaction committed. What the database holds is
what a person saved last, so the file is written again from it (a sample with no objects left has
its mark cleared instead). Rows a save holds locked are skipped: that save writes the file itself.
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, sessionmaker

from storage.annotations import AnnotationError
from storage.errors import AccessDenied, ObjectNotFound
from storage.paths import sibling_xml_key

from ...config import Config
from ...models import Dataset, Sample, SyncListed
from ..annotation_files import write_sibling_xml
from ..input_folder import InputFolder, input_folder
from ..sample_objects import load_objects
from .pipeline import JobReport, transaction

CHUNK = 1000
samples = Sample.__table__
listed = SyncListed.__table__


def missing(session: Session, dataset_id: int, job_id: int) -> Iterator[list[int]]:
    """Yield, a chunk at a time, the ids of samples with a known XML that this sync did not list."""
    last = 0
    while rows := session.execute(
        select(samples.c.id, samples.c.key)
        .where(samples.c.dataset_id == dataset_id, samples.c.xml_etag.is_not(None), samples.c.id > last)
        .order_by(samples.c.id).limit(CHUNK)
    ).all():
        wanted = [(sample_id, sibling_xml_key(key)) for sample_id, key in rows]
        found = set(session.scalars(select(listed.c.key).where(listed.c.job_id == job_id, listed.c.key.in_({k for _, k in wanted}))))
        if gone := [sample_id for sample_id, key in wanted if key not in found]:
            yield gone
        last = rows[-1].id


def restore(job: JobReport, make_session: sessionmaker[Session], config: Config, dataset_id: int) -> None:
    """Write again the XML files of the dataset's samples whose file the listing did not show."""
    with make_session() as session:
        chunks = list(missing(session, dataset_id, job.job_id))
    for ids in chunks:
        job.check()
        with transaction(make_session) as session:
            folder = input_folder(session.get(Dataset, dataset_id), config.store_settings)
            rows = session.scalars(
                select(Sample).where(Sample.id.in_(ids)).options(lazyload(Sample.saved_by)).with_for_update(of=Sample, skip_locked=True)
            )
            for sample in rows:
                _restore_one(session, job, folder, sample)


def _restore_one(session: Session, job: JobReport, folder: InputFolder, sample: Sample) -> None:
    """Write one sample's file again; one that cannot be written is reported and the sync goes on.

    A sample whose import left something out (`xml_warning`) is not written: its file is the
    person's to fix, never a background job's."""
    if sample.xml_warning:
        job.error(sample.key, f"annotation: its XML file is missing and not written again ({sample.xml_warning})")
        return
    try:
        sample.xml_etag = write_sibling_xml(folder, sample, load_objects(session, sample.id))
    except (AnnotationError, AccessDenied, ObjectNotFound) as exc:
        job.error(sample.key, f"annotation: its XML file is missing and cannot be written again: {getattr(exc, 'problem', exc)}")
        return
    job.count("xml_restored")
