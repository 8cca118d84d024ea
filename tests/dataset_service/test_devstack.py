"""`make run` (dataset_service/devstack.py): it stops every child on each signal and on its own
death, reports a busy port at once, keeps the admin password per database, creates a missing
PostgreSQL database and gives each gunicorn its own control socket."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, make_url, select, text

from dataset_service.devstack import (
    Settings,
    StartError,
    control_socket_options,
    database_file,
    database_key,
    ensure_database,
    gunicorn_command,
    prepare_database,
)
from storage.seaweedfs import busy_ports, derive_ports, free_port_base
from tests.conftest_db import IN_CI, PG_ADMIN_URL, postgres_reachable

ROOT = Path(__file__).resolve().parents[2]
STOP_LIMIT_S = 3.0
# The servers the launcher starts: the worker's and the API's gunicorn masters with their 1 and 2
# workers, and SeaweedFS (the Celery worker comes on top when Redis answers).
STACK_SERVERS = 6
# Variables of the developer's own stack that must not leak into the launched one.
STACK_VARIABLES = ("DATABASE_URL", "SECRET_KEY", "S3_ENDPOINT_URL", "WORKER_URL", "THUMBNAIL_DIR", "CELERY_BROKER_URL", "REDIS_URL", "HOST")


def free_port(avoid: set[int]) -> int:
    """Return a port free on loopback now, outside `avoid`."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def stack_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a launcher on free ports with its own VAR_DIR."""
    s3 = free_port_base()
    taken = set(derive_ports(s3).all())
    api = free_port(taken)
    worker = free_port(taken | {api})
    env = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}
    env.update(
        VAR_DIR=str(var_dir), S3_PORT=str(s3), API_PORT=str(api), WORKER_PORT=str(worker),
        ADMIN_PASSWORD=secrets.token_urlsafe(12), PYTHONUNBUFFERED="1", **extra,
    )
    return env


def stack_ports(env: dict[str, str]) -> tuple[int, ...]:
    """Return every port the launcher listens on."""
    return (int(env["API_PORT"]), int(env["WORKER_PORT"]), *derive_ports(int(env["S3_PORT"])).all())


def ignore_sigint() -> None:
    """Start the launcher as `cmd &` in a script would: with SIGINT ignored (it must still stop on it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def launch(env: dict[str, str], under_make: bool = False) -> subprocess.Popen:
    """Start `python -m dataset_service.devstack`, or what `make run` runs under a parent shell standing in for make."""
    command = [sys.executable, "-m", "dataset_service.devstack"]
    if under_make:
        command = ["bash", "-c", f"{' '.join(command)} --stop-with-parent; true"]  # `; true`: bash stays the parent
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=ignore_sigint,
    )


def alive(process: psutil.Process) -> bool:
    """Tell whether a process still runs (a zombie has exited and released its ports)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def servers(processes: list[psutil.Process]) -> int:
    """Count the gunicorn, SeaweedFS and Celery processes among some processes."""
    names = ("gunicorn", "weed", "celery")
    return sum(any(name in " ".join(process.cmdline()) for name in names) for process in processes if alive(process))


def wait_for_children(launcher: subprocess.Popen, count: int, timeout: float = 90) -> list[psutil.Process]:
    """Wait until the launcher has started `count` servers; return every process it started."""
    deadline = time.monotonic() + timeout
    parent = psutil.Process(launcher.pid)
    while time.monotonic() < deadline:
        assert launcher.poll() is None, f"the launcher exited early:\n{launcher.stdout.read()}"
        children = [child for child in parent.children(recursive=True) if alive(child)]
        if servers(children) >= count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"the launcher started fewer than {count} servers within {timeout} s")


def wait_stopped(processes: list[psutil.Process], ports: tuple[int, ...], timeout: float) -> tuple[list[psutil.Process], list[int]]:
    """Wait until every process has exited and every port is free, up to `timeout`; return what is not.

    Both are checked: a multi-threaded process shows as a zombie as soon as its main thread ends,
    while its other threads, and the sockets they share, may take a few more milliseconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = [process for process in processes if alive(process)]
        busy = busy_ports("127.0.0.1", ports)
        if not (left or busy) or time.monotonic() > deadline:
            return left, busy
        time.sleep(0.02)


def redis_env() -> dict[str, str]:
    """Add a Celery worker to the stack when Redis answers (its own queue), else nothing."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            pass
    except OSError:
        return {}
    return {"REDIS_URL": "redis://127.0.0.1:6379/15", "CELERY_QUEUE": f"devstack-{uuid.uuid4().hex[:8]}"}


def send(launcher: subprocess.Popen, how: str) -> None:
    """Signal the launcher the way a test case asks."""
    if how == "two SIGINTs":
        launcher.send_signal(signal.SIGINT)
        time.sleep(0.2)
        launcher.send_signal(signal.SIGINT)
    elif how == "SIGKILL of make":
        launcher.send_signal(signal.SIGKILL)  # the shell standing in for make
    else:
        launcher.send_signal(getattr(signal, how))


@pytest.fixture
def launched() -> Iterator[list[psutil.Process]]:
    """Collect what a test launched, and SIGKILL whatever is left of it at the end."""
    processes: list[psutil.Process] = []
    yield processes
    for process in processes:
        if alive(process):
            process.kill()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "two SIGINTs", "SIGKILL", "SIGKILL of make"])
def test_every_child_stops_within_3_s(how, tmp_path, launched):
    # Signalled as soon as every process is up, not after READY: the model's loading and the demo's
    # seeding (some 10 s more) start no process and change nothing about how the stack stops, and a
    # signal in the middle of the start-up is the harder case for the launcher.
    celery = redis_env() if how in ("SIGTERM", "SIGKILL") else {}
    env = stack_env(tmp_path / "var", **celery)
    launcher = launch(env, under_make=how == "SIGKILL of make")
    launched.append(psutil.Process(launcher.pid))
    children = wait_for_children(launcher, STACK_SERVERS + bool(celery))
    launched.extend(children)

    started = time.monotonic()
    send(launcher, how)
    left, busy = wait_stopped(children, stack_ports(env), STOP_LIMIT_S)
    took = time.monotonic() - started

    assert not left, f"{how}: still running after {STOP_LIMIT_S} s: {[p.cmdline()[:4] for p in left]}"
    assert not busy, f"{how}: ports still in use after {STOP_LIMIT_S} s: {busy}"
    print(f"{how}: every child gone and every port free in {took:.2f} s")
    if not how.startswith("SIGKILL"):
        assert launcher.wait(timeout=30) == 0
        assert "stopped in" in launcher.stdout.read()


def test_busy_port_is_reported_at_once_naming_its_setting(tmp_path):
    env = stack_env(tmp_path / "var")
    filer = derive_ports(int(env["S3_PORT"])).filer
    with socket.socket() as api_holder, socket.socket() as filer_holder:
        api_holder.bind(("127.0.0.1", int(env["API_PORT"])))
        api_holder.listen()
        filer_holder.bind(("127.0.0.1", filer))
        filer_holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "dataset_service.devstack"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    assert result.returncode != 0
    assert f"port {env['API_PORT']} on 127.0.0.1 is in use (API_PORT" in result.stderr
    assert f"port {filer} on 127.0.0.1 is in use (S3_PORT: SeaweedFS's filer port" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()  # nothing was started, not even the state folder


def test_admin_password_is_kept_per_database(tmp_path, monkeypatch):
    from dataset_service.db import make_engine, make_sessionmaker
    from dataset_service.models import User
    from dataset_service.passwords import verify_password

    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    default = Settings.from_env({"VAR_DIR": str(var_dir)})
    other = Settings.from_env({"VAR_DIR": str(var_dir), "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}"})

    first, _ = prepare_database(default)
    second, _ = prepare_database(other)
    again, _ = prepare_database(default)

    saved = database_file(default, "admin-password")
    assert saved == var_dir / "admin-password"  # the name earlier VAR_DIRs have
    assert database_file(other, "admin-password") != saved
    assert database_file(other, "demo-seeded") != database_file(default, "demo-seeded")
    password = saved.read_text()
    assert password in first and password in again and password not in second
    engine = make_engine(default.database_url)
    with make_sessionmaker(engine)() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert verify_password(admin.password_hash, password)
    engine.dispose()


def test_database_key_ignores_the_password():
    assert database_key("postgresql+psycopg://me:one@db:5432/labels") == database_key("postgresql+psycopg://me:two@db:5432/labels")
    assert database_key("postgresql+psycopg://me@db:5432/labels") != database_key("postgresql+psycopg://me@db:5432/other")


@pytest.fixture
def postgres_server() -> str:
    """The machine's PostgreSQL (skipped when unreachable, except under CI)."""
    problem = postgres_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    return PG_ADMIN_URL.rsplit("/", 1)[0]


def test_missing_postgres_database_is_created(postgres_server):
    name = f"ds_devstack_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_server}/{name}"
    try:
        assert ensure_database(url) == f"created the PostgreSQL database {name!r}"
        assert ensure_database(url) is None
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_database()")) == name
        engine.dispose()
    finally:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgres_database_that_cannot_be_created_says_how(postgres_server):
    role, name = f"ds_devstack_{uuid.uuid4().hex[:8]}", f"ds_devstack_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN NOCREATEDB'))
    try:
        with pytest.raises(StartError) as raised:
            ensure_database(make_url(PG_ADMIN_URL)._replace(username=role, password=None, database=name).render_as_string(hide_password=False))
        message = str(raised.value)
        assert len(message.splitlines()) == 1
        assert "permission denied" in message and "Create it with: createdb -h " in message and f"-U {role} {name}" in message
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_unreachable_postgres_is_one_line():
    port = free_port(set())
    with pytest.raises(StartError) as raised:
        ensure_database(f"postgresql+psycopg://postgres:secret@127.0.0.1:{port}/labels")
    message = str(raised.value)
    assert len(message.splitlines()) == 1 and "Connection refused" in message
    assert f"127.0.0.1:{port}/labels" in message and "secret" not in message and "createdb" not in message


def test_each_gunicorn_has_its_own_control_socket(tmp_path):
    command = gunicorn_command("app:create_app()", "127.0.0.1", 8080, tmp_path / "api.log", 1, 1)
    assert command[command.index("--control-socket") + 1] == str(tmp_path / "api.ctl")
    assert control_socket_options(Path("/" + "x" * 120) / "api.ctl") == ["--no-control-socket"]
