"""An object store on a local directory: each bucket is a subdirectory of the root."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.errors import AccessDenied, InvalidURI, ObjectNotFound, StorageError
from storage.objects import ObjectInfo, ObjectStore, check_page_size, check_range

# Writes go to a hidden temporary file next to the target first; listings skip them.
TEMP_PREFIX = ".storage-tmp-"
_CHUNK = 1024 * 1024
_ETAG_CACHE_SIZE = 65536


class LocalObjectStore(ObjectStore):
    """Keep objects as files under `root/bucket/key`; bucket "" is the root itself.

    ETags are the MD5 of the content, as S3 gives for single-part uploads.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def list_pages(
        self, bucket: str, prefix: str, page_size: int = 1000
    ) -> Iterator[list[ObjectInfo]]:
        """Yield the objects under `prefix`, recursively, in key order, page by page."""
        check_page_size(page_size)
        directory = self._bucket_dir(bucket)
        if not directory.is_dir():
            raise ObjectNotFound("bucket not found", bucket)
        page: list[ObjectInfo] = []
        with _os_errors("list", bucket, None):
            for key, path in _walk(directory, "", prefix):
                info = _info(key, path)
                if info is not None:
                    page.append(info)
                if len(page) == page_size:
                    yield page
                    page = []
        if page:
            yield page

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's size, ETag and last-modified time."""
        with _os_errors("stat", bucket, key):
            info = _info(key, self._path(bucket, key))
        if info is None:
            raise ObjectNotFound("object not found", bucket, key)
        return info

    def get(self, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        """Return the object's bytes, or the inclusive range `first..last`."""
        check_range(byte_range)
        path = self._path(bucket, key)
        with _os_errors("read", bucket, key), path.open("rb") as file:
            return _read(file, byte_range, bucket, key)

    def put(
        self, bucket: str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo:
        """Write `data` atomically (temporary file, then rename) and describe the result."""
        return self.put_file(bucket, key, io.BytesIO(data), content_type)

    def put_file(
        self, bucket: str, key: str, file: BinaryIO, content_type: str | None = None
    ) -> ObjectInfo:
        """Stream an open file into place atomically (temporary file, then rename)."""
        path = self._path(bucket, key)
        if not self._bucket_dir(bucket).is_dir():
            raise ObjectNotFound("bucket not found", bucket)
        with _os_errors("write", bucket, key):
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, file)
        return self.stat(bucket, key)

    def copy(self, bucket: str, source_key: str, target_key: str) -> ObjectInfo:
        """Copy a file within the bucket, streamed, atomically."""
        with _os_errors("read", bucket, source_key), self._path(bucket, source_key).open("rb") as source:
            return self.put_file(bucket, target_key, source)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object if it exists."""
        path = self._path(bucket, key)
        if path.is_dir():
            return
        with _os_errors("delete", bucket, key):
            path.unlink(missing_ok=True)

    def presigned_url(self, bucket: str, key: str, expires_s: int = 3600) -> str:
        """Return the object's file:// URI (local files need no signature)."""
        return self._path(bucket, key).as_uri()

    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket's directory unless it exists."""
        with _os_errors("create bucket", bucket, None):
            self._bucket_dir(bucket).mkdir(parents=True, exist_ok=True)

    def _bucket_dir(self, bucket: str) -> Path:
        """Return the directory of `bucket`, refusing names that are not one plain segment."""
        if bucket == "":
            return self.root
        if "/" in bucket or "\\" in bucket or bucket in (".", "..") or "\0" in bucket:
            raise InvalidURI(bucket, "a bucket name must be a single path segment")
        return self.root / bucket

    def _path(self, bucket: str, key: str) -> Path:
        """Return the file of `key`, refusing keys that are not plain relative paths."""
        segments = key.split("/")
        if not key or any(s in ("", ".", "..") for s in segments) or "\0" in key:
            raise InvalidURI(key, "a local key must be a relative path without empty, '.' or '..' parts")
        if segments[-1].startswith(TEMP_PREFIX):
            raise InvalidURI(key, f"names starting with {TEMP_PREFIX!r} are reserved")
        return self._bucket_dir(bucket).joinpath(*segments)


def _walk(directory: Path, key_prefix: str, prefix: str) -> Iterator[tuple[str, Path]]:
    """Yield (key, path) of the files under `directory` whose key starts with `prefix`, in key order."""
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    # A directory's keys all start with "name/", so sorting it as "name/" keeps key order.
    named = sorted((_sort_name(e), e.path) for e in entries)
    for name, path in named:
        key = key_prefix + name
        if name.endswith("/"):
            if key.startswith(prefix) or prefix.startswith(key):
                yield from _walk(Path(path), key, prefix)
        elif key.startswith(prefix) and not name.startswith(TEMP_PREFIX):
            yield key, Path(path)


def _sort_name(entry: os.DirEntry) -> str:
    """Return the entry's name, with "/" appended for a directory (symlinks are not followed)."""
    return entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name


@contextmanager
def _os_errors(action: str, bucket: str, key: str | None) -> Iterator[None]:
    """Translate OS errors raised inside the block into storage errors."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise ObjectNotFound("object not found", bucket, key) from None
    except PermissionError as exc:
        raise AccessDenied(f"cannot {action}: permission denied", bucket, key) from exc
    except OSError as exc:
        raise StorageError(f"cannot {action}: {exc.strerror}", bucket, key) from exc


def _info(key: str, path: Path) -> ObjectInfo | None:
    """Describe the regular file at `path`, or return None when there is none."""
    try:
        # O_NONBLOCK: opening a FIFO found in the tree must not hang the listing.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    try:
        # Size, time and ETag all come from the one open file, even if it is replaced meanwhile.
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as file:
            etag = _etags.get(file, st)
    finally:
        os.close(fd)
    modified = datetime.fromtimestamp(st.st_mtime, tz=UTC)
    return ObjectInfo(key=key, size=st.st_size, etag=etag, last_modified=modified)


class _EtagCache:
    """Remember MD5s by (device, inode, size, mtime), so listings do not reread unchanged files."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, int, int, int], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, file: BinaryIO, st: os.stat_result) -> str:
        """Return the MD5 hex of the open file, computing it unless cached."""
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            if identity in self._entries:
                self._entries.move_to_end(identity)
                return self._entries[identity]
        etag = _md5_hex(file)
        with self._lock:
            self._entries[identity] = etag
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return etag


_etags = _EtagCache(_ETAG_CACHE_SIZE)


def _md5_hex(file: BinaryIO) -> str:
    """Return the MD5 hex digest of an open file's content."""
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := file.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _read(file: BinaryIO, byte_range: tuple[int, int] | None, bucket: str, key: str) -> bytes:
    """Read the whole file or the inclusive range, refusing a range starting past the end."""
    if byte_range is None:
        return file.read()
    first, last = byte_range
    if first >= os.fstat(file.fileno()).st_size:
        raise StorageError(f"byte range {first}-{last} not satisfiable", bucket, key)
    file.seek(first)
    return file.read(last - first + 1)


def _write_atomically(path: Path, data: bytes | BinaryIO) -> None:
    """Write `data` (bytes, or an open file's content) to a temporary file beside `path`, flush it to
    disk, then rename it over `path`."""
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            if isinstance(data, bytes):
                file.write(data)
            else:
                shutil.copyfileobj(data, file, _CHUNK)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
