"""Settings read from the environment, in one place: one variable per field (see README's table)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from storage.factory import StoreSettings

# Variables named otherwise than their field (the names Celery users and the chart know); the
# first one set wins. Every other field is read from its name in capitals.
ALIASES: dict[str, tuple[str, ...]] = {
    "broker_url": ("CELERY_BROKER_URL", "REDIS_URL"),
    "job_queue": ("CELERY_QUEUE",),
}
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


class ConfigError(ValueError):
    """An environment variable holds a value its setting cannot take."""


@dataclass
class Config:
    """Everything the service can be told; defaults are the embedded stack of `make run`."""

    var_dir: str = "var"  # where `make run` keeps its state; the two defaults below live under it
    database_url: str = ""  # "" is the SQLite file `<var_dir>/dataset_service.sqlite3`
    secret_key: str = field(default="dev-secret-change-me", repr=False)
    token_max_age_s: int = 24 * 3600
    session_lifetime_s: int = 12 * 3600  # a page session ends this long after logging in
    trusted_proxies: int = 0  # proxies in front whose X-Forwarded-For and X-Forwarded-Proto are believed
    login_failures_per_user: int = 5  # failed logins of one username within the window before 429
    login_failures_per_address: int = 20  # failed logins from one client address within the window before 429
    login_window_s: int = 15 * 60  # also the first lock's length; each lock within a day of the last doubles
    login_lock_max_s: int = 4 * 3600  # the longest a lock grows
    s3_endpoint_url: str | None = "http://127.0.0.1:8333"
    s3_region: str = "us-east-1"
    s3_access_key: str = "admin"
    s3_secret_key: str = field(default="adminsecret", repr=False)
    s3_path_style: bool = True
    s3_ca_bundle: str | None = None  # CA file for an HTTPS endpoint with a private CA
    worker_url: str = "http://127.0.0.1:8090"
    worker_timeout_s: float = 20.0
    worker_token: str = field(default="", repr=False)  # sent to the worker as a bearer token; the worker's WORKER_TOKEN
    broker_url: str | None = None
    job_queue: str = "jobs"
    job_stale_after_s: float = 120.0
    thumbnail_dir: str = ""  # "" is `<var_dir>/thumbnails`
    thumbnail_cache_mb: int = 2048  # least recently used thumbnails go beyond this
    max_image_bytes: int = 5 * 1024 * 1024
    max_upload_bytes: int = 8 * 1024 * 1024
    max_image_pixels: int = 100_000_000  # larger images are never decoded: an image error, a refused upload, a placeholder
    allow_file_datasets: bool = False  # file:// input and output paths: the API process reads and writes the host's files
    testing: bool = False

    def __post_init__(self) -> None:
        # Derived when the config is built (`from_env` reads VAR_DIR then), never at import.
        root = Path(self.var_dir).resolve()
        self.database_url = self.database_url or f"sqlite:///{root / 'dataset_service.sqlite3'}"
        self.thumbnail_dir = self.thumbnail_dir or str(root / "thumbnails")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read each field from its variable; unset or empty ones keep their defaults."""
        env = os.environ if environ is None else environ
        kinds = get_type_hints(cls)
        values = _port_defaults(env)
        for f in fields(cls):
            found = _lookup(env, f.name)
            if found is not None:
                values[f.name] = _parse(*found, kinds[f.name])
        return cls(**values)

    def replace(self, **changes: Any) -> Config:
        """Return a copy with some settings changed."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Config(**values)

    @property
    def store_settings(self) -> StoreSettings:
        """Object-store settings for the storage package."""
        return StoreSettings.from_config(self)


def variables(name: str) -> tuple[str, ...]:
    """Return the environment variables a field is read from, first choice first."""
    return ALIASES.get(name, (name.upper(),))


def _lookup(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """Return the first of a field's variables that is set (and not empty), with its text."""
    return next(((variable, env[variable]) for variable in variables(name) if env.get(variable)), None)


def _port_defaults(env: Mapping[str, str]) -> dict[str, Any]:
    """Point at the ports `make run` starts the S3 server and the worker on, when no URL is given."""
    s3_port = _parse("S3_PORT", env.get("S3_PORT") or "8333", int)
    worker_port = _parse("WORKER_PORT", env.get("WORKER_PORT") or "8090", int)
    return {"s3_endpoint_url": f"http://127.0.0.1:{s3_port}", "worker_url": f"http://127.0.0.1:{worker_port}"}


def _parse(name: str, text: str, kind: Any) -> Any:
    """Convert a variable's text to its field's type, or raise ConfigError naming the variable."""
    if kind is bool:
        return _parse_bool(name, text)
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            expected = "a whole number" if kind is int else "a number"
            raise ConfigError(f"{name}={text!r}: expected {expected}.") from None
    return text


def _parse_bool(name: str, text: str) -> bool:
    """Read a yes/no variable; anything else is an error rather than a guess."""
    word = text.strip().lower()
    if word in TRUE + FALSE:
        return word in TRUE
    raise ConfigError(f"{name}={text!r}: expected one of {', '.join(TRUE + FALSE)}.")
