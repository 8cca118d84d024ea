"""`make run`: the embedded stack in the foreground — S3 server, database, API, inference worker.

All state lives under VAR_DIR (default ./var), so a second run keeps the first run's data.
Ctrl+C (or SIGTERM) stops every process started here.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select

DEFAULT_ACCESS_KEY = "labeling"
DEFAULT_SECRET_KEY = "labeling-secret"


def env_int(name: str, default: int) -> int:
    """Read a port number from the environment."""
    return int(os.environ.get(name) or default)


def persistent_secret(var_dir: Path) -> str:
    """Return the session-signing secret, made once and kept under VAR_DIR."""
    path = var_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def service_env(var_dir: Path, s3_port: int, worker_port: int, access: str, secret: str) -> dict[str, str]:
    """Return the environment every process of the stack shares."""
    env = dict(os.environ)
    env.update(
        VAR_DIR=str(var_dir),
        DATABASE_URL=os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'dataset_service.sqlite3'}",
        SECRET_KEY=os.environ.get("SECRET_KEY") or persistent_secret(var_dir),
        S3_ENDPOINT_URL=f"http://127.0.0.1:{s3_port}",
        S3_ACCESS_KEY=access,
        S3_SECRET_KEY=secret,
        WORKER_URL=f"http://127.0.0.1:{worker_port}",
        WORKER_PORT=str(worker_port),
        THUMBNAIL_DIR=str(var_dir / "thumbnails"),
    )
    return env


def ensure_admin(app, var_dir: Path) -> str:
    """Create the admin user on first run; return a line saying how to log in."""
    from .models import User
    from .services.users import create_user, set_password

    wanted = os.environ.get("ADMIN_PASSWORD")
    with app.extensions["db_sessionmaker"]() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        if admin is None:
            password = wanted or secrets.token_urlsafe(12)
            create_user(session, "admin", password, "admin")
            session.commit()
            if wanted:
                return "admin / (ADMIN_PASSWORD)"
            saved = var_dir / "admin-password"
            saved.write_text(password)
            saved.chmod(0o600)
            return f"admin / {password}   (generated, kept in {saved}; set ADMIN_PASSWORD to choose)"
        if wanted:
            set_password(session, admin, wanted)
            session.commit()
            return "admin / (ADMIN_PASSWORD)"
    saved = var_dir / "admin-password"
    return f"admin / {saved.read_text().strip()}" if saved.exists() else "admin / (unchanged)"


def seed_demo(app, var_dir: Path) -> str:
    """Seed the demo dataset the first time, if the demo module exists."""
    marker = var_dir / "demo-seeded"
    if marker.exists():
        return "demo dataset: already seeded"
    try:
        from . import demo
    except ImportError:
        return "demo dataset: none"
    demo.seed(app)
    marker.write_text("1")
    return "demo dataset: seeded"


def wait_http(url: str, timeout: float, process: subprocess.Popen) -> None:
    """Wait until a URL answers 200, or fail when the process died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def gunicorn(app_spec: str, port: int, env: dict[str, str], log: Path, workers: int, threads: int) -> subprocess.Popen:
    """Start a gunicorn server for an app factory."""
    command = [
        sys.executable, "-m", "gunicorn", app_spec, "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
        "--timeout", "120", "--graceful-timeout", "5", "--access-logfile", str(log.with_suffix(".access.log")),
        "--error-logfile", str(log),
    ]
    return subprocess.Popen(command, env=env, start_new_session=True)


def celery_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a Celery worker for the jobs (when a broker is configured: REDIS_URL or CELERY_BROKER_URL)."""
    command = [
        sys.executable, "-m", "celery", "-A", "dataset_service.jobs.celery_app", "worker",
        "-Q", env.get("CELERY_QUEUE") or "jobs", "--pool", "threads", "-c", "2",
        "--loglevel", "INFO", "--logfile", str(log),
    ]
    return subprocess.Popen(command, env=env, start_new_session=True)


def main() -> int:
    """Run the stack until interrupted."""
    from storage.seaweedfs import SeaweedFS

    from . import create_app
    from .config import Config
    from .migrate import upgrade

    var_dir = Path(os.environ.get("VAR_DIR") or "var").resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    api_port, s3_port, worker_port = env_int("API_PORT", 8080), env_int("S3_PORT", 8333), env_int("WORKER_PORT", 8090)
    access = os.environ.get("S3_ACCESS_KEY") or DEFAULT_ACCESS_KEY
    secret = os.environ.get("S3_SECRET_KEY") or DEFAULT_SECRET_KEY
    env = service_env(var_dir, s3_port, worker_port, access, secret)
    os.environ.update(env)
    children: list[subprocess.Popen] = []
    s3 = SeaweedFS(var_dir / "s3", s3_port, access, secret)
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nstopping...", flush=True)
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        s3.stop(grace=10)
        print("stopped.", flush=True)

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        print(f"starting the S3 server (SeaweedFS) on 127.0.0.1:{s3_port} ...", flush=True)
        s3.start(timeout=90)
        upgrade(env["DATABASE_URL"])
        app = create_app(Config.from_env())
        login_line = ensure_admin(app, var_dir)
        demo_line = seed_demo(app, var_dir)
        app.extensions["db_engine"].dispose()
        worker = gunicorn("inference_worker.app:create_app()", worker_port, env, var_dir / "worker.log", 1, 8)
        children.append(worker)
        api = gunicorn("dataset_service:create_app()", api_port, env, var_dir / "api.log", 2, 8)
        children.append(api)
        broker = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL")
        if broker:
            children.append(celery_worker(env, var_dir / "jobs.log"))
        wait_http(f"http://127.0.0.1:{api_port}/healthz", 60, api)
        wait_http(f"http://127.0.0.1:{worker_port}/healthz", 120, worker)
        print_table(api_port, s3_port, worker_port, access, secret, var_dir, login_line, demo_line)
        print(f"READY http://127.0.0.1:{api_port}", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a process of the stack exited; see the logs under", var_dir, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


def jobs_line() -> str:
    """Say where background jobs run."""
    broker = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL")
    if broker:
        return f"Celery worker on {broker.split('@')[-1]}, queue {os.environ.get('CELERY_QUEUE') or 'jobs'}"
    return "in the API processes (set REDIS_URL for Celery workers)"


def print_table(api_port, s3_port, worker_port, access, secret, var_dir, login_line, demo_line) -> None:
    """Say what runs where."""
    print(
        "\n".join([
            "",
            f"  web pages and API   http://127.0.0.1:{api_port}/        (API docs: /api/v1/openapi.json)",
            f"  S3 server           http://127.0.0.1:{s3_port}   access key '{access}', secret '{secret}'",
            f"  inference worker    http://127.0.0.1:{worker_port}",
            f"  background jobs     {jobs_line()}",
            f"  database            {os.environ['DATABASE_URL']}",
            f"  state and logs      {var_dir}",
            f"  log in as           {login_line}",
            f"  {demo_line}",
            "  Ctrl+C stops everything.",
            "",
        ]),
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
