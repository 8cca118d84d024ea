"""Settings read from the environment, in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

VAR_DIR = Path(os.environ.get("VAR_DIR", "var")).resolve()


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass
class Config:
    """Everything the service can be told; defaults are the embedded stack of `make run`."""

    database_url: str = f"sqlite:///{VAR_DIR / 'dataset_service.sqlite3'}"
    secret_key: str = field(default="dev-secret-change-me", repr=False)
    token_max_age_s: int = 24 * 3600
    s3_endpoint_url: str | None = "http://127.0.0.1:8333"
    s3_region: str = "us-east-1"
    s3_access_key: str = "admin"
    s3_secret_key: str = field(default="adminsecret", repr=False)
    s3_path_style: bool = True
    s3_ca_bundle: str | None = None  # CA file for an HTTPS endpoint with a private CA
    worker_url: str = "http://127.0.0.1:8090"
    worker_timeout_s: float = 20.0
    broker_url: str | None = None
    job_queue: str = "jobs"
    job_stale_after_s: float = 120.0
    thumbnail_dir: str = str(VAR_DIR / "thumbnails")
    thumbnail_cache_mb: int = 2048  # least recently used thumbnails go beyond this
    max_image_bytes: int = 5 * 1024 * 1024
    max_upload_bytes: int = 8 * 1024 * 1024
    testing: bool = False

    @classmethod
    def from_env(cls) -> "Config":
        """Build the settings from environment variables."""
        s3_port = _env("S3_PORT", "8333")
        return cls(
            database_url=_env("DATABASE_URL", cls.database_url),
            secret_key=_env("SECRET_KEY", cls.secret_key),
            s3_endpoint_url=_env("S3_ENDPOINT_URL", f"http://127.0.0.1:{s3_port}"),
            s3_region=_env("S3_REGION", cls.s3_region),
            s3_access_key=_env("S3_ACCESS_KEY", cls.s3_access_key),
            s3_secret_key=_env("S3_SECRET_KEY", cls.s3_secret_key),
            s3_path_style=_env("S3_PATH_STYLE", "true").lower() != "false",
            s3_ca_bundle=_env("S3_CA_BUNDLE") or None,
            worker_url=_env("WORKER_URL", f"http://127.0.0.1:{_env('WORKER_PORT', '8090')}"),
            broker_url=_env("CELERY_BROKER_URL", _env("REDIS_URL")),
            job_queue=_env("CELERY_QUEUE", cls.job_queue),
            job_stale_after_s=float(_env("JOB_STALE_AFTER_S", str(cls.job_stale_after_s))),
            thumbnail_dir=_env("THUMBNAIL_DIR", cls.thumbnail_dir),
            thumbnail_cache_mb=int(_env("THUMBNAIL_CACHE_MB", str(cls.thumbnail_cache_mb))),
        )

    def replace(self, **changes) -> "Config":
        """Return a copy with some settings changed."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Config(**values)

    @property
    def store_settings(self):
        """Object-store settings for the storage package."""
        from storage.factory import StoreSettings

        return StoreSettings(
            endpoint_url=self.s3_endpoint_url,
            region=self.s3_region,
            access_key=self.s3_access_key,
            secret_key=self.s3_secret_key,
            path_style=self.s3_path_style,
            ca_bundle=self.s3_ca_bundle,
        )
