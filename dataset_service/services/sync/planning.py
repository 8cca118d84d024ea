"""What a listed page changes: the samples to insert, update or leave, and the sibling XML to
(re-)import.

The import rule: an image's sibling XML ("stem.xml" beside "stem.jpg") is imported when its
listed ETag differs from the sample's `xml_etag`, the XML we last wrote or imported; the import
then needs the sample's revision unchanged since the comparison (someone's save wins).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Text, and_, any_, bindparam, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from storage.objects import ObjectInfo
from storage.paths import is_image_key, sibling_xml_key

from ...models import Sample, SyncListed, utcnow
from ..bulk import insert_samples, update_samples

samples = Sample.__table__
listed = SyncListed.__table__


@dataclass
class Stored:
    """A stored sample as the comparison sees it."""

    id: int
    key: str
    etag: str
    size: int
    xml_etag: str | None
    revision: int
    error: str | None


@dataclass
class Candidate:
    """An image whose sibling XML may need importing, once the listing has passed the XML's key."""

    key: str
    xml_key: str
    revision: int  # the sample's revision when compared; an import needs it unchanged
    xml_etag: str | None  # the XML we last wrote or imported
    xml_bucket: str | None = None  # where the XML is when not in the image's bucket (a manifest's `annotation-loc`)


@dataclass
class PagePlan:
    """What one page changes: rows to insert and update, and what stays as it is."""

    new: list[ObjectInfo] = field(default_factory=list)
    changed: list[tuple[Stored, ObjectInfo]] = field(default_factory=list)
    unchanged: list[Stored] = field(default_factory=list)


def plan_page(images: dict[str, ObjectInfo], stored: Iterable[Stored]) -> PagePlan:
    """Compare the images of a page with the samples stored under the same keys."""
    plan = PagePlan()
    seen: set[str] = set()
    for row in stored:
        info = images.get(row.key)
        if info is None:
            continue
        seen.add(row.key)
        if info.etag != row.etag or info.size != row.size:
            plan.changed.append((row, info))
        else:
            plan.unchanged.append(row)
    plan.new = [info for key, info in images.items() if key not in seen]
    return plan


def write_plan(session: Session, dataset_id: int, plan: PagePlan) -> None:
    """Apply a plan's inserts and updates in bulk (a changed image's size is read again later)."""
    if plan.new:
        now = utcnow()
        insert_samples(session, [
            {"dataset_id": dataset_id, "key": o.key, "size": o.size, "etag": o.etag, "created_at": o.last_modified,
             "added_at": now, "labeled": False, "revision": 0} for o in plan.new
        ])
    update_samples(session, [
        {"id": r.id, "etag": o.etag, "size": o.size, "created_at": o.last_modified, "width": None, "height": None, "error": None}
        for r, o in plan.changed
    ])


def stored_by_keys(session: Session, dataset_id: int, keys: list[str]) -> list[Stored]:
    """Return the stored samples with these keys (PostgreSQL: one array parameter, not a thousand)."""
    if not keys:
        return []
    query = select(samples.c.id, samples.c.key, samples.c.etag, samples.c.size, samples.c.xml_etag,
                   samples.c.revision, samples.c.error).where(samples.c.dataset_id == dataset_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.where(samples.c.key == any_(bindparam("keys", keys, type_=postgresql.ARRAY(Text))))
    else:
        query = query.where(samples.c.key.in_(keys))
    return [Stored(*row) for row in session.execute(query)]


def page_candidates(plan: PagePlan) -> dict[str, list[Candidate]]:
    """Return the page's images as import candidates, grouped by the key of their sibling XML."""
    out: dict[str, list[Candidate]] = {}
    for candidate in (
        [Candidate(o.key, sibling_xml_key(o.key), 0, None) for o in plan.new]
        + [Candidate(r.key, sibling_xml_key(r.key), r.revision, r.xml_etag) for r, _ in plan.changed]
        + [Candidate(r.key, sibling_xml_key(r.key), r.revision, r.xml_etag) for r in plan.unchanged]
    ):
        out.setdefault(candidate.xml_key, []).append(candidate)
    return out


def xml_stem_range(xml_key: str) -> tuple[str, str]:
    """Return [low, high): the keys that start with "<folder>/<stem>." where the images of this XML lie."""
    stem = xml_key[: xml_key.rindex(".") + 1]
    return stem, stem[:-1] + "/"  # "/" follows "." in byte order: every key starting with stem + "."


def xml_to_import(session: Session, dataset_id: int, job_id: int, found: dict[str, list[Candidate]],
                  xml: dict[str, str], first_key: str | None) -> list[tuple[Candidate, str]]:
    """Return the images whose sibling XML is to be (re-)imported, each with the XML's listed ETag.

    `found` are the page's images by XML key, `xml` the page's XML ETags by key, `first_key` the
    page's first key while the listing is in byte order so far, else None.
    """
    todo = xml_candidates(session, dataset_id, found, xml, first_key)
    if first_key is None:
        todo += earlier_xml(session, job_id, found, xml)
    return todo


def xml_candidates(session: Session, dataset_id: int, found: dict[str, list[Candidate]], xml: dict[str, str],
                   first_key: str | None) -> list[tuple[Candidate, str]]:
    """Return the images of the page's XML whose XML differs from the one we last saw.

    An XML's images ("stem.bmp" ... "stem.png") come right before it in byte order: when the
    page begins before "stem.", they are all on this page; otherwise (a page boundary among
    them, or a listing out of byte order) they are looked up among the stored samples.
    """
    if not xml:
        return []
    out: list[tuple[Candidate, str]] = []
    ranges = []
    for xml_key, etag in xml.items():
        low, high = xml_stem_range(xml_key)
        if first_key is not None and first_key < low:
            out += [(c, etag) for c in found.get(xml_key, []) if c.xml_etag != etag]
        else:
            ranges.append((low, high))
    if ranges:
        rows = session.execute(
            select(samples.c.key, samples.c.revision, samples.c.xml_etag)
            .where(samples.c.dataset_id == dataset_id, or_(*(and_(samples.c.key >= lo, samples.c.key < hi) for lo, hi in ranges)))
        )
        for key, revision, xml_etag in rows:
            xml_key = sibling_xml_key(key) if is_image_key(key) else None
            if xml_key in xml and xml[xml_key] != xml_etag:
                out.append((Candidate(key, xml_key, revision, xml_etag), xml[xml_key]))
    return out


def earlier_xml(session: Session, job_id: int, found: dict[str, list[Candidate]], xml: dict[str, str]) -> list[tuple[Candidate, str]]:
    """Return the images of the page whose XML was listed on an earlier page (out of byte order)."""
    mine = [c for xml_key, group in found.items() if xml_key not in xml for c in group]
    if not mine:
        return []
    etags = dict(session.execute(select(listed.c.key, listed.c.etag).where(
        listed.c.job_id == job_id, listed.c.key.in_({c.xml_key for c in mine}))).all())
    return [(c, etags[c.xml_key]) for c in mine if c.xml_key in etags and etags[c.xml_key] != c.xml_etag]
