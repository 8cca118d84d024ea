"""ModelArts' manifest: one JSON object per line, UTF-8, one line per sample.

A line names the image (`source`), its split (`usage`), a stable `id`, `sample-type` 0 (an
image) and its `annotation` list; a labeled image has one item pointing at its PASCAL-VOC XML
(`annotation-loc`, `annotation-format`), with who labeled it and when. The split is seeded by
the sample's key, so a sample keeps its side from one version to the next while the ratio stays
the same, and raising the ratio only moves samples from EVAL to TRAIN.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

SEGMENTATION = "modelarts/image_segmentation"
PASCAL_VOC = "PASCAL VOC"
IMAGE = 0  # sample-type of an image
TRAIN, EVAL = "TRAIN", "EVAL"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class ManifestAnnotation:
    """One item of a line's `annotation` list: a segmentation XML and who made it when."""

    annotation_loc: str
    annotated_by: str
    creation_time: datetime

    def as_json(self) -> dict[str, str]:
        return {
            "type": SEGMENTATION,
            "annotation-loc": self.annotation_loc,
            "annotation-format": PASCAL_VOC,
            "annotated-by": self.annotated_by,
            "creation-time": creation_time(self.creation_time),
        }


def usage(key: str, train_ratio: float | None) -> str:
    """Return TRAIN or EVAL for a sample key by a seeded split ("" without a ratio)."""
    if train_ratio is None:
        return ""
    return TRAIN if split_point(key) < train_ratio else EVAL


def split_point(key: str) -> float:
    """Return where a key falls in [0, 1): the first 8 bytes of its SHA-256, as a fraction."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def sample_id(key: str) -> str:
    """Return a sample's manifest id: stable for its key (32 hex digits, as ModelArts' ids look)."""
    return hashlib.md5(key.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def annotated_by(username: str | None) -> str:
    """Name who labeled a sample as ModelArts does: `human/<username>`, or `human` when unknown."""
    return f"human/{username}" if username else "human"


def creation_time(moment: datetime) -> str:
    """Write a time as ModelArts does, `YYYY-MM-DD HH:MM:SS`, in UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime(TIME_FORMAT)


def manifest_line(source: str, key: str, train_ratio: float | None, annotations: list[ManifestAnnotation]) -> bytes:
    """Return one sample's line, newline included."""
    line = {
        "source": source,
        "usage": usage(key, train_ratio),
        "id": sample_id(key),
        "sample-type": IMAGE,
        "annotation": [item.as_json() for item in annotations],
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
