"""The model at serving time: load once, pick the device once, preprocess -> inference -> postprocess."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from inference_worker import boxes, confidence, postprocess, preprocess
from inference_worker.clicknet import ClickHead, click_maps
from inference_worker.clicks import grow_to_hold, honour
from inference_worker.memo import Memo, image_key, points_key
from inference_worker.network import Ensemble, ExtremePointNet, WithFeatures, feature_channels
from inference_worker.quantize import RangesError, load_ranges, ranges_for
from inference_worker.refine import RefineSettings, refine_with_models
from inference_worker.runtime import make_runner
from inference_worker.timing import Timings

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "dextr.pt"
CLICK_HEAD_SUFFIX = "-clicks"  # dextr.pt's click head is dextr-clicks.pt beside it


def click_weights_for(path: Path) -> Path:
    """Return where the click head trained for the base weights `path` lives."""
    path = Path(path)
    return path.with_name(path.stem + CLICK_HEAD_SUFFIX + path.suffix)


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
    low_confidence: bool = False  # the score says there is no clear object here
    measures: np.ndarray | None = None  # what the score was computed from (`confidence.measures`)


@dataclass(frozen=True)
class Base:
    """What the four-point networks answer for one object: kept between its correction clicks."""

    prob: np.ndarray  # (S, S) object probabilities in the crop
    features: np.ndarray  # (C, S/4, S/4) the networks' fine features, for the click head
    box: np.ndarray  # the crop box in the image


Forward = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # one (4, S, S) input -> (probabilities, features)


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


def load_click_head(path: Path, base_sha256: str, channels: int) -> ClickHead | None:
    """Return the click head trained on the features of the base weights `base_sha256`; None when
    there is no such file (clicks are then obeyed by the post-processing alone)."""
    path = Path(path)
    if not path.exists():
        return None
    digest = verify_sha256(path)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if blob.get("base_sha256") != base_sha256:
        raise WeightsError(f"{path.name} was trained on other base weights (sha256 {str(blob.get('base_sha256'))[:12]})")
    head = ClickHead(channels)
    head.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
    head.version, head.sha256 = str(blob.get("version", "0")), digest
    return head


class Predictor:
    """Turn images and prompts (four extreme points or a box, correction clicks) into object outlines.

    The four-point networks run once per object and prompt; what they answer (probabilities and
    features in the crop) is kept in a small cache, so each correction click on the same object
    only runs the click head."""

    def __init__(
        self, model: ExtremePointNet | Ensemble, name: str = "dextr@dev", device: torch.device | None = None, input_size: int = preprocess.INPUT_SIZE,
        sha256: str | None = None, flip_tta: bool = False, refine: RefineSettings | None = None, runtime: str = "auto", threads: int = 0,
        click_head: ClickHead | None = None, cache_entries: int = 32, int8_ranges: dict[str, list[float]] | None = None,
    ):
        self.device = device or pick_device()
        self.flip_tta = flip_tta
        self.refine = refine  # None: the thresholded network output as is
        self.name = name
        self.input_size = input_size
        self.sha256 = sha256
        self.runner = make_runner(WithFeatures(model), self.device, runtime, threads, input_size, int8_ranges)
        self.click_head = click_head.to(self.device).eval() if click_head is not None else None
        self.memo = Memo(cache_entries)

    @classmethod
    def from_weights(
        cls, path: Path = DEFAULT_WEIGHTS, device: torch.device | None = None, flip_tta: bool = False, refine: RefineSettings | None = None,
        runtime: str = "auto", threads: int = 0, clicks: bool = True, int8: bool = False,
    ) -> Predictor:
        """Load a committed weights file, checked against its sha256, and the click head made for
        it beside it (`click_weights_for`), when there is one and `clicks`; with `int8`, also the
        int8 ranges measured on it (`quantize.ranges_for`), so ONNX Runtime runs it quantized."""
        model, meta = load_weights(path)
        try:
            ranges = load_ranges(ranges_for(path), meta["sha256"]) if int8 else None
        except RangesError as exc:
            raise WeightsError(str(exc)) from None
        name = f"{meta.get('name', 'dextr')}@{meta.get('version', '0')}"
        input_size = int(meta.get("input_size", preprocess.INPUT_SIZE))
        head = load_click_head(click_weights_for(path), meta["sha256"], feature_channels(model)) if clicks else None
        if head is not None:
            name += f"+clicks@{head.version}"
        return cls(model, name, device, input_size, meta["sha256"], flip_tta, refine, runtime, threads, head, int8_ranges=ranges)

    def warm_up(self) -> None:
        """Run the networks once, so the first request does not pay for the runtime's first-pass set-up."""
        self.infer_batch(np.zeros((1, 4, self.input_size, self.input_size), np.float32))

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
        return np.stack([prob for prob, _ in self.infer_batch(inputs)])

    def infer_batch(self, inputs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Run the network on a batch; return each crop's (probabilities, stride-4 features)."""
        n = len(inputs)
        if self.flip_tta:  # average with the mirrored crop, in the same pass: smoother, more symmetric edges
            logits, features = self.runner(np.concatenate([inputs, inputs[..., ::-1]]))
            probs = (sigmoid(logits[:n]) + sigmoid(logits[n:])[..., ::-1]) / 2
            features = (features[:n] + features[n:, ..., ::-1]) / 2
        else:
            logits, features = self.runner(inputs)
            probs = sigmoid(logits)
        probs = np.ascontiguousarray(probs[:, 0], dtype=np.float32)
        return [(p, np.ascontiguousarray(f, dtype=np.float32)) for p, f in zip(probs, features)]

    def outline(
        self, image: np.ndarray, points: np.ndarray | None = None, box: np.ndarray | None = None, clicks: np.ndarray | None = None,
        forward: Forward | None = None, timings: Timings | None = None, after_networks: Callable[[], None] | None = None,
    ) -> Prediction:
        """Answer one object from four extreme points or a box, corrected by `clicks` (x, y, 1|0 rows).

        `forward` runs the networks on one input (the worker passes its batcher); what does not
        change between requests on the same object is taken from the cache. `after_networks` is
        called once the networks are no longer needed (the batcher then stops waiting for this request)."""
        timings = timings or Timings()
        forward = forward or (lambda x: self.infer_batch(x[None])[0])
        key = image_key(image)
        if points is None:
            points = self.points_in_box(image, key, np.asarray(box, dtype=np.float64), forward, timings)
        base = self.base(image, key, points, forward, timings)
        if after_networks is not None:
            after_networks()
        clicks = np.zeros((0, 3)) if clicks is None else np.asarray(clicks, dtype=np.float64).reshape(-1, 3)
        prob = self.corrected(key, points, base, clicks, timings) if len(clicks) else base.prob
        return self.postprocess(prob, base.box, image, timings, clicks, colours=("colours", key, points_key(points)))

    def base(self, image: np.ndarray, key: str, points: np.ndarray, forward: Forward, timings: Timings) -> Base:
        """Return the four-point networks' answer for the object, from the cache when it is there."""
        memo_key = ("base", key, points_key(points))
        cached = self.memo.get(memo_key)
        if cached is not None:
            return cached
        with timings.stage("preprocess"):
            x, box = preprocess.prepare(image, points, self.input_size)
        prob, features = forward(x)
        return self.memo.put(memo_key, Base(prob, features, box))

    def points_in_box(self, image: np.ndarray, key: str, box: np.ndarray, forward: Forward, timings: Timings) -> np.ndarray:
        """Return four extreme points for the object in a box: a first pass from the sides' middles,
        then on each side the place the object touches it most surely."""
        memo_key = ("box", key, points_key(box))
        cached = self.memo.get(memo_key)
        if cached is not None:
            return cached
        guess = boxes.box_midpoints(box, image.shape)
        first = self.base(image, key, guess, forward, timings)
        with timings.stage("postprocess"):
            window, offset = postprocess.paste_back(first.prob, first.box, image.shape)
            points = boxes.touching_points(window, offset, box, image.shape)
        return self.memo.put(memo_key, points)

    def corrected(self, key: str, points: np.ndarray, base: Base, clicks: np.ndarray, timings: Timings) -> np.ndarray:
        """Return the crop's probabilities after the clicks: the click head run once per click,
        each on the previous one's answer (kept in the cache, so a new click costs one pass)."""
        if self.click_head is None:
            return base.prob
        with timings.stage("correct"):
            object_key = ("clicks", key, points_key(points))
            done, logits = self._answered_prefix(object_key, clicks)
            base_logits = torch.logit(torch.from_numpy(base.prob), eps=1e-6)[None, None].to(self.device)
            features = torch.from_numpy(base.features)[None]
            crop_clicks = np.column_stack([preprocess.points_to_crop(clicks[:, :2], base.box, self.input_size), clicks[:, 2]])
            previous = base_logits if logits is None else torch.from_numpy(logits).to(self.device)
            with torch.inference_mode():
                for k in range(done + 1, len(clicks) + 1):
                    maps = click_maps(features, [crop_clicks[:k]], self.input_size).to(self.device)
                    previous = self.click_head(features.to(self.device), base_logits, (previous > 0).float(), maps)
                    self.memo.put((*object_key, points_key(clicks[:k])), previous.cpu().numpy())
            return torch.sigmoid(previous)[0, 0].float().cpu().numpy()

    def _answered_prefix(self, object_key: tuple, clicks: np.ndarray) -> tuple[int, np.ndarray | None]:
        """Return how many of the clicks the cache already holds an answer for, and that answer's logits."""
        for k in range(len(clicks), 0, -1):
            logits = self.memo.get((*object_key, points_key(clicks[:k])))
            if logits is not None:
                return k, logits
        return 0, None

    def postprocess(
        self, prob: np.ndarray, box: np.ndarray, image: np.ndarray, timings: Timings | None = None, clicks: np.ndarray | None = None,
        colours: tuple | None = None,
    ) -> Prediction:
        """Paste one crop's probabilities back, threshold (or refine on the image), obey the clicks, trace the outline.

        `timings` gets the "refine" stage (GrabCut, or the threshold when refinement is off) and
        the rest (pasting back, tracing, scoring) as "postprocess". `colours` is the object's key for
        the refinement's colour models: kept from its four-point answer, started from by its corrections."""
        timings = timings or Timings()
        clicks = np.zeros((0, 3)) if clicks is None else clicks
        with timings.stage("postprocess"):
            window, offset = postprocess.paste_back(prob, box, image.shape)
        with timings.stage("refine"):
            mask = self._mask(window, offset, image, clicks, colours)
        with timings.stage("postprocess"):
            if len(clicks):
                (window, mask), offset = grow_to_hold([window, mask], offset, clicks, image.shape)
                mask = honour(mask, clicks, offset)
            polygons = postprocess.mask_to_polygons(mask, offset, clicks=clicks)
            measures = confidence.measures(window, mask)
            score = confidence.score(measures)
            bbox = postprocess.polygons_bbox(polygons)
        return Prediction(polygons, bbox, score, mask, offset, confidence.is_low(score), measures)

    def _mask(self, window: np.ndarray, offset: tuple[int, int], image: np.ndarray, clicks: np.ndarray, colours: tuple | None = None) -> np.ndarray:
        """Return the object's 0/1 mask over the window: refined on the image (clicks as sure seeds), or thresholded.

        A four-point answer keeps GrabCut's colour models under `colours`; a correction starts
        from them when they are there (no clustering: cheaper, and as good on davis345)."""
        if self.refine is None:
            return postprocess.threshold(window)
        x0, y0 = offset
        local = np.column_stack([clicks[:, 0] - x0, clicks[:, 1] - y0, clicks[:, 2]]) if len(clicks) else None
        models = self.memo.get(colours) if colours is not None and local is not None else None
        mask, learned = refine_with_models(image[y0:y0 + window.shape[0], x0:x0 + window.shape[1]], window, self.refine, local, models)
        if colours is not None and local is None and learned is not None:
            self.memo.put(colours, learned)
        return mask
