"""Train the correction-click head: `python -m inference_worker.train_clicks` (CPU, wall-clock budget, resumable).

The four-point networks stay frozen (their weights are the committed ones, run by ONNX Runtime
as in the worker); only the small head of `clicknet.py` learns. Iterative training as in RITM:
for each batch of augmented objects, 1 to `--max-clicks` corrective clicks are simulated one at
a time at the largest error of the current prediction (the head's own, without gradients),
and the loss is taken on the answer after the last click. Training sets: coco_mval, pets,
horses and BSDS (the coarsest annotator's regions and the single-object salient masks),
weighted so that whole objects dominate. Validation: every 6th davis345 frame (merged
masks), IoU in the crop after 0, 1 and 3 clicks.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from inference_worker import data
from inference_worker.augment import training_sample
from inference_worker.clicknet import ClickHead, click_maps
from inference_worker.clicks import next_click
from inference_worker.extreme_points import extreme_points
from inference_worker.network import WithFeatures, feature_channels
from inference_worker.predictor import DEFAULT_WEIGHTS, load_weights
from inference_worker.preprocess import crop_box, crop_resize
from inference_worker.runtime import make_runner
from inference_worker.train import DEFAULT_DATA, VAL_EVERY_NTH_FRAME, VAL_SEED, deadline_from, loss_fn, lr_factor, save_atomic

# Share of each training set in the draw: whole objects first, BSDS regions (often parts) least.
SET_WEIGHTS = {"coco_mval": 0.4, "pets": 0.2, "horses": 0.15, "bsds": 0.25}
MIN_OBJECT_PX = 400
HEAD_STEPS_PER_BASE_PASS = 2  # the frozen networks' pass costs most: each one feeds two head steps
LOG_EVERY = 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="the frozen four-point networks")
    parser.add_argument("--checkpoints", type=Path, default=Path("/tmp/clicktrain"))
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--until", help="stop at this UTC time instead (HH:MM or ISO 8601)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--max-clicks", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint-minutes", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def training_objects(root: Path) -> dict[str, list[tuple[Path, Path]]]:
    """List (image, mask) files per training set."""
    sets = {name: [(p.image, p.mask) for p in data.pairs(root / name)] for name in ("coco_mval", "pets", "horses")}
    bsds = root / "bsds"
    with open(bsds / "regions.csv") as f:
        regions = [(bsds / "images" / f"{r['bsds_id']}.jpg", bsds / "regions" / f"{r['stem'].removeprefix('bsds_')}.png")
                   for r in csv.DictReader(f) if r["annotator_coarseness_rank"] == "0"]
    with open(bsds / "salient.csv") as f:
        salient = [(bsds / "images" / f"{r['id']}.jpg", bsds / "salient" / f"{r['id']}.png") for r in csv.DictReader(f) if r["components"] == "1"]
    sets["bsds"] = regions + salient
    return sets


def draw_sample(sets: dict, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return one augmented (input, target) from a weighted draw of set and object."""
    names = list(SET_WEIGHTS)
    while True:
        name = names[int(rng.choice(len(names), p=np.array([SET_WEIGHTS[n] for n in names])))]
        image_path, mask_path = sets[name][int(rng.integers(len(sets[name])))]
        mask = data.read_object_mask(mask_path)
        if mask.sum() >= MIN_OBJECT_PX:
            return training_sample(data.read_rgb(image_path), mask, rng, size)


def validation_set(root: Path, base, size: int) -> list[tuple]:
    """Return (features, logits, target, void) in the crop for every 6th davis345 frame, computed once."""
    rng = np.random.default_rng(VAL_SEED)
    out = []
    from inference_worker.preprocess import network_input, point_heatmap, points_to_crop

    for pair in data.pairs(root / "davis345")[::VAL_EVERY_NTH_FRAME]:
        mask, void = data.read_merged_mask(pair.mask)
        image = data.read_rgb(pair.image)
        points = extreme_points(mask, rng)
        box = crop_box(points)
        x = network_input(crop_resize(image, box, size), point_heatmap(points_to_crop(points, box, size), size))
        logits, features = base(x[None])
        target = crop_resize(mask, box, size, cv2.INTER_NEAREST)
        crop_void = crop_resize(void, box, size, cv2.INTER_NEAREST)
        out.append((torch.from_numpy(features), torch.from_numpy(logits), target, crop_void))
    return out


def simulate(head: ClickHead, features, logits, targets, voids, clicks_n: int, size: int, rng=None, grad_last=False):
    """Run `clicks_n` simulated corrections; return the final logits (with gradients if asked) and each step's mask."""
    n = len(features)
    prev = (logits > 0).float()
    clicks: list[list] = [[] for _ in range(n)]
    masks = [prev[:, 0].numpy() > 0.5]
    out = logits
    for step in range(clicks_n):
        current = masks[-1]
        for i in range(n):
            click = next_click(current[i], targets[i], None if voids is None else voids[i], rng)
            if click is not None:
                clicks[i].append(click)
        maps = click_maps(features, clicks, size)
        last = step == clicks_n - 1
        with torch.set_grad_enabled(grad_last and last):
            out = head(features, logits, prev, maps)
        prev = (out.detach() > 0).float()
        masks.append(prev[:, 0].numpy() > 0.5)
    return out, masks


def validate(head: ClickHead, val: list, size: int) -> list[float]:
    """Return the mean IoU in the crop after 0, 1, 2 and 3 clicks."""
    head.eval()
    scores = np.zeros((len(val), 4))
    with torch.inference_mode():
        for k, (features, logits, target, void) in enumerate(val):
            _, masks = simulate(head, features, logits, [target], [void], 3, size)
            scores[k] = [data.iou(m[0], target, void) for m in masks]
    head.train()
    return scores.mean(axis=0).tolist()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    model, meta = load_weights(args.weights)
    base = make_runner(WithFeatures(model), torch.device("cpu"), "onnx", args.threads, args.input_size)
    head = ClickHead(feature_channels(model))
    optimizer = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=1e-4)
    step, best, started = 0, -1.0, time.time()
    latest = args.checkpoints / "latest.pt"
    if latest.exists():
        state = torch.load(latest, map_location="cpu", weights_only=True)
        head.load_state_dict(state["head"])
        optimizer.load_state_dict(state["optimizer"])
        step, best, started = state["step"], state["best"], state["started"]
        print(f"resumed at step {step}", flush=True)
    deadline = deadline_from(args, time.time()) or started + 60 * args.minutes
    sets = training_objects(args.data)
    val = validation_set(args.data, base, args.input_size)
    print(f"training objects {', '.join(f'{k} {len(v)}' for k, v in sets.items())}; {len(val)} validation frames; "
          f"base {meta['name']}@{meta['version']} frozen; val IoU after 0-3 clicks {validate(head, val, args.input_size)}", flush=True)
    last_save, window, seen = time.time(), time.time(), 0

    def checkpoint() -> None:
        nonlocal best
        scores = validate(head, val, args.input_size)
        score = float(np.mean(scores[1:]))
        state = {"head": head.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "best": max(best, score),
                 "started": started, "val": scores, "base_sha256": meta["sha256"], "input_size": args.input_size}
        save_atomic(state, latest)
        if score > best:
            best = score
            save_atomic(state, args.checkpoints / "best.pt")
        print(f"checkpoint step {step}: val IoU after 0/1/2/3 clicks {' / '.join(f'{s:.4f}' for s in scores)}", flush=True)

    while time.time() < deadline:
        pairs = [draw_sample(sets, rng, args.input_size) for _ in range(args.batch_size)]
        logits, features = base(np.stack([x for x, _ in pairs]))
        logits, features = torch.from_numpy(logits), torch.from_numpy(features)
        targets = [y[0] > 0.5 for _, y in pairs]
        target_t = torch.from_numpy(np.stack([y for _, y in pairs]))
        for _ in range(HEAD_STEPS_PER_BASE_PASS):
            factor = lr_factor(step, (time.time() - started) / max(1.0, deadline - started))
            for group in optimizer.param_groups:
                group["lr"] = args.lr * factor
            out, _ = simulate(head, features, logits, targets, None, int(rng.integers(1, args.max_clicks + 1)), args.input_size, rng, grad_last=True)
            loss = loss_fn(out, target_t)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step % LOG_EVERY == 0:
                print(f"step {step} loss {loss.item():.4f} lr {args.lr * factor:.2e} {seen / (time.time() - window):.2f} objects/s", flush=True)
                window, seen = time.time(), 0
        seen += len(pairs)
        if time.time() - last_save > 60 * args.checkpoint_minutes:
            checkpoint()
            last_save = time.time()
    checkpoint()
    print(f"done: step {step}, best mean val IoU after 1-3 clicks {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
