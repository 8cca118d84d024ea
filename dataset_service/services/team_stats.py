"""The Team tab's figures: per member, images labeled, objects made, open work, accepted and
rejected images; and saves per day and person. Each is one GROUP BY in the database."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..models import AnnotationObject, DatasetMember, Sample, SampleAssignment, SampleLabeler, SampleRevision, User, utcnow

DAYS = 30


def team_stats(session: Session, dataset_id: int) -> dict[str, Any]:
    people: dict[int, dict[str, Any]] = defaultdict(lambda: {"images": 0, "objects": 0, "assigned": 0, "open": 0,
                                                            "submitted": 0, "accepted": 0, "rejected": 0})
    for user_id, n in session.execute(select(SampleLabeler.user_id, func.count()).where(SampleLabeler.dataset_id == dataset_id)
                                      .group_by(SampleLabeler.user_id)):
        people[user_id]["images"] = n
    for user_id, n in session.execute(
        select(AnnotationObject.created_by_id, func.count()).join(Sample, Sample.id == AnnotationObject.sample_id)
        .where(Sample.dataset_id == dataset_id, AnnotationObject.created_by_id.is_not(None)).group_by(AnnotationObject.created_by_id)
    ):
        people[user_id]["objects"] = n
    open_work = case((func.coalesce(Sample.review_state, "").in_(["", "rejected"]), 1), else_=0)
    rows = session.execute(
        select(SampleAssignment.user_id, func.count(), func.sum(open_work),
               *(func.sum(case((Sample.review_state == s, 1), else_=0)) for s in ("submitted", "accepted", "rejected")))
        .join(Sample, Sample.id == SampleAssignment.sample_id)
        .where(SampleAssignment.dataset_id == dataset_id).group_by(SampleAssignment.user_id)
    )
    for user_id, assigned, open_n, submitted, accepted, rejected in rows:
        people[user_id].update(assigned=assigned, open=int(open_n or 0), submitted=int(submitted or 0),
                               accepted=int(accepted or 0), rejected=int(rejected or 0))
    members = {m.user_id: m for m in session.scalars(select(DatasetMember).where(DatasetMember.dataset_id == dataset_id))}
    ids = set(people) | set(members)
    names = {row.id: row.username for row in session.execute(select(User.id, User.username).where(User.id.in_(ids)))} if ids else {}
    rows_out = [
        {"username": names.get(uid), "role": members[uid].role if uid in members else None, **people[uid]}
        for uid in ids if uid in names
    ]
    rows_out.sort(key=lambda r: (r["role"] is None, r["username"]))
    return {"members": rows_out, "per_day": _per_day(session, dataset_id)}


def _per_day(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    """Saves per day and person over the last DAYS days."""
    since = utcnow() - timedelta(days=DAYS)
    day = func.date(SampleRevision.saved_at)
    rows = session.execute(
        select(day, User.username, func.count()).join(Sample, Sample.id == SampleRevision.sample_id)
        .join(User, User.id == SampleRevision.saved_by_id)
        .where(Sample.dataset_id == dataset_id, SampleRevision.saved_at >= since, SampleRevision.tool != "import")
        .group_by(day, User.username).order_by(day, User.username)
    )
    return [{"day": str(d), "username": name, "saves": n} for d, name, n in rows]

