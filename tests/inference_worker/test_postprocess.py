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


def test_mask_to_polygons_simplifies_a_disc_to_a_few_vertices():
    mask = np.zeros((200, 200), np.uint8)
    cv2.circle(mask, (100, 100), 60, 1, -1)
    polygon = np.array(post.mask_to_polygons(mask)[0], np.int32)
    redrawn = np.zeros_like(mask)
    cv2.fillPoly(redrawn, [polygon], 1)
    assert 8 < len(polygon) <= 40
    assert np.count_nonzero(redrawn != mask) < 0.03 * mask.sum()
    assert len(post.mask_to_polygons(mask, min_iou=1.0)[0]) > 200  # exact: every contour pixel


def test_mask_to_polygons_of_an_empty_mask_is_empty():
    assert post.mask_to_polygons(np.zeros((10, 10), np.uint8)) == []
    assert post.polygons_bbox([]) is None


def test_polygons_bbox():
    assert post.polygons_bbox([[[1, 2], [5, 2], [5, 9]], [[0, 4], [2, 4], [2, 5]]]) == [0, 2, 5, 9]


def test_outlines_are_economical_and_keep_the_region():
    """A person edits 20-60 vertices: a large wobbly blob comes back with few, its area kept."""
    mask = np.zeros((400, 400), np.uint8)
    angles = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    radius = 150 + 12 * np.sin(5 * angles) + np.random.default_rng(0).normal(0, 1.0, angles.size)
    outline = np.column_stack([200 + radius * np.cos(angles), 200 + radius * np.sin(angles)]).round().astype(np.int32)
    cv2.fillPoly(mask, [outline], 1)
    [polygon] = post.mask_to_polygons(mask)
    redrawn = np.zeros_like(mask)
    cv2.fillPoly(redrawn, [np.array(polygon, np.int32)], 1)
    exact = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0][0]
    assert len(polygon) <= 40 < len(exact) / 10
    assert np.count_nonzero(redrawn & mask) / np.count_nonzero(redrawn | mask) >= post.MIN_OUTLINE_IOU
    assert all(float(v).is_integer() for p in polygon for v in p)


def test_fitted_vertices_keep_more_of_a_bend_than_chords_do():
    mask = np.zeros((200, 200), np.uint8)
    cv2.circle(mask, (100, 100), 80, 1, -1)
    contour = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0][0].reshape(-1, 2)
    chords = cv2.approxPolyDP(contour.reshape(-1, 1, 2), 3.0, True).reshape(-1, 2)
    fitted = post.fit_vertices(contour, 3.0)
    assert len(fitted) == len(chords)
    assert abs(cv2.contourArea(fitted.astype(np.float32)) - mask.sum()) < abs(cv2.contourArea(chords.astype(np.float32)) - mask.sum())
