"""The ModelArts / PASCAL-VOC segmentation XML codec: one image's objects, read and written.

See `reader` for what is accepted and refused, `writer` for what we write, and `model` for
the data both work on.
"""

from storage.annotations.model import (
    SHAPES,
    SOURCES,
    AnnotatedObject,
    Annotation,
    AnnotationError,
    Part,
    Shape,
)
from storage.annotations.reader import MAX_XML_BYTES, read_annotation
from storage.annotations.writer import object_problem, text_problem, write_annotation

__all__ = [
    "MAX_XML_BYTES",
    "SHAPES",
    "SOURCES",
    "AnnotatedObject",
    "Annotation",
    "AnnotationError",
    "Part",
    "Shape",
    "object_problem",
    "read_annotation",
    "text_problem",
    "write_annotation",
]
