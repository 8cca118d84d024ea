"""Getting the request's image as RGB pixels: base64 or object URI, size limits, a decode cache."""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import cv2
import numpy as np

from inference_worker import errors
from inference_worker.timing import Timings
from storage import errors as storage_errors
from storage.images import ImageError, TooManyPixels, image_size
from storage.objects import ObjectStore
from storage.uris import ObjectURI, parse_uri

ALLOWED_SCHEMES = ("s3",)  # file:// would let any client read the worker's disk


class DecodeCache:
    """A small thread-safe LRU of decoded images keyed by (URI, ETag)."""

    def __init__(self, entries: int):
        self.entries = entries
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        with self._lock:
            image = self._items.get(key)
            if image is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return image

    def put(self, key: tuple[str, str], image: np.ndarray) -> None:
        if self.entries <= 0:
            return
        image.setflags(write=False)  # shared between requests: nobody may change it
        with self._lock:
            self._items[key] = image
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)


def decode_base64(text: str, max_bytes: int) -> bytes:
    """Return the bytes of a base64 string (data: URL prefix allowed), within the byte limit."""
    if not isinstance(text, str) or not text:
        raise errors.BadRequest("image.base64 must be a non-empty string", "invalid_image")
    if text.startswith("data:"):
        text = text.partition(",")[2]
    if len(text) * 3 // 4 > max_bytes + 3:
        raise errors.BadRequest(f"the image is larger than {max_bytes} bytes", "image_too_large")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise errors.BadRequest("image.base64 is not valid base64", "invalid_base64") from None


def check_bytes(size: int, max_bytes: int) -> None:
    """Refuse an encoded image over the byte limit."""
    if size > max_bytes:
        raise errors.BadRequest(f"the image has {size} bytes; the limit is {max_bytes}", "image_too_large")


def check_header(data: bytes, max_pixels: int) -> None:
    """Read the image's header through the shared bound, before any decoder sees the pixels."""
    try:
        image_size(data, max_pixels)
    except TooManyPixels as exc:
        raise errors.BadRequest(f"the image is too large: {exc}", "image_too_large") from None
    except ImageError:
        raise errors.BadRequest("the image cannot be decoded", "undecodable_image") from None


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode encoded bytes to HxWx3 uint8 RGB, refusing images over the pixel limit.

    Pixels stay in the stored frame: an EXIF orientation tag is not applied, as in the dataset
    service, which serves images, sizes and XML in that frame (so points clicked there match)."""
    check_header(data, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise errors.BadRequest("the image cannot be decoded", "undecodable_image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class ImageLoader:
    """Fetch and decode request images, by value or from the object store."""

    def __init__(self, store_for: Callable[[ObjectURI], ObjectStore], max_bytes: int, max_pixels: int, cache_entries: int,
                 buckets: Iterable[str] = ()):
        self.store_for = store_for
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.cache = DecodeCache(cache_entries)
        self.buckets = frozenset(buckets)  # empty: any bucket the store's credentials reach

    def from_base64(self, text: str, timings: Timings | None = None) -> np.ndarray:
        """Decode an image sent inline; `timings` gets its "fetch" (base64) and "decode" stages."""
        timings = timings or Timings()
        with timings.stage("fetch"):
            data = decode_base64(text, self.max_bytes)
        with timings.stage("decode"):
            return decode_image(data, self.max_pixels)

    def from_uri(self, text: str, timings: Timings | None = None) -> np.ndarray:
        """Fetch an image by URI, decoding it only when its (URI, ETag) is not cached.

        `timings` gets the store's "fetch" (stat, and get on a miss) and the "decode" stage."""
        timings = timings or Timings()
        uri = parse_image_uri(text)
        check_bucket(uri, self.buckets)
        store = self.store_for(uri)
        with timings.stage("fetch"), store_errors():
            info = store.stat(uri.bucket, uri.key)
            key = (str(uri), info.etag)
            cached = self.cache.get(key)
            if cached is not None:
                return cached
            check_bytes(info.size, self.max_bytes)
            data = store.get(uri.bucket, uri.key)
        check_bytes(len(data), self.max_bytes)
        with timings.stage("decode"):
            image = decode_image(data, self.max_pixels)
        self.cache.put(key, image)
        return image


def parse_image_uri(text: str) -> ObjectURI:
    """Parse an image URI, accepting only the schemes the worker serves."""
    if not isinstance(text, str) or not text:
        raise errors.BadRequest("image.uri must be a non-empty string", "invalid_uri")
    try:
        uri = parse_uri(text)
    except storage_errors.InvalidURI as exc:
        if "scheme" in exc.reason:
            raise errors.BadRequest(f"unsupported URI scheme in {text!r} (use s3://bucket/key)", "unsupported_uri_scheme") from None
        raise errors.BadRequest(str(exc), "invalid_uri") from None
    if uri.scheme not in ALLOWED_SCHEMES:
        raise errors.BadRequest(f"unsupported URI scheme {uri.scheme!r} (use s3://bucket/key)", "unsupported_uri_scheme")
    if not uri.key or uri.key.endswith("/"):
        raise errors.BadRequest(f"{text!r} names a prefix, not an image", "invalid_uri")
    return uri


def check_bucket(uri: ObjectURI, buckets: frozenset[str]) -> None:
    """Refuse a URI outside the buckets this worker serves (none configured: any)."""
    # Checked before any read: the store's credentials may reach buckets the callers must not.
    if buckets and uri.bucket not in buckets:
        raise errors.Forbidden(f"this worker does not read bucket {uri.bucket!r} (see WORKER_BUCKETS)", "bucket_not_allowed")


@contextmanager
def store_errors() -> Iterator[None]:
    """Translate storage exceptions into the worker's HTTP errors."""
    try:
        yield
    except storage_errors.ObjectNotFound as exc:
        raise errors.ImageNotFound(str(exc)) from exc
    except storage_errors.StoreUnavailable as exc:
        raise errors.StoreUnavailable(f"the object store cannot be reached: {exc}") from exc
    except storage_errors.AccessDenied as exc:
        raise errors.StoreFailed(f"the object store refused access: {exc}", "store_access_denied") from exc
    except storage_errors.InvalidURI as exc:
        raise errors.BadRequest(str(exc), "invalid_uri") from exc
    except storage_errors.StorageError as exc:
        raise errors.StoreFailed(f"the object store failed: {exc}") from exc
