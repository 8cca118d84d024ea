"""Sibling XML files that no longer say what the database says: marking them, and rewriting them.

Renaming, recolouring or force-deleting a label changes, in one statement, what every sample
carrying it should have in its XML file. Those samples are marked `xml_stale` in the same
transaction; an `annotation-files` job then rewrites each file from the database, a batch of
rows at a time. It locks the rows it writes (a save of the same sample waits, then writes its
own file) and skips rows a save holds (the save writes the file and clears the mark itself).
A job that dies midway leaves the rest marked: the next one carries on, nothing is lost.
"""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, lazyload, sessionmaker

from storage.errors import AccessDenied, ObjectNotFound

from ..config import Config
from ..models import Dataset, Sample, SampleLabel
from .annotations import write_sibling_xml

KIND = "annotation-files"
BATCH = 100  # rows locked and written per transaction


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
    job.stage = "writing"
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
            dataset = session.get(Dataset, job.dataset_id)
            for sample in rows:
                after = sample.id
                _rewrite(session, job, dataset, sample, config)


def _rewrite(session: Session, job, dataset: Dataset, sample: Sample, config: Config) -> None:
    """Write one sample's file from its objects and clear its mark; a refused write is recorded.

    An unreachable store fails the job (raised): the batch's marks stay, the files it already
    rewrote are simply written again by the next job.
    """
    try:
        etag = write_sibling_xml(session, dataset, sample, config.store_settings)
    except (AccessDenied, ObjectNotFound) as exc:
        job.error(sample.key, f"the XML file could not be written: {exc}")
        return
    sample.xml_etag, sample.xml_stale = etag, False
    job.count("written" if etag else "deleted")
    job.advance("processed")
