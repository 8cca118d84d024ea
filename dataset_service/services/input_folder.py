"""Where a dataset's images are: its input path, and the object store that serves it."""
from __future__ import annotations

from dataclasses import dataclass

from storage.factory import StoreSettings, store_for
from storage.objects import ObjectStore
from storage.uris import ObjectURI, parse_uri

from ..models import Dataset


@dataclass(frozen=True)
class InputFolder:
    """A dataset's input path, parsed once, with its store."""

    root: ObjectURI
    store: ObjectStore

    @property
    def bucket(self) -> str:
        return self.root.bucket

    def uri(self, key: str) -> ObjectURI:
        """Return the URI of an object of this folder's bucket (a sample's image, say)."""
        return ObjectURI(self.root.scheme, self.root.bucket, key)


def input_root(dataset: Dataset) -> ObjectURI:
    """Return the dataset's input folder as a URI."""
    return parse_uri(dataset.input_path)


def input_folder(dataset: Dataset, settings: StoreSettings) -> InputFolder:
    """Return the dataset's input folder and the store that serves it."""
    root = input_root(dataset)
    return InputFolder(root, store_for(root, settings))
