"""The ONNX Runtime path gives the network's PyTorch answers, at any batch size and crop side."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_worker.extreme_points import extreme_points
from inference_worker.predictor import Predictor, load_weights
from inference_worker.runtime import OnnxRunner, TorchRunner, make_runner

from .conftest import disc_image


@pytest.fixture(scope="module")
def served(weights_path):
    return load_weights(weights_path)[0]


@pytest.mark.parametrize(("batch", "side"), [(1, 320), (3, 96)])
def test_onnx_logits_match_torch_logits(served, batch, side):
    inputs = np.random.default_rng(batch).normal(size=(batch, 4, side, side)).astype(np.float32)
    onnx, torch_ = make_runner(served, torch.device("cpu"), "onnx"), make_runner(served, torch.device("cpu"), "torch")
    assert isinstance(onnx, OnnxRunner) and isinstance(torch_, TorchRunner)
    got, expected = onnx(inputs), torch_(inputs)
    assert got.shape == expected.shape == (batch, 1, side, side)
    assert np.abs(got - expected).max() < 1e-3


def test_both_runtimes_answer_the_same_mask(weights_path):
    image, mask = disc_image(centre=(300, 250), radius=120)
    points = extreme_points(mask, np.random.default_rng(0))
    answers = [
        Predictor.from_weights(weights_path, torch.device("cpu"), flip_tta=True, runtime=runtime).predict([image], [points])[0]
        for runtime in ("onnx", "torch")
    ]
    assert answers[0].offset == answers[1].offset
    differing = np.count_nonzero(answers[0].mask != answers[1].mask)
    assert differing <= 0.0005 * answers[0].mask.size


def test_auto_is_onnx_on_the_cpu_and_bad_choices_are_refused(served):
    assert make_runner(served, torch.device("cpu")).name == "onnx"
    with pytest.raises(ValueError, match="runtime must be one of"):
        make_runner(served, torch.device("cpu"), "tensorrt")
    with pytest.raises(ValueError, match="CPU only"):
        make_runner(served, torch.device("cuda"), "onnx")


def test_the_served_logits_are_the_networks_logits_averaged(served):
    from inference_worker.network import WithFeatures, networks_of

    x = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 4, 96, 96)).astype(np.float32))
    with torch.inference_mode():
        logits, features = WithFeatures(served.eval())(x)
        each = [network.forward_with_features(x) for network in networks_of(served)]
    assert torch.allclose(logits, torch.stack([logit for logit, _ in each]).mean(dim=0), atol=1e-5)
    assert features.shape == (1, 64, 24, 24)
