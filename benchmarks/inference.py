"""Benchmark the inference worker over HTTP: `python -m benchmarks.inference` (make bench-inference).

Starts the worker under gunicorn on a free port, then measures end-to-end latency (p50/p95)
of `POST /v1/extreme-points` for a 640x480 JPEG sent as base64, one request at a time, and
the throughput with 8 concurrent clients; for both it prints the p50/p95 of each stage the
worker reports in `timings_ms`. The worker runs with its defaults; WORKER_* variables
set for this command change them (e.g. `WORKER_REFINE=false make bench-inference`).
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import requests

from inference_worker.schemas import STAGES

WIDTH, HEIGHT = 640, 480
POINTS = [[170, 240], [470, 240], [320, 90], [320, 390]]


def test_image() -> str:
    """Return a 640x480 JPEG of a textured ellipse on clutter, base64-encoded."""
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8), (0, 0), 3)
    cv2.ellipse(image, (320, 240), (150, 150), 0, 0, 360, (40, 120, 220), -1)
    return base64.b64encode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(port: int, log) -> subprocess.Popen:
    env = {**os.environ, "WORKER_PORT": str(port), "WORKER_HOST": "127.0.0.1"}
    return subprocess.Popen([sys.executable, "-m", "inference_worker"], env=env, stdout=log, stderr=log)


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("the worker did not become ready")


Sample = tuple[float, dict[str, float]]  # one request's latency in ms, and the worker's timings_ms


def one_request(session: requests.Session, url: str, body: dict) -> Sample:
    """Send one request; return its latency in ms and the stage timings the worker reported."""
    started = time.perf_counter()
    response = session.post(url, json=body, timeout=60)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000, response.json().get("timings_ms", {})


def latency(url: str, body: dict, count: int) -> list[Sample]:
    with requests.Session() as session:
        for _ in range(5):
            one_request(session, url, body)  # warm-up: first passes allocate and tune kernels
        return [one_request(session, url, body) for _ in range(count)]


def throughput(url: str, body: dict, clients: int, per_client: int) -> tuple[float, list[Sample]]:
    def client(_):
        with requests.Session() as session:
            return [one_request(session, url, body) for _ in range(per_client)]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        samples = [s for ss in pool.map(client, range(clients)) for s in ss]
    return len(samples) / (time.perf_counter() - started), samples


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def stage_line(samples: list[Sample]) -> str:
    """Return each stage's p50 / p95 in ms in the order a request runs them, then the time
    outside them (HTTP, JSON, the client)."""
    figures = [(s, [t[s] for _, t in samples]) for s in STAGES]
    figures.append(("other", [total - sum(t.values()) for total, t in samples]))
    return ", ".join(f"{s} {percentile(v, 50):.1f} / {percentile(v, 95):.1f}" for s, v in figures)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60, help="sequential requests for latency")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=15)
    args = parser.parse_args(argv)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    body = {"image": {"base64": test_image()}, "points": POINTS}
    with tempfile.TemporaryFile() as log:
        worker = start_worker(port, log)
        try:
            wait_ready(base)
            model = requests.get(f"{base}/v1/models", timeout=5).json()["models"][0]
            url = f"{base}/v1/extreme-points"
            sequential = latency(url, body, args.requests)
            rate, loaded = throughput(url, body, args.clients, args.per_client)
        finally:
            worker.terminate()
            worker.wait(15)
    print(f"inference worker {model['id']} on {model['device']}, input {model['input_size']} px, "
          f"runtime {model.get('runtime', 'torch')}, flip TTA {'on' if model['flip_tta'] else 'off'}, "
          f"GrabCut refinement {'on' if model.get('refine') else 'off'}, "
          f"batch <= {model['max_batch']} / {model['max_wait_ms']} ms, {os.cpu_count()} CPU cores")
    times, loaded_times = [t for t, _ in sequential], [t for t, _ in loaded]
    print(f"latency, 640x480 JPEG as base64, 1 client, {len(times)} requests: "
          f"p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms, mean {statistics.mean(times):.1f} ms")
    print(f"  stages, p50 / p95 ms: {stage_line(sequential)}")
    print(f"throughput, {args.clients} concurrent clients, {len(loaded)} requests: {rate:.1f} requests/s "
          f"(p50 {percentile(loaded_times, 50):.1f} ms, p95 {percentile(loaded_times, 95):.1f} ms)")
    print(f"  stages, p50 / p95 ms: {stage_line(loaded)}")


if __name__ == "__main__":
    main()
