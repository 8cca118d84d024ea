import numpy as np
import pytest
import torch

from inference_worker import data
from inference_worker.extreme_points import extreme_points
from inference_worker.memo import image_key, points_key
from inference_worker.postprocess import full_mask
from inference_worker.predictor import Predictor, WeightsError, load_weights, sha256_of
from inference_worker.refine import RefineSettings
from tests.inference_worker.conftest import disc_image


def test_committed_weights_match_their_sha256(weights_path):
    recorded = weights_path.with_suffix(".pt.sha256").read_text().split()[0]
    assert sha256_of(weights_path) == recorded
    assert weights_path.stat().st_size <= 25 * 1024 * 1024


def test_altered_weights_are_refused(weights_path, tmp_path):
    copy = tmp_path / "w.pt"
    copy.write_bytes(weights_path.read_bytes() + b"\0")
    (tmp_path / "w.pt.sha256").write_text(weights_path.with_suffix(".pt.sha256").read_text())
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(copy)


def test_weights_without_a_checksum_are_refused(weights_path, tmp_path):
    copy = tmp_path / "w.pt"
    copy.write_bytes(weights_path.read_bytes())
    with pytest.raises(WeightsError, match="checksum"):
        load_weights(copy)


def test_predictor_outlines_a_synthetic_object(predictor):
    image, mask = disc_image()
    points = extreme_points(mask, np.random.default_rng(0))
    pred = predictor.predict([image], [points])[0]
    assert data.iou(full_mask(pred.mask, pred.offset, image.shape), mask) > 0.85
    assert pred.polygons and 0.5 < pred.score <= 1.0
    xmin, ymin, xmax, ymax = pred.bbox
    assert abs(xmin - 220) < 8 and abs(xmax - 420) < 8 and abs(ymin - 140) < 8 and abs(ymax - 340) < 8


def test_predictor_batches_give_the_same_answers_as_single_calls(predictor):
    a, mask_a = disc_image(centre=(200, 200), radius=80)
    b, mask_b = disc_image(centre=(400, 260), radius=120)
    rng = np.random.default_rng(0)
    points = [extreme_points(mask_a, rng), extreme_points(mask_b, rng)]
    batch = predictor.predict([a, b], points)
    single = predictor.predict([b], points[1:])
    assert np.array_equal(batch[1].mask, single[0].mask)


def test_inference_runs_without_autograd(predictor):
    inputs, _ = predictor.preprocess(*zip((disc_image()[0], np.array([[220, 240], [419, 240], [320, 141], [320, 339]]))))
    probs = predictor.inference(inputs)
    assert probs.shape == (1, predictor.input_size, predictor.input_size)
    assert probs.min() >= 0 and probs.max() <= 1
    assert predictor.device == torch.device("cpu")


def test_flip_tta_keeps_the_shape_and_is_mirror_symmetric(weights_path):
    predictor = Predictor.from_weights(weights_path, torch.device("cpu"), flip_tta=True)
    image, mask = disc_image()
    inputs, _ = predictor.preprocess([image], [extreme_points(mask, np.random.default_rng(0))])
    probs = predictor.inference(inputs)
    mirrored = predictor.inference(np.ascontiguousarray(inputs[..., ::-1]))
    assert probs.shape == (1, predictor.input_size, predictor.input_size)
    assert np.allclose(probs, mirrored[..., ::-1], atol=1e-5)


def test_a_correction_click_starts_the_refinement_from_the_four_point_answers_colours(weights_path, monkeypatch):
    import inference_worker.predictor as module

    predictor = Predictor.from_weights(weights_path, torch.device("cpu"), refine=RefineSettings())
    given = []
    real = module.refine_with_models
    monkeypatch.setattr(module, "refine_with_models", lambda *args: (given.append(args[4]), real(*args))[1])
    image, mask = disc_image(centre=(300, 250), radius=110)
    points = extreme_points(mask, np.random.default_rng(0))
    predictor.outline(image, points)
    answer = predictor.outline(image, points, clicks=np.array([[300.0, 250.0, 0.0]]))
    assert given[0] is None and given[1] is not None and given[1] is predictor.memo.get(("colours", image_key(image), points_key(points)))
    assert answer.mask[250 - answer.offset[1], 300 - answer.offset[0]] == 0
    predictor.memo.clear()  # an object whose four-point answer is not kept: its colours are clustered again
    predictor.outline(image, points, clicks=np.array([[300.0, 250.0, 0.0]]))
    assert given[2] is None
