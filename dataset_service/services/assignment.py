"""Handing work out: samples given to labelers evenly or in shares, taken back, and each
labeler's queue of open work (never submitted, or sent back by review).

An assignment is one INSERT ... SELECT into `sample_assignments` (a narrow table of its own, so a
million assignments do not rewrite a million wide sample rows and their indexes) over the samples a
filter of the sample list matches: they are numbered in id order and the number's remainder modulo
the sum of the shares picks the labeler, so the work is interleaved across the dataset and the
shares are exact to one sample.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import case, delete, false, func, literal, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..errors import Invalid
from ..models import OPEN_STATES, OPEN_WORK, DatasetMember, Sample, SampleAssignment, User, UTCDateTime, utcnow
from . import filters
from .filters import SampleFilter

MAX_LABELERS = 500
REMAINING_CAP = 1000  # "1000" open samples means at least that many
ANALYZE_AFTER = 10_000  # assignments in one go after which the table's statistics are refreshed


@dataclass
class Assigned:
    matched: int
    per_labeler: dict[str, int]


def assign(session: Session, dataset_id: int, f: SampleFilter, usernames: list[str], shares: list[int] | None,
           labeling_roles: Collection[str]) -> Assigned:
    """Give the samples the filter matches to the named members (whose roles must be among
    `labeling_roles`, as `access.RULES` says), evenly or in `shares`; samples given to someone else
    are given anew. One INSERT ... SELECT ... ON CONFLICT statement."""
    if not usernames:
        raise Invalid("labelers: name at least one.", {"labelers": ["empty"]})
    if len(set(usernames)) != len(usernames) or len(usernames) > MAX_LABELERS:
        raise Invalid("labelers: name each member once (at most 500).", {"labelers": ["repeated or too many"]})
    shares = shares or [1] * len(usernames)
    if len(shares) != len(usernames) or any(s < 1 for s in shares):
        raise Invalid("shares: one positive whole number per labeler.", {"shares": ["one positive number per labeler"]})
    ids = _labelers(session, dataset_id, usernames, labeling_roles)
    where = filters.conditions(session, dataset_id, f)
    slot = (func.row_number().over(order_by=Sample.id) - 1) % sum(shares)
    bounds, upper = [], 0
    for user_id, share in zip(ids, shares):
        upper += share
        bounds.append((slot < upper, user_id))
    who = case(*bounds[:-1], else_=bounds[-1][1]) if len(bounds) > 1 else literal(bounds[0][1])
    now = utcnow()
    still_open = case((OPEN_WORK, true()), else_=false())
    numbered = select(Sample.id, literal(dataset_id), who, literal(now, UTCDateTime()), still_open, Sample.review_state).where(*where)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(SampleAssignment).from_select(["sample_id", "dataset_id", "user_id", "assigned_at", "open", "review_state"], numbered)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(index_elements=[SampleAssignment.sample_id], set_={
        "user_id": excluded.user_id, "assigned_at": excluded.assigned_at, "open": excluded.open, "review_state": excluded.review_state})
    matched = session.scalar(select(func.count()).select_from(Sample).where(*where)) or 0
    if matched:  # (INSERT ... SELECT reports no row count on every driver)
        session.execute(statement)
        if matched >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
            # The planner must know the table grew (autovacuum comes later): a labeler's filter
            # otherwise plans for 17 rows and sorts 35,000 (314 ms instead of 55 ms in EXPLAIN ANALYZE at 1,000,000 samples).
            session.execute(text("ANALYZE sample_assignments"))
    return Assigned(matched, dict(zip(usernames, _split(matched, shares))))


def _split(count: int, shares: list[int]) -> list[int]:
    """How many of `count` numbered samples each share's slots take (slot = number mod sum)."""
    rounds, rest = divmod(count, sum(shares))
    out, lower = [], 0
    for share in shares:
        out.append(rounds * share + max(0, min(rest, lower + share) - lower))
        lower += share
    return out


def unassign(session: Session, dataset_id: int, f: SampleFilter) -> int:
    """Take the samples the filter matches back into the pool; return how many."""
    matched = select(Sample.id).where(*filters.conditions(session, dataset_id, f))
    return session.execute(
        delete(SampleAssignment).where(SampleAssignment.dataset_id == dataset_id, SampleAssignment.sample_id.in_(matched))
        .execution_options(synchronize_session=False)
    ).rowcount


def _labelers(session: Session, dataset_id: int, usernames: list[str], labeling_roles: Collection[str]) -> list[int]:
    """Return the user ids of the named members who may label, in the order named; 422 otherwise."""
    rows = {name: (user_id, role) for name, user_id, role in session.execute(
        select(User.username, User.id, DatasetMember.role).join(DatasetMember, DatasetMember.user_id == User.id)
        .where(DatasetMember.dataset_id == dataset_id, User.username.in_(usernames))
    )}
    bad = [name for name in usernames if rows.get(name, (None, None))[1] not in labeling_roles]
    if bad:
        raise Invalid(f"labelers: not a member who labels here: {', '.join(bad)}.", {"labelers": [f"not a labeling member: {n}" for n in bad]})
    return [rows[name][0] for name in usernames]


def mark_review(session: Session, sample_ids, state: str | None) -> None:
    """Keep the assignments' review state (and `open`, OPEN_WORK) equal to their samples', for a
    review step that moves these samples (a list of ids or a SELECT of them) to `state`."""
    session.execute(update(SampleAssignment).where(SampleAssignment.sample_id.in_(sample_ids))
                    .values(review_state=state, open=state in OPEN_STATES).execution_options(synchronize_session=False))


def next_open(session: Session, dataset_id: int, user_id: int, after_id: int | None = None) -> tuple[int | None, int]:
    """Return the id of the labeler's next open sample (after `after_id` in id order, wrapping
    round) and how many open samples they have, counted up to REMAINING_CAP: one index range."""
    queue = select(SampleAssignment.sample_id).where(
        SampleAssignment.dataset_id == dataset_id, SampleAssignment.user_id == user_id, SampleAssignment.open.is_(True))
    first = queue.order_by(SampleAssignment.sample_id).limit(1)
    found = session.scalar(first.where(SampleAssignment.sample_id > after_id)) if after_id is not None else None
    if found is None:
        found = session.scalar(first)
    remaining = session.scalar(select(func.count()).select_from(queue.limit(REMAINING_CAP).subquery())) or 0
    return found, remaining
