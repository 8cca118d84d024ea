"""Samples: the filtered list, annotations, uploads, deletion, and inference on a sample."""
from __future__ import annotations

from flask import current_app, request

from ..access import Action
from ..auth import current_user
from ..db_session import commit, db
from ..schemas import (
    AnnotationIn,
    AnnotationOut,
    DeletedOut,
    DeleteSamples,
    Error,
    InferIn,
    InferOut,
    SampleList,
    SampleOut,
    SampleQuery,
    UploadIn,
    UploadOut,
)
from ..services import annotations, datasets, inference, samples, uploads
from ..services.filters import SampleFilter
from .blueprint import Blueprint

blp = Blueprint("samples", __name__, description="Samples and their annotations")


def settings():
    return current_app.config["SERVICE"].store_settings


def sample_and_dataset(sample_id: int):
    """Return a sample and its dataset, or raise NotFound."""
    sample = samples.get_sample(db(), sample_id)
    return sample, datasets.get_dataset(db(), sample.dataset_id)


@blp.get("/datasets/<int:dataset_id>/samples")
@blp.allow(Action.VIEW)
@blp.arguments(SampleQuery, location="query")
@blp.response(200, SampleList)
def list_samples(args, dataset_id):
    """List a dataset's samples with ModelArts' filters, combined with AND."""
    dataset = datasets.get_dataset(db(), dataset_id)
    page = samples.list_samples(db(), dataset, SampleFilter.from_args(args), args["limit"], args["offset"], args["cursor"])
    return {"total": page.total, "items": page.items, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@blp.post("/datasets/<int:dataset_id>/samples/delete")
@blp.allow(Action.DELETE)
@blp.arguments(DeleteSamples)
@blp.response(200, DeletedOut)
@blp.alt_response(502, response="BAD_GATEWAY")
def delete_samples(data, dataset_id):
    """Delete samples; with delete_source, their images and XML leave the store too."""
    dataset = datasets.get_dataset(db(), dataset_id)
    count = samples.delete_samples(db(), dataset, data["ids"], data["delete_source"], settings())
    commit()
    return {"deleted": count}


@blp.post("/datasets/<int:dataset_id>/images")
@blp.allow(Action.MANAGE)
@blp.arguments(UploadIn, location="files")
@blp.response(201, UploadOut)
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(502, response="BAD_GATEWAY")
def upload_images(data, dataset_id):
    """Add JPG, PNG or BMP images (multipart field 'files'); all are stored or none."""
    dataset = datasets.get_dataset(db(), dataset_id)
    batch = [uploads.Upload(f.filename or "", f.read()) for f in data["files"]]
    config = current_app.config["SERVICE"]
    created = uploads.add_images(db(), dataset, batch, settings(), config.max_image_bytes, config.max_image_pixels)
    commit()
    return {"items": samples.describe(db(), dataset, created)}


@blp.get("/samples/<int:sample_id>")
@blp.allow(Action.VIEW)
@blp.response(200, SampleOut)
def get_sample(sample_id):
    """Return one sample."""
    sample, dataset = sample_and_dataset(sample_id)
    return samples.describe(db(), dataset, [sample])[0]


@blp.get("/samples/<int:sample_id>/annotation")
@blp.allow(Action.VIEW)
@blp.response(200, AnnotationOut)
def get_annotation(sample_id):
    """Return a sample's objects and revision."""
    return annotations.get_annotation(db(), samples.get_sample(db(), sample_id))


@blp.put("/samples/<int:sample_id>/annotation")
@blp.allow(Action.LABEL)
@blp.arguments(AnnotationIn)
@blp.response(200, AnnotationOut)
@blp.alt_response(409, schema=Error, description=(
    "A stale save: `revision` is not the current one; `current` holds the annotation saved since (its revision, "
    "objects, who saved it when). Or `try_again`: another change got in the way at the same moment."))
@blp.alt_response(502, response="BAD_GATEWAY")
def put_annotation(data, sample_id):
    """Replace a sample's objects; a stale revision gets 409 with the current annotation."""
    sample, dataset = sample_and_dataset(sample_id)
    max_pixels = current_app.config["SERVICE"].max_image_pixels
    tool = "api" if request.authorization else "page"  # the pages save with their session cookie
    result = annotations.save_annotation(db(), dataset, sample, data["revision"], data["objects"], current_user(), settings(), max_pixels, tool)
    commit()
    return result


@blp.post("/samples/<int:sample_id>/infer")
@blp.allow(Action.LABEL)
@blp.arguments(InferIn)
@blp.response(200, InferOut)
@blp.alt_response(502, response="BAD_GATEWAY")
def infer(data, sample_id):
    """Ask the inference worker for the outline given four extreme points or a box, and correction clicks."""
    sample, dataset = sample_and_dataset(sample_id)
    config = current_app.config["SERVICE"]
    uri = str(samples.sample_uri(dataset, sample))
    return inference.outline(config.worker_url, uri, data, config.worker_timeout_s, config.worker_token)
