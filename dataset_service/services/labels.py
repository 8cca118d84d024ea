"""Labels of a dataset: add, rename, recolour, delete."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, Invalid, NotFound
from ..models import AnnotationObject, Dataset, Label, SampleLabel
from .annotation_files import mark_label_stale
from .colors import COLOR_RE, distinct_color
from .sample_objects import refresh_indexes


def get_label(session: Session, dataset: Dataset, label_id: int) -> Label:
    """Return one label of the dataset."""
    label = session.get(Label, label_id)
    if label is None or label.dataset_id != dataset.id:
        raise NotFound(f"Label {label_id} does not exist in dataset {dataset.id}.")
    return label


def labels_by_name(session: Session, dataset_id: int) -> dict[str, Label]:
    """Return the dataset's labels keyed by name."""
    return {label.name: label for label in session.scalars(select(Label).where(Label.dataset_id == dataset_id))}


def _check_color(color: str) -> str:
    if not COLOR_RE.match(color):
        raise Invalid("color must look like '#RRGGBB'.", {"color": ["must look like '#RRGGBB'"]})
    return color.lower()


def next_color(session: Session, dataset_id: int) -> str:
    """Return a colour that differs from the dataset's existing ones."""
    count = session.scalar(select(func.count(Label.id)).where(Label.dataset_id == dataset_id)) or 0
    used = set(session.scalars(select(Label.color).where(Label.dataset_id == dataset_id)))
    index = count
    while (color := distinct_color(index)) in used:
        index += 1
    return color


def add_label(session: Session, dataset: Dataset, name: str, color: str | None = None) -> Label:
    """Add a label; without a colour it gets a distinct one."""
    name = name.strip()
    if not name:
        raise Invalid("A label needs a name.", {"name": ["must not be empty"]})
    if session.scalar(select(Label.id).where(Label.dataset_id == dataset.id, Label.name == name)):
        raise _exists(name)
    label = Label(dataset_id=dataset.id, name=name, color=_check_color(color) if color else next_color(session, dataset.id))
    with unless_taken(session, name):
        session.add(label)
    return label


def _exists(name: str) -> Conflict:
    return Conflict(f"Label '{name}' already exists.", {"name": ["already exists"]})


@contextmanager
def unless_taken(session: Session, name: str) -> Iterator[None]:
    """Write the block's changes in a savepoint: when another request took the name since it was
    checked, the unique constraint says so, only the savepoint is undone, and the caller gets a
    Conflict (not a 500, nor a transaction PostgreSQL has aborted)."""
    try:
        with session.begin_nested():  # flushes what was pending before, outside the savepoint
            yield
    except IntegrityError:
        raise _exists(name) from None


def update_label(session: Session, label: Label, name: str | None, color: str | None) -> int:
    """Rename or recolour a label; return how many samples' XML files now need rewriting."""
    before = (label.name, label.color)
    new_name = label.name if name is None else name.strip()
    if new_name != label.name:
        if not new_name:
            raise Invalid("A label needs a name.", {"name": ["must not be empty"]})
        if session.scalar(select(Label.id).where(Label.dataset_id == label.dataset_id, Label.name == new_name)):
            raise _exists(new_name)
    # The stale marks share the change's savepoint: on SQLite (transactions left to pysqlite), a
    # savepoint opened before a request's first write begins its transaction, and releasing commits it.
    with unless_taken(session, new_name):
        label.name, label.color = new_name, label.color if color is None else _check_color(color)
        session.flush()
        return 0 if (label.name, label.color) == before else mark_label_stale(session, label.id)


def delete_label(session: Session, label: Label, force: bool = False) -> int:
    """Delete a label; one in use needs force, which also removes its objects.

    Return how many samples' XML files now need rewriting."""
    in_use = session.scalar(select(func.count()).select_from(SampleLabel).where(SampleLabel.label_id == label.id)) or 0
    if in_use and not force:
        objects = session.scalar(select(func.count()).select_from(AnnotationObject).where(AnnotationObject.label_id == label.id)) or 0
        raise Conflict(
            f"Label '{label.name}' is used on {in_use} sample(s); pass force=true to delete it and its objects.",
            {"force": ["required: the label is in use"]},
            {"samples": in_use, "objects": objects},  # what a forced delete would remove, for the pages to say
        )
    affected = list(session.scalars(select(SampleLabel.sample_id).where(SampleLabel.label_id == label.id)))
    if affected:
        mark_label_stale(session, label.id)
    session.execute(delete(AnnotationObject).where(AnnotationObject.label_id == label.id))
    session.execute(delete(SampleLabel).where(SampleLabel.label_id == label.id))
    session.delete(label)
    session.flush()
    if affected:
        refresh_indexes(session, affected)
    return len(affected)
