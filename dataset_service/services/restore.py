"""Set as current: the working state becomes a version's (the body of a `set-current` job).

In one transaction, which first keeps every other writer of the dataset's samples out (PostgreSQL:
their rows locked; SQLite: the database's write lock), so that no save lands in between:
1. when the working state holds objects that neither the current version nor the newest finished
   one holds (`version_diff.holds_unversioned_changes`), a version `Vnnn-autosave` is created and
   its snapshot taken, so that setting it current undoes this one;
2. the labels become the version's (matched by id, else by name; the others made or removed);
3. every object of the dataset's samples is replaced by the version's objects of the same keys,
   each column the two object tables share copied as it is (the column list comes from the models,
   so columns added to both later come along), object ids kept where they are free;
4. the indexes derived from the objects are recomputed (`sample_objects.refresh_indexes`, which
   also moves each revision on, so an editor holding an older copy gets a conflict), and the sibling
   XML files of every sample whose objects may differ are marked stale;
5. the version becomes the current one.
Then the job rewrites the stale XML files (`annotation_files.run_rewrite`) and writes the autosave's
files (`publish.Publisher`). Samples whose image is gone are not made again; images that came after
the version stay, as unlabeled samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, insert, literal, null, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ..config import Config
from ..errors import Conflict
from ..models import AnnotationObject, Dataset, DatasetVersion, Job, Label, Sample, User, VersionObject, VersionSample, utcnow
from . import annotation_files, jobs, publish, snapshots
from .sample_objects import refresh_indexes
from .version_diff import holds_unversioned_changes
from .version_files import MANIFEST_SUFFIX
from .versions import AUTOSAVE_SUFFIX, CURRENT_KIND, folder_uri, make_current, mark_failed, next_name, refuse_while_active

KIND = CURRENT_KIND

samples, objects, users = Sample.__table__, AnnotationObject.__table__, User.__table__
kept, kept_objects = VersionSample.__table__, VersionObject.__table__
# The columns both object tables have, copied as they are but for those `_object_values` maps.
SHARED = tuple(c.name for c in objects.columns if c.name in kept_objects.c)


def restorable(version: DatasetVersion) -> bool:
    """Tell whether a version can be set as current: a finished one, or a failed one whose snapshot
    was taken (say, an autosave whose files the store refused): the working state comes from the
    snapshot in the database, not from the files."""
    return version.state == "normal" or (version.state == "failed" and version.snapshot_at is not None)


def request_current(session: Session, dataset: Dataset, version: DatasetVersion, job: Job, stale_after_s: float) -> DatasetVersion:
    """Record that the job makes the version current; refuse a version that cannot be (see
    `restorable`), or while a version is being published (409); flush."""
    if not restorable(version):
        raise Conflict(f"Version {version.name} is {version.state}: only a finished (normal) version, or a failed one whose "
                       "snapshot was taken, can be set as current.")
    refuse_while_active(session, dataset, publish.KIND, stale_after_s, "A version of this dataset is being published; set one as current when it has ended.")
    version.current_job_id = job.id
    session.flush()
    return version


def run_set_current(job, make_session: sessionmaker[Session], config: Config) -> None:
    """Make the job's version the working state; rewrite the XML files; write the autosave's files."""
    with make_session() as session:
        target_id = session.scalar(select(DatasetVersion.id).where(DatasetVersion.current_job_id == job.job_id))
    if target_id is None:
        raise LookupError(f"job {job.job_id} has no version to set as current")
    job.stage = jobs.STAGES[KIND][0].name
    with make_session.begin() as session:
        outcome = restore(session, job.dataset_id, target_id, job.job_id)
    job.count("samples", outcome.samples)
    job.count("objects", outcome.objects)
    annotation_files.run_rewrite(Renamed(job, *jobs.XML_STEP), make_session, config)
    if outcome.autosave_id is not None:
        write_autosave(Renamed(job, *jobs.AUTOSAVE_STEP), make_session, config, outcome.autosave_id)


@dataclass(frozen=True)
class Outcome:
    samples: int  # samples whose objects were replaced
    objects: int  # objects the working state now has
    autosave_id: int | None


def restore(session: Session, dataset_id: int, version_id: int, job_id: int) -> Outcome:
    """Make the working state the version's, with an autosave first when it holds unversioned changes; flush."""
    hold_writers(session, dataset_id)
    version = session.get(DatasetVersion, version_id, with_for_update=True, populate_existing=True)
    if version is None or not restorable(version):
        raise Conflict(f"version {version_id} is {version.state if version else 'gone'}: it can no longer be set as current")
    autosave = take_autosave(session, dataset_id, job_id) if needs_autosave(session, dataset_id) else None
    label_ids = restore_labels(session, dataset_id, version.labels)
    affected = mark_affected(session, dataset_id, version.id)
    session.execute(delete(AnnotationObject).where(AnnotationObject.sample_id.in_(select(samples.c.id).where(samples.c.dataset_id == dataset_id))))
    copied = copy_objects(session, dataset_id, version.id, label_ids)
    refresh_indexes(session, affected)
    make_current(session, version)
    return Outcome(len(affected), copied, autosave.id if autosave else None)


def hold_writers(session: Session, dataset_id: int) -> None:
    """Keep every other writer of the dataset's samples out until the commit.

    The dataset's row is written first (its working state changes): on SQLite that takes the
    database's write lock. On PostgreSQL the samples' rows are locked too: a save claims its
    sample's revision first, so it waits, then finds the revision moved on (a conflict)."""
    session.execute(update(Dataset).where(Dataset.id == dataset_id).values(updated_at=utcnow()))
    if session.get_bind().dialect.name == "postgresql":
        # In one statement whatever the number of rows, none of them sent here.
        session.execute(text("SELECT count(*) FROM (SELECT 1 FROM samples WHERE dataset_id = :d ORDER BY id FOR UPDATE) AS locked"), {"d": dataset_id})


def needs_autosave(session: Session, dataset_id: int) -> bool:
    """Tell whether the working state holds changes that neither the current version nor the newest finished one holds."""
    current = session.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id, DatasetVersion.is_current))
    newest = session.scalar(
        select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id, DatasetVersion.state == "normal").order_by(DatasetVersion.id.desc()).limit(1)
    )
    bases = {v.id: v for v in (current, newest) if v is not None and restorable(v)}.values()
    working_labels = {(label.name, label.color) for label in session.scalars(select(Label).where(Label.dataset_id == dataset_id))}
    if not bases:
        return bool(session.scalar(select(exists().where(objects.c.sample_id == samples.c.id, samples.c.dataset_id == dataset_id))))
    return all(
        {(item["name"], item["color"]) for item in base.labels} != working_labels or holds_unversioned_changes(session, dataset_id, base)
        for base in bases
    )


def take_autosave(session: Session, dataset_id: int, job_id: int) -> DatasetVersion:
    """Create the autosave version, its snapshot taken now (its files are written after the restore); flush."""
    dataset, job = session.get(Dataset, dataset_id), session.get(Job, job_id)
    name = next_name(session, dataset_id) + AUTOSAVE_SUFFIX
    folder = folder_uri(dataset, name)
    version = DatasetVersion(
        dataset_id=dataset_id, name=name, description="the working state before a version was set as current", train_ratio=None,
        state="creating", input_path=dataset.input_path, folder_uri=folder, manifest_uri=folder + name + MANIFEST_SUFFIX,
        created_by_id=job.created_by_id, job_id=job_id, labels=[], label_stats={}, autosave=True,
    )
    session.add(version)
    session.flush()
    snapshots.take(session, version)
    return version


def restore_labels(session: Session, dataset_id: int, saved: list[dict[str, Any]]) -> dict[int, int]:
    """Make the dataset's labels the version's list (names and colours): each matched by id, else by
    name, else made; the others removed. Return the working label id of each of the version's."""
    current = {label.id: label for label in session.scalars(select(Label).where(Label.dataset_id == dataset_id))}
    by_name = {label.name: label for label in current.values()}
    matched: dict[int, Label] = {}
    for item in saved:
        label = current.get(item["id"])
        if label is None or label in matched.values():
            label = by_name.get(item["name"])
        if label is not None and label not in matched.values():
            matched[item["id"]] = label
    keep = {label.id for label in matched.values()}
    session.execute(delete(Label).where(Label.dataset_id == dataset_id, Label.id.not_in(keep)))
    for label in matched.values():  # through names no label has, so that swapped names never collide
        label.name = f"\x01restoring {label.id}"
    session.flush()
    for item in saved:
        if item["id"] in matched:
            matched[item["id"]].name, matched[item["id"]].color = item["name"], item["color"]
        else:
            matched[item["id"]] = Label(dataset_id=dataset_id, name=item["name"], color=item["color"])
            session.add(matched[item["id"]])
    session.flush()
    return {saved_id: label.id for saved_id, label in matched.items()}


def mark_affected(session: Session, dataset_id: int, version_id: int) -> list[int]:
    """Mark stale the XML files of the samples that have objects now or in the version; return their ids."""
    labeled_there = select(kept.c.key).where(kept.c.version_id == version_id, kept.c.labeled)
    session.execute(
        update(Sample).where(Sample.dataset_id == dataset_id, or_(Sample.labeled, Sample.key.in_(labeled_there)))
        .values(xml_stale=True).execution_options(synchronize_session=False)
    )
    return list(session.scalars(select(Sample.id).where(Sample.dataset_id == dataset_id, Sample.xml_stale).order_by(Sample.id)))


def copy_objects(session: Session, dataset_id: int, version_id: int, label_ids: dict[int, int]) -> int:
    """Insert the version's objects on the working samples of the same keys; return how many.

    An object keeps its id unless another object has it (SQLite may give a deleted object's id
    again); those get new ids in a second statement."""
    o = kept_objects
    target = samples.alias("target")
    creator, updater = users.alias("creator"), users.alias("updater")
    source = (
        o.join(kept, and_(kept.c.version_id == o.c.version_id, kept.c.sample_id == o.c.sample_id))
        .join(target, and_(target.c.dataset_id == dataset_id, target.c.key == kept.c.key))
        .outerjoin(creator, creator.c.id == o.c.created_by_id).outerjoin(updater, updater.c.id == o.c.updated_by_id)
    )
    values = _object_values(o, target, creator, updater, label_ids)
    taken = select(objects.c.id).where(objects.c.id == o.c.object_id)
    with_id = select(o.c.object_id, *values.values()).select_from(source).where(o.c.version_id == version_id, ~taken.exists())
    session.execute(insert(objects).from_select(["id", *values], with_id))
    ours = select(objects.c.id).where(objects.c.id == o.c.object_id, objects.c.sample_id == target.c.id)
    again = select(*values.values()).select_from(source).where(o.c.version_id == version_id, ~ours.exists())
    session.execute(insert(objects).from_select(list(values), again))
    restored = select(func.count()).select_from(objects.join(samples, samples.c.id == objects.c.sample_id)).where(samples.c.dataset_id == dataset_id)
    return session.scalar(restored) or 0


def _object_values(o, target, creator, updater, label_ids: dict[int, int]) -> dict[str, Any]:
    """Return, by column, what a restored object gets: the shared columns as the version has them,
    but its sample (the working one of its key), its label (the working one), and its authors'
    ids only while those users exist (a gone author's name is kept as `imported_by`)."""
    values: dict[str, Any] = {name: o.c[name] for name in SHARED}
    values["sample_id"] = target.c.id
    values["label_id"] = case(label_ids, value=o.c.label_id) if label_ids else null()
    values["created_by_id"] = creator.c.id
    values["updated_by_id"] = updater.c.id
    values["imported_by"] = func.coalesce(o.c.imported_by, case((creator.c.id.is_(None), o.c.created_by), else_=literal(None)))
    return values


class Renamed:
    """A job context whose progress counters and counts (but errors) carry a prefix: the steps of one
    job (the XML rewrite, the autosave's publish) would otherwise add to each other's `total`."""

    def __init__(self, job, prefix: str, label: str):
        self._job, self._prefix, self._label = job, prefix, label

    def advance(self, name: str, n: int = 1) -> None:
        self._job.advance(self._prefix + name, n)

    def count(self, name: str, n: int = 1) -> None:
        self._job.count(name if name == "errors" else self._prefix + name, n)

    def __getattr__(self, name: str):
        return getattr(self._job, name)

    def __setattr__(self, name: str, value) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        elif name == "stage":  # the step's stages read as the job's (`jobs.Stage.within`)
            self._job.stage = None if value is None else f"{self._label}: {value}"
        else:
            setattr(self._job, name, value)


def write_autosave(job, make_session: sessionmaker[Session], config: Config, version_id: int) -> None:
    """Write the autosave's files from the snapshot the restore took; a failure leaves it `failed`."""
    try:
        publish.Publisher(job, make_session, config, version_id).run()
    except BaseException as exc:
        mark_failed(make_session, version_id, f"{exc.__class__.__name__}: {exc}")
        raise

