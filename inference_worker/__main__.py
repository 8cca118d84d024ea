"""Run the worker under gunicorn: `python -m inference_worker` (port from WORKER_PORT, 8090).

One process holds the model and its batcher; gthread threads hand it concurrent requests so
they can share forward passes. Scale out with more processes or replicas, not more workers here.
"""

from __future__ import annotations

import os
import sys

from inference_worker.config import Config


def gunicorn_command(config: Config) -> list[str]:
    """Return the gunicorn command line that serves the app with this configuration."""
    return [
        sys.executable, "-m", "gunicorn",
        "--worker-class", "gthread", "--workers", "1", "--threads", str(config.gunicorn_threads),
        "--bind", f"{config.host}:{config.port}", "--timeout", "120", "--graceful-timeout", "10",
        "inference_worker.app:create_app()",
    ]


def main() -> None:
    command = gunicorn_command(Config.from_env())
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
