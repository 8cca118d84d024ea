"""Many small GETs at once: presigned URLs on a pooled HTTP client, in threads or helper processes.

A sync reads the first bytes of every new image and every changed sibling XML: tens of thousands
of small GETs. Through boto3 each costs about 1.4 ms of CPU here, and the GIL caps one process at
some 600 GETs/s; signing a URL (`ObjectStore.presigned_url`, local, no request) and fetching it
on a plain keep-alive `http.client` connection costs about 0.5 ms (urllib3's pool adds 0.2 ms).
Stores without HTTP URLs (the local one) are read directly.
HTTP answers become the storage package's exceptions, as the store's own calls would raise.
"""
from __future__ import annotations

import http.client
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from storage.errors import AccessDenied, ObjectNotFound, StorageError, StoreUnavailable
from storage.factory import StoreSettings, store_for
from storage.objects import ObjectStore
from storage.uris import ObjectURI

URL_LIFETIME_S = 900
ATTEMPTS = 3
TIMEOUT_S = 30


class PresignedReader:
    """Offer the store's `get`, reading through presigned URLs on one keep-alive connection per thread."""

    def __init__(self, store: ObjectStore):
        self.store = store
        self.local = threading.local()

    def get(self, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
        """Return the object's bytes, or the inclusive range, like `ObjectStore.get`."""
        url = self.store.presigned_url(bucket, key, URL_LIFETIME_S)
        if not url.startswith(("http://", "https://")):
            return _direct_get(self.store, bucket, key, byte_range)
        parts = urlsplit(url)
        headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        for attempt in range(1, ATTEMPTS + 1):
            try:
                status, data = self._fetch(parts, headers)
            except (OSError, http.client.HTTPException) as exc:
                self._forget(parts)
                if attempt == ATTEMPTS:
                    raise StoreUnavailable(f"object store unreachable: {exc.__class__.__name__}: {exc}", bucket, key) from exc
            else:
                if status < 500 or attempt == ATTEMPTS:
                    return _body(status, data, bucket, key)
            if attempt > 1:  # the first retry is at once: a kept-alive connection may just have been closed
                time.sleep(0.2 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def first_bytes(self, bucket: str, key: str, limit: int) -> bytes:
        """Return the object's first `limit` bytes, or all of a smaller one: a ranged read that stops there."""
        try:
            return self.get(bucket, key, (0, limit - 1))
        except RangeNotSatisfiable:  # only an empty object has no first byte
            return b""

    def _fetch(self, parts, headers: dict[str, str]) -> tuple[int, bytes]:
        connection = self._connection(parts)
        connection.request("GET", f"{parts.path}?{parts.query}", headers=headers)
        response = connection.getresponse()
        return response.status, response.read()

    def _connection(self, parts) -> http.client.HTTPConnection:
        connections = self.local.__dict__.setdefault("connections", {})
        key = (parts.scheme, parts.netloc)
        if key not in connections:
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connections[key] = kind(parts.netloc, timeout=TIMEOUT_S)
        return connections[key]

    def _forget(self, parts) -> None:
        connection = self.local.__dict__.get("connections", {}).pop((parts.scheme, parts.netloc), None)
        if connection is not None:
            connection.close()


class RangeNotSatisfiable(StorageError):
    """A byte range starts at or past the object's end (HTTP 416)."""


def _direct_get(store: ObjectStore, bucket: str, key: str, byte_range: tuple[int, int] | None) -> bytes:
    """Read from a store without HTTP URLs; a range past the end raises what an HTTP store's 416 does."""
    try:
        return store.get(bucket, key, byte_range)
    except StorageError as exc:
        if type(exc) is StorageError and byte_range and store.stat(bucket, key).size <= byte_range[0]:
            raise RangeNotSatisfiable(exc.problem, bucket, key) from exc
        raise


def _body(status: int, data: bytes, bucket: str, key: str) -> bytes:
    """Return the body of a successful answer; raise the storage error matching a failed one."""
    if status in (200, 206):
        return data
    if status == 416:
        raise RangeNotSatisfiable("byte range not satisfiable (HTTP 416)", bucket, key)
    if status == 404:
        raise ObjectNotFound("object not found", bucket, key)
    if status == 403:
        raise AccessDenied(f"access denied (HTTP 403: {data[:200]!r})", bucket, key)
    if status >= 500:
        raise StoreUnavailable(f"object store failed (HTTP {status})", bucket, key)
    raise StorageError(f"object store refused the request (HTTP {status}: {data[:200]!r})", bucket, key)


# --- reading many objects: in threads here, or in worker processes once the work is large --------

PROCESS_THRESHOLD = 2000  # items read in this process before helpers are worth their start-up
PROCESSES = 2
THREADS = 32


class _Worker:
    """A reader and a thread pool over one store: lives in this process or in a helper process."""

    def __init__(self, settings: StoreSettings, root: ObjectURI, threads: int):
        self.bucket = root.bucket
        self.reader = PresignedReader(store_for(root, settings))
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="object-reads")
        self.broken: StoreUnavailable | None = None

    def run(self, fn: Callable[[PresignedReader, str, Any], Any], items: list) -> list:
        """Apply `fn(reader, bucket, item)` to each item concurrently; keep the order."""
        return list(self.pool.map(lambda item: self._one(fn, item), items))

    def _one(self, fn, item):
        # Once the store is down, the other reads fail at once instead of each retrying.
        if self.broken is not None:
            raise self.broken
        try:
            return fn(self.reader, self.bucket, item)
        except StoreUnavailable as exc:
            self.broken = exc
            raise

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_process_worker: _Worker | None = None


def _start_process_worker(settings: StoreSettings, root: ObjectURI, threads: int) -> None:
    global _process_worker
    _process_worker = _Worker(settings, root, threads)


def _run_in_process(fn, items: list) -> list:
    return _process_worker.run(fn, items)


class Reads:
    """Read chunks of objects concurrently; each `submit` returns a future of the chunk's results.

    Small jobs read in threads of this process. Past PROCESS_THRESHOLD items, new chunks go to
    a few helper processes (spawned once), each with its own threads: the reads are CPU-bound
    in the HTTP client, and one process's GIL caps them. A daemonic process (a Celery prefork
    child) cannot have children, so it keeps to threads.
    """

    def __init__(self, settings: StoreSettings, root: ObjectURI, processes: int = PROCESSES, threads: int = THREADS):
        self.settings, self.root, self.threads = settings, root, threads
        self.processes = 0 if multiprocessing.current_process().daemon else processes
        self.local = _Worker(settings, root, threads)
        self.chunks = ThreadPoolExecutor(4, thread_name_prefix="object-read-chunks")
        self.helpers: ProcessPoolExecutor | None = None
        self.submitted = 0

    def submit(self, fn: Callable[[PresignedReader, str, Any], Any], items: list) -> Future:
        """Read a chunk; `fn` must be a module-level function when helpers may run it."""
        self.submitted += len(items)
        if self.processes and self.submitted > PROCESS_THRESHOLD:
            return self._helpers().submit(_run_in_process, fn, items)
        return self.chunks.submit(self.local.run, fn, items)

    def _helpers(self) -> ProcessPoolExecutor:
        if self.helpers is None:
            self.helpers = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_process_worker, initargs=(self.settings, self.root, self.threads),
            )
        return self.helpers

    def close(self) -> None:
        """Stop reading: drop the chunks not started, wait for the running ones."""
        self.chunks.shutdown(wait=True, cancel_futures=True)
        self.local.close()
        if self.helpers is not None:
            self.helpers.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Reads:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
