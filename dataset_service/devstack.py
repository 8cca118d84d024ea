"""`make run`: the embedded stack in the foreground — S3 server, database, API, inference worker.

All state lives under VAR_DIR (default ./var), so a second run keeps the first run's data. What is
given is used instead of started: an S3 endpoint (S3_ENDPOINT_URL), a worker (WORKER_URL), a
database (DATABASE_URL; a missing PostgreSQL database is created). HOST is the address the
servers bind (127.0.0.1 by default). A port in use stops the start at once, naming its setting.

Stopping. SIGINT, SIGTERM or SIGHUP stops every child within 3 s: the API, the worker and the
Celery worker get SIGTERM (gunicorn lets requests finish for a second), what is left of their
process groups gets SIGKILL after GRACE_S, and SeaweedFS is killed last, which is its fast stop
that keeps the data (see storage/seaweedfs.py). A second signal kills everything at once. Each
child also gets a parent-death signal, so the stack stops with the launcher even when the launcher
is SIGKILLed; `--stop-with-parent` (what `make run` passes) ties the launcher to make in turn.
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from storage.seaweedfs import GRPC_OFFSET, WILDCARD_HOSTS, SeaweedFS, busy_ports, derive_ports

from .config import ConfigError

DEFAULT_ACCESS_KEY = "labeling"
DEFAULT_SECRET_KEY = "labeling-secret"
SQLITE_NAME = "dataset_service.sqlite3"
GRACE_S = 2.0  # what the API, the worker and Celery get after SIGTERM; SIGKILL then, SeaweedFS last
GUNICORN_GRACE_S = 1  # gunicorn's own limit for its workers, inside GRACE_S
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
UNIX_PATH_MAX = 108  # sun_path's size: a longer socket path cannot be bound


class StartError(Exception):
    """The stack cannot start, for a reason one line tells."""


class Stopped(BaseException):
    """A stop signal arrived (a BaseException, so no library's `except Exception` swallows it)."""


@dataclass(frozen=True)
class Listener:
    """A port the stack listens on, the setting that chooses it, and what listens there."""

    port: int
    setting: str
    what: str


@dataclass(frozen=True)
class Settings:
    """What `make run` reads from the environment beyond the service's own Config."""

    var_dir: Path
    host: str
    api_port: int
    worker_port: int
    s3_port: int
    s3_endpoint: str  # "": start SeaweedFS
    worker_url: str  # "": start the worker
    database_url: str
    broker: str  # "": jobs run in the API's processes

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read the settings; an empty variable counts as unset."""
        var_dir = Path(env.get("VAR_DIR") or "var").resolve()
        return cls(
            var_dir=var_dir, host=env.get("HOST") or "127.0.0.1",
            api_port=env_port(env, "API_PORT", 8080), worker_port=env_port(env, "WORKER_PORT", 8090),
            s3_port=env_port(env, "S3_PORT", 8333),
            s3_endpoint=env.get("S3_ENDPOINT_URL") or "", worker_url=env.get("WORKER_URL") or "",
            database_url=env.get("DATABASE_URL") or default_database_url(var_dir),
            broker=env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or "",
        )

    @property
    def address(self) -> str:
        """Return the address the stack's servers are reached at (loopback when bound to all)."""
        return "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host

    def url(self, port: int) -> str:
        """Return the URL of one of the stack's servers."""
        return f"http://{self.address}:{port}"

    def listeners(self) -> list[Listener]:
        """Return every port the stack will listen on."""
        found = [Listener(self.api_port, "API_PORT", "the web pages and API")]
        if not self.worker_url:
            found.append(Listener(self.worker_port, "WORKER_PORT", "the inference worker"))
        if not self.s3_endpoint:
            found += seaweed_listeners(self.s3_port)
        return found


def env_port(env: Mapping[str, str], name: str, default: int) -> int:
    """Read a port number, or stop with a line naming the variable."""
    text_value = env.get(name) or str(default)
    if not text_value.isdigit() or not 0 < int(text_value) < 65536:
        raise StartError(f"{name}={text_value!r}: expected a port number (1-65535).")
    return int(text_value)


def default_database_url(var_dir: Path) -> str:
    """Return the URL of the SQLite database kept under VAR_DIR."""
    return f"sqlite:///{var_dir / SQLITE_NAME}"


def seaweed_listeners(s3_port: int) -> list[Listener]:
    """Return SeaweedFS's ports: S3_PORT and the ones derived from it (see storage/seaweedfs.py)."""
    try:
        ports = derive_ports(s3_port)
    except ValueError as exc:
        raise StartError(f"S3_PORT={s3_port}: {exc}.") from None
    found = [Listener(ports.s3, "S3_PORT", "the S3 server")]
    for name, port in (("master", ports.master), ("volume", ports.volume), ("filer", ports.filer)):
        found.append(Listener(port, "S3_PORT", f"SeaweedFS's {name} port, derived from S3_PORT"))
    for name, port in (("S3", ports.s3), ("master", ports.master), ("volume", ports.volume), ("filer", ports.filer)):
        found.append(Listener(port + GRPC_OFFSET, "S3_PORT", f"SeaweedFS's {name} gRPC port, derived from S3_PORT"))
    return found


def port_problems(settings: Settings) -> list[str]:
    """Return a line for each port the stack needs that is taken, by another process or another setting."""
    problems, claimed = [], {}
    for listener in settings.listeners():
        other = claimed.setdefault(listener.port, listener)
        if other is not listener:
            problems.append(f"port {listener.port} is wanted twice: {other.what} ({other.setting}) and {listener.what} ({listener.setting}).")
        elif busy_ports(settings.host, (listener.port,)):
            problems.append(
                f"port {listener.port} on {settings.host} is in use ({listener.setting}: {listener.what}); "
                f"stop what holds it or set {listener.setting} to another port."
            )
    return problems


# --- state kept under VAR_DIR ---------------------------------------------------------------

def kept_secret(var_dir: Path, name: str) -> str:
    """Return a secret made once and kept in VAR_DIR/name, readable by its owner only."""
    path = var_dir / name
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32))
    return path.read_text().strip()


def write_private(path: Path, content: str) -> None:
    """Write a file only its owner can read, never readable by others even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(content)


def database_key(database_url: str) -> str:
    """Return a short name for a database: a hash of its URL without the password."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise StartError(f"DATABASE_URL={database_url!r}: not a database URL.") from None
    bare = url._replace(password=None).render_as_string(hide_password=False)  # URL.set() cannot unset it
    return hashlib.sha256(bare.encode()).hexdigest()[:12]


def database_file(settings: Settings, name: str) -> Path:
    """Return where a file about the database lives: VAR_DIR/name for the default SQLite database
    (the name `make run` always used, so existing VAR_DIRs keep working), VAR_DIR/name.<key> for any other."""
    if settings.database_url == default_database_url(settings.var_dir):
        return settings.var_dir / name
    return settings.var_dir / f"{name}.{database_key(settings.database_url)}"


# --- the database ---------------------------------------------------------------------------

def ensure_database(database_url: str) -> str | None:
    """Create a missing PostgreSQL database; return a line saying so, None when nothing was needed."""
    target = make_url(database_url)
    if target.get_backend_name() != "postgresql":
        return None
    problem = connection_problem(target)
    if problem is None:
        return None
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            create_database(connection, target, problem)
    except DBAPIError:
        raise StartError(problem) from None  # the server itself refuses us: the first reason says why
    finally:
        engine.dispose()
    return f"created the PostgreSQL database {target.database!r}"


def connection_problem(url: URL) -> str | None:
    """Return why the database cannot be used, in one line, or None when it can."""
    engine = create_engine(url)
    try:
        with engine.connect():
            return None
    except DBAPIError as exc:
        return f"cannot use the database {url.render_as_string(hide_password=True)}: {first_line(exc.orig)}"
    finally:
        engine.dispose()


def create_database(connection: Connection, url: URL, problem: str) -> None:
    """Create the URL's database on the server `connection` reaches, or stop with `problem` and how to do it."""
    found = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database})
    if found:
        raise StartError(problem)  # it exists: something else is wrong
    try:
        connection.execute(text(f"CREATE DATABASE {connection.dialect.identifier_preparer.quote(url.database)}"))
    except DBAPIError as exc:
        raise StartError(f"{problem}; creating it failed ({first_line(exc.orig)}). {how_to_create(url)}") from None


def how_to_create(url: URL) -> str:
    """Return the command that creates the URL's database."""
    options = {"-h": url.host, "-p": url.port, "-U": url.username}
    words = [f"{flag} {value}" for flag, value in options.items() if value] + [str(url.database)]
    return f"Create it with: createdb {' '.join(words)}"


def first_line(error: BaseException) -> str:
    """Return the first line of an error's message."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def prepare_database(settings: Settings) -> tuple[str, list[str]]:
    """Create the database if needed, migrate it and make the admin user; return how to log in, and notes."""
    from .db import make_engine, make_sessionmaker
    from .migrate import upgrade

    created = ensure_database(settings.database_url)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        login = ensure_admin(make_sessionmaker(engine), database_file(settings, "admin-password"))
    finally:
        engine.dispose()
    return login, [created] if created else []


def ensure_admin(make_session, saved: Path) -> str:
    """Create the admin user on first run, or give it ADMIN_PASSWORD; return a line saying how to log in.

    A generated password is kept in `saved`, a file of this database's own, so switching databases
    with one VAR_DIR never prints another database's password."""
    from .errors import Invalid
    from .models import User
    from .services.users import create_user, set_password

    wanted = os.environ.get("ADMIN_PASSWORD")
    generated = None
    with make_session() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        try:
            if admin is None:
                generated = None if wanted else secrets.token_urlsafe(12)
                create_user(session, "admin", wanted or generated, "admin")
            elif wanted:
                set_password(session, admin, wanted)
        except Invalid as exc:
            raise StartError(f"ADMIN_PASSWORD: {exc.message}") from None
        session.commit()
    return login_line(saved, wanted, generated)


def login_line(saved: Path, wanted: str | None, generated: str | None) -> str:
    """Keep a generated password in `saved` and say how to log in."""
    if wanted:
        saved.unlink(missing_ok=True)  # it no longer holds the password
        return "admin / (ADMIN_PASSWORD)"
    if generated:
        write_private(saved, generated)
        return f"admin / {generated}   (generated, kept in {saved}; set ADMIN_PASSWORD to choose)"
    if saved.exists():
        return f"admin / {saved.read_text().strip()}   (kept in {saved})"
    return "admin / (unchanged; set ADMIN_PASSWORD to choose a new one)"


def seed_demo(marker: Path) -> str:
    """Seed the demo dataset into the stack's database and S3 server; return a line saying how it went.

    Runs in a child process (`--seed-demo`): the sync's threads then never hold up the launcher's
    main thread, which a stop signal must unwind at once."""
    from storage.errors import StorageError

    from . import create_app
    from .config import Config

    try:
        from . import demo
    except ImportError:
        return "demo dataset: none"
    app = create_app(Config.from_env())
    try:
        seeded = demo.seed(app)
    except StorageError as exc:  # e.g. an existing S3 endpoint that refuses the demo bucket
        return f"demo dataset: not seeded ({first_line(exc)})"
    finally:
        app.extensions["db_engine"].dispose()
    marker.write_text("1")
    return "demo dataset: seeded" if seeded is not None else "demo dataset: there already, or no photos to seed"


def seed_in_child(stack: Stack, settings: Settings, env: dict[str, str]) -> str:
    """Seed the demo dataset the first time for this database, in a child that prints how it went;
    return a line to print when it failed, else ""."""
    marker = database_file(settings, "demo-seeded")
    if marker.exists():
        return "demo dataset: already seeded"
    command = [sys.executable, "-m", "dataset_service.devstack", "--seed-demo", str(marker)]
    process = stack.spawn("the demo's seeding", command, env, signal.SIGKILL)
    code = process.wait()
    stack.forget(process)
    return "" if code == 0 else f"demo dataset: not seeded (exit code {code}; see above)"


# --- processes ------------------------------------------------------------------------------

def death_signal(sig: int, parent: int) -> Callable[[], None] | None:
    """Return a function that asks Linux to send `sig` to the calling process when its parent dies,
    and sends it at once when `parent` is gone already (None off Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in a forked child

    def set_it() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the call: nobody will send the signal
            os.kill(os.getpid(), sig)

    return set_it


def die_with_parent(sig: int) -> Callable[[], None] | None:
    """Return a preexec_fn that makes a child get `sig` when this process dies."""
    return death_signal(sig, os.getpid())


def stop_with_parent(sig: int) -> None:
    """Make this process get `sig` when its parent dies, as `make run` wants when make is killed."""
    set_it = death_signal(sig, os.getppid())
    if set_it is not None:
        set_it()


def signal_group(pid: int, sig: int) -> None:
    """Send a signal to a process group, gone or not."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Child:
    """A process the launcher started, leading its own process group."""

    name: str
    process: subprocess.Popen


class Stack:
    """The processes `make run` started, stopped together: the API and workers first, SeaweedFS last."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self.s3: SeaweedFS | None = None
        self.stopping = False

    def spawn(self, name: str, command: list[str], env: dict[str, str], death_signal: int) -> subprocess.Popen:
        """Start a process in its own group that gets `death_signal` if the launcher dies."""
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent(death_signal)
        )
        self.children.append(Child(name, process))
        return process

    def forget(self, process: subprocess.Popen) -> None:
        """Stop watching a process that was meant to end (the demo's seeding)."""
        self.children = [child for child in self.children if child.process is not process]

    def exited(self) -> str | None:
        """Return the name of a process of the stack that has exited, if any."""
        if self.s3 is not None and not self.s3.running:
            return "the S3 server"
        return next((child.name for child in self.children if child.process.poll() is not None), None)

    def kill(self) -> None:
        """SIGKILL every process now (a second signal: stop waiting); safe in a signal handler."""
        for child in self.children:
            signal_group(child.process.pid, signal.SIGKILL)
        if self.s3 is not None:
            self.s3.kill()

    def stop(self) -> float:
        """Stop every process within GRACE_S and a little more; return the seconds it took."""
        self.stopping = True
        started = time.monotonic()
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)  # the leader only: gunicorn stops its own workers
        for child in self.children:
            wait_until(child.process, started + GRACE_S)
        for child in self.children:
            signal_group(child.process.pid, signal.SIGKILL)  # stragglers, and workers left by a dead master
            child.process.wait()
        if self.s3 is not None:
            self.s3.stop()
        return time.monotonic() - started


def wait_until(process: subprocess.Popen, deadline: float) -> None:
    """Wait for a process to exit, until a deadline."""
    try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass


def install_signal_handlers(stack: Stack) -> None:
    """Stop on SIGINT, SIGTERM and SIGHUP; a second signal kills at once.

    Installed explicitly: a process started in the background by a non-interactive shell inherits
    SIGINT ignored, and Python then never turns it into KeyboardInterrupt."""

    def on_signal(signum: int, _frame) -> None:
        if stack.stopping:
            stack.kill()
            return
        stack.stopping = True
        raise Stopped(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup's choice stands
        signal.signal(signal.SIGHUP, on_signal)


def gunicorn_command(app_spec: str, host: str, port: int, log: Path, workers: int, threads: int) -> list[str]:
    """Return the command of a gunicorn server for an app factory, with its own control socket."""
    return [
        sys.executable, "-m", "gunicorn", app_spec, "--bind", f"{host}:{port}",
        "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
        "--timeout", "120", "--graceful-timeout", str(GUNICORN_GRACE_S),
        "--access-logfile", str(log.with_suffix(".access.log")), "--error-logfile", str(log),
        *control_socket_options(log.with_suffix(".ctl")),
    ]


def control_socket_options(path: Path) -> list[str]:
    """Give a gunicorn its own control socket: the default, ~/.gunicorn/gunicorn.ctl, is shared by
    every gunicorn of the user on the host, so one stack's would answer for another's."""
    if len(os.fsencode(path)) >= UNIX_PATH_MAX:
        return ["--no-control-socket"]
    return ["--control-socket", str(path)]


def celery_command(env: Mapping[str, str], log: Path) -> list[str]:
    """Return the command of a Celery worker for the jobs."""
    return [
        sys.executable, "-m", "celery", "-A", "dataset_service.jobs.celery_app", "worker",
        "-Q", env.get("CELERY_QUEUE") or "jobs", "--pool", "threads", "-c", "2",
        "--loglevel", "INFO", "--logfile", str(log),
    ]


def wait_http(url: str, timeout: float, process: subprocess.Popen) -> None:
    """Wait until a URL answers 200, or fail when the process died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"{url}: the process exited with code {process.returncode}; see its log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise StartError(f"{url} did not answer within {timeout:.0f} s; see its log")


# --- the launcher ---------------------------------------------------------------------------

def s3_keys(settings: Settings) -> dict[str, str]:
    """Return the S3 keys to set: the embedded server's (chosen or default); none for a given endpoint."""
    if settings.s3_endpoint:
        return {}
    return {
        "S3_ACCESS_KEY": os.environ.get("S3_ACCESS_KEY") or DEFAULT_ACCESS_KEY,
        "S3_SECRET_KEY": os.environ.get("S3_SECRET_KEY") or DEFAULT_SECRET_KEY,
    }


def service_env(settings: Settings) -> dict[str, str]:
    """Return the environment every process of the stack shares."""
    var_dir = settings.var_dir
    env = dict(os.environ)
    env.update(
        VAR_DIR=str(var_dir),
        DATABASE_URL=settings.database_url,
        SECRET_KEY=os.environ.get("SECRET_KEY") or kept_secret(var_dir, "secret_key"),
        # The API sends it and the worker requires it: only the stack's own API gets outlines.
        WORKER_TOKEN=os.environ.get("WORKER_TOKEN") or kept_secret(var_dir, "worker_token"),
        S3_ENDPOINT_URL=settings.s3_endpoint or settings.url(settings.s3_port),
        WORKER_URL=settings.worker_url or settings.url(settings.worker_port),
        WORKER_PORT=str(settings.worker_port),
        **s3_keys(settings),
    )
    return env


def start_processes(stack: Stack, settings: Settings, env: dict[str, str]) -> list[tuple[str, subprocess.Popen, float]]:
    """Start the worker first (its model loads meanwhile), then the S3 server, the API and Celery;
    return the health URLs to wait for, with their process and how long they may take."""
    var_dir, checks = settings.var_dir, []
    if not settings.worker_url:
        worker = gunicorn_command("inference_worker.app:create_app()", settings.host, settings.worker_port, var_dir / "worker.log", 1, 8)
        process = stack.spawn("the inference worker", worker, env, signal.SIGTERM)  # gunicorn bounds its own stop
        checks.append((f"{settings.url(settings.worker_port)}/healthz", process, 120.0))
    if not settings.s3_endpoint:
        start_s3(stack, settings, env)
    api = gunicorn_command("dataset_service:create_app()", settings.host, settings.api_port, var_dir / "api.log", 2, 8)
    checks.insert(0, (f"{settings.url(settings.api_port)}/healthz", stack.spawn("the API", api, env, signal.SIGTERM), 60.0))
    if settings.broker:
        # SIGKILL: a warm shutdown waits for running jobs without limit; a dead job is failed or resumed later.
        stack.spawn("the Celery worker", celery_command(env, var_dir / "jobs.log"), env, signal.SIGKILL)
    return checks


def start_s3(stack: Stack, settings: Settings, env: Mapping[str, str]) -> None:
    """Start SeaweedFS and wait until it serves S3; it is SIGKILLed if the launcher dies (its fast stop)."""
    from storage.errors import StoreUnavailable

    print(f"starting the S3 server (SeaweedFS) on {settings.host}:{settings.s3_port} ...", flush=True)
    stack.s3 = SeaweedFS(
        settings.var_dir / "s3", settings.s3_port, env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"], host=settings.host,
        preexec_fn=die_with_parent(signal.SIGKILL),
    )
    try:
        stack.s3.start(timeout=90)
    except StoreUnavailable as exc:
        raise StartError(str(exc)) from None


def run(stack: Stack, settings: Settings) -> int:
    """Start the stack, say what runs where, and supervise it until a process exits."""
    problems = port_problems(settings)
    if problems:
        raise StartError("\n".join(problems))
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    env = service_env(settings)
    os.environ.update(env)
    login, notes = prepare_database(settings)
    checks = start_processes(stack, settings, env)
    notes.append(seed_in_child(stack, settings, env))
    for url, process, timeout in checks:
        wait_http(url, timeout, process)
    print_table(settings, env, login, notes)
    print(f"READY {settings.url(settings.api_port)}", flush=True)
    gone = supervise(stack)
    if gone is None:
        return 0
    print(f"{gone} exited; see the logs under {settings.var_dir}", flush=True)
    return 1


def supervise(stack: Stack) -> str | None:
    """Wait until a process of the stack exits (return its name) or a stop is asked for (None)."""
    while not stack.stopping:
        if (gone := stack.exited()) is not None:
            return gone
        time.sleep(0.5)
    return None


def jobs_line(settings: Settings, env: Mapping[str, str]) -> str:
    """Say where background jobs run."""
    if settings.broker:
        return f"Celery worker on {settings.broker.split('@')[-1]}, queue {env.get('CELERY_QUEUE') or 'jobs'}"
    return "in the API processes (set REDIS_URL for Celery workers)"


def table_rows(settings: Settings, env: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """Yield what runs where."""
    yield "web pages and API", f"{settings.url(settings.api_port)}/        (API docs: /api/v1/openapi.json)"
    s3 = f"access key '{env['S3_ACCESS_KEY']}', secret '{env['S3_SECRET_KEY']}'" if not settings.s3_endpoint else "(given: S3_ENDPOINT_URL)"
    yield "S3 server", f"{env['S3_ENDPOINT_URL']}   {s3}"
    yield "inference worker", env["WORKER_URL"] + ("   (given: WORKER_URL)" if settings.worker_url else "")
    yield "background jobs", jobs_line(settings, env)
    yield "database", make_url(settings.database_url).render_as_string(hide_password=True)
    yield "state and logs", str(settings.var_dir)


def print_table(settings: Settings, env: Mapping[str, str], login: str, notes: list[str]) -> None:
    """Say what runs where, how to log in and what was done."""
    rows = [f"  {name:<19} {value}" for name, value in [*table_rows(settings, env), ("log in as", login)]]
    rows += [f"  {note}" for note in notes if note]
    print("\n".join(["", *rows, "  Ctrl+C stops everything.", ""]), flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m dataset_service.devstack", description=__doc__.splitlines()[0])
    parser.add_argument("--stop-with-parent", action="store_true", help="stop the stack when the parent process (make) dies")
    parser.add_argument("--seed-demo", metavar="MARKER", type=Path, help=argparse.SUPPRESS)  # the launcher's own child
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the stack until a signal (exit 0) or a failure (exit 1)."""
    args = parse_args(argv)
    if args.seed_demo:
        print(seed_demo(args.seed_demo), flush=True)
        return 0
    stack = Stack()
    install_signal_handlers(stack)
    if args.stop_with_parent:
        stop_with_parent(signal.SIGTERM)
    try:
        return run(stack, Settings.from_env(os.environ))
    except (StartError, ConfigError) as exc:
        for line in str(exc).splitlines():
            print(f"make run: {line}", file=sys.stderr, flush=True)
        return 1
    except Stopped:
        return 0
    finally:
        stack.stopping = True
        if stack.children or stack.s3 is not None:
            print("\nstopping...", flush=True)
            print(f"stopped in {stack.stop():.1f} s.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
