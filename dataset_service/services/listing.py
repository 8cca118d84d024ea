"""A bucket listing read ahead of its consumer: in a thread, then in a helper process if it is long.

Parsing ListObjectsV2 answers is CPU work in botocore (about half a core at 7,000 keys/s here),
and a sync's own work on each page competes with it for the GIL. Short listings are read by a
thread. Once a listing has a second page, a spawned helper process lists again from the start,
and as soon as it delivers, the thread stops and the helper's pages are used, without the keys
the thread already delivered. Those are remembered as a set (a few pages' worth), not as "every
key up to the last one": SeaweedFS does not list in byte order, so a key comparison would drop
keys. A daemonic process (a Celery prefork child) cannot have children and keeps to the thread.
"""
from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Iterator

from storage.factory import StoreSettings, store_for
from storage.objects import ObjectInfo, ObjectStore
from storage.uris import ObjectURI

THREAD_PAGES = 1  # pages read by the thread before a helper process is started (a full one means more)
DEPTH = 4  # pages read ahead
_END = None


def pages(store: ObjectStore, settings: StoreSettings, root: ObjectURI, page_size: int) -> Iterator[list[ObjectInfo]]:
    """Yield the listing of `root`, page by page, in the store's order, read ahead of the caller."""
    helper_allowed = not multiprocessing.current_process().daemon
    delivered: set[str] = set()
    helper: HelperFeed | None = None
    thread = ThreadFeed(store.list_pages(root.bucket, root.key, page_size))
    try:
        for count, page in enumerate(thread, 1):
            yield page
            delivered.update(info.key for info in page)
            if helper_allowed and count == THREAD_PAGES and len(page) == page_size:
                helper = HelperFeed(settings, root, page_size)
            if helper is not None and helper.started():
                break
        else:
            return
        thread.close()
        for page in helper:
            page = [info for info in page if info.key not in delivered]
            if page:
                yield page
    finally:
        thread.close()
        if helper is not None:
            helper.close()


class ThreadFeed:
    """Pages read by a thread of this process, a few ahead."""

    def __init__(self, source: Iterator[list[ObjectInfo]]):
        self.buffer: queue.Queue = queue.Queue(DEPTH)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._fill, args=(source,), name="listing", daemon=True)
        self.thread.start()

    def _fill(self, source: Iterator[list[ObjectInfo]]) -> None:
        try:
            for page in source:
                if self.stop.is_set():
                    return
                self.buffer.put(page)
            self.buffer.put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            self.buffer.put(exc)

    def __iter__(self) -> Iterator[list[ObjectInfo]]:
        while (item := self.buffer.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stop.set()
        while self.thread.is_alive():  # unblock a put() so the thread sees the stop
            try:
                self.buffer.get_nowait()
            except queue.Empty:
                self.thread.join(0.05)


def _list_in_helper(settings: StoreSettings, root: ObjectURI, page_size: int, out) -> None:
    """The helper process: list and send each page as plain tuples (cheap to pickle)."""
    try:
        store = store_for(root, settings)
        for page in store.list_pages(root.bucket, root.key, page_size):
            out.put([(o.key, o.size, o.etag, o.last_modified) for o in page])
        out.put(_END)
    except Exception as exc:  # storage errors pickle with their message
        out.put(exc)


class HelperFeed:
    """Pages read by a spawned helper process, from the start of the listing."""

    def __init__(self, settings: StoreSettings, root: ObjectURI, page_size: int):
        context = multiprocessing.get_context("spawn")
        self.buffer = context.Queue(DEPTH)
        self.first: list | None = None
        self.process = context.Process(target=_list_in_helper, args=(settings, root, page_size, self.buffer), daemon=True)
        self.process.start()

    def started(self) -> bool:
        """Tell, without waiting, whether the helper has delivered its first page."""
        if self.first is None:
            try:
                self.first = [self.buffer.get_nowait()]
            except queue.Empty:
                return False
        return True

    def __iter__(self) -> Iterator[list[ObjectInfo]]:
        items = self.first or []
        self.first = []
        while True:
            item = items.pop(0) if items else self._get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield [ObjectInfo(*fields) for fields in item]

    def _get(self):
        while True:
            try:
                return self.buffer.get(timeout=1)
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError(f"the listing process exited with code {self.process.exitcode}") from None

    def close(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        self.buffer.close()
        self.buffer.cancel_join_thread()
