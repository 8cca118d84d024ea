"""The labeling page: one image on a canvas; its JavaScript saves through the REST API."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from marshmallow import ValidationError

from ..access import Action, actions_of, check_sample, may, page_role, requires
from ..auth import current_user
from ..db_session import db
from ..errors import DomainError, Forbidden, NotFound
from ..schemas import SampleOut
from ..services import datasets, samples
from ..services.filters import SampleFilter, encode_cursor
from ..services.input_folder import input_root
from .page_data import labels_with_counts
from .query import read_filter, read_state

blp = Blueprint("labeling", __name__)

STRIP_SIDE = 30  # images of the list shown on each side of the current one in the filmstrip
# What the review bar shows: the state, the reviewer's verdict, who the image is given to.
REVIEW_FIELDS = ("id", "state", "review", "review_reason", "review_rating", "reviewed_by", "assigned_to")


@blp.get("/datasets/<int:dataset_id>/samples/<int:sample_id>")
@requires(Action.VIEW)
def label(dataset_id: int, sample_id: int):
    """Show the labeling page of a sample with the dataset page's list around it: the filmstrip,
    previous and next follow that list."""
    dataset = datasets.get_dataset(db(), dataset_id)
    sample = samples.get_sample(db(), sample_id)
    if sample.dataset_id != dataset.id:
        raise NotFound(f"Sample {sample_id} is not in dataset {dataset_id}.")
    query = read_state(request.args).filter_args()
    before, after, total = _strip(dataset, sample, request.args)
    return render_template(
        "label.html",
        dataset=dataset,
        sample=sample,
        can=actions_of(page_role()),
        page_data={
            "datasetId": dataset.id,
            "sampleId": sample.id,
            "key": sample.key,
            "me": current_user().username,
            "review": SampleOut(only=REVIEW_FIELDS).dump(samples.describe(db(), dataset, [sample])[0]),
            "locked": _locked(sample),
            "imageUrl": url_for("images.image", sample_id=sample.id, v=sample.etag),
            "labels": labels_with_counts(dataset, datasets.dataset_counts(db(), dataset)),
            "filterQuery": query,
            "strip": [_entry(s) for s in [*before, sample, *after]],
            "listTotal": total,
            "prevUrl": _sample_url(dataset.id, before[-1].id if before else None, query),
            "nextUrl": _sample_url(dataset.id, after[0].id if after else None, query),
            "backUrl": url_for("datasets.show", dataset_id=dataset.id) + (f"?{query}" if query else ""),
        },
    )


def _locked(sample) -> str | None:
    """Say why the caller may not change this image's objects now (the API's own rule), or None."""
    role = page_role()
    if not may(role, Action.LABEL):
        return "Your role in this dataset may not label."
    try:
        check_sample(current_user(), role, sample)
    except Forbidden as exc:
        return exc.message
    return None


def _strip(dataset, sample, args) -> tuple[list, list, int]:
    """Return the samples before and after this one in the dataset page's list (key order, under
    its filter, or under none when that filter no longer reads: a label was renamed since, say),
    and how many the list holds. The sample itself need not match the filter any more."""
    try:
        return _around(dataset, sample, read_filter(args, input_root(dataset)))
    except (ValidationError, DomainError):
        return _around(dataset, sample, SampleFilter())


def _around(dataset, sample, f: SampleFilter) -> tuple[list, list, int]:
    earlier = samples.list_samples(db(), dataset, f, STRIP_SIDE, cursor=encode_cursor("key", sample, backwards=True))
    later = samples.list_samples(db(), dataset, f, STRIP_SIDE, cursor=encode_cursor("key", sample))
    # Fewer than a page before it: the list's first page comes back, which may reach past it.
    return [s for s in earlier.items if s.key < sample.key], later.items, later.total


def _entry(sample) -> dict:
    """One image of the filmstrip."""
    return {
        "id": sample.id,
        "key": sample.key,
        "thumb": url_for("images.thumbnail", sample_id=sample.id, v=sample.etag),
        "labeled": bool(sample.labeled),
    }


def _sample_url(dataset_id: int, sample_id: int | None, query: str) -> str | None:
    if sample_id is None:
        return None
    return url_for("labeling.label", dataset_id=dataset_id, sample_id=sample_id) + (f"?{query}" if query else "")
