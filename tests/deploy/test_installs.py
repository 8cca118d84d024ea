"""Installs by role: the API and its jobs run from `.[api]` (no torch), the worker from `.[worker]`.

pyproject.toml's base list holds what both need; `api`, `worker`, `train` and `dev` add the rest.
These tests read the extras and the code: every package the service's code imports is installed
by `.[api]`, and building the app and its jobs imports no torch, ONNX or OpenCV.
"""
from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
FIRST_PARTY = {"dataset_service", "storage", "inference_worker", "benchmarks", "tests"}
HEAVY = {"torch", "torchvision", "onnx", "onnxruntime", "opencv-python-headless", "triton"}
HEAVY_MODULES = ("torch", "torchvision", "onnx", "onnxruntime", "cv2", "inference_worker")


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def closure(requirements: list[str]) -> set[str]:
    """Return the installed distributions a list of requirements pulls in, with their own."""
    found: set[str] = set()
    todo = [(Requirement(r), frozenset(Requirement(r).extras)) for r in requirements]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(PROJECT["name"]):  # a self-reference: dataset-service[worker]
            todo.extend((Requirement(r), frozenset(Requirement(r).extras)) for e in extras for r in PROJECT["optional-dependencies"][e])
            continue
        if name in found:
            continue
        found.add(name)
        for text in metadata.distribution(name).requires or []:
            child = Requirement(text)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((child, frozenset(child.extras)))
    return found


def imported_modules(*packages: str) -> set[str]:
    """Return the top-level modules the packages' code imports, lazy imports inside functions too."""
    modules = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - FIRST_PARTY - set(sys.stdlib_module_names)


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    mapping = metadata.packages_distributions()
    return {module: {canonicalize_name(d) for d in mapping.get(module, [module])} for module in modules}


def test_the_api_install_pulls_no_torch_onnx_or_opencv():
    api = closure(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["api"])
    assert not api & HEAVY
    assert not {name for name in api if name.startswith(("nvidia-", "cuda-"))}


def test_the_worker_train_and_test_installs_hold_what_they_run():
    extras = PROJECT["optional-dependencies"]
    assert {"torch", "torchvision", "onnx", "onnxruntime", "opencv-python-headless"} <= names(extras["worker"])
    assert any(Requirement(r).name == PROJECT["name"] and "worker" in Requirement(r).extras for r in extras["train"]), "train installs the worker"
    assert {"pytest", "ruff", "pyyaml"} <= names(extras["dev"])
    assert not names(PROJECT["dependencies"]) & HEAVY


def test_api_install_has_every_package_the_service_imports():
    api = closure(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["api"])
    missing = {m: d for m, d in distributions_of(imported_modules("dataset_service", "storage")).items() if not d & api}
    assert not missing, f"imported by dataset_service or storage but not installed by .[api]: {missing}"


def test_worker_install_has_every_package_the_worker_imports():
    worker = closure(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["worker"])
    serving = imported_modules("inference_worker", "storage") - {"efficientnet_lite_pytorch"}  # train's
    missing = {m: d for m, d in distributions_of(serving).items() if not d & worker}
    assert not missing, f"imported by inference_worker or storage but not installed by .[worker]: {missing}"


def test_building_the_app_and_its_jobs_imports_no_torch(tmp_path):
    # A fresh interpreter: this test process may have imported torch for other tests.
    script = f"""
import json, pkgutil, importlib, sys
import dataset_service
from dataset_service.config import Config
app = dataset_service.create_app(Config(var_dir={str(tmp_path)!r}, database_url="sqlite://", testing=True))
assert app.test_client().get("/healthz").status_code == 200
for module in pkgutil.walk_packages(dataset_service.__path__, "dataset_service."):
    if ".migrations" not in module.name and module.name != "dataset_service.demo":
        importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}
    assert not loaded & set(HEAVY_MODULES)
