"""The correction-click head: the extreme-points network's answer, corrected by clicks.

The four-point networks run once per object; the head takes their mask logits and fine
features (kept by the worker between clicks on the same object) and, as extra input channels,
the positive and negative click maps, the previous mask (as RITM does) and, per click kind, how
alike each place's features are to the clicked place's. It answers new mask logits: the base
logits plus a learned correction. Its last layer starts at zero, so before training it answers
exactly the four-point mask; it only runs when a request carries clicks.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HEAD_WIDTH = 32
PROJECTED_FEATURES = 24
DILATIONS = (1, 2, 4, 8, 1)
CLICK_SIGMA_FRACTION = 0.025  # click maps: Gaussians of this fraction of the crop side (8 px at 320)
LOGIT_SCALE = 4.0  # base logits enter as tanh(logits / scale)
INPUT_MAPS = 6  # base logits, previous mask, positive and negative click maps, positive and negative likeness


class ClickHead(nn.Module):
    """Correct the base mask logits from click maps, the previous mask and feature likeness (stride 4)."""

    def __init__(self, feature_channels: int):
        super().__init__()
        self.feature_channels = feature_channels
        self.project = nn.Conv2d(feature_channels, PROJECTED_FEATURES, 1)
        self.entry = nn.Conv2d(PROJECTED_FEATURES + INPUT_MAPS, HEAD_WIDTH, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(HEAD_WIDTH, HEAD_WIDTH, 3, padding=d, dilation=d) for d in DILATIONS)
        self.out = nn.Conv2d(HEAD_WIDTH, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, features: torch.Tensor, logits: torch.Tensor, prev: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """Return corrected logits at the base logits' size.

        features (N, C, h, w) at stride 4; logits and prev (N, 1, H, W) at the crop's size (prev a 0/1
        or probability mask); maps (N, 4, h, w) from `click_maps`."""
        size = features.shape[-2:]
        unit = F.normalize(features, dim=1)
        base = torch.tanh(F.interpolate(logits, size=size, mode="bilinear", align_corners=False) / LOGIT_SCALE)
        previous = F.adaptive_avg_pool2d(prev, size) if prev.shape[-2:] != size else prev
        x = torch.cat([self.project(unit * 4.0), base, previous * 2 - 1, maps], dim=1)
        x = F.relu(self.entry(x))
        for block in self.blocks:
            x = x + F.relu(block(x))
        correction = F.interpolate(self.out(x), size=logits.shape[-2:], mode="bilinear", align_corners=False)
        return logits + correction


def click_maps(features: torch.Tensor, clicks: list[np.ndarray], crop_side: int) -> torch.Tensor:
    """Return (N, 4, h, w) maps: positive and negative click Gaussians, positive and negative likeness.

    `clicks[i]` holds sample i's clicks as (x, y, positive) rows in crop pixels. Likeness is the
    cosine of each place's features with the clicked place's, the highest over clicks of a kind
    (0 without any)."""
    n, _, h, w = features.shape
    scale = h / crop_side
    sigma = CLICK_SIGMA_FRACTION * h
    ys = torch.arange(h, dtype=torch.float32)[:, None]
    xs = torch.arange(w, dtype=torch.float32)[None, :]
    unit = F.normalize(features, dim=1)
    maps = torch.zeros(n, 4, h, w)
    for i, rows in enumerate(clicks):
        for x, y, positive in np.asarray(rows, dtype=np.float64).reshape(-1, 3):
            cx, cy = (x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5
            kind = 0 if positive else 1
            blob = torch.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
            maps[i, kind] = torch.maximum(maps[i, kind], blob)
            ix, iy = int(np.clip(round(cx), 0, w - 1)), int(np.clip(round(cy), 0, h - 1))
            alike = (unit[i] * unit[i, :, iy, ix][:, None, None]).sum(dim=0).clamp(min=0)
            maps[i, 2 + kind] = torch.maximum(maps[i, 2 + kind], alike)
    return maps
