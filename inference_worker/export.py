"""Turn a training checkpoint into committed serving weights: `python -m inference_worker.export`.

Writes `<out>.pt` (the network's state dict, fp16 by default, plus its name, version, variant
and input size) and `<out>.pt.sha256`, which the predictor checks before loading.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from inference_worker.network import ExtremePointNet
from inference_worker.predictor import DEFAULT_WEIGHTS, sha256_of
from inference_worker.preprocess import INPUT_SIZE


def write_weights(model: ExtremePointNet, out: Path, name: str, version: str, fp16: bool = True, extra: dict | None = None, input_size: int = INPUT_SIZE) -> str:
    """Save the model's weights with their metadata and sha256 file; return the sha256."""
    state = {k: (v.half() if fp16 and v.is_floating_point() else v).clone() for k, v in model.state_dict().items()}
    blob = {"name": name, "version": version, "variant": model.variant, "input_size": input_size, "state_dict": state, **(extra or {})}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(blob, out)
    digest = sha256_of(out)
    out.with_suffix(out.suffix + ".sha256").write_text(f"{digest}  {out.name}\n")
    return digest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a train.py checkpoint (best.pt or latest.pt)")
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--name", default="dextr-lite0")
    parser.add_argument("--version", default="1")
    parser.add_argument("--fp32", action="store_true", help="keep fp32 instead of fp16")
    args = parser.parse_args(argv)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    model = ExtremePointNet(state["variant"])
    model.load_state_dict(state["model"])
    extra = {"epoch": state["epoch"], "step": state["step"], "val_iou": float(state["val_iou"])}
    digest = write_weights(model, args.out, args.name, args.version, not args.fp32, extra, int(state.get("input_size", INPUT_SIZE)))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB), sha256 {digest}")


if __name__ == "__main__":
    main()
