"""The demo dataset `make run` seeds: real photos, some labeled with a sibling XML, synchronized."""
from __future__ import annotations

from skimage import data

from dataset_service import demo
from storage.annotations import read_annotation, write_annotation
from tests.storage.test_annotations_roundtrip import integer_reader


def test_the_coins_come_outlined_one_polygon_per_coin():
    coins = data.coins()
    annotation = demo.annotate("coins.jpg", coins)
    assert annotation.width == 384 and annotation.height == 303
    assert 20 <= len(annotation.objects) <= 30
    for coin in annotation.objects:
        assert coin.label == "coin" and len(coin.points) >= 6
        assert all(0 <= x <= 384 and 0 <= y <= 303 for x, y in coin.points)


def test_the_demo_files_parse_with_an_integer_only_reader():
    """ModelArts' SDK reads coordinates with int(): the seeded coins.xml had decimals, and it refused the file."""
    written = {name: write_annotation(ann) for name in demo.PHOTOS if (ann := demo.annotate(name, getattr(data, demo.PHOTOS[name])()))}
    assert sorted(written) == ["cat.jpg", "coffee.jpg", "coins.jpg"]
    for name, xml in written.items():
        assert integer_reader(xml), name
    assert read_annotation(written["coins.jpg"], "coins.xml").depth == 1  # a greyscale photo


def test_some_photos_are_left_to_label():
    assert demo.annotate("astronaut.jpg", data.astronaut()) is None


def test_seed_creates_and_synchronizes_the_dataset_once(app, admin, s3_server):
    dataset_id = demo.seed(app)
    assert dataset_id is not None
    counts = admin.get(f"/api/v1/datasets/{dataset_id}").get_json()["counts"]
    assert counts["total"] == len(demo.PHOTOS) and counts["labeled"] == 3
    assert counts["per_label"]["cup"] == 1 and counts["per_label"]["person"] == 0
    xml = s3_server.store.get(demo.BUCKET, "photos/coffee.xml")
    assert [o.label for o in read_annotation(xml, "coffee.xml").objects] == ["cup"]
    assert demo.seed(app) is None
