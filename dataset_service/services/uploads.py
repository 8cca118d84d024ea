"""Adding images by upload: checked by content, names made safe, all or nothing."""
from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.errors import StorageError
from storage.factory import StoreSettings
from storage.images import DEFAULT_MAX_PIXELS, TooManyPixels, UnreadableImage, channels, open_image

from ..errors import Invalid, TooLarge, UnsupportedMedia
from ..models import Dataset, Sample, utcnow
from .input_folder import input_folder

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp"}
EXTENSIONS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "BMP": (".bmp",)}
MAX_NAME = 255
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Upload:
    """One file of an upload request, checked."""

    name: str
    data: bytes
    format: str = ""
    width: int = 0
    height: int = 0
    depth: int | None = None


def safe_name(raw: str) -> str:
    """Return a relative key for an uploaded file name, or raise Invalid naming it."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/")
    if not name.strip() or CONTROL.search(name):
        raise Invalid(f"files: '{raw!r}' is not an acceptable file name.", {"files": [f"{raw!r}: empty name or control characters"]})
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise Invalid(f"files: '{raw}' is an absolute path.", {"files": [f"{raw}: absolute paths are not allowed"]})
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise Invalid(f"files: '{raw}' climbs out of the folder ('..').", {"files": [f"{raw}: '..' is not allowed"]})
    key = posixpath.join(*parts)
    if len(key) > MAX_NAME:
        raise Invalid(f"files: '{raw}' is longer than {MAX_NAME} characters.", {"files": [f"{raw}: name too long"]})
    return key


def check(upload: Upload, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> Upload:
    """Check one file's size, pixels and content; fill in its format and dimensions."""
    if len(upload.data) > max_bytes:
        raise TooLarge(
            f"{upload.name}: {len(upload.data)} bytes is over the {max_bytes // (1024 * 1024)} MB limit per image.",
            {"files": [f"{upload.name}: larger than {max_bytes} bytes"]},
        )
    try:
        with open_image(upload.data, max_pixels) as image:
            upload.format = image.format or ""
            upload.width, upload.height = image.size
            upload.depth = channels(image)
            image.verify()
    except TooManyPixels as exc:
        raise TooLarge(f"{upload.name}: {exc} (MAX_IMAGE_PIXELS).", {"files": [f"{upload.name}: {exc}"]}) from None
    except UnreadableImage:
        upload.format = ""
    if upload.format not in FORMATS:
        raise UnsupportedMedia(f"{upload.name}: not a JPG, PNG or BMP image.", {"files": [f"{upload.name}: not a JPG, PNG or BMP image"]})
    if not upload.name.lower().endswith(EXTENSIONS[upload.format]):
        upload.name = posixpath.splitext(upload.name)[0] + EXTENSIONS[upload.format][0]
    return upload


def add_images(session: Session, dataset: Dataset, uploads: list[Upload], settings: StoreSettings, max_bytes: int,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Sample]:
    """Store the files under the input path and make (or refresh) their samples; flush."""
    if not uploads:
        raise Invalid("files: no file was sent.", {"files": ["at least one file is required"]})
    checked = [check(Upload(safe_name(u.name), u.data), max_bytes, max_pixels) for u in uploads]
    folder = input_folder(dataset, settings)
    stored: list[tuple[Upload, str, object]] = []
    try:
        for upload in checked:
            key = folder.root.key + upload.name
            stored.append((upload, key, folder.store.put(folder.bucket, key, upload.data, content_type=FORMATS[upload.format])))
    except StorageError:
        for _, key, _ in stored:
            folder.store.delete(folder.bucket, key)
        raise
    return [_upsert(session, dataset, key, info, upload) for upload, key, info in stored]


def _upsert(session: Session, dataset: Dataset, key: str, info, upload: Upload) -> Sample:
    sample = session.scalar(select(Sample).where(Sample.dataset_id == dataset.id, Sample.key == key))
    if sample is None:
        sample = Sample(dataset_id=dataset.id, key=key, revision=0, labeled=False)
        session.add(sample)
    sample.size, sample.etag = len(upload.data), info.etag
    sample.width, sample.height, sample.depth = upload.width, upload.height, upload.depth
    sample.created_at = info.last_modified or utcnow()
    sample.error = None
    session.flush()
    return sample
