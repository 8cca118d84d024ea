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


# --- reading a manifest, line by line ---------------------------------------------------------

READ_BYTES = 4 * 1024 * 1024  # read from the store this much at a time
MAX_LINE_BYTES = 1024 * 1024  # a longer line is refused (without holding it)
HUMAN = "human/"


class ManifestError(ValueError):
    """A manifest line that cannot be read; the message says why."""


@dataclass(frozen=True)
class EntryAnnotation:
    """A segmentation item of a line: where its XML is (as written: absolute or relative) and who made it when."""

    loc: str
    annotated_by: str | None
    creation_time: datetime | None

    @property
    def person(self) -> str | None:
        """Return the user name of a `human/<name>` author, else None (a tool, or `human` alone)."""
        if self.annotated_by and self.annotated_by.startswith(HUMAN):
            return self.annotated_by[len(HUMAN):] or None
        return None


@dataclass(frozen=True)
class ManifestEntry:
    """One line: the image (`source`) and its first PASCAL-VOC segmentation item, if any."""

    source: str
    annotation: EntryAnnotation | None


def read_lines(get, size: int, chunk: int = READ_BYTES, max_line: int = MAX_LINE_BYTES):
    """Yield (line number from 1, the line's bytes or None when over `max_line`, bytes consumed so
    far) for an object of `size` bytes read with `get(first, last)` a chunk at a time: memory holds
    one chunk and one line, whatever the manifest's length. Empty lines are skipped."""
    number, start, pending, dropping = 0, 0, b"", False
    while start < size:
        data = get(start, min(start + chunk, size) - 1)
        if not data:
            break
        start += len(data)
        lines = (pending + data).split(b"\n")
        pending = lines.pop()
        for line in lines:
            number += 1
            if dropping or len(line) > max_line:
                dropping = False
                yield number, None, start
            elif line.strip():
                yield number, line, start
            # an empty line is still a line: numbers match an editor's
        if len(pending) > max_line:  # the rest of this line is skipped as it comes
            pending, dropping = b"", True
    if pending.strip() or dropping:
        yield number + 1, None if dropping else pending, start


def parse_line(line: bytes) -> ManifestEntry:
    """Read one manifest line; raise ManifestError saying what is wrong with it."""
    try:
        data = json.loads(line.decode("utf-8").lstrip("\ufeff"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"not a JSON object: {exc}") from None
    if not isinstance(data, dict):
        raise ManifestError("not a JSON object")
    source = data.get("source")
    if not isinstance(source, str) or not source:
        raise ManifestError("'source' is missing or not a string")
    if data.get("sample-type", IMAGE) not in (IMAGE, str(IMAGE)):
        raise ManifestError(f"sample-type {data['sample-type']!r} is not an image (0)")
    items = data.get("annotation") or []
    if not isinstance(items, list):
        raise ManifestError("'annotation' is not a list")
    return ManifestEntry(source, next((read_item(item) for item in items if is_segmentation(item)), None))


def is_segmentation(item: object) -> bool:
    """Tell whether an annotation item is a PASCAL-VOC segmentation file (others, e.g. a class name, are not imported)."""
    return (isinstance(item, dict) and item.get("type", SEGMENTATION) == SEGMENTATION
            and str(item.get("annotation-format", PASCAL_VOC)).upper() == PASCAL_VOC and "annotation-loc" in item)


def read_item(item: dict) -> EntryAnnotation:
    loc, by, when = item.get("annotation-loc"), item.get("annotated-by"), item.get("creation-time")
    if not isinstance(loc, str) or not loc:
        raise ManifestError("'annotation-loc' is not a string")
    return EntryAnnotation(loc, by if isinstance(by, str) else None, parse_time(when))


def parse_time(text: object) -> datetime | None:
    """Read ModelArts' `YYYY-MM-DD HH:MM:SS` (UTC); None when absent or unreadable (the time is a detail, not a reason to refuse a line)."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
