"""Exports as the API lists and downloads them: a version's exports with their jobs' state, and one
finished export as a zip streamed from the store (`storage.zipstream`): its files are listed a page
at a time and read a chunk at a time, so memory stays the same whatever the export's size.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.factory import StoreSettings, store_for
from storage.objects import ObjectInfo, ObjectStore
from storage.uris import parse_uri
from storage.zipstream import Member, zip_chunks

from ..errors import Conflict, NotFound
from ..models import DatasetVersion, Job, VersionExport

CHUNK = 4 * 1024 * 1024  # bytes read from the store per request


def list_exports(session: Session, version: DatasetVersion, limit: int, offset: int) -> tuple[int, list[VersionExport]]:
    """Return the total and a page of a version's exports, newest first."""
    where = VersionExport.version_id == version.id
    total = session.scalar(select(func.count(VersionExport.id)).where(where)) or 0
    page = session.scalars(select(VersionExport).where(where).order_by(VersionExport.id.desc()).limit(limit).offset(offset))
    return total, list(page)


@dataclass(frozen=True)
class Archive:
    filename: str
    chunks: Iterator[bytes]


def open_archive(session: Session, version: DatasetVersion, export_id: int, settings: StoreSettings) -> Archive:
    """Return a finished export of the version as a zip to stream: its files under their paths in the export's folder."""
    export = session.get(VersionExport, export_id)
    if export is None or export.version_id != version.id:
        raise NotFound(f"Export {export_id} does not exist in version {version.id}.")
    status = session.scalar(select(Job.status).where(Job.id == export.job_id)) if export.job_id is not None else "completed"
    if status != "completed":
        raise Conflict(f"Export {export_id} is {status or 'unfinished'}: only a completed export can be downloaded.")
    folder = parse_uri(export.folder_uri)
    store = store_for(folder, settings)
    name = f"{version.name}-{export.format}.zip"
    return Archive(name, zip_chunks(_members(store, folder.bucket, folder.key)))


def _members(store: ObjectStore, bucket: str, prefix: str) -> Iterator[Member]:
    for page in store.list_pages(bucket, prefix):
        for info in page:
            yield Member(info.key[len(prefix):], info.size, info.last_modified, _reader(store, bucket, info))


def _reader(store: ObjectStore, bucket: str, info: ObjectInfo):
    def chunks() -> Iterator[bytes]:
        if info.size <= CHUNK:
            yield store.get(bucket, info.key)
            return
        for first in range(0, info.size, CHUNK):
            yield store.get(bucket, info.key, (first, min(first + CHUNK, info.size) - 1))

    return chunks
