"""The sample-list filters of ModelArts, as SQL conditions that the indexes serve."""
from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from ..errors import Invalid
from ..models import OPEN_STATES, OPEN_WORK, REVIEW_STATES, DatasetStats, Label, Sample, SampleAssignment, SampleLabel, SampleLabeler
from .users import find_user_id

WITHIN = {"1d": timedelta(days=1), "1m": timedelta(days=30)}
ORDERS = ("key", "created", "-created")


@dataclass
class SampleFilter:
    """What the caller asked for; parsed at the edge, checked here against the data."""

    state: str = "all"
    labels: list[str] = field(default_factory=list)
    label_op: str = "or"
    created: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    path: str | None = None
    dir: str | None = None
    labeled_by: str | None = None
    assigned_to: str | None = None  # a username, or "nobody"
    review: str | None = None  # one of REVIEW_FILTERS
    order: str = "key"

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> SampleFilter:
        """Build the filter from query arguments parsed by `SampleQuery`; absent ones keep their defaults."""
        values = {name: args[arg] for name, arg in QUERY_ARGS.items() if arg in args}
        values["labels"] = list(values.get("labels") or [])
        return cls(**values)


# The query argument of each filter field: its name, but `label` (one label a repeat) for `labels`.
QUERY_ARGS = {f.name: {"labels": "label"}.get(f.name, f.name) for f in fields(SampleFilter)}


@dataclass
class Resolved:
    """A filter whose label and user names were checked and turned into ids."""

    f: SampleFilter
    label_ids: list[int]
    user_id: int | None
    assignee_id: int | None = None


def resolve(session: Session, dataset_id: int, f: SampleFilter) -> Resolved:
    """Check the names a filter uses against the dataset; unknown names are a 422."""
    label_ids: list[int] = []
    if f.labels:
        rows = session.execute(select(Label.name, Label.id).where(Label.dataset_id == dataset_id, Label.name.in_(f.labels)))
        ids = {name: label_id for name, label_id in rows}
        unknown = [name for name in f.labels if name not in ids]
        if unknown:
            raise Invalid(f"label: unknown label(s) {', '.join(unknown)}.", {"label": [f"unknown label: {n}" for n in unknown]})
        label_ids = list(dict.fromkeys(ids[name] for name in f.labels))
    user_id = None
    if f.labeled_by:
        user_id = find_user_id(session, f.labeled_by)
        if user_id is None:
            raise Invalid(f"labeled_by: no user is named '{f.labeled_by}'.", {"labeled_by": ["unknown user"]})
    assignee_id = None
    if f.assigned_to and f.assigned_to != NOBODY:
        assignee_id = find_user_id(session, f.assigned_to)
        if assignee_id is None:
            raise Invalid(f"assigned_to: no user is named '{f.assigned_to}'.", {"assigned_to": ["unknown user"]})
    return Resolved(f, label_ids, user_id, assignee_id)


NOBODY = "nobody"  # assigned_to=nobody: the samples given to no one (the pool)
# review=none: never submitted; review=open: still the labeler's work (never submitted, or rejected).
REVIEW_CONDITIONS = {"none": Sample.review_state.is_(None), "open": OPEN_WORK}
REVIEW_FILTERS = ("none", "open", *REVIEW_STATES)


def conditions(session: Session, dataset_id: int, f: SampleFilter, now: datetime | None = None) -> list[ColumnElement]:
    """Turn a filter into WHERE conditions, all combined with AND."""
    return resolved_conditions(dataset_id, resolve(session, dataset_id, f), now)


def resolved_conditions(dataset_id: int, r: Resolved, now: datetime | None = None) -> list[ColumnElement]:
    """Turn a resolved filter into WHERE conditions on samples."""
    f = r.f
    where: list[ColumnElement] = [Sample.dataset_id == dataset_id]
    if f.state != "all":
        where.append(Sample.labeled.is_(f.state == "labeled"))
    if r.label_ids:
        where.append(_label_condition(r))
    where.extend(_created_conditions(f, now or datetime.now(timezone.utc)))
    if f.path:
        where.append(Sample.key.ilike("%" + _escape_like(f.path) + "%", escape="\\"))
    if f.dir:
        where.extend(_prefix_range(f.dir))
    if r.user_id is not None:
        where.append(Sample.id.in_(select(SampleLabeler.sample_id).where(SampleLabeler.dataset_id == dataset_id, SampleLabeler.user_id == r.user_id)))
    if f.assigned_to == NOBODY:
        where.append(~exists().where(SampleAssignment.sample_id == Sample.id))
    elif f.assigned_to:  # the assignment's copy of the review state answers the review filter too
        mine = select(SampleAssignment.sample_id).where(*_assigned_conditions(dataset_id, r))
        where.append(Sample.id.in_(mine))
    if f.review and (not f.assigned_to or f.assigned_to == NOBODY):
        where.append(REVIEW_CONDITIONS[f.review] if f.review in REVIEW_CONDITIONS else Sample.review_state == f.review)
    return where


def _assigned_conditions(dataset_id: int, r: Resolved) -> list[ColumnElement]:
    """The assignments of `assigned_to` in the review state asked for, from the assignments alone:
    `open` narrows the index range, the state (a non-key column of that index) does the rest."""
    a = SampleAssignment
    where = [a.dataset_id == dataset_id, a.user_id == r.assignee_id]
    if r.f.review == "open":
        where.append(a.open.is_(True))
    elif r.f.review == "none":
        where += [a.open.is_(True), a.review_state.is_(None)]
    elif r.f.review:
        where += [a.open.is_(r.f.review in OPEN_STATES), a.review_state == r.f.review]
    return where


def count(session: Session, dataset_id: int, r: Resolved, where: list[ColumnElement]) -> int:
    """Count the matching samples, from the narrowest source that answers exactly."""
    f = r.f
    if f.assigned_to and (f.assigned_to != NOBODY or f.review is None) and not (
            f.created or f.created_from or f.created_to or f.path or f.dir or r.label_ids or r.user_id is not None or f.state != "all"):
        return _count_assigned(session, dataset_id, r)
    sample_side = f.created or f.created_from or f.created_to or f.path or f.dir or f.assigned_to or f.review
    if not (sample_side or r.label_ids or r.user_id is not None):
        stats = dataset_stats(session, dataset_id)
        if stats is not None:
            total, labeled = stats
            return {"all": total, "labeled": labeled, "unlabeled": total - labeled}[f.state]
    if sample_side or f.state == "unlabeled" or (r.label_ids and r.user_id is not None):
        return session.scalar(select(func.count()).select_from(Sample).where(*where)) or 0
    if r.label_ids:
        return session.scalar(_count_labeled_with(r)) or 0
    if r.user_id is not None:
        by_user = (SampleLabeler.dataset_id == dataset_id, SampleLabeler.user_id == r.user_id)
        return session.scalar(select(func.count()).select_from(SampleLabeler).where(*by_user)) or 0
    return session.scalar(select(func.count()).select_from(Sample).where(*where)) or 0


def _count_assigned(session: Session, dataset_id: int, r: Resolved) -> int:
    """Count by assignee (and review state) from the assignments alone (an index range), not by
    visiting each sample; those given to nobody are the dataset's total less those given to someone."""
    if r.f.assigned_to != NOBODY:
        return session.scalar(select(func.count()).select_from(SampleAssignment).where(*_assigned_conditions(dataset_id, r))) or 0
    if session.get_bind().dialect.name == "postgresql":  # both counters kept by triggers
        row = session.execute(select(DatasetStats.total, DatasetStats.assigned).where(DatasetStats.dataset_id == dataset_id)).first()
        return row.total - row.assigned if row else 0
    total = session.scalar(select(func.count()).select_from(Sample).where(Sample.dataset_id == dataset_id)) or 0
    return total - (session.scalar(select(func.count()).select_from(SampleAssignment).where(SampleAssignment.dataset_id == dataset_id)) or 0)


def dataset_stats(session: Session, dataset_id: int) -> tuple[int, int] | None:
    """Return (total, labeled) kept by the PostgreSQL triggers; None on SQLite, which keeps none."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    row = session.execute(select(DatasetStats.total, DatasetStats.labeled).where(DatasetStats.dataset_id == dataset_id)).first()
    return (row.total, row.labeled) if row else (0, 0)


def _label_condition(r: Resolved) -> ColumnElement:
    """Match samples carrying any (or, with label_op=and, every) of the labels, as semi-joins."""
    if r.f.label_op == "and":
        return and_(*(_has_labels([label_id]) for label_id in r.label_ids))
    return _has_labels(r.label_ids)


def _has_labels(label_ids: list[int]) -> ColumnElement:
    return exists().where(SampleLabel.sample_id == Sample.id, SampleLabel.label_id.in_(label_ids))


def _count_labeled_with(r: Resolved):
    """Count samples with the labels from the label index alone (a join per label for 'and')."""
    if r.f.label_op != "and" or len(r.label_ids) == 1:
        return select(func.count(SampleLabel.sample_id.distinct())).where(SampleLabel.label_id.in_(r.label_ids))
    first, *rest = [SampleLabel.__table__.alias(f"l{i}") for i in range(len(r.label_ids))]
    joined = first
    for alias in rest:
        joined = joined.join(alias, alias.c.sample_id == first.c.sample_id)
    conditions = [alias.c.label_id == label_id for alias, label_id in zip([first, *rest], r.label_ids)]
    return select(func.count()).select_from(joined).where(*conditions)


def _created_conditions(f: SampleFilter, now: datetime) -> list[ColumnElement]:
    where = []
    if f.created:
        where.append(Sample.created_at >= now - WITHIN[f.created])
    if f.created_from:
        where.append(Sample.created_at >= _aware(f.created_from))
    if f.created_to:
        where.append(Sample.created_at <= _aware(f.created_to))
    if f.created_from and f.created_to and f.created_from > f.created_to:
        raise Invalid("created_from is after created_to.", {"created_from": ["must not be after created_to"]})
    return where


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix_range(prefix: str) -> list[ColumnElement]:
    """Match keys under a prefix as an index range: 'a/b/' <= key < 'a/b0'."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return [Sample.key >= prefix, Sample.key < upper]


# Cursor paging: the cursor carries the sort values of the last row of the page.


def order_by(order: str) -> list[ColumnElement]:
    """Return the ORDER BY of a sort order; every order ends on a unique column."""
    if order == "created":
        return [Sample.created_at.asc(), Sample.id.asc()]
    if order == "-created":
        return [Sample.created_at.desc(), Sample.id.desc()]
    return [Sample.key.asc()]


def reverse_order_by(order: str) -> list[ColumnElement]:
    """Return the ORDER BY that walks a sort order backwards (for a page before a cursor)."""
    if order == "created":
        return [Sample.created_at.desc(), Sample.id.desc()]
    if order == "-created":
        return [Sample.created_at.asc(), Sample.id.asc()]
    return [Sample.key.desc()]


# A cursor is binary, then URL-safe base64, so that it stays short in a URL (gunicorn refuses a
# request line over 4094 bytes): a header byte (the order, the direction, whether the key is cut),
# then the row's sort values: the key in UTF-8, or the creation time in microseconds and the id.
# A key longer than CURSOR_KEY_BYTES travels as the row's id and the key's first bytes: the id
# finds the row's key, and should the row be deleted meanwhile, the cut key bounds the page instead.
CURSOR_KEY_BYTES = 512
BACKWARDS, CUT_KEY = 1, 2
_TIME_AND_ID = struct.Struct(">qq")
_ID = struct.Struct(">q")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LAST_CHAR = "\U0010ffff"  # sorts after any character a key goes on with, in UTF-8 byte order
CURSOR_MAX_CHARS = len(base64.urlsafe_b64encode(bytes(1 + _ID.size + CURSOR_KEY_BYTES)))


@dataclass
class Cursor:
    """What a cursor says: the row's sort values, the direction, and for a cut key the row's id."""

    backwards: bool
    key: str | None = None
    created: datetime | None = None
    sample_id: int | None = None
    key_cut: bool = False


def cursor_condition(order: str, cursor: str) -> tuple[ColumnElement, bool]:
    """Return the condition selecting the rows after the cursor's row (a "next" cursor) or before
    it (a "previous" cursor), and whether it points backwards."""
    c = decode_cursor(order, cursor)
    if order == "key":
        return _key_condition(c), c.backwards
    smaller = c.backwards != (order == "-created")  # the rows wanted have smaller (time, id) than the cursor's row
    if smaller:
        return or_(Sample.created_at < c.created, and_(Sample.created_at == c.created, Sample.id < c.sample_id)), c.backwards
    return or_(Sample.created_at > c.created, and_(Sample.created_at == c.created, Sample.id > c.sample_id)), c.backwards


def _key_condition(c: Cursor) -> ColumnElement:
    """Compare keys with the cursor's key; a cut key with the row's key, or the cut if the row is gone."""
    bound: Any = c.key
    if c.key_cut:
        row = Sample.__table__.alias("cursor_row")
        stored = select(row.c.key).where(row.c.id == c.sample_id).scalar_subquery()
        bound = func.coalesce(stored, c.key + _LAST_CHAR if c.backwards else c.key)
    return Sample.key < bound if c.backwards else Sample.key > bound


def encode_cursor(order: str, sample: Any, backwards: bool = False) -> str:
    """Make the opaque cursor that follows this row (or, backwards, that precedes it)."""
    header = ORDERS.index(order) << 2 | (BACKWARDS if backwards else 0)
    if order != "key":
        payload = _TIME_AND_ID.pack((_aware(sample.created_at) - _EPOCH) // timedelta(microseconds=1), sample.id)
    elif len(key := sample.key.encode()) <= CURSOR_KEY_BYTES:
        payload = key
    else:
        header |= CUT_KEY
        payload = _ID.pack(sample.id) + key[:CURSOR_KEY_BYTES].decode(errors="ignore").encode()
    return base64.urlsafe_b64encode(bytes([header]) + payload).decode().rstrip("=")


def decode_cursor(order: str, cursor: str) -> Cursor:
    """Read a cursor back, checking it belongs to this order."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        header, payload = raw[0], raw[1:]
        if header >> 2 != ORDERS.index(order):
            raise ValueError("another order's cursor")
        backwards = bool(header & BACKWARDS)
        if order != "key":
            micros, sample_id = _TIME_AND_ID.unpack(payload)
            return Cursor(backwards, created=_EPOCH + timedelta(microseconds=micros), sample_id=sample_id)
        if header & CUT_KEY:
            return Cursor(backwards, key=_key(payload[_ID.size:]), sample_id=_ID.unpack(payload[:_ID.size])[0], key_cut=True)
        return Cursor(backwards, key=_key(payload))
    except (ValueError, IndexError, OverflowError, struct.error):  # binascii and Unicode errors are ValueErrors
        raise Invalid("cursor: not a cursor returned for this order.", {"cursor": ["invalid cursor"]}) from None


def _key(raw: bytes) -> str:
    """Read a cursor's key: UTF-8 without NUL, as every stored key is."""
    key = raw.decode()
    if "\x00" in key:
        raise ValueError("NUL in a key")
    return key
