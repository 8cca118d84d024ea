"""A version keeps every shape and attribute of the working files (circles, boxes, points, flags),
and its masks and COCO export cover the shapes that cover pixels."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from storage.annotations import read_annotation
from tests.dataset_service.factories import add_sample
from tests.dataset_service.services.test_versions import export, key_of, publish, read

pytestmark = pytest.mark.commits  # publish and export run as jobs in threads


def test_a_version_keeps_every_shape_and_attribute(app, admin, labeler, dataset, s3_server):
    sample_id = add_sample(app, dataset["id"], "cats/a/one.png", width=64, height=48)
    objects = [
        {"label": "cat", "shape": "circle", "points": [[20, 20]], "radius": 8, "occluded": True, "properties": {"颜色": "黑"}},
        {"label": "dog", "shape": "bndbox", "points": [[40, 5], [60, 30]], "difficult": True},
        {"label": "dog", "shape": "point", "points": [[5, 40]]},
    ]
    saved = labeler.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": 0, "objects": objects})
    assert saved.status_code == 200, saved.get_json()

    job, version = publish(admin, dataset)
    assert job["status"] == "completed" and version["state"] == "normal", job
    folder = version["folder_uri"]
    annotation = read_annotation(read(s3_server, dataset, folder + "annotations/a/one.xml"), "one.xml")
    by_shape = {o.shape: o for o in annotation.objects}
    assert set(by_shape) == {"circle", "bndbox", "point"}
    assert by_shape["circle"].radius == 8 and by_shape["circle"].occluded and by_shape["circle"].properties == {"颜色": "黑"}
    assert by_shape["bndbox"].difficult

    mask = np.array(Image.open(io.BytesIO(read(s3_server, dataset, folder + "segmentationClassRaw/a/one.png"))))
    labels = [label["name"] for label in version["labels"]]
    assert mask[20, 20] == labels.index("cat") + 1 and mask[15, 50] == labels.index("dog") + 1  # the circle and the box
    assert mask[40, 5] == 0  # a point covers no pixel

    coco = export(admin, dataset, version, "coco")
    bucket = dataset["input_path"].split("/")[2]
    names = [o.key for page in s3_server.store.list_pages(bucket, key_of(coco["folder_uri"])) for o in page if o.key.endswith(".json")]
    annotations = [a for name in names for a in json.loads(s3_server.store.get(bucket, name))["annotations"]]
    areas = sorted(a["area"] for a in annotations)  # the circle and the box; the point covers nothing
    assert len(areas) == 2 and abs(areas[0] - np.pi * 8 ** 2) < 25 and abs(areas[1] - 20 * 25) < 40, areas
