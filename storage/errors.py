"""The project's own object storage exceptions; backends translate provider errors into these."""

from __future__ import annotations


def _where(bucket: str | None, key: str | None) -> str:
    """Describe the bucket and key an error is about."""
    parts = []
    if bucket is not None:
        parts.append(f"bucket {bucket!r}")
    if key is not None:
        parts.append(f"key {key!r}")
    return ", ".join(parts)


class StorageError(Exception):
    """Fail an object storage operation; the base of every storage exception."""

    def __init__(self, problem: str, bucket: str | None = None, key: str | None = None) -> None:
        where = _where(bucket, key)
        super().__init__(f"{problem} ({where})" if where else problem)
        self.problem = problem
        self.bucket = bucket
        self.key = key


class ObjectNotFound(StorageError):
    """Signal that the bucket or the object does not exist."""


class AccessDenied(StorageError):
    """Signal that the credentials are wrong or lack the permission."""


class StoreUnavailable(StorageError):
    """Signal that the store cannot be reached: endpoint down, timeouts, 5xx answers."""


class InvalidURI(StorageError):
    """Signal an object URI or key that cannot be used."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid object URI {text!r}: {reason}")
        self.text = text
        self.reason = reason
