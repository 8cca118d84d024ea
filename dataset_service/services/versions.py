"""Dataset versions: naming and creating one, reading them, and deleting one with its files.

A version is created `creating` with its publish job (`publish`), becomes `normal` once every
file is written, and `failed` when its job ends otherwise, including a job whose process died
(noticed when the version is read, as dead jobs are). Deleting marks it `deleting`; a
`version-delete` job removes every file under its folder, then the row and its snapshot.
Images and the working state are never touched.

One version per dataset is current: the one its working state was last made equal to, by a publish
(when it finishes) or by "set as current" (`restore`). A publish and a set-current exclude each
other (409), checked under a lock of the dataset's row.
"""
from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import ObjectNotFound
from storage.uris import join, parse_uri

from ..config import Config
from ..errors import Conflict, Invalid, NotFound
from ..models import Dataset, DatasetVersion, Job, User, VersionExport, utcnow
from . import jobs
from .version_files import MANIFEST_SUFFIX, version_folder

DELETE_KIND = "version-delete"
CURRENT_KIND = "set-current"  # its job: `restore.run_set_current`
AUTOSAVE_SUFFIX = "-autosave"
DEFAULT_NAME = re.compile(rf"^V([0-9]+)(?:{AUTOSAVE_SUFFIX})?$")
NAME_RULE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EXPORT_FORMATS = ("voc", "coco", "manifest")  # what `exports` writes
DELETERS = 8  # objects deleted at once
ID_MAX = 2**63 - 1  # ids are 64-bit

log = logging.getLogger(__name__)


def next_name(session: Session, dataset_id: int) -> str:
    """Return the next default name: V001, V002, ... after the highest Vnnn (or Vnnn-autosave) the dataset has."""
    names = session.scalars(select(DatasetVersion.name).where(DatasetVersion.dataset_id == dataset_id, DatasetVersion.name.like("V%")))
    numbers = [int(match.group(1)) for name in names if (match := DEFAULT_NAME.match(name))]
    return f"V{max(numbers, default=0) + 1:03d}"


def folder_uri(dataset: Dataset, name: str) -> str:
    """Return where a version's files go: `<output>/<DatasetName>-<datasetId>/annotation/<Version>/`."""
    return str(join(parse_uri(dataset.output_path), f"{dataset.name}-{dataset.id}/annotation/{name}/"))


def published_roots(session: Session, dataset: Dataset) -> tuple[str, ...]:
    """Return the key prefixes of the input path's bucket that hold the dataset's published files,
    `<output>/<DatasetName>-<datasetId>/` under its current and earlier names: when the output path
    lies inside the input path, a sync must not take a version's masks for images."""
    input_root = parse_uri(dataset.input_path)
    uris = [folder_uri(dataset, "_"), *session.scalars(select(DatasetVersion.folder_uri).where(DatasetVersion.dataset_id == dataset.id))]
    roots = set()
    for uri in map(parse_uri, uris):
        if (uri.scheme, uri.bucket) == (input_root.scheme, input_root.bucket):
            roots.add(uri.key.rstrip("/").rsplit("/", 2)[0] + "/")  # less `annotation/<Version>/`
    return tuple(sorted(roots))


def create_version(session: Session, dataset: Dataset, data: dict[str, Any], user: User, job: Job, stale_after_s: float) -> DatasetVersion:
    """Create a version row, `creating`, for its publish job; flush. A name in use is refused (422),
    and so is a publish while a version is being set as current (409)."""
    refuse_while_active(session, dataset, CURRENT_KIND, stale_after_s,
                        "A version of this dataset is being set as current; publish when that job has ended.")
    name = data.get("name") or next_name(session, dataset.id)
    if not NAME_RULE.match(name):
        raise Invalid("name: use 1-64 letters, digits, '-' or '_'.", {"name": ["use 1-64 letters, digits, '-' or '_'"]})
    taken = _name_taken(name)
    if session.scalar(select(DatasetVersion.id).where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.name == name)):
        raise taken
    folder = folder_uri(dataset, name)
    version = DatasetVersion(
        dataset_id=dataset.id, name=name, description=data.get("description") or "", train_ratio=data.get("train_ratio"),
        state="creating", input_path=dataset.input_path, folder_uri=folder, manifest_uri=folder + name + MANIFEST_SUFFIX,
        created_by_id=user.id, job_id=job.id, labels=[], label_stats={},
    )
    try:
        with session.begin_nested():
            session.add(version)
    except IntegrityError:  # another request took the name between our read and our insert
        raise taken from None
    return version


def refuse_while_active(session: Session, dataset: Dataset, kind: str, stale_after_s: float, message: str) -> None:
    """Raise Conflict(message) while a job of this kind runs for the dataset. The dataset's row is
    locked first (PostgreSQL), so that two requests that exclude each other's kinds are serialized."""
    session.execute(select(Dataset.id).where(Dataset.id == dataset.id).with_for_update())
    job = jobs.active_job(session, dataset.id, kind)
    if job is not None and not jobs.fail_if_stale(session, job, stale_after_s):
        raise Conflict(message)


def make_current(session: Session, version: DatasetVersion) -> None:
    """Make this the dataset's one current version; flush."""
    session.execute(
        update(DatasetVersion).where(DatasetVersion.dataset_id == version.dataset_id, DatasetVersion.is_current, DatasetVersion.id != version.id)
        .values(is_current=False)
    )
    version.is_current = True
    session.flush()


def _name_taken(name: str) -> Invalid:
    return Invalid(f"name: a version named '{name}' already exists.", {"name": ["already exists in this dataset"]})


def get_version(session: Session, dataset: Dataset, version_id: int) -> DatasetVersion:
    """Return one version of the dataset or raise NotFound."""
    version = session.get(DatasetVersion, version_id)
    if version is None or version.dataset_id != dataset.id:
        raise NotFound(f"Version {version_id} does not exist in dataset {dataset.id}.")
    return version


def get_comparable(session: Session, dataset: Dataset, version_id: int) -> DatasetVersion:
    """Return a version of the dataset whose snapshot is taken (404 for an id no row can have; 409 before its snapshot)."""
    if not 0 < version_id <= ID_MAX:
        raise NotFound(f"Version {version_id} does not exist in dataset {dataset.id}.")
    version = get_version(session, dataset, version_id)
    if version.snapshot_at is None:
        raise Conflict(f"Version {version.name} is {version.state} and has no snapshot to compare.")
    return version


def list_versions(session: Session, dataset_id: int, limit: int, offset: int) -> tuple[int, list[DatasetVersion]]:
    """Return the total and a page of a dataset's versions, newest first."""
    total = session.scalar(select(func.count(DatasetVersion.id)).where(DatasetVersion.dataset_id == dataset_id)) or 0
    page = session.scalars(
        select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id).order_by(DatasetVersion.id.desc()).limit(limit).offset(offset)
    )
    return total, list(page)


def settle(session: Session, versions: list[DatasetVersion], stale_after_s: float) -> bool:
    """Fail the `creating` versions whose publish job ended without finishing them (its process
    died, the store went away); flush. Return whether any changed: the caller commits."""
    changed = False
    for version in versions:
        if version.state != "creating":
            continue
        job = version.job
        if job is not None:
            jobs.fail_if_stale(session, job, stale_after_s)
            if job.status in jobs.ACTIVE:
                continue
        version.state, version.finished_at = "failed", utcnow()
        version.error = (job.error if job is not None else None) or "the publish job ended before the version was complete"
        changed = True
    session.flush()
    return changed


def mark_failed(make_session: sessionmaker[Session], version_id: int, reason: str) -> None:
    """Record, in a transaction of its own, that a version's publish did not finish."""
    with make_session.begin() as session:
        version = session.get(DatasetVersion, version_id)
        if version is not None and version.state == "creating":
            version.state, version.error, version.finished_at = "failed", reason, utcnow()


def mark_deleting(session: Session, version: DatasetVersion) -> None:
    """Mark a version for deletion by its job; refuse while it is written or exported; flush."""
    if version.state == "creating":
        raise Conflict(f"Version {version.name} is still being published; delete it when its job has ended.")
    exporting = select(VersionExport.id).join(Job, Job.id == VersionExport.job_id).where(
        VersionExport.version_id == version.id, Job.status.in_(jobs.ACTIVE)
    )
    if session.scalar(exporting.limit(1)) is not None:
        raise Conflict(f"Version {version.name} is being exported; delete it when the export has ended.")
    restoring = select(Job.id).where(Job.id == version.current_job_id, Job.status.in_(jobs.ACTIVE))
    if version.current_job_id is not None and session.scalar(restoring) is not None:
        raise Conflict(f"Version {version.name} is being set as current; delete it when that job has ended.")
    version.state = "deleting"
    session.flush()


def run_delete(job, make_session: sessionmaker[Session], config: Config) -> None:
    """Delete the files and rows of the dataset's versions marked `deleting` (the body of a `version-delete` job)."""
    job.stage = jobs.STAGES[DELETE_KIND][0].name
    while (version := _next_to_delete(make_session, job.dataset_id)) is not None:
        _delete_files(job, version, config)
        with make_session.begin() as session:
            session.execute(delete(DatasetVersion).where(DatasetVersion.id == version.id, DatasetVersion.state == "deleting"))
        job.count("versions")


def _next_to_delete(make_session: sessionmaker[Session], dataset_id: int) -> DatasetVersion | None:
    with make_session() as session:
        return session.scalar(
            select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id, DatasetVersion.state == "deleting").order_by(DatasetVersion.id).limit(1)
        )


def _delete_files(job, version: DatasetVersion, config: Config) -> None:
    """Delete every object under the version's folder, a listing page at a time."""
    folder = version_folder(version, config.store_settings)
    try:
        with ThreadPoolExecutor(DELETERS, thread_name_prefix=f"job-{job.job_id}-delete") as pool:
            for page in folder.store.list_pages(folder.bucket, folder.root.key):
                job.check()
                list(pool.map(lambda info: folder.store.delete(folder.bucket, info.key), page))
                job.count("files", len(page))
                job.advance("deleted", len(page))
    except ObjectNotFound:  # the bucket is gone, and the files with it
        log.info("version %s: its bucket is gone; nothing to delete", version.id)
