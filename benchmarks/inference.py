"""Benchmark the inference worker over HTTP: `python -m benchmarks.inference` (make bench-inference).

Starts the worker under gunicorn on a free port, then measures end-to-end latency (p50/p95)
of `POST /v1/extreme-points` for a 640x480 JPEG sent as base64, one request at a time, and
the throughput with 8 concurrent clients; for both it prints the p50/p95 of each stage the
worker reports in `timings_ms`. Each four-point request moves the points by a hundredth of a
pixel, so none is answered from the worker's cache. Then, one at a time: correction clicks (five per
object, each request adding one, as a person does: the four-point answer is reused and the click
head runs once) and box prompts (`POST /v1/box`, each box new). The worker runs with its defaults; WORKER_* variables
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


def wait_ready(base: str, timeout: float = 180) -> None:
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


def moved(body: dict, i: int) -> dict:
    """Return the body with its points moved by i hundredths of a pixel: a request the cache has not seen."""
    return {**body, "points": [[x + 0.01 * i, y] for x, y in body["points"]]}


def latency(url: str, body: dict, count: int) -> list[Sample]:
    with requests.Session() as session:
        for i in range(5):
            one_request(session, url, moved(body, 10_000 + i))  # warm-up: first passes allocate and tune kernels
        return [one_request(session, url, moved(body, i)) for i in range(count)]


def correction_latency(url: str, body: dict, count: int, per_object: int = 5) -> list[Sample]:
    """Time correction clicks as a person makes them: on each object (the points moved, so a new
    one) the four points first (not timed), then `per_object` clicks, each request adding one."""
    rng = np.random.default_rng(1)
    samples: list[Sample] = []
    with requests.Session() as session:
        for start in range(0, count, per_object):
            prompt = moved(body, 9_000 + start)
            one_request(session, url, prompt)
            clicks: list[list] = []
            for _ in range(min(per_object, count - start)):
                clicks.append([float(rng.uniform(200, 440)), float(rng.uniform(120, 360)), int(rng.integers(0, 2))])
                samples.append(one_request(session, url, {**prompt, "clicks": list(clicks)}))
    return samples


def box_latency(base: str, image: dict, count: int) -> list[Sample]:
    """Time box prompts, each box a new one (moved by whole pixels: the worker's first pass starts from
    the middles of the box's pixel sides, so a sub-pixel move would find it cached)."""
    with requests.Session() as session:
        return [one_request(session, f"{base}/v1/box", {"image": image, "box": [150 + i, 75 + i % 3, 490 - i % 5, 405]}) for i in range(count)]


def throughput(url: str, body: dict, clients: int, per_client: int) -> tuple[float, list[Sample]]:
    def client(c):
        with requests.Session() as session:
            return [one_request(session, url, moved(body, 1000 * (c + 1) + i)) for i in range(per_client)]

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
            corrections = correction_latency(url, body, args.requests)
            boxes = box_latency(base, body["image"], args.requests // 2)
        finally:
            worker.terminate()
            worker.wait(15)
    print(f"inference worker {model['id']} on {model['device']}, input {model['input_size']} px, "
          f"runtime {model.get('runtime', 'torch')} {model.get('precision', 'fp32')}, flip TTA {'on' if model['flip_tta'] else 'off'}, "
          f"GrabCut refinement {'on' if model.get('refine') else 'off'}, "
          f"batch <= {model['max_batch']} / {model['max_wait_ms']} ms, {os.cpu_count()} CPU cores")
    times, loaded_times = [t for t, _ in sequential], [t for t, _ in loaded]
    print(f"latency, 640x480 JPEG as base64, 1 client, {len(times)} requests: "
          f"p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms, mean {statistics.mean(times):.1f} ms")
    print(f"  stages, p50 / p95 ms: {stage_line(sequential)}")
    print(f"throughput, {args.clients} concurrent clients, {len(loaded)} requests: {rate:.1f} requests/s "
          f"(p50 {percentile(loaded_times, 50):.1f} ms, p95 {percentile(loaded_times, 95):.1f} ms)")
    print(f"  stages, p50 / p95 ms: {stage_line(loaded)}")
    for name, samples in (("correction click on the same object", corrections), ("box prompt", boxes)):
        times = [t for t, _ in samples]
        print(f"latency, {name}, 1 client, {len(times)} requests: p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms")
        print(f"  stages, p50 / p95 ms: {stage_line(samples)}")


if __name__ == "__main__":
    main()
