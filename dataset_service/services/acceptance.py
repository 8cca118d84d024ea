"""Acceptance (ModelArts' acceptance): an owner draws a seeded sample of the work handed in
(submitted or accepted samples), passes or rejects each drawn image, then finishes:

- `pass_all`: every handed-in image is accepted, whatever the checks said;
- `reject_all`: every handed-in image goes back to its labeler, rejected;
- `pass_rest`: the checked images follow their verdicts, every other handed-in image is accepted.

A report per labeler says how many of their images were drawn, checked, passed and rejected, the
pass rate and their average review rating (A = 4 ... D = 1).
"""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from sqlalchemy import case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from ..errors import Conflict, Invalid, NotFound
from ..models import Acceptance, AcceptanceSample, Sample, SampleAssignment, User, utcnow
from .assignment import mark_review

OUTCOMES = ("pass_all", "reject_all", "pass_rest")
VERDICTS = ("pass", "reject")
HANDED_IN = ("submitted", "accepted")
RATING_POINTS = {"A": 4, "B": 3, "C": 2, "D": 1}
MAX_DRAW = 100_000


def start(session: Session, dataset_id: int, user: User, rate: float | None, count: int | None, seed: int | None) -> Acceptance:
    """Draw the images to check: a fraction `rate` in (0, 1] or a `count` of the handed-in work."""
    if (rate is None) == (count is None):
        raise Invalid("Give either rate (0 < rate <= 1) or count.", {"rate": ["give rate or count"], "count": ["give rate or count"]})
    if session.scalar(select(Acceptance.id).where(Acceptance.dataset_id == dataset_id, Acceptance.state == "open")) is not None:
        raise Conflict("An acceptance check of this dataset is open: finish it first.", {"acceptance": ["one is open"]})
    handed_in = (Sample.dataset_id == dataset_id, Sample.review_state.in_(HANDED_IN))
    pool = session.scalar(select(func.count()).select_from(Sample).where(*handed_in)) or 0
    if pool == 0:
        raise Conflict("No image has been handed in for review yet: nothing to check.", {"acceptance": ["nothing submitted"]})
    drawn = min(pool, count if count is not None else max(1, math.ceil(pool * rate)), MAX_DRAW)
    seed = secrets.randbelow(2**31) if seed is None else seed
    acceptance = Acceptance(dataset_id=dataset_id, state="open", seed=seed, pool=pool, drawn=drawn, created_by_id=user.id)
    session.add(acceptance)
    session.flush()
    # A seeded shuffle the database computes: the same seed draws the same images.
    shuffled = (Sample.id * 2654435761 + seed) % 4294967291
    session.execute(insert(AcceptanceSample).from_select(
        ["acceptance_id", "sample_id", "labeler_id", "rating"],
        select(literal(acceptance.id), Sample.id, func.coalesce(SampleAssignment.user_id, Sample.saved_by_id), Sample.review_rating)
        .outerjoin(SampleAssignment, SampleAssignment.sample_id == Sample.id)
        .where(*handed_in).order_by(shuffled, Sample.id).limit(drawn),
    ))
    return acceptance


def get(session: Session, dataset_id: int, acceptance_id: int) -> Acceptance:
    found = session.get(Acceptance, acceptance_id)
    if found is None or found.dataset_id != dataset_id:
        raise NotFound(f"Acceptance {acceptance_id} does not exist in this dataset.")
    return found


def latest(session: Session, dataset_id: int) -> Acceptance | None:
    """Return the dataset's newest acceptance check (the open one, if any: only one is open at a time)."""
    return session.scalars(select(Acceptance).where(Acceptance.dataset_id == dataset_id).order_by(Acceptance.id.desc()).limit(1)).first()


def drawn_samples(session: Session, acceptance: Acceptance) -> list[dict]:
    """The drawn images with their labeler's name, rating and verdict."""
    a = AcceptanceSample
    rows = session.execute(
        select(a.sample_id, User.username, a.rating, a.verdict, a.reason, a.checked_at).outerjoin(User, User.id == a.labeler_id)
        .where(a.acceptance_id == acceptance.id).order_by(a.sample_id)
    )
    return [dict(zip(("sample_id", "labeler", "rating", "verdict", "reason", "checked_at"), row)) for row in rows]


def check(session: Session, acceptance: Acceptance, sample_id: int, verdict: str, reason: str | None) -> AcceptanceSample:
    """Pass or reject one drawn image."""
    _open(acceptance)
    row = session.get(AcceptanceSample, (acceptance.id, sample_id))
    if row is None:
        raise NotFound(f"Sample {sample_id} was not drawn in acceptance {acceptance.id}.")
    if verdict not in VERDICTS:
        raise Invalid("verdict: pass or reject.", {"verdict": ["must be pass or reject"]})
    reason = (reason or "").strip() or None
    if verdict == "reject" and not reason:
        raise Invalid("reason: say why the image fails, so its labeler can fix it.", {"reason": ["required when rejecting"]})
    row.verdict, row.reason, row.checked_at = verdict, reason, utcnow()
    session.flush()
    return row


def finish(session: Session, acceptance: Acceptance, outcome: str, user: User) -> Acceptance:
    """End the check: set the handed-in images' states by the outcome, in set-based statements."""
    _open(acceptance)
    if outcome not in OUTCOMES:
        raise Invalid(f"outcome: one of {', '.join(OUTCOMES)}.", {"outcome": ["unknown outcome"]})
    now = utcnow()
    handed_in = (Sample.dataset_id == acceptance.dataset_id, Sample.review_state.in_(HANDED_IN))
    checks = select(AcceptanceSample.sample_id).where(AcceptanceSample.acceptance_id == acceptance.id)
    reason = f"Rejected in acceptance check {acceptance.id}."
    if outcome == "reject_all":
        _set(session, handed_in, "rejected", reason, user, now)
    elif outcome == "pass_all":
        _set(session, handed_in, "accepted", None, user, now)
    else:
        rejected = checks.where(AcceptanceSample.verdict == "reject")
        why = select(AcceptanceSample.reason).where(AcceptanceSample.acceptance_id == acceptance.id, AcceptanceSample.sample_id == Sample.id)
        _set(session, (*handed_in, Sample.id.in_(rejected)), "rejected", func.coalesce(why.scalar_subquery(), reason), user, now)
        _set(session, (*handed_in, Sample.id.not_in(rejected)), "accepted", None, user, now)
    acceptance.state, acceptance.outcome, acceptance.finished_at = "finished", outcome, now
    session.flush()
    return acceptance


def _set(session: Session, where, state: str, reason, user: User, now) -> None:
    """Move the samples `where` finds to `state`: their assignments first, while `where` still finds them."""
    mark_review(session, select(Sample.id).where(*where), state)
    values = {"review_state": state, "reviewed_by_id": user.id, "reviewed_at": now}
    if state == "rejected":
        values.update(review_reason=reason, review_rating=None)
    session.execute(update(Sample).where(*where).values(**values).execution_options(synchronize_session=False))


def _open(acceptance: Acceptance) -> None:
    if acceptance.state != "open":
        raise Conflict(f"Acceptance {acceptance.id} is finished.", {"acceptance": ["finished"]})


@dataclass
class LabelerReport:
    labeler: str | None
    drawn: int
    checked: int
    passed: int
    rejected: int
    pass_rate: float | None
    average_rating: float | None


def report(session: Session, acceptance: Acceptance) -> list[LabelerReport]:
    """Per labeler: drawn, checked, passed, rejected, pass rate, average rating (one GROUP BY)."""
    a = AcceptanceSample
    points = case(*((a.rating == letter, value) for letter, value in RATING_POINTS.items()), else_=None)
    rows = session.execute(
        select(User.username, func.count(), func.count(a.verdict), func.sum(case((a.verdict == "pass", 1), else_=0)),
               func.sum(case((a.verdict == "reject", 1), else_=0)), func.avg(points))
        .select_from(a).outerjoin(User, User.id == a.labeler_id)
        .where(a.acceptance_id == acceptance.id).group_by(User.username).order_by(User.username)
    ).all()
    return [
        LabelerReport(name, drawn, checked, int(passed or 0), int(rejected or 0),
                      round(int(passed or 0) / checked, 4) if checked else None, round(float(avg), 2) if avg is not None else None)
        for name, drawn, checked, passed, rejected, avg in rows
    ]
