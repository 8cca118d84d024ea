"""int8 on the CPU: the served ONNX graph quantized with activation ranges calibrated once.

ONNX Runtime runs the four-point networks in int8 (QDQ: weights per channel, activations per
tensor) about twice as fast as in float32 on a CPU with VNNI, with the same davis345 figures
(MODEL_CARD.md). The weights' scales come from the weights themselves; the activations' ranges
need data, so they are measured once, on training crops (coco_mval, never davis345), by
`python -m inference_worker.quantize`, and kept beside the weights (`dextr-int8.json`, with the
sha256 of its ranges and of the weights they were measured on). The worker quantizes the graph it
exports from the checked weights when it starts: no second network file is shipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from inference_worker import data, preprocess
from inference_worker.extreme_points import extreme_points

RANGES_SUFFIX = "-int8"  # dextr.pt's ranges are dextr-int8.json beside it
# Not AveragePool: ONNX Runtime's int8 pooling is slower than its float one (the features' pooling).
QUANTIZED_OPS = ("Conv", "Clip", "Relu", "Add", "Concat", "Resize")
CALIBRATION_SET = "coco_mval"
CALIBRATION_EVERY = 10  # every 10th training object: 80 crops, each with its mirror as served
POINTS_SEED = 0


class RangesError(RuntimeError):
    """The ranges file is altered or was measured on other weights."""


def ranges_for(weights: Path) -> Path:
    """Return where the int8 ranges measured on the weights `weights` live."""
    weights = Path(weights)
    return weights.with_name(weights.stem + RANGES_SUFFIX + ".json")


def load_ranges(path: Path, base_sha256: str) -> dict[str, list[float]] | None:
    """Return the activation ranges (tensor name -> [lowest, highest]) measured on the base weights
    `base_sha256`; None when there is no such file (the worker then runs float32)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        blob = json.loads(path.read_text())
        tensors = blob["tensors"]
    except (ValueError, KeyError, TypeError):
        raise RangesError(f"{path.name} is not a ranges file") from None
    if blob.get("tensors_sha256") != tensors_sha256(tensors):
        raise RangesError(f"{path.name}'s ranges do not match their recorded sha256")
    if blob.get("base_sha256") != base_sha256:
        raise RangesError(f"{path.name} was measured on other base weights (sha256 {str(blob.get('base_sha256'))[:12]})")
    return tensors


def tensors_sha256(tensors: dict[str, list[float]]) -> str:
    """Return the sha256 of the ranges, written canonically (the file records it: a changed range is refused)."""
    return hashlib.sha256(json.dumps(tensors, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def quantize(graph: bytes, ranges: dict[str, list[float]]) -> bytes:
    """Return the float32 ONNX graph quantized to int8 with the given activation ranges."""
    return _quantize(graph, json.dumps(ranges, sort_keys=True))


@lru_cache(maxsize=2)  # quantizing takes seconds: a process that builds the worker again (tests) does it once
def _quantize(graph: bytes, ranges_json: str) -> bytes:
    from onnxruntime.quantization import CalibrationMethod
    from onnxruntime.quantization.calibrate import TensorsData, save_tensors_data

    tensors = {name: (np.float32(lo), np.float32(hi)) for name, (lo, hi) in json.loads(ranges_json).items()}
    with tempfile.TemporaryDirectory(prefix="worker-int8-") as folder:
        cache = Path(folder) / "ranges.json"
        save_tensors_data(TensorsData(CalibrationMethod.MinMax, tensors), cache)
        return _run_quantizer(graph, Path(folder), None, cache)


def calibrate(graph: bytes, inputs: Iterator[np.ndarray]) -> dict[str, list[float]]:
    """Return each activation's [lowest, highest] over the inputs (batches of network inputs)."""
    from onnxruntime.quantization.calibrate import load_tensors_data

    with tempfile.TemporaryDirectory(prefix="worker-int8-") as folder:
        cache = Path(folder) / "ranges.json"
        _run_quantizer(graph, Path(folder), _Reader(inputs), cache)
        measured = load_tensors_data(cache)
    return {name: [float(np.asarray(t.lowest).item()), float(np.asarray(t.highest).item())] for name, t in sorted(measured.items())}


def _run_quantizer(graph: bytes, folder: Path, reader, cache: Path) -> bytes:
    """Pre-process the graph and quantize it (calibrating with `reader` when the cache is not written yet)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source, prepared, output = folder / "float.onnx", folder / "prepared.onnx", folder / "int8.onnx"
    source.write_bytes(graph)
    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # it logs a line per adjusted weight scale (hundreds) on the root logger
    try:
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        quantize_static(
            prepared, output, reader, quant_format=QuantFormat.QDQ, op_types_to_quantize=list(QUANTIZED_OPS),
            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax, calibration_cache_path=cache,
        )
    finally:
        logging.getLogger().setLevel(quiet)
    return output.read_bytes()


class _Reader:
    """ONNX Runtime's calibration data reader over batches of network inputs."""

    def __init__(self, inputs: Iterator[np.ndarray]):
        self.inputs = iter(inputs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.inputs, None)
        return None if batch is None else {"crops": np.ascontiguousarray(batch, dtype=np.float32)}


def calibration_inputs(folder: Path, input_size: int, every: int = CALIBRATION_EVERY) -> Iterator[np.ndarray]:
    """Yield (2, 4, S, S) batches as the worker runs them (a crop and its mirror) for every
    `every`-th object of a training set, from its extreme points (fixed seed)."""
    rng = np.random.default_rng(POINTS_SEED)
    for pair in data.pairs(folder)[::every]:
        masks, _ = data.read_masks(pair.mask, False)
        image = data.read_rgb(pair.image)
        for mask in masks:
            if mask.any():
                x, _ = preprocess.prepare(image, extreme_points(mask, rng), input_size)
                yield np.stack([x, x[..., ::-1]])


def main(argv: list[str] | None = None) -> None:
    from inference_worker.network import WithFeatures
    from inference_worker.predictor import DEFAULT_WEIGHTS, load_weights
    from inference_worker.runtime import export_onnx
    from inference_worker.train import DEFAULT_DATA

    parser = argparse.ArgumentParser(description="Measure the int8 activation ranges of the served networks on training crops")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the segmentation data root")
    parser.add_argument("--every", type=int, default=CALIBRATION_EVERY)
    args = parser.parse_args(argv)
    model, meta = load_weights(args.weights)
    size = int(meta.get("input_size", preprocess.INPUT_SIZE))
    inputs = list(calibration_inputs(args.data / CALIBRATION_SET, size, args.every))
    tensors = calibrate(export_onnx(WithFeatures(model), size), iter(inputs))
    out = ranges_for(args.weights)
    blob = {
        "base_sha256": meta["sha256"], "input_size": size, "method": "MinMax",
        "data": f"{CALIBRATION_SET}, every {args.every}th object, extreme points seed {POINTS_SEED}, each crop with its mirror",
        "crops": 2 * len(inputs), "tensors_sha256": tensors_sha256(tensors), "tensors": tensors,
    }
    out.write_text(json.dumps(blob, indent=1) + "\n")
    print(f"wrote {out} ({len(tensors)} tensors, {2 * len(inputs)} crops)")


if __name__ == "__main__":
    main()
