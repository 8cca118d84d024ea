"""Sibling XML files: writing a sample's file, marking files that no longer say what the
database says, and rewriting them.

Every saved label is written next to its image (same folder, same name, `.xml`), with every
object's shape, attributes and attribution and the file's own fields as they were imported
(`object_fields`). Renaming, recolouring or force-deleting a label changes, in one statement,
what every sample carrying it should have in its XML file. Those samples are marked `xml_stale`
in the same transaction; an `annotation-files` job then rewrites each file from the database, a
batch of rows at a time. It locks the rows it writes (a save of the same sample waits, then
writes its own file) and skips rows a save holds (the save writes the file and clears the mark
itself). A file whose content would not change is not written again (its MD5 is the ETag we
recorded). A sample that cannot be written (its image's size unknown, an object that does not fit
it) or whose import left something out (`xml_warning`: a person resolves that by saving it) is
reported on the job with its reason and stays marked; the others are written. A job that dies
midway leaves the rest marked: the next one carries on, and retries only what is left.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, lazyload, sessionmaker

from storage.annotations import Annotation, AnnotationError, write_annotation
from storage.errors import AccessDenied, ObjectNotFound
from storage.paths import sibling_xml_key

from ..config import Config
from ..models import AnnotationObject, Dataset, Sample, SampleLabel
from . import jobs
from .colors import to_rgb
from .input_folder import InputFolder, input_folder
from .object_fields import codec_object, file_depth, file_fields
from .sample_objects import load_objects

KIND = "annotation-files"
BATCH = 100  # rows locked and written per transaction


def to_codec(sample: Sample, objects: list[AnnotationObject]) -> Annotation:
    """Build the XML model of a sample's objects, with the file's own fields as they were imported."""
    if sample.width is None or sample.height is None:
        raise AnnotationError(sibling_xml_key(sample.key), "the image's size is not known yet (a sync reads it)")
    return Annotation(
        filename=sample.key.rsplit("/", 1)[-1], width=sample.width, height=sample.height, depth=file_depth(sample.depth, sample.xml_header),
        objects=[
            codec_object(o, o.label.name, to_rgb(o.label.color), o.created_by.username if o.created_by else o.imported_by,
                         o.updated_by.username if o.updated_by else None)
            for o in objects
        ],
        **file_fields(sample.xml_header),
    )


def sibling_xml(sample: Sample, objects: list[AnnotationObject]) -> bytes | None:
    """Return the sample's XML file as we write it (None: no object, no file); raise AnnotationError
    when it cannot be written."""
    return write_annotation(to_codec(sample, objects)) if objects else None


def write_sibling_xml(folder: InputFolder, sample: Sample, objects: list[AnnotationObject]) -> str | None:
    """Write the sample's XML file from its objects (with none, delete it); return the stored ETag."""
    return _store(folder, sample, sibling_xml(sample, objects))


def _store(folder: InputFolder, sample: Sample, data: bytes | None) -> str | None:
    key = sibling_xml_key(sample.key)
    if data is None:
        folder.store.delete(folder.bucket, key)
        return None
    return folder.store.put(folder.bucket, key, data, content_type="application/xml").etag


def mark_label_stale(session: Session, label_id: int) -> int:
    """Mark the XML files of every sample carrying the label (one statement, whatever their
    number); return how many were marked."""
    carrying = select(SampleLabel.sample_id).where(SampleLabel.label_id == label_id)
    result = session.execute(
        update(Sample).where(Sample.id.in_(carrying)).values(xml_stale=True).execution_options(synchronize_session=False)
    )
    return result.rowcount


def stale_count(session: Session, dataset_id: int) -> int:
    """Return how many of the dataset's XML files wait to be rewritten."""
    return session.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == dataset_id, Sample.xml_stale)) or 0


def run_rewrite(job, make_session: sessionmaker[Session], config: Config) -> None:
    """Rewrite the dataset's stale XML files (the body of an `annotation-files` job)."""
    job.stage = jobs.ANNOTATION_FILES_STAGES[0].name
    with make_session() as session:
        job.advance("total", stale_count(session, job.dataset_id))
    after = 0
    while True:
        job.check()
        with make_session.begin() as session:
            rows = list(session.scalars(
                select(Sample).where(Sample.dataset_id == job.dataset_id, Sample.xml_stale, Sample.id > after)
                .order_by(Sample.id).limit(BATCH).options(lazyload(Sample.saved_by))
                .with_for_update(of=Sample, skip_locked=True)
            ))
            if not rows:
                return
            folder = input_folder(session.get(Dataset, job.dataset_id), config.store_settings)
            for sample in rows:
                after = sample.id
                _rewrite(session, job, folder, sample)


def _rewrite(session: Session, job, folder: InputFolder, sample: Sample) -> None:
    """Write one sample's file from its objects and clear its mark; a sample that cannot be written
    is reported and keeps its mark, and a file whose content would not change is left as it is.

    An unreachable store fails the job (raised): the batch's marks stay, the files it already
    rewrote are simply written again by the next job.
    """
    job.advance("processed")
    if sample.xml_warning:
        job.error(sample.key, f"not rewritten: importing its XML left something out ({sample.xml_warning}); "
                              "saving the sample resolves it")
        return
    try:
        data = sibling_xml(sample, load_objects(session, sample.id))
    except AnnotationError as exc:
        job.error(sample.key, f"the XML file cannot be written: {exc.problem}")
        return
    if data is not None and sample.xml_etag == hashlib.md5(data).hexdigest():
        sample.xml_stale = False
        job.count("unchanged")
        return
    try:
        etag = _store(folder, sample, data)
    except (AccessDenied, ObjectNotFound) as exc:
        job.error(sample.key, f"the XML file could not be written: {exc}")
        return
    sample.xml_etag, sample.xml_stale = etag, False
    job.count("written" if etag else "deleted")
