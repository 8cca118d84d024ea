"""The sibling rule: a/b/cat.JPG <-> a/b/cat.xml."""

from __future__ import annotations

import pytest

from storage.paths import (
    IMAGE_EXTENSIONS,
    image_stem_key,
    is_annotation_key,
    is_image_key,
    sibling_xml_key,
)


@pytest.mark.parametrize(
    ("image", "xml"),
    [
        ("a/b/cat.JPG", "a/b/cat.xml"),
        ("cat.jpg", "cat.xml"),
        ("x/dog.jpeg", "x/dog.xml"),
        ("x/dog.JpEg", "x/dog.xml"),
        ("p/q.PNG", "p/q.xml"),
        ("p/q.bmp", "p/q.xml"),
        ("dots.in.name.png", "dots.in.name.xml"),
        ("dir.v2/cat.png", "dir.v2/cat.xml"),
    ],
)
def test_sibling_xml_key(image, xml):
    assert is_image_key(image)
    assert sibling_xml_key(image) == xml
    assert image_stem_key(image) == image_stem_key(xml)


def test_image_extensions():
    assert IMAGE_EXTENSIONS == {".jpg", ".jpeg", ".png", ".bmp"}


@pytest.mark.parametrize("key", ["a/cat.gif", "a/cat.xml", "a/cat", "a/.jpg", "a/b.jpg/", "jpg", "a/cat.jpg.txt"])
def test_not_images(key):
    assert not is_image_key(key)
    with pytest.raises(ValueError, match="not an image key"):
        sibling_xml_key(key)


@pytest.mark.parametrize(("key", "expected"), [("a/cat.xml", True), ("a/cat.XML", False), ("a/cat.jpg", False), ("a/.xml", False)])
def test_is_annotation_key(key, expected):
    assert is_annotation_key(key) is expected


def test_stem_of_other_files_is_refused():
    assert image_stem_key("a/b/cat.xml") == "a/b/cat"
    with pytest.raises(ValueError):
        image_stem_key("a/b/readme.txt")
