"""A sample's history: every saved set of objects kept as a revision, and restoring one.

A revision holds the sample's objects compactly (each object's fields as the API gives them, a
few hundred bytes per object), who saved it, when, with which tool, and whose revision it
replaced, so "overwrite with mine" after a conflict can always be undone. The state a save
replaces is recorded first when no revision holds it yet (objects imported from a sibling XML,
or made by "set as current"), so the first save of an imported image can be undone too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import AnnotationObject, Sample, SampleRevision, User, utcnow
from .object_fields import OBJECT_FIELDS

TOOLS = ("api", "page", "restore", "import")
# Fields of a stored object that a restore sends back to the save (the rest is attribution).
RESTORED_FIELDS = ("id", "label", "source", *(f for f in OBJECT_FIELDS if f not in ("extra_shapes", "extensions")))


def compact(objects: list[AnnotationObject]) -> list[dict[str, Any]]:
    """Return objects as a revision keeps them: what they are, and who made them when."""
    out = []
    for o in objects:
        item: dict[str, Any] = {"id": o.id, "label": o.label.name, "source": o.source}
        item.update({name: getattr(o, name) for name in OBJECT_FIELDS if getattr(o, name) is not None})
        item["created_by"] = o.created_by.username if o.created_by else o.imported_by
        item["created_at"] = _iso(o.created_at)
        item["updated_by"] = o.updated_by.username if o.updated_by else o.imported_by
        item["updated_at"] = _iso(o.updated_at)
        out.append(item)
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def record_save(session: Session, sample: Sample, before: list[dict[str, Any]], after: list[AnnotationObject],
                user: User, tool: str, replaced: int, replaced_by_id: int | None, replaced_at: datetime | None,
                restored_from: int | None = None) -> None:
    """Keep the save that made `sample.revision` (and, when no revision holds it yet and it had
    objects, the state it replaced: `before`, as `compact` gave it before the save changed them)."""
    rows = []
    if before and not session.scalar(select(func.count()).select_from(SampleRevision).where(
            SampleRevision.sample_id == sample.id, SampleRevision.revision == replaced)):
        rows.append({"sample_id": sample.id, "revision": replaced, "objects": before, "saved_by_id": replaced_by_id,
                     "saved_at": replaced_at or utcnow(), "tool": "import", "replaced_revision": None, "replaced_by_id": None,
                     "restored_from": None})
    rows.append({"sample_id": sample.id, "revision": sample.revision, "objects": compact(after), "saved_by_id": user.id,
                 "saved_at": sample.saved_at or utcnow(), "tool": tool, "replaced_revision": replaced,
                 "replaced_by_id": replaced_by_id, "restored_from": restored_from})
    session.execute(insert(SampleRevision), rows)


def history(session: Session, sample_id: int, limit: int, offset: int) -> tuple[int, list[SampleRevision]]:
    """Return how many revisions the sample has and a page of them, newest first."""
    total = session.scalar(select(func.count()).select_from(SampleRevision).where(SampleRevision.sample_id == sample_id)) or 0
    rows = session.scalars(
        select(SampleRevision).where(SampleRevision.sample_id == sample_id)
        .order_by(SampleRevision.revision.desc()).limit(limit).offset(offset)
    )
    return total, list(rows)


REVISION_MAX = 2**31 - 1  # the column is a 32-bit integer


def get_revision(session: Session, sample_id: int, revision: int) -> SampleRevision:
    found = None if revision > REVISION_MAX else session.scalar(
        select(SampleRevision).where(SampleRevision.sample_id == sample_id, SampleRevision.revision == revision))
    if found is None:
        raise NotFound(f"Sample {sample_id} has no revision {revision}.")
    return found


@dataclass(frozen=True)
class Authorship:
    """Who made an object and when, for one that a restore brings back after it was deleted: its
    maker stays its author (a user, or the name of one gone as `imported_by`), the restorer its updater."""

    created_by_id: int | None
    imported_by: str | None
    created_at: datetime | None


def objects_to_restore(session: Session, rev: SampleRevision) -> tuple[list[dict[str, Any]], list[Authorship]]:
    """Return a revision's objects as a save takes them, with each one's authorship: objects that
    still exist keep their id (and so their attribution when unchanged); the others come back as
    new objects made by their first author."""
    names = {item.get("created_by") for item in rev.objects} - {None}
    users = dict(session.execute(select(User.username, User.id).where(User.username.in_(names))).all()) if names else {}
    out, authors = [], []
    for item in rev.objects:
        obj = {k: item[k] for k in RESTORED_FIELDS if k in item}
        obj.setdefault("id", None)
        out.append(obj)
        name, made = item.get("created_by"), item.get("created_at")
        authors.append(Authorship(users.get(name), None if name in users else name, datetime.fromisoformat(made) if made else None))
    return out, authors
