"""Review: a labeler submits a labeled sample; a reviewer accepts it (rating A-D) or rejects it
with a reason, which sends it back to its labeler's queue.

States: unlabeled and labeled (`Sample.labeled`, never submitted), then submitted, accepted,
rejected (`Sample.review_state`). A rejected sample is its labeler's work again until resubmitted.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..errors import Conflict, Invalid
from ..models import RATINGS, Sample, User, utcnow
from .assignment import mark_review

REASON_MAX = 2000
DECISIONS = ("accept", "reject")


def submit(session: Session, sample: Sample) -> Sample:
    """Hand a labeled sample in for review."""
    if not sample.labeled:
        raise Conflict("Label this image before submitting it.", {"sample": ["no objects"]})
    if sample.review_state not in (None, "rejected"):
        raise Conflict(f"This image is already {sample.review_state}.", {"sample": [f"already {sample.review_state}"]})
    sample.review_state, sample.submitted_at = "submitted", utcnow()
    mark_review(session, [sample.id], "submitted")
    session.flush()
    return sample


def decide(session: Session, sample: Sample, reviewer: User, decision: str, rating: str | None, reason: str | None) -> Sample:
    """Accept (with a rating) or reject (with a reason) a submitted sample; an accepted one may
    still be rejected."""
    if decision not in DECISIONS:
        raise Invalid("decision: accept or reject.", {"decision": ["must be accept or reject"]})
    allowed = ("submitted",) if decision == "accept" else ("submitted", "accepted")
    if sample.review_state not in allowed:
        state = sample.review_state or ("labeled, not submitted" if sample.labeled else "unlabeled")
        raise Conflict(f"Only a submitted image can be reviewed; this one is {state}.", {"sample": [f"is {state}"]})
    reason = (reason or "").strip()
    if decision == "accept":
        if rating not in RATINGS:
            raise Invalid("rating: accepting needs a rating, A (best) to D.", {"rating": ["required: A, B, C or D"]})
        sample.review_state, sample.review_rating, sample.review_reason = "accepted", rating, reason or None
        mark_review(session, [sample.id], "accepted")
    else:
        if not reason:
            raise Invalid("reason: say why the image is rejected, so its labeler can fix it.", {"reason": ["required when rejecting"]})
        if len(reason) > REASON_MAX:
            raise Invalid(f"reason: at most {REASON_MAX} characters.", {"reason": ["too long"]})
        sample.review_state, sample.review_rating, sample.review_reason = "rejected", None, reason
        mark_review(session, [sample.id], "rejected")
    sample.reviewed_by_id, sample.reviewed_at = reviewer.id, utcnow()
    session.flush()
    return sample
