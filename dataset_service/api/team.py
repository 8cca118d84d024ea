"""Team labeling: members and roles, assignment and each labeler's queue, review, a sample's
history, acceptance checks, and the team's figures. Who may call what: `access.RULES`."""
from __future__ import annotations

from flask import current_app

from ..access import RULES, Action
from ..auth import current_user
from ..db_session import commit, db
from ..schemas import (
    AcceptanceIn,
    AcceptanceOut,
    AnnotationOut,
    AssignedOut,
    AssignIn,
    CheckIn,
    FinishIn,
    MemberIn,
    MemberList,
    MemberOut,
    MemberRemoved,
    MemberUpdate,
    NextArgs,
    NextOut,
    PageArgs,
    RestoreIn,
    ReviewIn,
    RevisionList,
    SampleOut,
    TeamStatsOut,
    UnassignedOut,
    UnassignIn,
)
from ..services import acceptance, annotations, assignment, datasets, members, review, revisions, samples, team_stats
from ..services.filters import SampleFilter
from .blueprint import Blueprint

blp = Blueprint("team", __name__, description="Team labeling: members, assignment, review, history, acceptance")


@blp.get("/datasets/<int:dataset_id>/members")
@blp.allow(Action.VIEW)
@blp.response(200, MemberList)
def list_members(dataset_id):
    """List the dataset's members and their roles."""
    return {"items": members.list_members(db(), dataset_id)}


@blp.post("/datasets/<int:dataset_id>/members")
@blp.allow(Action.MEMBERS)
@blp.arguments(MemberIn)
@blp.response(201, MemberOut)
def add_member(data, dataset_id):
    """Add a user to the dataset with a role (owner, reviewer, labeler), or change their role."""
    member = members.add_member(db(), dataset_id, data["username"], data["role"])
    commit()
    return member


@blp.patch("/datasets/<int:dataset_id>/members/<int:user_id>")
@blp.allow(Action.MEMBERS)
@blp.arguments(MemberUpdate)
@blp.response(200, MemberOut)
def change_member(data, dataset_id, user_id):
    """Change a member's role (the last owner stays owner)."""
    member = members.change_role(db(), members.get_member(db(), dataset_id, user_id), data["role"])
    commit()
    return member


@blp.delete("/datasets/<int:dataset_id>/members/<int:user_id>")
@blp.allow(Action.MEMBERS)
@blp.response(200, MemberRemoved)
def remove_member(dataset_id, user_id):
    """Remove a member; the samples given to them that are still open go back to the pool."""
    returned = members.remove_member(db(), members.get_member(db(), dataset_id, user_id))
    commit()
    return {"returned_to_pool": returned}


@blp.post("/datasets/<int:dataset_id>/assignments")
@blp.allow(Action.MANAGE)
@blp.arguments(AssignIn)
@blp.response(200, AssignedOut)
def assign(data, dataset_id):
    """Give the samples a filter matches (default: unlabeled ones given to no one) to labelers,
    evenly or in shares, in one statement; samples given to someone else are reassigned."""
    f = SampleFilter.from_args(data["filter"])
    result = assignment.assign(db(), dataset_id, f, data["labelers"], data["shares"], RULES[Action.LABEL])
    commit()
    return result


@blp.post("/datasets/<int:dataset_id>/assignments/clear")
@blp.allow(Action.MANAGE)
@blp.arguments(UnassignIn)
@blp.response(200, UnassignedOut)
def unassign(data, dataset_id):
    """Take the samples a filter matches back into the pool."""
    count = assignment.unassign(db(), dataset_id, SampleFilter.from_args(data["filter"]))
    commit()
    return {"unassigned": count}


@blp.get("/datasets/<int:dataset_id>/next")
@blp.allow(Action.LABEL)
@blp.arguments(NextArgs, location="query")
@blp.response(200, NextOut)
def next_sample(args, dataset_id):
    """The caller's queue ("My work"): their next open sample (given to them, never submitted or
    rejected) after `after`, and how many are open."""
    sample_id, remaining = assignment.next_open(db(), dataset_id, current_user().id, args["after"])
    return {"sample_id": sample_id, "remaining": remaining}


@blp.get("/datasets/<int:dataset_id>/team")
@blp.allow(Action.VIEW)
@blp.response(200, TeamStatsOut)
def team(dataset_id):
    """Per member: images labeled, objects made, assigned, open, submitted, accepted, rejected;
    saves per day and person over the last 30 days."""
    return team_stats.team_stats(db(), dataset_id)


def _described(sample):
    dataset = datasets.get_dataset(db(), sample.dataset_id)
    return samples.describe(db(), dataset, [sample])[0]


@blp.post("/samples/<int:sample_id>/submit")
@blp.allow(Action.LABEL)
@blp.response(200, SampleOut)
def submit(sample_id):
    """Hand a labeled sample in for review."""
    sample = review.submit(db(), samples.get_sample(db(), sample_id))
    commit()
    return _described(sample)


@blp.post("/samples/<int:sample_id>/review")
@blp.allow(Action.REVIEW)
@blp.arguments(ReviewIn)
@blp.response(200, SampleOut)
def review_sample(data, sample_id):
    """Accept a submitted sample (rating A-D) or reject it with a reason (back to its labeler)."""
    sample = review.decide(db(), samples.get_sample(db(), sample_id), current_user(), data["decision"], data["rating"], data["reason"])
    commit()
    return _described(sample)


@blp.get("/samples/<int:sample_id>/history")
@blp.allow(Action.VIEW)
@blp.arguments(PageArgs, location="query")
@blp.response(200, RevisionList)
def history(args, sample_id):
    """Every saved revision of the sample's objects, newest first: who, when, which tool, whose
    revision it replaced."""
    total, items = revisions.history(db(), sample_id, args["limit"], args["offset"])
    return {"total": total, "items": items}


@blp.post("/samples/<int:sample_id>/history/<int:revision>/restore")
@blp.allow(Action.LABEL)
@blp.arguments(RestoreIn)
@blp.response(200, AnnotationOut)
@blp.alt_response(409, description="`revision` is not the sample's current one")
def restore(data, sample_id, revision):
    """Make an earlier revision's objects current again, as a new revision (nothing is lost)."""
    sample = samples.get_sample(db(), sample_id)
    dataset = datasets.get_dataset(db(), sample.dataset_id)
    old = revisions.get_revision(db(), sample_id, revision)
    config = current_app.config["SERVICE"]
    objects, authors = revisions.objects_to_restore(db(), old)
    result = annotations.save_annotation(db(), dataset, sample, data["revision"], objects, current_user(),
                                         config.store_settings, config.max_image_pixels, tool="restore", restored_from=revision, authors=authors)
    commit()
    return result


def _acceptance_view(found):
    return {**{c: getattr(found, c) for c in ("id", "state", "seed", "pool", "drawn", "outcome", "created_at", "finished_at")},
            "samples": acceptance.drawn_samples(db(), found), "report": acceptance.report(db(), found)}


@blp.post("/datasets/<int:dataset_id>/acceptances")
@blp.allow(Action.MANAGE)
@blp.arguments(AcceptanceIn)
@blp.response(201, AcceptanceOut)
def start_acceptance(data, dataset_id):
    """Draw a seeded sample of the handed-in work to check: `rate` in (0, 1] or `count`."""
    found = acceptance.start(db(), dataset_id, current_user(), data["rate"], data["count"], data["seed"])
    commit()
    return _acceptance_view(found)


@blp.get("/datasets/<int:dataset_id>/acceptances/<int:acceptance_id>")
@blp.allow(Action.MANAGE)
@blp.response(200, AcceptanceOut)
def get_acceptance(dataset_id, acceptance_id):
    """An acceptance check: the drawn images with their verdicts, and the report per labeler."""
    return _acceptance_view(acceptance.get(db(), dataset_id, acceptance_id))


@blp.post("/datasets/<int:dataset_id>/acceptances/<int:acceptance_id>/samples/<int:sample_id>")
@blp.allow(Action.MANAGE)
@blp.arguments(CheckIn)
@blp.response(200, AcceptanceOut)
def check_sample(data, dataset_id, acceptance_id, sample_id):
    """Pass or reject one drawn image (a reason is required to reject)."""
    found = acceptance.get(db(), dataset_id, acceptance_id)
    acceptance.check(db(), found, sample_id, data["verdict"], data["reason"])
    commit()
    return _acceptance_view(found)


@blp.post("/datasets/<int:dataset_id>/acceptances/<int:acceptance_id>/finish")
@blp.allow(Action.MANAGE)
@blp.arguments(FinishIn)
@blp.response(200, AcceptanceOut)
def finish_acceptance(data, dataset_id, acceptance_id):
    """End the check: pass_all, reject_all, or pass_rest (checked images follow their verdicts)."""
    found = acceptance.finish(db(), acceptance.get(db(), dataset_id, acceptance_id), data["outcome"], current_user())
    commit()
    return _acceptance_view(found)

