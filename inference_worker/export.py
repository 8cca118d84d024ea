"""Turn a training checkpoint into committed serving weights: `python -m inference_worker.export`.

Writes `<out>.pt` (the network's state dict, fp16 by default, plus its name, version, variant
and input size) and `<out>.pt.sha256`, which the predictor checks before loading. Given several
sources (checkpoints or exported weights), it writes one ensemble whose logits are averaged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from inference_worker.network import Ensemble, ExtremePointNet, networks_of
from inference_worker.predictor import DEFAULT_WEIGHTS, click_weights_for, from_blob, sha256_of, verify_sha256
from inference_worker.preprocess import INPUT_SIZE


def _tensors(model: ExtremePointNet, fp16: bool) -> dict:
    """Return a copy of the network's state dict, floating tensors halved with `fp16`."""
    return {k: (v.half() if fp16 and v.is_floating_point() else v).clone() for k, v in model.state_dict().items()}


def write_weights(
    model: ExtremePointNet | Ensemble, out: Path, name: str, version: str, fp16: bool = True, extra: dict | None = None, input_size: int = INPUT_SIZE
) -> str:
    """Save the model's weights with their metadata and sha256 file; return the sha256.

    An ensemble is written as its members' variants and tensors, in order.
    """
    blob = {"name": name, "version": version, "variant": model.variant, "input_size": input_size, **(extra or {})}
    if isinstance(model, Ensemble):
        blob["members"] = [{"variant": m.variant, "state_dict": _tensors(m, fp16)} for m in model.members]
    else:
        blob["state_dict"] = _tensors(model, fp16)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(blob, out)
    digest = sha256_of(out)
    out.with_suffix(out.suffix + ".sha256").write_text(f"{digest}  {out.name}\n")
    return digest


def write_click_head(checkpoint: Path, out: Path, version: str) -> str:
    """Write a train_clicks checkpoint's head (fp16) beside its base weights, with its sha256; return the sha256.

    The head keeps the sha256 of the base weights it was trained on: the predictor refuses it with any others."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    blob = {
        "name": "clicks", "version": version, "base_sha256": state["base_sha256"], "step": state["step"], "val_iou_after_clicks": state["val"],
        "state_dict": {k: v.half().clone() for k, v in state["head"].items()},
    }
    torch.save(blob, out)
    digest = sha256_of(out)
    out.with_suffix(out.suffix + ".sha256").write_text(f"{digest}  {out.name}\n")
    return digest


def load_source(path: Path) -> tuple[ExtremePointNet | Ensemble, dict]:
    """Read a train.py checkpoint, or an exported weights file (checked against its sha256)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "model" not in state:  # exported weights: refused unless they match their recorded sha256
        return from_blob(state, verify_sha256(path))
    model = ExtremePointNet(state["variant"])
    model.load_state_dict(state["model"])
    meta = {"epoch": state["epoch"], "step": state["step"], "val_iou": float(state["val_iou"])}
    return model, {**meta, "input_size": int(state.get("input_size", INPUT_SIZE))}


def describe(meta: dict) -> str:
    """Name one source of an ensemble: the exported model's name@version, or the checkpoint's step."""
    if "name" in meta:
        return f"{meta['name']}@{meta.get('version', '0')} (sha256 {meta['sha256'][:12]})"
    return f"checkpoint epoch {meta['epoch']} step {meta['step']} (val IoU {meta['val_iou']:.4f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", type=Path, nargs="+", help="train.py checkpoints (best.pt, latest.pt) or exported weights; several make an ensemble")
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--name", default="dextr")
    parser.add_argument("--version", default="1")
    parser.add_argument("--input-size", type=int, help="crop side to serve at (default: the first source's)")
    parser.add_argument("--fp32", action="store_true", help="keep fp32 instead of fp16")
    parser.add_argument("--click-head", action="store_true", help="the source is a train_clicks checkpoint: write its head beside --out's weights")
    args = parser.parse_args(argv)
    if args.click_head:
        out = click_weights_for(args.out)
        print(f"wrote {out}, sha256 {write_click_head(args.sources[0], out, args.version)}")
        return
    loaded = [load_source(path) for path in args.sources]
    if len(loaded) == 1:
        model, meta = loaded[0]
        extra = {k: meta[k] for k in ("epoch", "step", "val_iou") if k in meta}
    else:
        members = [network for model, _ in loaded for network in networks_of(model)]
        model, extra = Ensemble(members), {"sources": [describe(meta) for _, meta in loaded]}
    input_size = args.input_size or int(loaded[0][1].get("input_size", INPUT_SIZE))
    digest = write_weights(model, args.out, args.name, args.version, not args.fp32, extra, input_size)
    print(f"wrote {args.out} ({model.variant}, {args.out.stat().st_size / 1e6:.1f} MB, {input_size} px), sha256 {digest}")


if __name__ == "__main__":
    main()
