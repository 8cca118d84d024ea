"""Who may do what: the service's one authorization rule set.

Site admins may do everything. Everyone else works in the datasets they are a member of, with
one role per dataset (`models.DATASET_ROLES`): what each role may do is the table `RULES` below,
and nothing else in the code decides it. A dataset a user is not a member of does not exist for
them (404, the same answer as for a dataset that does not exist); an action their role lacks is
403 naming the role it needs.

Two rules look at the sample too (`check_sample`): a labeler labels the images given to them
or not given to anyone, and not those waiting for or past review; reviewers and owners label
any image of the dataset.
"""
from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps

from flask import g, request
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from .auth import current_user
from .db_session import db
from .errors import Forbidden, NotFound
from .models import Dataset, DatasetMember, Job, Sample, SampleAssignment, User

ADMIN = "admin"  # a site admin: a role in every dataset


class Action(StrEnum):
    VIEW = "view"  # the dataset, its samples and annotations, labels, jobs, versions, exports, stats, history, members
    LABEL = "label"  # save a sample's objects, ask the model, add a label, submit for review
    REVIEW = "review"  # accept or reject submitted samples
    MANAGE = "manage"  # the dataset's settings, label changes, uploads, sync, XML rewrite, versions, exports, import, assignment, acceptance
    DELETE = "delete"  # delete samples (and their source files), labels in use, the dataset
    MEMBERS = "members"  # add and remove members, change their roles


RULES: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset({"owner", "reviewer", "labeler"}),
    Action.LABEL: frozenset({"owner", "reviewer", "labeler"}),
    Action.REVIEW: frozenset({"owner", "reviewer"}),
    Action.MANAGE: frozenset({"owner"}),
    Action.DELETE: frozenset({"owner"}),
    Action.MEMBERS: frozenset({"owner"}),
}

# Sample review states a labeler may still change (None: never submitted).
LABELER_EDITABLE = (None, "rejected")


def is_admin(user: User) -> bool:
    return user.role == ADMIN


def require_admin(user: User) -> None:
    """Let only site admins through (users, creating datasets)."""
    if not is_admin(user):
        raise Forbidden("Only an admin may do this.")


def may(role: str | None, action: Action) -> bool:
    """Tell whether a role (a dataset role, "admin", or None for no role) may do an action."""
    return role == ADMIN or (role is not None and role in RULES[action])


def actions_of(role: str | None) -> dict[str, bool]:
    """What a role may do, by action name (for the pages, to show only the buttons that work)."""
    return {action.value: may(role, action) for action in Action}


def role_in(session: Session, user: User, dataset_id: int) -> str | None:
    """Return the user's role in a dataset: "admin" for site admins, else their membership's role, or None."""
    if is_admin(user):
        return ADMIN
    return session.scalar(select(DatasetMember.role).where(DatasetMember.dataset_id == dataset_id, DatasetMember.user_id == user.id))


def require(session: Session, user: User, dataset_id: int, action: Action) -> str:
    """Return the user's role in the dataset if it may do the action; else raise NotFound (not a
    member: the dataset is not theirs to see) or Forbidden."""
    role = role_in(session, user, dataset_id)
    if role is None:
        raise NotFound(f"Dataset {dataset_id} does not exist.")
    if not may(role, action):
        needed = " or ".join(sorted(RULES[action]))
        raise Forbidden(f"Your role in this dataset ({role}) may not {_WORDS[action]}; that needs {needed}.")
    return role


_WORDS = {
    Action.VIEW: "see it",
    Action.LABEL: "label",
    Action.REVIEW: "review",
    Action.MANAGE: "manage the dataset",
    Action.DELETE: "delete",
    Action.MEMBERS: "change its members",
}


def check_sample(user: User, role: str, sample: Sample) -> None:
    """Raise Forbidden when a labeler may not change this sample's objects (given to someone
    else, or submitted / accepted); reviewers, owners and admins may."""
    if role != "labeler":
        return
    assignee = db().scalar(select(SampleAssignment.user_id).where(SampleAssignment.sample_id == sample.id))
    if assignee is not None and assignee != user.id:
        raise Forbidden("This image is assigned to someone else.")
    if sample.review_state not in LABELER_EDITABLE:
        raise Forbidden(f"This image is {sample.review_state}; only a reviewer or the owner may change it now.")


def dataset_of(session: Session, *, dataset_id: int | None = None, sample_id: int | None = None, job_id: int | None = None) -> int:
    """Return the id of the dataset a route's ids point into, or raise NotFound."""
    if dataset_id is not None:
        return dataset_id
    if sample_id is not None:
        sample = session.get(Sample, sample_id)
        if sample is None:
            raise NotFound(f"Sample {sample_id} does not exist.")
        # Held for the request, so that the view's own lookup finds it in the session's (weak) identity map.
        g.authorized_sample = sample
        return sample.dataset_id
    if job_id is not None:
        found = session.scalar(select(Job.dataset_id).where(Job.id == job_id))
        if found is None:
            raise NotFound(f"Job {job_id} does not exist.")
        return found
    raise LookupError("a dataset route names a dataset, a sample or a job")


def visible_datasets(user: User) -> ColumnElement[bool]:
    """The condition on `Dataset` that keeps the datasets a user may see."""
    if is_admin(user):
        return Dataset.id.is_not(None)
    return Dataset.id.in_(select(DatasetMember.dataset_id).where(DatasetMember.user_id == user.id))


def authorize(action: Action) -> str:
    """Check that the caller may do `action` in the dataset the request's route names (by its
    `dataset_id`, `sample_id` or `job_id`); for LABEL on a sample, the sample rule too. Return the
    caller's role, also kept in `g.dataset_role`."""
    args = request.view_args or {}
    user, session = current_user(), db()
    dataset_id = dataset_of(session, dataset_id=args.get("dataset_id"), sample_id=args.get("sample_id"), job_id=args.get("job_id"))
    try:
        role = require(session, user, dataset_id, action)
    except NotFound:
        if "dataset_id" in args:
            raise
        what = ("Sample", args["sample_id"]) if "sample_id" in args else ("Job", args.get("job_id"))
        raise NotFound(f"{what[0]} {what[1]} does not exist.") from None
    if action is Action.LABEL and "sample_id" in args:
        sample = g.get("authorized_sample") or session.get(Sample, args["sample_id"])
        if sample is None:
            raise NotFound(f"Sample {args['sample_id']} does not exist.")
        check_sample(user, role, sample)
    g.dataset_role = role
    return role


def requires(action: Action) -> Callable[[Callable], Callable]:
    """Decorate a view (API or page) whose route names a dataset, a sample or a job: `authorize`
    runs before it. The action is kept on the view for the route x role test."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            authorize(action)
            return view(*args, **kwargs)

        wrapper.authorization = action
        return wrapper

    return decorate


def admin_required(view: Callable) -> Callable:
    """Decorate a view only site admins may use (users, creating datasets)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        require_admin(current_user())
        return view(*args, **kwargs)

    wrapper.authorization = ADMIN
    return wrapper


def page_role() -> str | None:
    """The caller's role in the dataset of the current request (after `authorize`), for templates."""
    return g.get("dataset_role")
