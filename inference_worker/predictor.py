"""The model at serving time: load once, pick the device once, preprocess -> inference -> postprocess."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from inference_worker import postprocess, preprocess
from inference_worker.network import Ensemble, ExtremePointNet
from inference_worker.refine import RefineSettings, refine
from inference_worker.runtime import make_runner
from inference_worker.timing import Timings

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "dextr.pt"


class WeightsError(RuntimeError):
    """The weights file is missing, altered, or does not fit the network."""


@dataclass
class Prediction:
    """One object's outline in the image's pixel frame."""

    polygons: list[list[list[float]]]
    bbox: list[float] | None
    score: float
    mask: np.ndarray  # 0/1 over the crop box's window inside the image
    offset: tuple[int, int]  # (x, y) of the window in the image


def pick_device() -> torch.device:
    """Return CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Return the probabilities of logits, without overflow for large negative values."""
    return torch.sigmoid(torch.from_numpy(np.ascontiguousarray(logits))).numpy()


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path) -> str:
    """Return the weights' sha256, refusing a file that differs from the one recorded beside it."""
    record = path.with_suffix(path.suffix + ".sha256")
    if not record.exists():
        raise WeightsError(f"no checksum file {record.name} beside {path}")
    expected = record.read_text().split()[0]
    actual = sha256_of(path)
    if actual != expected:
        raise WeightsError(f"{path} does not match its recorded sha256")
    return actual


def _network(variant: str, state_dict: dict) -> ExtremePointNet:
    """Build one network and load its (possibly fp16) tensors as fp32."""
    model = ExtremePointNet(variant)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()})
    return model


def load_weights(path: Path) -> tuple[ExtremePointNet | Ensemble, dict]:
    """Build the network (or the ensemble the file lists) from a checked weights file; return
    it and the file's metadata."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights file {path} not found")
    digest = verify_sha256(path)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    return from_blob(blob, digest)


def from_blob(blob: dict, digest: str) -> tuple[ExtremePointNet | Ensemble, dict]:
    """Build the network, or the ensemble of the networks it lists, from a checked weights file's
    contents; return it and the file's metadata with its sha256."""
    if "members" in blob:
        model = Ensemble([_network(m["variant"], m["state_dict"]) for m in blob["members"]])
    else:
        model = _network(blob["variant"], blob["state_dict"])
    return model, {**{k: v for k, v in blob.items() if k not in ("state_dict", "members")}, "sha256": digest}


class Predictor:
    """Turn images and their four extreme points into object outlines, a batch at a time."""

    def __init__(
        self, model: ExtremePointNet | Ensemble, name: str = "dextr@dev", device: torch.device | None = None, input_size: int = preprocess.INPUT_SIZE,
        sha256: str | None = None, flip_tta: bool = False, refine: RefineSettings | None = None, runtime: str = "auto", threads: int = 0,
    ):
        self.device = device or pick_device()
        self.flip_tta = flip_tta
        self.refine = refine  # None: the thresholded network output as is
        self.name = name
        self.input_size = input_size
        self.sha256 = sha256
        self.runner = make_runner(model, self.device, runtime, threads, input_size)

    @classmethod
    def from_weights(
        cls, path: Path = DEFAULT_WEIGHTS, device: torch.device | None = None, flip_tta: bool = False, refine: RefineSettings | None = None,
        runtime: str = "auto", threads: int = 0,
    ) -> Predictor:
        """Load a committed weights file, checked against its sha256."""
        model, meta = load_weights(path)
        name = f"{meta.get('name', 'dextr')}@{meta.get('version', '0')}"
        input_size = int(meta.get("input_size", preprocess.INPUT_SIZE))
        return cls(model, name, device, input_size, meta["sha256"], flip_tta, refine, runtime, threads)

    def predict(self, images: list[np.ndarray], points: list[np.ndarray]) -> list[Prediction]:
        """Predict one outline per (image, points) pair."""
        inputs, boxes = self.preprocess(images, points)
        probs = self.inference(inputs)
        return [self.postprocess(p, box, image) for p, box, image in zip(probs, boxes, images)]

    def preprocess(self, images: list[np.ndarray], points: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Return the stacked network inputs and each crop box."""
        prepared = [preprocess.prepare(img, pts, self.input_size) for img, pts in zip(images, points)]
        return np.stack([x for x, _ in prepared]), [box for _, box in prepared]

    def inference(self, inputs: np.ndarray) -> np.ndarray:
        """Run the network on a batch; return the object probabilities in each crop."""
        if self.flip_tta:  # average with the mirrored crop: smoother, more symmetric edges
            n = len(inputs)
            probs = sigmoid(self.runner(np.concatenate([inputs, inputs[..., ::-1]])))
            probs = (probs[:n] + probs[n:, ..., ::-1]) / 2
        else:
            probs = sigmoid(self.runner(inputs))
        return np.ascontiguousarray(probs[:, 0], dtype=np.float32)

    def postprocess(self, prob: np.ndarray, box: np.ndarray, image: np.ndarray, timings: Timings | None = None) -> Prediction:
        """Paste one crop's probabilities back, threshold (or refine on the image), trace the outline.

        `timings` gets the "refine" stage (GrabCut, or the threshold when refinement is off) and
        the rest (pasting back, tracing, scoring) as "postprocess"."""
        timings = timings or Timings()
        with timings.stage("postprocess"):
            window, offset = postprocess.paste_back(prob, box, image.shape)
        with timings.stage("refine"):
            mask = self._mask(window, offset, image)
        with timings.stage("postprocess"):
            polygons = postprocess.mask_to_polygons(mask, offset)
            score = postprocess.mask_score(window, mask)
            bbox = postprocess.polygons_bbox(polygons)
        return Prediction(polygons, bbox, score, mask, offset)

    def _mask(self, window: np.ndarray, offset: tuple[int, int], image: np.ndarray) -> np.ndarray:
        """Return the object's 0/1 mask over the window: refined on the image, or thresholded."""
        if self.refine is None:
            return postprocess.threshold(window)
        x0, y0 = offset
        return refine(image[y0:y0 + window.shape[0], x0:x0 + window.shape[1]], window, self.refine)
