"""deploy/compose.yaml, checked the way `docker compose config` would and against the settings.

Every service, volume, build and dependency must resolve; every variable a service gets must be a
setting the process reads (dataset_service.config for the API, jobs and migrations,
inference_worker.config for the worker); every ${VARIABLE} must be in deploy/.env.example; and the
URLs the service is given must point at the compose services that serve them.
"""
from __future__ import annotations

import re
from dataclasses import fields
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

import inference_worker.config
from dataset_service.config import Config, variables

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
API_IMAGE_SERVICES = ("s3", "migrate", "api", "jobs")
SERVICE_PROCESSES = ("migrate", "api", "jobs")
SECRETS = ("POSTGRES_PASSWORD", "SECRET_KEY", "S3_SECRET_KEY", "WORKER_TOKEN")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
# Variables read by the programs of the other services, not by ours.
OTHER_PROGRAMS = {
    "postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"},  # the postgres image's
    "s3": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "WEED_MASTER_VOLUME_GROWTH_COPY_1"},  # weed's
}


def raw_example() -> dict[str, str]:
    """Return deploy/.env.example's settings as written."""
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def example_env() -> dict[str, str]:
    """Return deploy/.env.example's settings, a placeholder for the secrets it leaves empty."""
    return {key: value or f"{key.lower()}-value" for key, value in raw_example().items()}


def resolve(value: str, env: dict[str, str]) -> str:
    """Interpolate like compose: ${NAME}, ${NAME:-default}, ${NAME:?error}, and $$ for $."""
    def one(match: re.Match) -> str:
        default = match[0][len(match[1]) + 2:-1]
        return env.get(match[1]) or (default[2:] if default.startswith(":-") else "")

    return INTERPOLATION.sub(one, str(value)).replace("$$", "$")


def environment(service: str) -> dict[str, str]:
    return {key: resolve(value, example_env()) for key, value in SERVICES[service].get("environment", {}).items()}


class Reads(dict):
    """An environment that records which variables a settings reader looks at."""

    def __init__(self):
        super().__init__()
        self.asked: set[str] = set()

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def worker_variables() -> set[str]:
    env = Reads()
    inference_worker.config.Config.from_env(env)
    return env.asked


def test_every_service_is_there_with_an_image():
    assert set(SERVICES) == {"postgres", "redis", "s3", "migrate", "api", "jobs", "inference"}
    assert all(service.get("image") for service in SERVICES.values())


def test_the_api_image_serves_four_services_and_is_built_once_from_one_definition():
    api = SERVICES["api"]
    assert all(SERVICES[name]["image"] == api["image"] and SERVICES[name]["build"] == api["build"] for name in API_IMAGE_SERVICES)
    assert "dataset-service-api" in api["image"] and "dataset-service-worker" in SERVICES["inference"]["image"]


@pytest.mark.parametrize("name", ["api", "inference"])
def test_builds_name_an_existing_context_containerfile_and_its_arguments(name):
    build = SERVICES[name]["build"]
    context = (DEPLOY / build["context"]).resolve()
    containerfile = context / build["dockerfile"]
    assert (context / "pyproject.toml").is_file() and containerfile.is_file()
    declared = set(re.findall(r"^ARG (\w+)", containerfile.read_text(), re.MULTILINE))
    assert "BASE" in build["args"] and set(build["args"]) <= declared


def test_named_volumes_are_declared_and_used():
    used = {
        volume.split(":")[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == set(COMPOSE["volumes"])


def test_dependencies_exist_and_wait_for_health_or_completion():
    for name, service in SERVICES.items():
        for target, condition in service.get("depends_on", {}).items():
            assert target in SERVICES and target != name
            wanted = "service_completed_successfully" if "restart" not in SERVICES[target] else "service_healthy"
            assert condition == {"condition": wanted}, (name, target)


def test_every_long_running_service_has_a_health_check_and_restarts():
    for name, service in SERVICES.items():
        if name == "migrate":  # a one-shot: it exits when the schema is at head
            assert "restart" not in service and "healthcheck" not in service
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_variable_the_service_processes_get_is_a_setting():
    settings = {variable for f in fields(Config) for variable in variables(f.name)}
    for name in SERVICE_PROCESSES:
        assert set(environment(name)) <= settings, name
        Config.from_env(environment(name))  # and each value parses


def test_every_variable_the_worker_gets_is_a_worker_setting():
    env = environment("inference")
    assert set(env) <= worker_variables()
    inference_worker.config.Config.from_env(env)


def test_other_programs_get_only_their_own_variables():
    for name, known in OTHER_PROGRAMS.items():
        assert set(environment(name)) <= known, name


def test_the_urls_point_at_the_services_that_serve_them():
    env = environment("api")
    worker_port = int(environment("inference")["WORKER_PORT"])
    expected = {"S3_ENDPOINT_URL": ("s3", 8333), "WORKER_URL": ("inference", worker_port), "REDIS_URL": ("redis", 6379), "DATABASE_URL": ("postgres", 5432)}
    for variable, (host, port) in expected.items():
        url = urlsplit(env[variable])
        assert (url.hostname, url.port) == (host, port), variable
    assert environment("inference")["S3_ENDPOINT_URL"] == env["S3_ENDPOINT_URL"]
    assert "-s3.port=8333" in SERVICES["s3"]["command"]


def test_the_s3_server_the_api_and_the_worker_share_keys_and_the_api_and_worker_a_token():
    s3, api, worker = (SERVICES[name]["environment"] for name in ("s3", "api", "inference"))
    assert s3["AWS_ACCESS_KEY_ID"] == api["S3_ACCESS_KEY"] == worker["S3_ACCESS_KEY"]
    assert s3["AWS_SECRET_ACCESS_KEY"] == api["S3_SECRET_KEY"] == worker["S3_SECRET_KEY"]
    assert api["WORKER_TOKEN"] == worker["WORKER_TOKEN"]


def test_the_database_url_names_the_postgres_user_password_and_database():
    url = urlsplit(environment("api")["DATABASE_URL"])
    postgres = environment("postgres")
    assert (url.username, url.password, url.path.lstrip("/")) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])


def test_every_compose_variable_is_in_the_env_example_and_the_reverse():
    used = set(INTERPOLATION.findall((DEPLOY / "compose.yaml").read_text()))
    assert used == set(example_env())


def test_secrets_have_no_default_and_compose_refuses_to_start_without_them():
    text = (DEPLOY / "compose.yaml").read_text()
    for secret in SECRETS:
        uses = re.findall(rf"\$\{{{secret}([^}}]*)\}}", text)
        assert uses and all(use.startswith(":?") for use in uses), secret
        assert raw_example()[secret] == "", secret


def test_commands_name_modules_that_exist():
    assert SERVICES["migrate"]["command"] == ["flask", "--app", "dataset_service", "db", "upgrade"]
    jobs = SERVICES["jobs"]["command"]
    assert jobs[:3] == ["celery", "-A", "dataset_service.jobs.celery_app"] and find_spec(jobs[2])
    assert SERVICES["s3"]["command"][:2] == ["weed", "server"]

