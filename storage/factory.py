"""Pick the object store for an object URI from the storage settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from storage.local import LocalObjectStore
from storage.objects import ObjectStore
from storage.s3 import S3ObjectStore
from storage.uris import ObjectURI


class S3Config(Protocol):
    """A config with the shared `S3_*` settings (the dataset service's and the worker's)."""

    @property
    def s3_endpoint_url(self) -> str | None: ...
    @property
    def s3_region(self) -> str: ...
    @property
    def s3_access_key(self) -> str: ...
    @property
    def s3_secret_key(self) -> str: ...
    @property
    def s3_path_style(self) -> bool: ...
    @property
    def s3_ca_bundle(self) -> str | None: ...


# The settings a service's config names `s3_<name>`.
S3_SETTINGS = ("endpoint_url", "region", "access_key", "secret_key", "path_style", "ca_bundle")


@dataclass(frozen=True)
class StoreSettings:
    """Say how to reach the object store: the S3 endpoint and keys, or a local root for s3 URIs.

    With `local_root` set, `s3://bucket/key` is served from `local_root/bucket/key` instead of
    S3 (a store without a server, for development).
    """

    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    path_style: bool = True
    local_root: Path | None = None
    ca_bundle: str | None = None  # a CA file for an HTTPS endpoint signed by a private CA

    @classmethod
    def from_config(cls, config: S3Config) -> StoreSettings:
        """Read the store settings from a service's config (its six `s3_*` settings)."""
        return cls(**{name: getattr(config, f"s3_{name}") for name in S3_SETTINGS})


def store_for(uri: ObjectURI, settings: StoreSettings) -> ObjectStore:
    """Return the store that serves `uri`: S3 (one per settings) or the local file system."""
    if uri.scheme == "file":
        return _local_store(Path("/"))
    if settings.local_root is not None:
        return _local_store(Path(settings.local_root))
    return _s3_store(settings)


@lru_cache(maxsize=16)
def _s3_store(settings: StoreSettings) -> S3ObjectStore:
    """Return the shared S3 store for these settings."""
    return S3ObjectStore(
        endpoint_url=settings.endpoint_url,
        region=settings.region,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        path_style=settings.path_style,
        ca_bundle=settings.ca_bundle,
    )


@lru_cache(maxsize=16)
def _local_store(root: Path) -> LocalObjectStore:
    """Return the shared local store for `root`."""
    return LocalObjectStore(root)
