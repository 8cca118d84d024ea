"""Settings: one environment variable per field, read when the config is built; they reach the object store."""
from __future__ import annotations

import re
from dataclasses import fields

import pytest

from dataset_service import config as config_module
from dataset_service.config import Config, ConfigError, variables


def test_s3_settings_from_the_environment_reach_the_store_settings(monkeypatch):
    monkeypatch.setenv("S3_ENDPOINT_URL", "https://s3.internal:9000")
    monkeypatch.setenv("S3_CA_BUNDLE", "/etc/ssl/private-ca.pem")
    monkeypatch.setenv("S3_PATH_STYLE", "false")
    settings = Config.from_env().store_settings
    assert settings.endpoint_url == "https://s3.internal:9000" and settings.path_style is False
    assert settings.ca_bundle == "/etc/ssl/private-ca.pem"
    monkeypatch.setenv("S3_CA_BUNDLE", "")
    assert Config.from_env().store_settings.ca_bundle is None


# Every field, the variable it is read from, a value other than its default, and what it reads as.
SETTINGS = [
    ("var_dir", "VAR_DIR", "/srv/labeling", "/srv/labeling"),
    ("database_url", "DATABASE_URL", "postgresql+psycopg://app@db/labels", "postgresql+psycopg://app@db/labels"),
    ("secret_key", "SECRET_KEY", "s3cret", "s3cret"),
    ("token_max_age_s", "TOKEN_MAX_AGE_S", "600", 600),
    ("session_lifetime_s", "SESSION_LIFETIME_S", "3600", 3600),
    ("trusted_proxies", "TRUSTED_PROXIES", "1", 1),
    ("login_failures_per_user", "LOGIN_FAILURES_PER_USER", "3", 3),
    ("login_failures_per_address", "LOGIN_FAILURES_PER_ADDRESS", "50", 50),
    ("login_window_s", "LOGIN_WINDOW_S", "300", 300),
    ("login_lock_max_s", "LOGIN_LOCK_MAX_S", "7200", 7200),
    ("s3_endpoint_url", "S3_ENDPOINT_URL", "https://s3.internal:9000", "https://s3.internal:9000"),
    ("s3_region", "S3_REGION", "eu-west-3", "eu-west-3"),
    ("s3_access_key", "S3_ACCESS_KEY", "key", "key"),
    ("s3_secret_key", "S3_SECRET_KEY", "secret", "secret"),
    ("s3_path_style", "S3_PATH_STYLE", "no", False),
    ("s3_ca_bundle", "S3_CA_BUNDLE", "/etc/ssl/ca.pem", "/etc/ssl/ca.pem"),
    ("worker_url", "WORKER_URL", "http://worker:8090", "http://worker:8090"),
    ("worker_timeout_s", "WORKER_TIMEOUT_S", "3.5", 3.5),
    ("worker_token", "WORKER_TOKEN", "w0rker-t0ken", "w0rker-t0ken"),
    ("broker_url", "CELERY_BROKER_URL", "redis://broker:6379/1", "redis://broker:6379/1"),
    ("job_queue", "CELERY_QUEUE", "sync-jobs", "sync-jobs"),
    ("job_stale_after_s", "JOB_STALE_AFTER_S", "45", 45.0),
    ("thumbnail_dir", "THUMBNAIL_DIR", "/cache/thumbs", "/cache/thumbs"),
    ("thumbnail_cache_mb", "THUMBNAIL_CACHE_MB", "64", 64),
    ("max_image_bytes", "MAX_IMAGE_BYTES", "1048576", 1048576),
    ("max_upload_bytes", "MAX_UPLOAD_BYTES", "2097152", 2097152),
    ("max_image_pixels", "MAX_IMAGE_PIXELS", "40000000", 40_000_000),
    ("allow_file_datasets", "ALLOW_FILE_DATASETS", "true", True),
    ("testing", "TESTING", "true", True),
]


def test_every_setting_is_read_from_its_variable():
    assert [name for name, *_ in SETTINGS] == [f.name for f in fields(Config)]
    assert all(variables(name)[0] == variable for name, variable, *_ in SETTINGS)
    config = Config.from_env({variable: text for _, variable, text, _ in SETTINGS})
    defaults = Config.from_env({})
    for name, _, _, value in SETTINGS:
        assert getattr(config, name) == value != getattr(defaults, name), name


def test_celery_names_are_aliases_and_the_first_one_set_wins():
    assert Config.from_env({"REDIS_URL": "redis://r:6379/0"}).broker_url == "redis://r:6379/0"
    both = Config.from_env({"REDIS_URL": "redis://r:6379/0", "CELERY_BROKER_URL": "amqp://mq"})
    assert both.broker_url == "amqp://mq"
    assert Config.from_env({"CELERY_QUEUE": "q2"}).job_queue == "q2"
    assert Config.from_env({"JOB_QUEUE": "ignored", "BROKER_URL": "ignored"}).broker_url is None


def test_ports_of_make_run_give_the_urls_unless_the_urls_are_set():
    config = Config.from_env({"S3_PORT": "9333", "WORKER_PORT": "9090"})
    assert (config.s3_endpoint_url, config.worker_url) == ("http://127.0.0.1:9333", "http://127.0.0.1:9090")
    config = Config.from_env({"S3_PORT": "9333", "S3_ENDPOINT_URL": "http://s3:1", "WORKER_URL": "http://w:2"})
    assert (config.s3_endpoint_url, config.worker_url) == ("http://s3:1", "http://w:2")


def test_empty_variables_keep_the_defaults():
    config = Config.from_env({"DATABASE_URL": "", "MAX_IMAGE_BYTES": "", "S3_PATH_STYLE": "", "REDIS_URL": ""})
    assert config == Config.from_env({})


@pytest.mark.parametrize(("variable", "text", "expected"), [
    ("MAX_IMAGE_BYTES", "abc", "a whole number"),
    ("THUMBNAIL_CACHE_MB", "1.5", "a whole number"),
    ("WORKER_TIMEOUT_S", "soon", "a number"),
    ("S3_PATH_STYLE", "maybe", "one of true"),
    ("S3_PORT", "x", "a whole number"),
])
def test_a_value_that_does_not_parse_names_its_variable(variable, text, expected):
    with pytest.raises(ConfigError, match=f"^{variable}='{re.escape(text)}': expected {expected}"):
        Config.from_env({variable: text})


def test_var_dir_is_read_when_the_config_is_built_not_at_import(monkeypatch, tmp_path):
    assert not hasattr(config_module, "VAR_DIR")
    for name in ("DATABASE_URL", "THUMBNAIL_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "state"))
    config = Config.from_env()
    assert config.database_url == f"sqlite:///{tmp_path / 'state' / 'dataset_service.sqlite3'}"
    assert config.thumbnail_dir == str(tmp_path / "state" / "thumbnails")
    monkeypatch.chdir(tmp_path)
    assert Config().thumbnail_dir == str(tmp_path / "var" / "thumbnails")  # in code: no environment read


def test_a_config_built_in_code_keeps_what_it_was_given():
    config = Config(database_url="sqlite://", thumbnail_dir="/t", worker_timeout_s=2.0, testing=True)
    changed = config.replace(worker_timeout_s=5.0)
    assert (changed.database_url, changed.thumbnail_dir, changed.testing, changed.worker_timeout_s) == ("sqlite://", "/t", True, 5.0)
