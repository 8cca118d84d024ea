"""The DEXTR-style network: an EfficientNet-Lite encoder on RGB + point heatmap, a light FPN decoder.

Module names inside the encoder follow the published EfficientNet-Lite state dicts (`_conv_stem`,
`_blocks.N._expand_conv`, ...) so the ImageNet weights load without a key map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

IN_CHANNELS = 4  # RGB + extreme-point heatmap
STEM_CHANNELS = 32
DECODER_CHANNELS = 64
FINE_CHANNELS = 32
# TF EfficientNet batch-norm settings, which the ImageNet weights were trained with.
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class LiteSpec:
    """The stage layout of one EfficientNet-Lite variant."""

    repeats: tuple[int, ...]
    widths: tuple[int, ...]
    kernels: tuple[int, ...] = (3, 3, 5, 3, 5, 5, 3)
    strides: tuple[int, ...] = (1, 2, 2, 2, 1, 2, 1)
    expands: tuple[int, ...] = (1, 6, 6, 6, 6, 6, 6)


SPECS = {
    "lite0": LiteSpec(repeats=(1, 2, 2, 3, 3, 4, 1), widths=(16, 24, 40, 80, 112, 192, 320)),
    "lite1": LiteSpec(repeats=(1, 3, 3, 4, 4, 5, 1), widths=(16, 24, 40, 80, 112, 192, 320)),
    "lite2": LiteSpec(repeats=(1, 3, 3, 4, 4, 5, 1), widths=(16, 24, 48, 88, 120, 208, 352)),
}
# Stages whose output feeds the decoder: strides 2, 4, 8, 16 and 32.
SKIP_STAGES = (0, 1, 2, 4, 6)


def _bn(channels: int) -> nn.BatchNorm2d:
    """Make a batch norm with the TF settings the ImageNet weights expect."""
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block of EfficientNet-Lite (no squeeze-excite, ReLU6)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class LiteEncoder(nn.Module):
    """EfficientNet-Lite without its head; returns the features at strides 2..32."""

    def __init__(self, spec: LiteSpec, in_channels: int = IN_CHANNELS):
        super().__init__()
        self._conv_stem = nn.Conv2d(in_channels, STEM_CHANNELS, 3, 2, 1, bias=False)
        self._bn0 = _bn(STEM_CHANNELS)
        self._blocks = nn.ModuleList()
        self.stage_ends: list[int] = []
        cin = STEM_CHANNELS
        for reps, cout, k, s, e in zip(spec.repeats, spec.widths, spec.kernels, spec.strides, spec.expands):
            for i in range(reps):
                self._blocks.append(MBConv(cin, cout, k, s if i == 0 else 1, e))
                cin = cout
            self.stage_ends.append(len(self._blocks) - 1)
        self.skip_blocks = {self.stage_ends[i] for i in SKIP_STAGES}
        self.skip_channels = [spec.widths[i] for i in SKIP_STAGES]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        features = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.skip_blocks:
                features.append(x)
        return features


class SeparableConv(nn.Module):
    """Depthwise 3x3 then pointwise 1x1, each with batch norm and ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.depthwise(x)))
        return F.relu(self.bn2(self.pointwise(x)))


def _lateral(cin: int, cout: int) -> nn.Sequential:
    """Make the 1x1 projection of one encoder level onto the decoder width."""
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class FPNDecoder(nn.Module):
    """Top-down FPN from stride 32 to 4, then a fine stage at stride 2 for sharp edges."""

    def __init__(self, skip_channels: list[int]):
        super().__init__()
        fine, *coarse = skip_channels
        self.laterals = nn.ModuleList(_lateral(c, DECODER_CHANNELS) for c in coarse)
        self.smooth = nn.ModuleList(SeparableConv(DECODER_CHANNELS, DECODER_CHANNELS) for _ in coarse[:-1])
        self.fine = SeparableConv(DECODER_CHANNELS + fine, FINE_CHANNELS)
        self.head = nn.Conv2d(FINE_CHANNELS, 1, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.head(self.fine_features(features))

    def fine_features(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Return the fine stage's output at stride 2, the last features before the 1x1 head."""
        fine, *coarse = features
        p = self.laterals[-1](coarse[-1])
        for i in range(len(coarse) - 2, -1, -1):
            lateral = self.laterals[i](coarse[i])
            p = F.interpolate(p, size=lateral.shape[-2:], mode="bilinear", align_corners=False)
            p = self.smooth[i](p + lateral)
        p = F.interpolate(p, size=fine.shape[-2:], mode="bilinear", align_corners=False)
        return self.fine(torch.cat([p, fine], dim=1))


class ExtremePointNet(nn.Module):
    """Predict the object's mask logits in the crop from RGB + point heatmap."""

    def __init__(self, variant: str = "lite0"):
        super().__init__()
        self.variant = variant
        self.encoder = LiteEncoder(SPECS[variant])
        self.decoder = FPNDecoder(self.encoder.skip_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_features(x)[0]

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the mask logits at the input's size and the decoder's fine features (stride 2)."""
        fine = self.decoder.fine_features(self.encoder(x))
        logits = F.interpolate(self.decoder.head(fine), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return logits, fine


class Ensemble(nn.Module):
    """Several trained networks on the same input, their mask logits averaged.

    Networks with different encoders make different mistakes, so their average is better
    than either (see MODEL_CARD.md); the predictor treats it as one network.
    """

    def __init__(self, members: list[ExtremePointNet]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one network")
        self.members = nn.ModuleList(members)
        self.variant = "+".join(m.variant for m in members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


class WithFeatures(nn.Module):
    """The served model: the mask logits, and its networks' fine features at stride 4.

    The correction-click head (`clicknet.py`) works on these features; returning them with the
    logits lets the worker keep them for the next click on the same object instead of running
    the encoder again.
    """

    def __init__(self, model: ExtremePointNet | Ensemble):
        super().__init__()
        self.model = model
        self.variant = model.variant

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fines = [network.decoder.fine_features(network.encoder(x)) for network in networks_of(self.model)]
        # The networks' stride-2 logits are averaged before the one upsampling to the crop's size:
        # bilinear upsampling is linear, so this is the ensemble's answer with one resize, not one per network.
        coarse = torch.stack([network.decoder.head(fine) for network, fine in zip(networks_of(self.model), fines)]).mean(dim=0)
        logits = F.interpolate(coarse, size=x.shape[-2:], mode="bilinear", align_corners=False)
        features = torch.cat([F.avg_pool2d(fine, 2) for fine in fines], dim=1)
        return logits, features


def feature_channels(model: ExtremePointNet | Ensemble) -> int:
    """Return how many feature channels `WithFeatures(model)` gives."""
    return FINE_CHANNELS * len(networks_of(model))


def networks_of(model: ExtremePointNet | Ensemble) -> list[ExtremePointNet]:
    """Return the single networks a model is made of: an ensemble's members, or the network itself."""
    return list(model.members) if isinstance(model, Ensemble) else [model]


def load_imagenet_encoder(model: ExtremePointNet, path: str) -> None:
    """Initialise the encoder from an ImageNet EfficientNet-Lite state dict.

    The heatmap channel of the stem starts as the mean of the RGB filters: each filter then
    answers a point blob as it would a bright grey spot, so the channel carries signal from
    the first step instead of waiting for zero weights to grow.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith(("_conv_head", "_bn1", "_fc"))}
    rgb = state["_conv_stem.weight"]
    state["_conv_stem.weight"] = torch.cat([rgb, rgb.mean(dim=1, keepdim=True)], dim=1)
    missing, unexpected = model.encoder.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"encoder weights do not fit: missing {missing}, unexpected {unexpected}")
