"""Training end to end on a tiny synthetic set: checkpoint, export, and serving at the trained size."""
from __future__ import annotations

import cv2
import numpy as np
import torch
from PIL import Image

from inference_worker import export, train
from inference_worker.predictor import Predictor

from .conftest import disc_image


def write_set(root, davis: bool, count: int = 4):
    """Write `count` disc photos with masks in the layout of coco_mval (0/255) or davis345 (palette)."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(count):
        image, mask = disc_image(160, 120, (60 + 10 * i, 60), 30 + 5 * i)
        cv2.imwrite(str(root / "images" / f"{i:03d}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if davis:
            png = Image.fromarray(mask, mode="P")
            png.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
        else:
            png = Image.fromarray(mask * 255)
        png.save(root / "masks" / f"{i:03d}.png")


def test_a_run_at_another_input_size_exports_weights_the_predictor_serves_at_that_size(tmp_path, weights_path):
    data_root = tmp_path / "data"
    write_set(data_root / "coco_mval", davis=False)
    write_set(data_root / "davis345", davis=True, count=6)
    checkpoints = tmp_path / "checkpoints"
    train.main([
        "--data", str(data_root), "--checkpoints", str(checkpoints), "--init", str(weights_path),
        "--epochs", "1", "--batch-size", "2", "--input-size", "96", "--threads", "1", "--paste-prob", "0.5",
    ])
    state = torch.load(checkpoints / "latest.pt", map_location="cpu", weights_only=True)
    assert state["input_size"] == 96 and state["step"] == 2 and state["epoch"] == 1
    assert (checkpoints / "best.pt").exists()

    out = tmp_path / "weights" / "tiny.pt"
    export.main([str(checkpoints / "best.pt"), "--out", str(out), "--version", "9"])
    predictor = Predictor.from_weights(out, torch.device("cpu"))
    assert predictor.input_size == 96 and predictor.name == "dextr@9"
    image, mask = disc_image()
    ys, xs = np.nonzero(mask)
    points = np.array([[xs.min(), ys[xs.argmin()]], [xs.max(), ys[xs.argmax()]], [xs[ys.argmin()], ys.min()], [xs[ys.argmax()], ys.max()]], float)
    inputs, _ = predictor.preprocess([image], [points])
    assert inputs.shape == (1, 4, 96, 96)
    assert predictor.predict([image], [points])[0].polygons
