"""Exported weights: one network or an ensemble, written with a checksum and served as written."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inference_worker import export
from inference_worker.extreme_points import extreme_points
from inference_worker.network import Ensemble, ExtremePointNet, networks_of
from inference_worker.predictor import Predictor, WeightsError, load_weights

from .conftest import disc_image


def test_an_ensemble_averages_its_members_logits():
    torch.manual_seed(0)
    a, b = ExtremePointNet("lite0").eval(), ExtremePointNet("lite0").eval()
    x = torch.randn(1, 4, 64, 64)
    with torch.inference_mode():
        expected = (a(x) + b(x)) / 2
        got = Ensemble([a, b]).eval()(x)
    assert torch.allclose(got, expected, atol=1e-6)
    assert Ensemble([a, b]).variant == "lite0+lite0"
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])


def test_export_writes_an_ensemble_of_several_sources_that_loads_checked(tmp_path, weights_path):
    """The committed weights (an ensemble) plus a checkpoint: their networks, flattened, averaged."""
    torch.manual_seed(1)
    other = ExtremePointNet("lite0")
    checkpoint = tmp_path / "best.pt"
    torch.save({"model": other.state_dict(), "variant": "lite0", "epoch": 3, "step": 30, "val_iou": 0.5, "input_size": 96}, checkpoint)
    out = tmp_path / "ensemble.pt"
    export.main([str(weights_path), str(checkpoint), "--out", str(out), "--name", "dextr-pair", "--version", "3", "--input-size", "128"])

    served, _ = load_weights(weights_path)
    model, meta = load_weights(out)
    networks = [*networks_of(served), other]
    assert isinstance(model, Ensemble) and model.variant == "+".join(n.variant for n in networks)
    assert meta["input_size"] == 128 and meta["sources"][1] == "checkpoint epoch 3 step 30 (val IoU 0.5000)"
    assert meta["sources"][0].startswith("dextr-lite0-lite2@")
    x = torch.randn(1, 4, 128, 128)
    with torch.inference_mode():
        expected = sum(n.half().float().eval()(x) for n in networks) / len(networks)
        assert torch.allclose(model.eval()(x), expected, atol=1e-4)

    predictor = Predictor.from_weights(out, torch.device("cpu"), flip_tta=True)
    assert predictor.name == "dextr-pair@3" and predictor.input_size == 128
    image, mask = disc_image()
    points = extreme_points(mask, np.random.default_rng(0))
    assert predictor.predict([image], [points])[0].mask.shape[0] > 0

    out.write_bytes(out.read_bytes() + b"\0")
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(out)


def test_an_ensemble_of_one_file_twice_answers_as_the_file_alone(tmp_path, weights_path):
    out = tmp_path / "twice.pt"
    export.main([str(weights_path), str(weights_path), "--out", str(out)])
    single, pair = Predictor.from_weights(weights_path, torch.device("cpu")), Predictor.from_weights(out, torch.device("cpu"))
    image, mask = disc_image()
    points = extreme_points(mask, np.random.default_rng(0))
    inputs, _ = single.preprocess([image], [points])
    assert np.allclose(single.inference(inputs), pair.inference(inputs), atol=1e-5)
