"""What the worker keeps between requests on the same object: a small thread-safe LRU, and its keys.

Correction clicks on one object arrive one request at a time; the image, the crop and the
four-point networks' answer do not change between them, so they are computed once and looked
up by the image's content and the prompt.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class Memo:
    """A least-recently-used map of at most `entries` items, safe to share between request threads."""

    def __init__(self, entries: int):
        self.entries = entries
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable):
        """Return the item, or None."""
        with self._lock:
            if key not in self._items:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]

    def clear(self) -> None:
        """Forget every item."""
        with self._lock:
            self._items.clear()

    def put(self, key: Hashable, value: T) -> T:
        """Keep `value` (dropping the least recently used beyond the limit) and return it."""
        if self.entries > 0:
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.entries:
                    self._items.popitem(last=False)
        return value


def image_key(image: np.ndarray) -> str:
    """Return a digest of the pixels: the same picture sent twice (inline or by URI) has the same key."""
    return hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16, person=str(image.shape).encode()[:16]).hexdigest()


def points_key(values: np.ndarray) -> tuple[float, ...]:
    """Return a hashable key for points, a box or clicks, to a hundredth of a pixel."""
    return tuple(np.round(np.asarray(values, dtype=np.float64).ravel(), 2).tolist())
