"""Settings of the inference worker, read from WORKER_* (and the shared S3_*) environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from inference_worker.predictor import DEFAULT_WEIGHTS
from inference_worker.refine import RefineSettings


@dataclass(frozen=True)
class Config:
    """Everything the worker can be told; defaults suit one CPU process."""

    host: str = "0.0.0.0"
    port: int = 8090
    weights: Path = DEFAULT_WEIGHTS
    device: str = ""  # "" picks CUDA when present, else the CPU
    runtime: str = "auto"  # "auto": ONNX Runtime on the CPU (faster, same masks; see MODEL_CARD.md), PyTorch on a GPU; or "torch", "onnx"
    int8: bool = True  # ONNX Runtime runs the networks in int8 when the weights' ranges are beside them (quantize.py; ~2x faster, same figures)
    flip_tta: bool = True  # also run the mirrored crop and average: ~2x network time (see MODEL_CARD.md)
    refine: bool = True  # snap the outline to the image's edges with GrabCut seeded by the network
    refine_max_pixels: int = RefineSettings.max_pixels  # it works on the crop window shrunk to this many pixels
    torch_threads: int = 0  # 0 leaves torch's default (one per core)
    max_batch: int = 8  # requests run through the network together, at most
    max_wait_ms: float = 5.0  # how long the first request of a batch waits for company
    max_queue: int = 32  # requests waiting beyond this are refused with 503
    request_timeout_s: float = 30.0  # a request not served by then gets 503
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    cache_entries: int = 16  # decoded images kept, keyed by URI and ETag
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_path_style: bool = True
    s3_ca_bundle: str | None = None  # CA file for an HTTPS endpoint with a private CA
    gunicorn_threads: int = 8
    log_level: str = "INFO"  # the worker's own lines; INFO logs each request's stage timings
    token: str = field(default="", repr=False)  # the bearer token predict requests must carry; "" accepts any caller
    buckets: tuple[str, ...] = ()  # the only buckets requests may name (WORKER_BUCKETS, comma-separated); empty: any

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        """Read WORKER_<FIELD> for each field, and S3_<NAME> for the store settings."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name = f.name.upper()
            key = name if name.startswith("S3_") else f"WORKER_{name}"
            if key in env:
                values[f.name] = _convert(f.type, env[key])
        return cls(**values)

    def with_overrides(self, overrides: dict | None) -> Config:
        """Return a copy with the given fields replaced."""
        return replace(self, **(overrides or {}))


def _convert(kind: str, text: str):
    """Convert an environment string to the field's type (annotations are strings here)."""
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return text.strip().lower() not in ("false", "0", "no", "")
    if kind == "Path":
        return Path(text)
    if kind == "str | None":
        return text or None
    if kind == "tuple[str, ...]":
        return tuple(item.strip() for item in text.split(",") if item.strip())
    return text
