"""The s3_server fixture skips when SeaweedFS cannot start, except under CI, where it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

INNER_CONFTEST = '''
import storage.seaweedfs
from storage.errors import StoreUnavailable


def _refuse(self, timeout=60):
    raise StoreUnavailable("no SeaweedFS in this test")


storage.seaweedfs.SeaweedFS.start = _refuse
pytest_plugins = ["tests.conftest_s3"]
'''


def _run_inner_session(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(INNER_CONFTEST)
    (tmp_path / "test_inner.py").write_text("def test_needs_s3(s3_server):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(PROJECT)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # start the inner session quickly
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_locally_a_missing_server_skips(tmp_path):
    result = _run_inner_session(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout


def test_under_ci_a_missing_server_fails(tmp_path):
    result = _run_inner_session(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout
    assert "no SeaweedFS in this test" in result.stdout
