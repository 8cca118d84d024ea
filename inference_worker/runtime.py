"""Where the network runs: PyTorch (CUDA, or the CPU) or ONNX Runtime on the CPU.

On this CPU the worker answers in less than half the time with ONNX Runtime than with PyTorch's
eager mode (bench-inference p50, MODEL_CARD.md), with logits equal to 1e-3 (tests), so "auto"
picks it on the CPU and PyTorch on a
GPU. The ONNX graph is made from the loaded, checksum-checked weights when the worker starts;
no second weights file is shipped. With the int8 ranges measured for the weights
(`quantize.py`), ONNX Runtime runs that graph quantized to int8, about twice as fast again.
"""

from __future__ import annotations

import io
import warnings
from typing import Protocol

import numpy as np
import torch
from torch import nn

from inference_worker.network import IN_CHANNELS
from inference_worker.quantize import quantize

RUNTIMES = ("auto", "torch", "onnx")
ONNX_OPSET = 17


class Runner(Protocol):
    """Run the network: (N, 4, H, W) float32 crops in, (N, 1, H, W) float32 logits out; a model
    with several outputs (`network.WithFeatures`: logits and features) gives a tuple of them."""

    name: str
    precision: str  # "fp32", or "int8" for the quantized ONNX graph

    def __call__(self, inputs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]: ...


class TorchRunner:
    """The network in PyTorch, on the device it was moved to."""

    name = "torch"
    precision = "fp32"

    def __init__(self, model: nn.Module, device: torch.device):
        self.model = model.to(device).eval()
        self.device = device

    def __call__(self, inputs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(inputs)).to(self.device))
        if isinstance(out, tuple):
            return tuple(o.float().cpu().numpy() for o in out)
        return out.float().cpu().numpy()


class OnnxRunner:
    """The network exported to ONNX (any batch size and crop side) and run by ONNX Runtime; with
    `int8_ranges` (`quantize.load_ranges`), quantized to int8 first."""

    name = "onnx"

    def __init__(self, model: nn.Module, threads: int = 0, sample_side: int = 256, int8_ranges: dict[str, list[float]] | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        graph = export_onnx(model, sample_side)
        if int8_ranges:
            graph = quantize(graph, int8_ranges)
        self.precision = "int8" if int8_ranges else "fp32"
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def __call__(self, inputs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        outputs = self.session.run(None, {"crops": np.ascontiguousarray(inputs, dtype=np.float32)})
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def export_onnx(model: nn.Module, sample_side: int = 256) -> bytes:
    """Return the model as an ONNX graph whose batch size and crop side are free (one output, the
    logits, or two: the logits and the features of `network.WithFeatures`)."""
    model = model.cpu().eval()
    sample = torch.zeros(1, IN_CHANNELS, sample_side, sample_side)
    with torch.inference_mode():
        names = ["logits", "features"] if isinstance(model(sample), tuple) else ["logits"]
    free = {0: "batch", 2: "height", 3: "width"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript-based exporter announces its successor
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (sample,), buffer, input_names=["crops"], output_names=names,
            dynamic_axes={"crops": free, **dict.fromkeys(names, free)}, opset_version=ONNX_OPSET, dynamo=False,
        )
    return buffer.getvalue()


def make_runner(
    model: nn.Module, device: torch.device, runtime: str = "auto", threads: int = 0, sample_side: int = 256,
    int8_ranges: dict[str, list[float]] | None = None,
) -> Runner:
    """Return the runner for `runtime`: "auto" is ONNX Runtime on the CPU and PyTorch elsewhere;
    ONNX Runtime runs int8 when given the ranges (PyTorch ignores them)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if runtime == "torch" or (runtime == "auto" and device.type != "cpu"):
        return TorchRunner(model, device)
    if device.type != "cpu":
        raise ValueError(f"the onnx runtime runs on the CPU only, not on {device}")
    return OnnxRunner(model, threads, sample_side, int8_ranges)
