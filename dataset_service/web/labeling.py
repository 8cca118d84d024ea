"""The labeling page: one image on a canvas; its JavaScript saves through the REST API."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from marshmallow import ValidationError

from ..auth import login_required
from ..db_session import db
from ..errors import DomainError, NotFound
from ..services import datasets, samples
from ..services.filters import SampleFilter
from ..services.input_folder import input_root
from .query import read_filter, read_state

blp = Blueprint("labeling", __name__)


@blp.get("/datasets/<int:dataset_id>/samples/<int:sample_id>")
@login_required
def label(dataset_id: int, sample_id: int):
    """Show the labeling page of a sample; previous and next follow the dataset page's filter."""
    dataset = datasets.get_dataset(db(), dataset_id)
    sample = samples.get_sample(db(), sample_id)
    if sample.dataset_id != dataset.id:
        raise NotFound(f"Sample {sample_id} is not in dataset {dataset_id}.")
    query = read_state(request.args).filter_args()
    prev_id, next_id = _neighbours(dataset, sample, request.args)
    return render_template(
        "label.html",
        dataset=dataset,
        sample=sample,
        page_data={
            "datasetId": dataset.id,
            "sampleId": sample.id,
            "key": sample.key,
            "imageUrl": url_for("images.image", sample_id=sample.id, v=sample.etag),
            "labels": [{"id": label.id, "name": label.name, "color": label.color} for label in dataset.labels],
            "prevUrl": _sample_url(dataset.id, prev_id, query),
            "nextUrl": _sample_url(dataset.id, next_id, query),
            "backUrl": url_for("datasets.show", dataset_id=dataset.id) + (f"?{query}" if query else ""),
        },
    )


def _neighbours(dataset, sample, args) -> tuple[int | None, int | None]:
    """Return the previous and next samples under the dataset page's filter, or under none when
    that filter no longer reads (a label was renamed since, say)."""
    try:
        return samples.neighbours(db(), dataset, sample, read_filter(args, input_root(dataset).key))
    except (ValidationError, DomainError):
        return samples.neighbours(db(), dataset, sample, SampleFilter())


def _sample_url(dataset_id: int, sample_id: int | None, query: str) -> str | None:
    if sample_id is None:
        return None
    return url_for("labeling.label", dataset_id=dataset_id, sample_id=sample_id) + (f"?{query}" if query else "")
