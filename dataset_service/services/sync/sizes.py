"""Reading image sizes: the samples whose width is still unknown are read with ranged GETs of
their first bytes, concurrently, and stored in batches."""
from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import ObjectNotFound
from storage.images import DEFAULT_MAX_PIXELS

from ...models import Sample
from ..bulk import update_samples
from ..image_probe import UndecodableImage, probe_image
from ..object_reads import PresignedReader, Reads
from .pipeline import JobReport, Window, transaction

SIZE_CHUNK = 500
IMAGE_ERROR = "image: "

samples = Sample.__table__
# What reading one image gives: (id, key, (width, height, depth) | problem | None when the object is gone).
SizeResult = tuple[int, str, Any]


def read_sizes(reads: Reads, job: JobReport, make_session: sessionmaker[Session], dataset_id: int,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Read the unknown image sizes with ranged GETs, concurrently; store them in batches.

    An image of more than `max_pixels` pixels gets an image error, as an unreadable one does."""
    with make_session() as session:
        job.advance("to_size", session.scalar(select(func.count()).select_from(samples).where(*unsized_where(dataset_id))) or 0)
    window = Window()
    read = partial(read_size, max_pixels=max_pixels)  # a partial of a module-level function: helper processes can run it
    for chunk in unsized(job, make_session, dataset_id):
        write_sizes(job, make_session, window.add(reads.submit(read, chunk)))
    write_sizes(job, make_session, window.drain())


def read_size(reader: PresignedReader, bucket: str, row: tuple[int, str, int], max_pixels: int = DEFAULT_MAX_PIXELS) -> SizeResult:
    """Read one image's size (in a reading thread, maybe of a helper process)."""
    sample_id, key, size = row
    try:
        return sample_id, key, probe_image(reader, bucket, key, size, max_pixels)
    except UndecodableImage as exc:
        return sample_id, key, str(exc)
    except ObjectNotFound:
        return sample_id, key, None


def unsized_where(dataset_id: int) -> tuple:
    """Say which of a dataset's samples have no known size and no image error."""
    return samples.c.dataset_id == dataset_id, samples.c.width.is_(None), or_(samples.c.error.is_(None), ~samples.c.error.startswith(IMAGE_ERROR))


def unsized(job: JobReport, make_session: sessionmaker[Session], dataset_id: int) -> Iterator[list[tuple[int, str, int]]]:
    """Yield chunks of (id, key, size) of samples with no known size and no image error, by id."""
    last = 0
    while True:
        job.check()
        with make_session() as session:
            rows = session.execute(
                select(samples.c.id, samples.c.key, samples.c.size)
                .where(*unsized_where(dataset_id), samples.c.id > last)
                .order_by(samples.c.id).limit(SIZE_CHUNK)
            ).all()
        chunk = [(i, key, size) for i, key, size in rows]
        if chunk:
            yield chunk
        if len(rows) < SIZE_CHUNK:
            return
        last = rows[-1][0]


def write_sizes(job: JobReport, make_session: sessionmaker[Session], chunks: list[list[SizeResult]]) -> None:
    """Store sizes and image errors of some chunks in one transaction."""
    results = [r for chunk in chunks for r in chunk]
    job.advance("size_read", len(results))
    sized = [{"id": i, "width": r[0], "height": r[1], "depth": r[2]} for i, _, r in results if isinstance(r, tuple)]
    broken = [{"id": i, "error": IMAGE_ERROR + r} for i, _, r in results if isinstance(r, str)]
    if not sized and not broken:
        return
    with transaction(make_session) as session:
        update_samples(session, sized)
        update_samples(session, broken)
    for _, key, r in results:
        if isinstance(r, str):
            job.error(key, IMAGE_ERROR + r)
