"""Object URIs: `s3://bucket/key` and `file:///absolute/path`.

S3 keys are taken literally (as the AWS CLI does); file URIs follow RFC 8089 and are
percent-decoded on parsing and percent-encoded by `str()`. A `file:` URI has bucket ""
and the absolute path, without its leading "/", as key. A key with a "." or ".." segment
is refused for both schemes, so a URI can never climb out of its bucket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

from storage.errors import InvalidURI

Scheme = Literal["s3", "file"]

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ObjectURI:
    """Name one object, or a prefix when the key ends with "/" or is empty."""

    scheme: Scheme
    bucket: str
    key: str

    def __str__(self) -> str:
        if self.scheme == "file":
            return "file:///" + quote(self.key, safe="/")
        return f"s3://{self.bucket}/{self.key}"

    def join(self, relative_key: str) -> ObjectURI:
        """Return the URI of `relative_key` under this prefix."""
        return join(self, relative_key)


def parse_uri(text: str) -> ObjectURI:
    """Parse `s3://bucket/key` or `file:///path`; raise InvalidURI saying why not."""
    match = _SCHEME.match(text)
    if not match:
        raise InvalidURI(text, "expected s3://bucket/key or file:///path")
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme == "s3":
        return _parse_s3(text, rest)
    if scheme == "file":
        return _parse_file(text, rest)
    raise InvalidURI(text, f"unsupported scheme {scheme!r} (use s3 or file)")


def join(prefix: ObjectURI | str, relative_key: str) -> ObjectURI:
    """Return the URI of `relative_key` under the prefix URI (a "/" is added when missing)."""
    base = parse_uri(prefix) if isinstance(prefix, str) else prefix
    if relative_key.startswith("/"):
        raise InvalidURI(relative_key, "a relative key must not start with '/'")
    separator = "/" if base.key and not base.key.endswith("/") else ""
    key = base.key + separator + relative_key
    check_key(str(base), key)
    return ObjectURI(base.scheme, base.bucket, key)


def check_key(text: str, key: str) -> None:
    """Raise InvalidURI if `key` is not a usable object key."""
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidURI(text, f"key is longer than {MAX_KEY_BYTES} bytes")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key):
        raise InvalidURI(text, "key contains a control character")
    if any(segment in (".", "..") for segment in key.split("/")):
        raise InvalidURI(text, "key contains a '.' or '..' segment")


def _parse_s3(text: str, rest: str) -> ObjectURI:
    """Parse the part of an s3 URI after `s3://`."""
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InvalidURI(text, "missing bucket name")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidURI(text, f"bad bucket name {bucket!r} (3-63 of a-z 0-9 . -)")
    if key.startswith("/"):
        raise InvalidURI(text, "key must not start with '/'")
    check_key(text, key)
    return ObjectURI("s3", bucket, key)


def _parse_file(text: str, rest: str) -> ObjectURI:
    """Parse the part of a file URI after `file://`."""
    host, slash, path = rest.partition("/")
    if host not in ("", "localhost") or not slash:
        raise InvalidURI(text, "a file URI must be file:///absolute/path")
    if "?" in path or "#" in path:
        raise InvalidURI(text, "a file URI must not have a query or fragment")
    try:
        key = unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise InvalidURI(text, "percent-escapes do not decode as UTF-8") from None
    if key.startswith("/"):
        raise InvalidURI(text, "path must not start with '//'")
    check_key(text, key)
    return ObjectURI("file", "", key)
