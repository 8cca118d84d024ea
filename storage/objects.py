"""The object store interface every backend implements, and what it says about an object."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO


@dataclass(frozen=True)
class ObjectInfo:
    """Describe one stored object: key, size in bytes, ETag (no quotes), last-modified (UTC)."""

    key: str
    size: int
    etag: str
    last_modified: datetime


class ObjectStore(ABC):
    """Store and fetch objects by bucket and key; raise `storage.errors` exceptions only.

    Implementations are safe to share between threads.
    """

    @abstractmethod
    def list_pages(
        self, bucket: str, prefix: str, page_size: int = 1000
    ) -> Iterator[list[ObjectInfo]]:
        """Yield the objects whose key starts with `prefix`, recursively, in key order, page by page.

        Pages are fetched lazily and never empty; no page is yielded when nothing matches.
        Key order is UTF-8 binary order (S3's) on AWS S3, MinIO and the local store; SeaweedFS
        lists a folder before a same-stem file like `a.txt` (`a/b` < `a.txt`). Every key comes
        exactly once either way: do not merge-join two listings on key order.
        """

    @abstractmethod
    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's size, ETag and last-modified time."""

    @abstractmethod
    def get(self, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        """Return the object's bytes, or only bytes `first..last` inclusive, as in HTTP Range.

        A `last` beyond the end is clipped; a `first` at or beyond the end raises StorageError.
        """

    @abstractmethod
    def put(
        self, bucket: str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo:
        """Store `data` under `key`, replacing any object there, and describe the result."""

    def put_file(
        self, bucket: str, key: str, file: BinaryIO, content_type: str | None = None
    ) -> ObjectInfo:
        """Store an open file's content from its current position (backends stream it; this default reads it whole)."""
        return self.put(bucket, key, file.read(), content_type)

    def copy(self, bucket: str, source_key: str, target_key: str) -> ObjectInfo:
        """Copy an object within a bucket (backends copy on the server; this default reads and writes)."""
        return self.put(bucket, target_key, self.get(bucket, source_key))

    @abstractmethod
    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""

    @abstractmethod
    def presigned_url(self, bucket: str, key: str, expires_s: int = 3600) -> str:
        """Return a URL that fetches the object without credentials for `expires_s` seconds."""

    @abstractmethod
    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket unless it exists."""


def check_range(byte_range: tuple[int, int] | None) -> None:
    """Raise ValueError unless `byte_range` is None or a valid inclusive (first, last) pair."""
    if byte_range is None:
        return
    first, last = byte_range
    if first < 0 or last < first:
        raise ValueError(f"byte range must satisfy 0 <= first <= last, got {byte_range}")


def check_page_size(page_size: int) -> None:
    """Raise ValueError unless 1 <= page_size <= 1000 (the S3 maximum)."""
    if not 1 <= page_size <= 1000:
        raise ValueError(f"page_size must be between 1 and 1000, got {page_size}")
