import cv2
import numpy as np

from inference_worker import postprocess as post
from inference_worker import preprocess as pre


def test_paste_back_inverts_the_crop():
    mask = np.zeros((300, 400), np.float32)
    cv2.rectangle(mask, (120, 80), (260, 200), 1.0, -1)
    box = np.array([100.0, 60.0, 280.0, 230.0])
    crop = pre.crop_resize(mask, box, size=256)
    window, offset = post.paste_back(crop, box, mask.shape)
    pasted = post.full_mask(post.threshold(window), offset, mask.shape)
    assert offset == (100, 60) and window.shape == (170, 180)
    assert np.count_nonzero(pasted != mask) < 0.01 * mask.sum()


def test_paste_back_clips_boxes_that_reach_past_the_image():
    window, offset = post.paste_back(np.ones((64, 64), np.float32), np.array([-20.0, -10.0, 50.0, 40.0]), (30, 30))
    assert offset == (0, 0) and window.shape == (30, 30)


def test_threshold_is_strictly_above_the_level():
    assert post.threshold(np.array([0.2, 0.5, 0.51])).tolist() == [0, 0, 1]


def test_mask_to_polygons_traces_outer_contours_in_the_image_frame():
    mask = np.zeros((50, 60), np.uint8)
    mask[10:20, 5:25] = 1
    mask[12:15, 10:15] = 0  # a hole: not an outer contour
    mask[30:45, 40:55] = 1
    polygons = post.mask_to_polygons(mask, offset=(100, 200))
    assert len(polygons) == 2
    first = np.array(polygons[0])
    assert first.min(axis=0).tolist() == [140, 230] and first.max(axis=0).tolist() == [154, 244]
    assert len(polygons[0]) == 4  # a square simplifies to its corners


def test_mask_to_polygons_simplifies_to_about_a_pixel():
    mask = np.zeros((200, 200), np.uint8)
    cv2.circle(mask, (100, 100), 60, 1, -1)
    polygon = np.array(post.mask_to_polygons(mask)[0], np.int32)
    redrawn = np.zeros_like(mask)
    cv2.fillPoly(redrawn, [polygon], 1)
    assert 8 < len(polygon) < 200
    assert np.count_nonzero(redrawn != mask) < 0.03 * mask.sum()


def test_mask_to_polygons_of_an_empty_mask_is_empty():
    assert post.mask_to_polygons(np.zeros((10, 10), np.uint8)) == []
    assert post.polygons_bbox([]) is None


def test_polygons_bbox_and_score():
    assert post.polygons_bbox([[[1, 2], [5, 2], [5, 9]], [[0, 4], [2, 4], [2, 5]]]) == [0, 2, 5, 9]
    prob = np.array([[0.9, 0.7], [0.1, 0.2]])
    assert abs(post.mask_score(prob, post.threshold(prob)) - 0.8) < 1e-9
