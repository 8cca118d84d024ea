"""The sibling rule: an image's labels live in a same-stem `.xml` next to it.

`a/b/cat.JPG` <-> `a/b/cat.xml`. Images are jpg, jpeg, png and bmp in any letter case; the
annotation is always written with a lower-case `.xml`, and only that spelling counts as one.
Two images with the same stem in one directory (`cat.jpg`, `cat.png`) share one sibling.
"""

from __future__ import annotations

import posixpath

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
ANNOTATION_EXTENSION = ".xml"


def _split(key: str) -> tuple[str, str]:
    """Split a key into stem and extension; hidden names like `.jpg` have no extension."""
    return posixpath.splitext(key)


def is_image_key(key: str) -> bool:
    """Tell whether `key` names an image (jpg, jpeg, png, bmp, any case)."""
    return _split(key)[1].lower() in IMAGE_EXTENSIONS


def is_annotation_key(key: str) -> bool:
    """Tell whether `key` names an annotation XML (`.xml`, lower case)."""
    return _split(key)[1] == ANNOTATION_EXTENSION


def image_stem_key(key: str) -> str:
    """Return an image or annotation key without its extension (`a/b/cat.JPG` -> `a/b/cat`)."""
    if not (is_image_key(key) or is_annotation_key(key)):
        raise ValueError(f"not an image or annotation key: {key!r}")
    return _split(key)[0]


def sibling_xml_key(image_key: str) -> str:
    """Return the annotation key next to an image (`a/b/cat.JPG` -> `a/b/cat.xml`)."""
    if not is_image_key(image_key):
        raise ValueError(f"not an image key: {image_key!r}")
    return _split(image_key)[0] + ANNOTATION_EXTENSION
