"""ModelArts' manifest lines and the seeded split."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from storage.manifest import EVAL, TRAIN, ManifestAnnotation, annotated_by, creation_time, manifest_line, sample_id, usage


def test_a_line_has_modelarts_fields():
    when = datetime(2019, 1, 23, 11, 30, 30, tzinfo=UTC)
    item = ManifestAnnotation("s3://b/out/V001/annotations/a/cat.xml", annotated_by("lena"), when)
    line = manifest_line("s3://b/in/a/cat.jpg", "in/a/cat.jpg", None, [item])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {
        "source": "s3://b/in/a/cat.jpg", "usage": "", "id": sample_id("in/a/cat.jpg"), "sample-type": 0,
        "annotation": [{
            "type": "modelarts/image_segmentation", "annotation-loc": "s3://b/out/V001/annotations/a/cat.xml",
            "annotation-format": "PASCAL VOC", "annotated-by": "human/lena", "creation-time": "2019-01-23 11:30:30",
        }],
    }


def test_lines_are_utf8_and_times_utc():
    line = manifest_line("s3://b/猫.jpg", "猫.jpg", 1.0, [])
    assert "猫".encode() in line and json.loads(line)["usage"] == TRAIN
    assert creation_time(datetime(2020, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))) == "2020-01-01 00:00:00"
    assert annotated_by(None) == "human"


def test_the_split_is_stable_near_the_ratio_and_only_grows_train():
    keys = [f"img/{i:05d}.jpg" for i in range(4000)]
    at_70 = {key: usage(key, 0.7) for key in keys}
    assert at_70 == {key: usage(key, 0.7) for key in keys}  # the same every time
    assert 0.67 < sum(u == TRAIN for u in at_70.values()) / len(keys) < 0.73
    at_80 = {key: usage(key, 0.8) for key in keys}
    assert all(at_80[key] == TRAIN for key, u in at_70.items() if u == TRAIN)  # more train takes from eval only
    assert {usage(key, 0.0) for key in keys} == {EVAL} and {usage(key, 1.0) for key in keys} == {TRAIN}
