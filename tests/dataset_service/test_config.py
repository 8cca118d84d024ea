"""Settings from the environment reach the object store."""
from __future__ import annotations

from dataset_service.config import Config


def test_s3_settings_from_the_environment_reach_the_store_settings(monkeypatch):
    monkeypatch.setenv("S3_ENDPOINT_URL", "https://s3.internal:9000")
    monkeypatch.setenv("S3_CA_BUNDLE", "/etc/ssl/private-ca.pem")
    monkeypatch.setenv("S3_PATH_STYLE", "false")
    settings = Config.from_env().store_settings
    assert settings.endpoint_url == "https://s3.internal:9000" and settings.path_style is False
    assert settings.ca_bundle == "/etc/ssl/private-ca.pem"
    monkeypatch.setenv("S3_CA_BUNDLE", "")
    assert Config.from_env().store_settings.ca_bundle is None
