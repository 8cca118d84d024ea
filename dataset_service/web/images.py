"""Image bytes for the pages: cached thumbnails for the grid, the image itself for labeling."""
from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, current_app, request, send_file

from ..access import Action, requires
from ..db_session import db
from ..services import datasets, samples, thumbnails
from ..services.input_folder import input_folder

blp = Blueprint("images", __name__)

PLACEHOLDER = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="192" viewBox="0 0 256 192">'
    '<rect width="256" height="192" fill="#eceff3"/><text x="128" y="100" font-family="sans-serif" '
    'font-size="14" text-anchor="middle" fill="#7a8594">cannot read image</text></svg>'
)
THUMB_MAX_AGE = 7 * 24 * 3600  # the URL carries the ETag, so a new image gets a new URL


def _located(sample_id: int):
    sample = samples.get_sample(db(), sample_id)
    dataset = datasets.get_dataset(db(), sample.dataset_id)
    return sample, input_folder(dataset, current_app.config["SERVICE"].store_settings)


@blp.get("/samples/<int:sample_id>/thumbnail")
@requires(Action.VIEW)
def thumbnail(sample_id: int):
    """Serve the sample's thumbnail, made on first request and cached on disk."""
    sample, folder = _located(sample_id)
    if request.if_none_match.contains(sample.etag):
        return Response(status=304)
    try:
        config = current_app.config["SERVICE"]
        path = thumbnails.thumbnail(folder.store, folder.bucket, sample.key, sample.etag, config.thumbnail_dir,
                                    max_bytes=config.thumbnail_cache_mb * 1024 * 1024, max_pixels=config.max_image_pixels)
    except thumbnails.ThumbnailError as exc:
        # The reason travels beside the placeholder: the upload tells a file it cannot decode so.
        reason = str(exc).encode("ascii", "replace").decode()[:200] or "the image cannot be decoded"
        return Response(PLACEHOLDER, mimetype="image/svg+xml", headers={"Cache-Control": "no-cache", "X-Image-Error": reason})
    response = send_file(path, mimetype="image/jpeg", max_age=THUMB_MAX_AGE, conditional=True, etag=sample.etag)
    response.headers["Cache-Control"] = f"private, max-age={THUMB_MAX_AGE}"
    return response


@blp.get("/samples/<int:sample_id>/image")
@requires(Action.VIEW)
def image(sample_id: int):
    """Send the sample's image to the labeling page, in the stored pixel frame."""
    sample, folder = _located(sample_id)
    if request.if_none_match.contains(sample.etag):
        return Response(status=304)
    mimetype = mimetypes.guess_type(sample.key)[0] or "application/octet-stream"
    data = folder.store.get(folder.bucket, sample.key)
    response = Response(thumbnails.without_orientation(data, current_app.config["SERVICE"].max_image_pixels), mimetype=mimetype)
    response.set_etag(sample.etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response
