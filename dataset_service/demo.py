"""The demo dataset `make run` seeds the first time: real photos bundled with scikit-image, a few
already labeled with a sibling XML, on the stack's own S3 server, synchronized like any dataset.
"""
from __future__ import annotations

import io
import logging

import numpy as np
from flask import Flask
from PIL import Image
from sqlalchemy import select

from storage.annotations import AnnotatedObject, Annotation, write_annotation
from storage.factory import store_for
from storage.paths import sibling_xml_key
from storage.uris import parse_uri

from .jobs.execution import run_job
from .models import Dataset, User
from .services import datasets as dataset_service
from .services import jobs as job_service
from .services.colors import to_rgb

log = logging.getLogger(__name__)

BUCKET = "demo"
PREFIX = "photos/"
NAME = "demo-photos"
LABELS = [("cat", "#e6194b"), ("cup", "#f58231"), ("coin", "#ffe119"), ("person", "#4363d8"), ("rocket", "#3cb44b")]
# scikit-image's sample images, by the file name each gets in the bucket.
PHOTOS = {"cat.jpg": "chelsea", "coffee.jpg": "coffee", "coins.jpg": "coins", "astronaut.jpg": "astronaut", "rocket.jpg": "rocket"}

# Outlines traced by hand on the bundled photos, in pixels.
CAT_HEAD = [(0, 300), (0, 150), (35, 40), (55, 0), (380, 0), (395, 60), (370, 120), (385, 200), (350, 270), (330, 300)]
COFFEE_CUP = [
    (178, 60), (200, 35), (250, 20), (300, 18), (350, 25), (395, 45), (410, 80), (405, 130), (395, 200), (385, 240),
    (360, 265), (320, 280), (270, 285), (250, 280), (245, 300), (215, 305), (198, 290), (195, 250), (210, 225),
    (185, 190), (176, 130),
]


def seed(app: Flask) -> int | None:
    """Upload the photos and their XML, create the dataset and synchronize it; return its id.

    Does nothing (returns None) when the dataset exists already or no photo can be loaded.
    """
    config = app.config["SERVICE"]
    make_session = app.extensions["db_sessionmaker"]
    with make_session() as session:
        if session.scalar(select(Dataset.id).where(Dataset.name == NAME)) is not None:
            return None
    photos = load_photos()
    if not photos:
        log.warning("demo: scikit-image's sample photos are not available; no demo dataset")
        return None
    upload(photos, config.store_settings)
    with make_session() as session:
        admin = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        dataset = dataset_service.create_dataset(session, {
            "name": NAME,
            "description": "Photos bundled with scikit-image; the cat, the coffee cup and the coins come labeled.",
            "input_path": f"s3://{BUCKET}/{PREFIX}",
            "output_path": f"s3://{BUCKET}/output/",
            "labels": [{"name": name, "color": color} for name, color in LABELS],
        }, admin)
        job, _ = job_service.start_job(session, dataset, "sync", admin, config.job_stale_after_s)
        session.commit()
        dataset_id, job_id = dataset.id, job.id
    run_job(job_id, make_session, config)
    return dataset_id


def load_photos() -> dict[str, np.ndarray]:
    """Return the bundled photos that load without the network, by file name."""
    from skimage import data

    photos = {}
    for name, loader in PHOTOS.items():
        try:
            photos[name] = getattr(data, loader)()
        except Exception as exc:  # noqa: BLE001 - a photo that needs a download is skipped
            log.info("demo: skipping %s (%s)", loader, exc)
    return photos


def upload(photos: dict[str, np.ndarray], settings) -> None:
    """Put each photo as a JPEG, and the labeled ones' sibling XML, under s3://demo/photos/."""
    store = store_for(parse_uri(f"s3://{BUCKET}/"), settings)
    store.ensure_bucket(BUCKET)
    for name, pixels in photos.items():
        key = PREFIX + name
        store.put(BUCKET, key, jpeg(pixels), content_type="image/jpeg")
        annotation = annotate(name, pixels)
        if annotation is not None:
            store.put(BUCKET, sibling_xml_key(key), write_annotation(annotation), content_type="application/xml")


def jpeg(pixels: np.ndarray) -> bytes:
    """Encode an image array as a JPEG."""
    out = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


def annotate(name: str, pixels: np.ndarray) -> Annotation | None:
    """Return the objects a photo comes labeled with, or None for the ones left to label."""
    outlines = {"cat.jpg": [("cat", CAT_HEAD)], "coffee.jpg": [("cup", COFFEE_CUP)]}.get(name)
    if name == "coins.jpg":
        outlines = [("coin", outline) for outline in coin_outlines(pixels)]
    if not outlines:
        return None
    height, width = pixels.shape[:2]
    colors = dict(LABELS)
    return Annotation(
        filename=name, width=width, height=height, depth=1 if pixels.ndim == 2 else pixels.shape[2],
        objects=[
            AnnotatedObject(label=label, points=[(float(x), float(y)) for x, y in points], source="imported",
                            created_by="demo", mask_color=to_rgb(colors[label]))
            for label, points in outlines
        ],
    )


def coin_outlines(gray: np.ndarray, min_area: int = 300) -> list[list[tuple[float, float]]]:
    """Outline the coins: watershed on the Sobel edges from dark and bright markers."""
    from scipy import ndimage
    from skimage import filters, measure, segmentation

    markers = np.zeros_like(gray)
    markers[gray < 30], markers[gray > 150] = 1, 2
    regions = segmentation.watershed(filters.sobel(gray), markers)
    labeled = measure.label(ndimage.binary_fill_holes(regions - 1))
    outlines = []
    for region in measure.regionprops(labeled):
        if region.area < min_area:
            continue
        contour = measure.find_contours(labeled == region.label, 0.5)[0]
        polygon = measure.approximate_polygon(contour, tolerance=1.5)[:-1]  # the contour repeats its start
        outlines.append([(_clip(x, gray.shape[1]), _clip(y, gray.shape[0])) for y, x in polygon])
    return outlines


def _clip(value: float, limit: int) -> float:
    return round(min(max(float(value), 0.0), float(limit)), 1)
