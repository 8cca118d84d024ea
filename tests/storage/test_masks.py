"""Masks drawn from polygons, their PNG encodings and the label map."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from storage.masks import draw_mask, has_area, labelmap_text, png_bytes, voc_colormap


def test_polygons_are_filled_with_their_index_later_over_earlier():
    mask = draw_mask(20, 10, [(1, [(0, 0), (9, 0), (9, 9), (0, 9)]), (2, [(5, 0), (14, 0), (14, 9), (5, 9)])])
    pixels = np.array(mask)
    assert pixels.shape == (10, 20) and pixels.dtype == np.uint8
    assert pixels[5, 2] == 1 and pixels[5, 7] == 2 and pixels[5, 12] == 2 and pixels[5, 18] == 0


def test_grayscale_and_palette_pngs_keep_the_indexes():
    mask = draw_mask(8, 8, [(3, [(0, 0), (7, 0), (7, 7)])])
    gray = Image.open(io.BytesIO(png_bytes(mask)))
    assert gray.mode == "L" and np.array_equal(np.array(gray), np.array(mask))
    palette = Image.open(io.BytesIO(png_bytes(mask, [(0, 0, 0), (1, 1, 1), (2, 2, 2), (250, 10, 20)])))
    assert palette.mode == "P" and np.array_equal(np.array(palette), np.array(mask))
    assert palette.getpalette()[9:12] == [250, 10, 20]


def test_only_shapes_with_an_area_are_drawn_and_indexes_fit_a_byte():
    assert has_area("polygon", [(0, 0), (1, 0), (1, 1)]) and has_area("bndbox", [(0, 0), (1, 0), (1, 1), (0, 1)])
    assert not has_area("polyline", [(0, 0), (1, 0), (1, 1)]) and not has_area("point", [(0, 0)])
    with pytest.raises(ValueError):
        draw_mask(4, 4, [(256, [(0, 0), (3, 0), (3, 3)])])


def test_voc_colormap_and_labelmap():
    assert voc_colormap()[:4] == [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
    assert labelmap_text([("cat", (255, 0, 0))]) == "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:255,0,0::\n"
