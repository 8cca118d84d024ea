"""evaluate scores what a client gets: the answered polygons drawn back into a mask."""
from __future__ import annotations

import numpy as np

from inference_worker import data
from inference_worker.evaluate import polygons_mask
from inference_worker.postprocess import MIN_OUTLINE_IOU, mask_to_polygons

from .conftest import disc_image


def test_polygon_vertices_are_pixel_centres_and_their_pixels_count():
    mask = polygons_mask([[[2, 2], [5, 2], [5, 5], [2, 5]]], (8, 8, 3))
    assert mask.sum() == 16 and mask[2, 2] == 1 and mask[5, 5] == 1 and mask[6, 6] == 0


def test_outlines_of_a_mask_draw_back_to_nearly_the_same_mask():
    _, mask = disc_image(200, 160, (90, 80), 50)
    ring = mask.copy()
    ring[75:85, 85:95] = 0  # a hole: the answer holds outer contours only, so it comes back filled
    drawn = polygons_mask(mask_to_polygons(ring, (0, 0)), mask.shape)
    assert data.iou(drawn, mask) >= MIN_OUTLINE_IOU  # economical outlines keep this much of the region
    assert data.iou(polygons_mask(mask_to_polygons(ring, (0, 0), min_iou=1.0), mask.shape), mask) > 0.999  # exact ones all of it
    assert drawn[80, 90] == 1


def write_set(root, palette: bool):
    """One 640x480 disc photo with its mask, as grey (0/255) or palette ids (1 = the disc, 2 = a box)."""
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    image, mask = disc_image()
    Image.fromarray(image).save(root / "images" / "disc.png")
    if palette:
        ids = mask.copy()
        ids[10:40, 10:60] = 2
        png = Image.fromarray(ids, mode="P")
        png.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0, 0, 0] * 253)
    else:
        png = Image.fromarray(mask * 255)
    png.save(root / "masks" / "disc.png")
    return mask


def test_any_folder_of_grey_or_palette_masks_can_be_scored(tmp_path):
    from inference_worker.evaluate import frames

    disc = write_set(tmp_path / "grey", palette=False)
    ((image, mask, void, points),) = list(frames(tmp_path / "grey"))
    assert image.shape == (480, 640, 3) and np.array_equal(mask, disc) and not void.any()
    assert points[:, 0].min() == 220 and points[:, 0].max() == 420  # the disc's extreme columns

    write_set(tmp_path / "palette", palette=True)
    assert [int(m.sum()) for _, m, _, _ in frames(tmp_path / "palette")] == [int(disc.sum()) + 1500]
    assert sorted(int(m.sum()) for _, m, _, _ in frames(tmp_path / "palette", instances=True)) == [1500, int(disc.sum())]


def test_a_running_worker_is_scored_over_http(tmp_path, weights_path):
    import threading

    from werkzeug.serving import make_server

    from inference_worker.app import create_app
    from inference_worker.evaluate import evaluate, frames, http_segmenter

    write_set(tmp_path / "set", palette=False)
    server = make_server("127.0.0.1", 0, create_app({"weights": weights_path}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = evaluate(http_segmenter(url), frames(tmp_path / "set"), with_grabcut=True)
        assert result["frames"] == 1 and result["model"] > 90 and result["grabcut"] > 50
        image = np.zeros((40, 40, 3), np.uint8)
        try:
            http_segmenter(url)(image, np.array([[1.0, 1.0]] * 4))
        except RuntimeError as exc:
            assert "400" in str(exc) and "points" in str(exc)
        else:
            raise AssertionError("a refused request must raise")
    finally:
        server.shutdown()


def test_the_command_scores_a_folder_the_same_on_every_run(tmp_path, weights_path, capsys):
    from inference_worker.evaluate import main

    write_set(tmp_path / "set", palette=True)
    args = ["--set", str(tmp_path / "set"), "--weights", str(weights_path), "--instances", "--refine", "--refine-max-pixels", "20000", "--threads", "1"]
    main(args)
    first = capsys.readouterr().out
    main(args)
    assert capsys.readouterr().out.split("(")[0] == first.split("(")[0]
    assert "set: 2 objects, each on its own" in first and "GrabCut refinement" in first
    model_line = next(line for line in first.splitlines() if line.startswith("model "))
    assert float(model_line.split("mIoU ")[1].split()[0]) > 50


def test_the_command_simulates_correction_clicks(tmp_path, weights_path, capsys):
    from inference_worker.evaluate import main

    write_set(tmp_path / "set", palette=True)
    main(["--set", str(tmp_path / "set"), "--weights", str(weights_path), "--instances", "--clicks", "2", "--noc-max", "3", "--threads", "1"])
    out = capsys.readouterr().out
    curve = next(line for line in out.splitlines() if "mIoU after 0..2 corrections" in line)
    ious = [float(part.split(": ")[1]) for part in curve.split("corrections")[1].split("  ") if ": " in part]
    assert len(ious) == 3 and ious[2] >= ious[0] - 1.0 and ious[0] > 50
    noc = next(line for line in out.splitlines() if "NoC@85" in line)
    assert "NoC@90" in noc and "(at most 3)" in noc
