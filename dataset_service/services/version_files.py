"""What publishing and exporting share: a version's folder in the store, its label list, where a
sample's files go, a sample's XML and masks drawn from the snapshot, and writing many files at once.
"""
from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from storage.annotations import Annotation, object_problem
from storage.annotations.geometry import outline
from storage.factory import StoreSettings, store_for
from storage.masks import draw_mask, has_area
from storage.objects import ObjectInfo, ObjectStore
from storage.paths import image_stem_key
from storage.uris import ObjectURI, join, parse_uri

from ..models import DatasetVersion
from .colors import to_rgb
from .object_fields import codec_object, file_depth, file_fields
from .snapshots import SnapshotObject, SnapshotSample

MANIFEST_SUFFIX = ".manifest"
WRITERS = 8  # files written at once
SPOOL_BYTES = 8 * 1024 * 1024  # a file being composed stays in memory up to this, then goes to disk

@dataclass(frozen=True)
class VersionFolder:
    """A folder of the output path (a version's, or an export's inside it) with its store."""

    root: ObjectURI
    store: ObjectStore

    @property
    def bucket(self) -> str:
        return self.root.bucket

    def uri(self, path: str) -> str:
        """Return the URI of a file of this folder."""
        return str(join(self.root, path))

    def key(self, path: str) -> str:
        return join(self.root, path).key

    def sub(self, path: str) -> VersionFolder:
        """Return a folder inside this one."""
        return VersionFolder(join(self.root, path.rstrip("/") + "/"), self.store)

    def put(self, path: str, data: bytes, content_type: str) -> ObjectInfo:
        return self.store.put(self.bucket, self.key(path), data, content_type=content_type)

    def put_file(self, path: str, file: IO[bytes], content_type: str) -> ObjectInfo:
        file.seek(0)
        return self.store.put_file(self.bucket, self.key(path), file, content_type=content_type)


def version_folder(version: DatasetVersion, settings: StoreSettings) -> VersionFolder:
    """Return the version's folder and the store that serves it."""
    root = parse_uri(version.folder_uri)
    return VersionFolder(root, store_for(root, settings))


def spool() -> IO[bytes]:
    """Return a temporary file for composing a large file (memory first, disk past SPOOL_BYTES)."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)


@dataclass(frozen=True)
class VersionLabel:
    index: int  # 1-based: the pixel value in class masks and the COCO category id
    name: str
    color: str


class VersionLabels:
    """A version's label list, as its snapshot holds it: by id, in order."""

    def __init__(self, version: DatasetVersion):
        self.items = [VersionLabel(i, item["name"], item["color"]) for i, item in enumerate(version.labels, 1)]
        self.by_id = {item["id"]: label for item, label in zip(version.labels, self.items)}

    def colors(self) -> list[tuple[str, tuple[int, int, int]]]:
        return [(label.name, to_rgb(label.color)) for label in self.items]


class SamplePaths:
    """Where a sample's files go: its key's path under the input folder, without the extension,
    so equal names in different folders never collide (`cats/a/one.png` -> `a/one`)."""

    def __init__(self, version: DatasetVersion):
        self.root = parse_uri(version.input_path)
        self.prefix = self.root.key

    def relative(self, key: str) -> str:
        """Return the key under the input folder (the whole key when it lies elsewhere)."""
        return key[len(self.prefix):] if self.prefix and key.startswith(self.prefix) else key

    def stem(self, key: str) -> str:
        return image_stem_key(self.relative(key))

    def source(self, key: str) -> str:
        """Return the image's URI."""
        return str(ObjectURI(self.root.scheme, self.root.bucket, key))


def filename(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def last_editor(sample: SnapshotSample) -> SnapshotObject | None:
    """Return the sample's most recently changed object (who labeled it last, and when)."""
    return max(sample.objects, key=lambda o: (o.updated_at, o.object_id), default=None)


def to_annotation(sample: SnapshotSample, labels: VersionLabels, mask_source: str | None) -> Annotation:
    """Build a sample's XML from the snapshot: every shape and attribute as the working file has them
    (the writer puts coordinates on whole pixels), each object's label colour and authors."""
    width, height, objects = sample.width or 0, sample.height or 0, []
    for o in sample.objects:
        label = labels.by_id[o.label_id]
        obj = codec_object(o, label.name, to_rgb(label.color), o.created_by or o.imported_by, o.updated_by)
        if object_problem(obj, width, height) is None:  # e.g. smaller than a pixel: nothing a file can say
            objects.append(obj)
    return Annotation(
        filename=filename(sample.key), width=width, height=height, depth=file_depth(sample.depth, sample.xml_header),
        objects=objects, mask_source=mask_source, **file_fields(sample.xml_header),
    )


def areas(sample: SnapshotSample) -> list[tuple[SnapshotObject, list[Any]]]:
    """Return the sample's objects that cover pixels, each with its outline (a circle as a polygon)."""
    outlines = [(o, outline(o.shape, o.points, o.radius)) for o in sample.objects]
    return [(o, points) for o, points in outlines if has_area("polygon", points)]


def class_mask(sample: SnapshotSample, labels: VersionLabels):
    """Draw the sample's class mask: each pixel its label's index, 0 the background."""
    return draw_mask(sample.width, sample.height, [(labels.by_id[o.label_id].index, points) for o, points in areas(sample)])


def writer_pool(job_id: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(WRITERS, thread_name_prefix=f"job-{job_id}-write")
