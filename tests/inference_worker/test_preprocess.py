import numpy as np
import pytest

from inference_worker import preprocess as pre


def test_points_bbox_covers_the_point_pixels():
    box = pre.points_bbox([[10, 50], [90, 40], [30, 5], [40, 80]])
    assert box.tolist() == [10, 5, 91, 81]


def test_relax_box_adds_a_fraction_but_at_least_the_minimum():
    assert pre.relax_box(np.array([0, 0, 1000, 20]), 0.1, 10).tolist() == [-100, -10, 1100, 30]


def test_relax_box_never_collapses():
    x0, y0, x1, y1 = pre.relax_box(np.array([5, 5, 5, 5]), 0.0, 0.0)
    assert x1 - x0 >= pre.MIN_BOX_SIDE and y1 - y0 >= pre.MIN_BOX_SIDE


def test_crop_resize_maps_the_box_onto_the_input_and_pads_outside():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, 50:] = 200
    crop = pre.crop_resize(image, np.array([0.0, 0.0, 100.0, 200.0]), size=64)
    assert crop.shape == (64, 64, 3)
    assert crop[10, 5, 0] == 0 and crop[10, 60, 0] == 200  # left dark, right bright
    assert (crop[40:, :, :] == pre.PAD_VALUE).all()  # below the image: padding


def test_crop_resize_shrinks_large_boxes_without_aliasing():
    stripes = np.zeros((2000, 2000, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes average to grey when shrunk properly
    crop = pre.crop_resize(stripes, np.array([0.0, 0.0, 2000.0, 2000.0]), size=64)
    assert abs(float(crop.mean()) - 127.5) < 3 and crop.std() < 10


def test_points_map_into_the_crop_consistently_with_the_pixels():
    image = np.zeros((200, 300), np.uint8)
    image[120, 70] = 255
    box = np.array([50.0, 100.0, 150.0, 200.0])
    crop = pre.crop_resize(image.astype(np.float32), box, size=100, interpolation=0)
    x, y = pre.points_to_crop(np.array([[70, 120]]), box, size=100)[0]
    assert crop[int(round(y)), int(round(x))] == 255


def test_point_heatmap_peaks_at_each_point_and_is_bounded():
    heat = pre.point_heatmap(np.array([[10, 20], [50, 60]]), size=64, sigma=3)
    assert heat.shape == (64, 64) and heat.dtype == np.float32
    assert heat[20, 10] == pytest.approx(1.0) and heat[60, 50] == pytest.approx(1.0)
    assert heat.max() <= 1.0 and heat[0, 63] < 1e-3


def test_network_input_has_four_normalised_channels():
    x = pre.network_input(np.full((8, 8, 3), 255, np.uint8), np.zeros((8, 8), np.float32))
    assert x.shape == (4, 8, 8) and x.dtype == np.float32
    assert np.allclose(x[:3], 1.0) and np.allclose(x[3], -1.0)


def test_prepare_returns_the_input_and_its_box():
    image = np.zeros((480, 640, 3), np.uint8)
    x, box = pre.prepare(image, np.array([[100, 200], [300, 200], [200, 100], [200, 300]]))
    assert x.shape == (4, pre.INPUT_SIZE, pre.INPUT_SIZE)
    assert box[0] < 100 and box[2] > 301 and box[1] < 100 and box[3] > 301
