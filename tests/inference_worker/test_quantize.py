"""int8 on the CPU: the committed ranges fit the committed weights, and the quantized graph answers as float32 does."""
from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
import torch

from inference_worker.extreme_points import extreme_points
from inference_worker.network import WithFeatures
from inference_worker.predictor import Predictor, WeightsError, load_weights
from inference_worker.quantize import RangesError, load_ranges, quantize, ranges_for, tensors_sha256
from inference_worker.runtime import export_onnx, make_runner

from .conftest import disc_image


@pytest.fixture(scope="module")
def served(weights_path):
    return load_weights(weights_path)


def test_the_committed_ranges_were_measured_on_the_committed_weights(served, weights_path):
    ranges = load_ranges(ranges_for(weights_path), served[1]["sha256"])
    assert ranges and all(lo <= hi for lo, hi in ranges.values())
    assert ranges_for(weights_path).name == "dextr-int8.json"


def test_altered_ranges_and_ranges_of_other_weights_are_refused(weights_path, tmp_path):
    blob = json.loads(ranges_for(weights_path).read_text())
    path = tmp_path / "r.json"
    path.write_text(json.dumps(blob))
    with pytest.raises(RangesError, match="other base weights"):
        load_ranges(path, "0" * 64)
    name = next(iter(blob["tensors"]))
    blob["tensors"][name][1] += 1.0
    path.write_text(json.dumps(blob))
    with pytest.raises(RangesError, match="sha256"):
        load_ranges(path, blob["base_sha256"])
    path.write_text("not json")
    with pytest.raises(RangesError, match="not a ranges file"):
        load_ranges(path, blob["base_sha256"])
    assert load_ranges(tmp_path / "none.json", blob["base_sha256"]) is None


def test_the_worker_refuses_weights_whose_ranges_were_altered(weights_path, tmp_path):
    for suffix in ("", ".sha256"):
        shutil.copy(str(weights_path) + suffix, tmp_path / ("dextr.pt" + suffix))
    blob = json.loads(ranges_for(weights_path).read_text())
    blob["tensors_sha256"] = tensors_sha256({})
    ranges_for(tmp_path / "dextr.pt").write_text(json.dumps(blob))
    with pytest.raises(WeightsError, match="sha256"):
        Predictor.from_weights(tmp_path / "dextr.pt", torch.device("cpu"), clicks=False, int8=True)


def test_every_convolution_of_the_served_graph_runs_in_int8(served, weights_path):
    model, meta = served
    graph = onnx.load_from_string(quantize(export_onnx(WithFeatures(model), 320), load_ranges(ranges_for(weights_path), meta["sha256"])))
    made_by = {out: node.op_type for node in graph.graph.node for out in node.output}
    convs = [node for node in graph.graph.node if node.op_type == "Conv"]
    assert len(convs) > 100 and all(made_by.get(node.input[0]) == "DequantizeLinear" for node in convs)


def test_the_int8_graph_answers_as_the_float32_one(served, weights_path):
    model, meta = served
    assert make_runner(WithFeatures(model), torch.device("cpu"), "torch", int8_ranges={"x": [0.0, 1.0]}).precision == "fp32"
    image, mask = disc_image(centre=(300, 250), radius=120)
    predictors = [Predictor.from_weights(weights_path, torch.device("cpu"), flip_tta=True, clicks=False, int8=q) for q in (True, False)]
    assert [(p.runner.name, p.runner.precision) for p in predictors] == [("onnx", "int8"), ("onnx", "fp32")]
    answers = [p.predict([image], [extreme_points(mask, np.random.default_rng(0))])[0] for p in predictors]
    assert answers[0].offset == answers[1].offset
    assert np.count_nonzero(answers[0].mask != answers[1].mask) <= 0.002 * answers[0].mask.size
