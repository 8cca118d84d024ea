from pathlib import Path

from inference_worker.__main__ import gunicorn_command
from inference_worker.config import Config


def test_settings_come_from_prefixed_environment_variables():
    config = Config.from_env({
        "WORKER_PORT": "9001", "WORKER_MAX_BATCH": "4", "WORKER_MAX_WAIT_MS": "2.5", "WORKER_FLIP_TTA": "true",
        "WORKER_WEIGHTS": "/tmp/w.pt", "S3_ENDPOINT_URL": "http://s3:8333", "S3_PATH_STYLE": "false", "PORT": "1",
        "S3_CA_BUNDLE": "/etc/ssl/private-ca.pem",
    })
    assert (config.port, config.max_batch, config.max_wait_ms, config.flip_tta) == (9001, 4, 2.5, True)
    assert config.weights == Path("/tmp/w.pt") and config.s3_endpoint_url == "http://s3:8333"
    assert config.s3_path_style is False and config.s3_ca_bundle == "/etc/ssl/private-ca.pem"


def test_defaults_serve_on_8090_with_gthread():
    command = gunicorn_command(Config.from_env({}))
    assert "0.0.0.0:8090" in command and "gthread" in command and command[-1] == "inference_worker.app:create_app()"
