"""Exports of a version (the body of an `export` job), written from its snapshot under
`<version folder>/export/<format>/`, a page of samples at a time:

- `voc`: PASCAL VOC segmentation: `Annotations/<path>.xml`, `SegmentationClass/<path>.png` (palette
  PNG: pixel = label index, colours the labels'), `SegmentationObject/<path>.png` (pixel = the
  object's number on its image, VOC's colour map), `ImageSets/Segmentation/{train,val,trainval}.txt`
  and `labelmap.txt`. Images stay where they are (`<path>` is the image's key under the input folder,
  without its extension).
- `coco`: COCO instances, `instances_train.json` and `instances_val.json` when the version has a
  split, else `instances.json`: images (`file_name` the key under the input folder), annotations with
  polygon `segmentation`, `bbox` (the polygon's extent), `area` (pycocotools' pixel area), `iscrowd` 0,
  and categories (id = label index). Ids are stable across exports of one version: an image's id is
  its position in the version's key order, an annotation's the object's id.
- `manifest`: the version's manifest, copied on the server.

Only labeled samples go into VOC and COCO; points and polylines (no area) are left out of masks and
COCO. Large files (COCO JSON, the split lists) are composed in temporary files and streamed up.
"""
from __future__ import annotations

import json
from contextlib import ExitStack
from typing import IO, Any

from pycocotools import mask as coco_mask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.annotations import write_annotation
from storage.manifest import EVAL, TRAIN, usage
from storage.masks import MAX_INDEX, draw_mask, labelmap_text, png_bytes, voc_colormap
from storage.uris import parse_uri

from ..config import Config
from ..errors import Conflict
from ..models import DatasetVersion, Job, User, VersionExport
from . import jobs, snapshots
from .version_files import (
    MANIFEST_SUFFIX,
    SamplePaths,
    VersionFolder,
    VersionLabels,
    areas,
    class_mask,
    spool,
    to_annotation,
    version_folder,
    writer_pool,
)

KIND = "export"
COCO_INFO = {"description": "", "version": "", "year": 0, "contributor": "", "date_created": ""}


def create_export(session: Session, version: DatasetVersion, fmt: str, user: User, job: Job) -> VersionExport:
    """Record an export of a finished version for its job; flush."""
    if version.state != "normal":
        raise Conflict(f"Version {version.name} is {version.state}: only a finished (normal) version can be exported.")
    export = VersionExport(version_id=version.id, format=fmt, folder_uri=version.folder_uri + f"export/{fmt}/", job_id=job.id, created_by_id=user.id)
    session.add(export)
    session.flush()
    return export


def run_export(job, make_session: sessionmaker[Session], config: Config) -> None:
    """Write the job's export."""
    with make_session() as session:
        export = session.scalar(select(VersionExport).where(VersionExport.job_id == job.job_id))
        if export is None:
            raise LookupError(f"job {job.job_id} has no export to write")
        version = export.version
    job.stage = jobs.STAGES[KIND][0].name
    job.advance("total", version.sample_count)
    folder = version_folder(version, config.store_settings).sub(f"export/{export.format}")
    {"voc": VocWriter, "coco": CocoWriter, "manifest": ManifestCopier}[export.format](job, make_session, version, folder).run()


class ExportWriter:
    def __init__(self, job, make_session: sessionmaker[Session], version: DatasetVersion, folder: VersionFolder):
        self.job, self.make_session, self.version, self.folder = job, make_session, version, folder
        self.labels, self.paths = VersionLabels(version), SamplePaths(version)

    def pages(self):
        """Yield the snapshot's labeled samples of known size, page by page, with their position in key order (from 1)."""
        position = 0
        for page in snapshots.pages(self.make_session, self.version.id):
            self.job.check()
            out = []
            for sample in page:
                position += 1
                if sample.objects and sample.width and sample.height:
                    out.append((position, sample))
                elif sample.objects:
                    self.job.error(sample.key, "the image's size is unknown: left out")
            yield out
            self.job.advance("written", len(page))

    def split(self, key: str) -> str:
        return usage(key, self.version.train_ratio) or TRAIN


class ManifestCopier(ExportWriter):
    def run(self) -> None:
        """Copy the version's manifest on the server."""
        source = parse_uri(self.version.manifest_uri)
        self.folder.store.copy(source.bucket, source.key, self.folder.key(self.version.name + MANIFEST_SUFFIX))
        self.job.count("files")
        self.job.advance("written", self.version.sample_count)


class VocWriter(ExportWriter):
    def run(self) -> None:
        class_palette = [(0, 0, 0), *(rgb for _, rgb in self.labels.colors())]
        self.class_palette, self.object_palette = class_palette, voc_colormap()
        with ExitStack() as stack, writer_pool(self.job.job_id) as pool:
            lists = {name: stack.enter_context(spool()) for name in ("train", "val", "trainval")}
            for page in self.pages():
                for stem, split in pool.map(self.write_sample, [sample for _, sample in page]):
                    line = (stem + "\n").encode()
                    lists["train" if split == TRAIN else "val"].write(line)
                    lists["trainval"].write(line)
            for name, file in lists.items():
                self.folder.put_file(f"ImageSets/Segmentation/{name}.txt", file, "text/plain; charset=utf-8")
        self.folder.put("labelmap.txt", labelmap_text(self.labels.colors()).encode(), "text/plain; charset=utf-8")
        self.job.count("files", 4)

    def write_sample(self, sample: snapshots.SnapshotSample) -> tuple[str, str]:
        stem = self.paths.stem(sample.key)
        class_path = f"SegmentationClass/{stem}.png"
        self.folder.put(class_path, png_bytes(class_mask(sample, self.labels), self.class_palette), "image/png")
        self.folder.put(f"SegmentationObject/{stem}.png", png_bytes(self.object_mask(sample), self.object_palette), "image/png")
        xml = write_annotation(to_annotation(sample, self.labels, self.folder.uri(class_path)))
        self.folder.put(f"Annotations/{stem}.xml", xml, "application/xml")
        self.job.count("files", 3)
        return stem, self.split(sample.key)

    def object_mask(self, sample: snapshots.SnapshotSample):
        """Draw each object with its number on the image (1, 2, ...); past 255 objects the rest are left out."""
        shapes = [points for _, points in areas(sample)]
        if len(shapes) > MAX_INDEX:
            self.job.error(sample.key, f"{len(shapes)} objects: only the first {MAX_INDEX} are in its SegmentationObject mask")
        return draw_mask(sample.width, sample.height, list(enumerate(shapes[:MAX_INDEX], 1)))


class CocoWriter(ExportWriter):
    def run(self) -> None:
        splits = (TRAIN, EVAL) if self.version.train_ratio is not None else ("",)
        with ExitStack() as stack:
            parts = {split: (stack.enter_context(spool()), stack.enter_context(spool())) for split in splits}
            for page in self.pages():
                for position, sample in page:
                    images, annotations = parts[usage(sample.key, self.version.train_ratio)]
                    _append(images, self.image(position, sample))
                    for item in self.annotations(position, sample):
                        _append(annotations, item)
            for split, (images, annotations) in parts.items():
                name = {TRAIN: "instances_train.json", EVAL: "instances_val.json", "": "instances.json"}[split]
                with spool() as out:
                    self.compose(out, images, annotations)
                    self.folder.put_file(name, out, "application/json")
                self.job.count("files")

    def image(self, position: int, sample: snapshots.SnapshotSample) -> dict[str, Any]:
        return {"id": position, "file_name": self.paths.relative(sample.key), "width": sample.width, "height": sample.height}

    def annotations(self, position: int, sample: snapshots.SnapshotSample):
        covering = areas(sample)
        self.job.count("skipped", len(sample.objects) - len(covering))  # points and lines cover no pixels
        for o, points in covering:
            flat = [float(v) for point in points for v in point]
            xs, ys = flat[0::2], flat[1::2]
            area = float(coco_mask.area(coco_mask.frPyObjects([flat], sample.height, sample.width))[0])
            yield {
                "id": o.object_id, "image_id": position, "category_id": self.labels.by_id[o.label_id].index,
                "segmentation": [flat], "area": area, "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)], "iscrowd": 0,
            }

    def compose(self, out: IO[bytes], images: IO[bytes], annotations: IO[bytes]) -> None:
        """Write one COCO file: the small parts, then the images and annotations streamed in."""
        categories = [{"id": label.index, "name": label.name, "supercategory": ""} for label in self.labels.items]
        out.write(b'{"info":' + _json(COCO_INFO) + b',"licenses":[],"categories":' + _json(categories) + b',"images":[')
        _copy(images, out)
        out.write(b'],"annotations":[')
        _copy(annotations, out)
        out.write(b"]}")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _append(file: IO[bytes], item: dict[str, Any]) -> None:
    """Add an item to a JSON array being written (the brackets come later)."""
    if file.tell():
        file.write(b",")
    file.write(_json(item))


def _copy(source: IO[bytes], target: IO[bytes]) -> None:
    source.seek(0)
    while chunk := source.read(1024 * 1024):
        target.write(chunk)
