"""How fast can a generator learn the recolouring at all? Paired L1 training on
``synthetic_recolor``, an upper bound for what an unpaired method learns per step.

The benchmark's transform is known (:func:`translkit.data.recolor.recolor`), so each training
image ``a`` of ``trainA`` has its exact target ``recolor(a)``. Each generator configuration
is trained on those pairs with an L1 loss (Adam, β = (0.5, 0.999), batch 2, random flips)
and scored (A→B PSNR to ``testA_truth``) four times along the way; seconds per step are
measured in the same process, configurations one after another.

    python benchmarks/paired_upper_bound.py                      # ResNet-6 vs U-Net, 1000 steps
    python benchmarks/paired_upper_bound.py --steps 500 --lr 2e-3 \\
        --config 'unet:{"num_downs": 5, "ngf": 16}'

Instance norms run as group norms on CPU, as the training engine runs them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import translkit  # noqa: E402
from translkit.data import list_images, load_rgb  # noqa: E402
from translkit.data.recolor import recolor  # noqa: E402
from translkit.data.synthetic import make_synthetic  # noqa: E402
from translkit.norms import swap_instance_norms  # noqa: E402

CONFIGS = (
    'resnet:{"n_blocks": 6, "ngf": 16}',
    'resnet:{"n_blocks": 6, "ngf": 16, "upsample": "resize_conv"}',
    'resnet:{"n_blocks": 6, "ngf": 16, "upsample": "resize_conv", "norm": "none"}',
    'unet:{"num_downs": 5, "ngf": 16}',
)


def load_split(root: Path, split: str) -> np.ndarray:
    return np.stack([np.asarray(load_rgb(p)) for p in list_images(root / split)])


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def psnr_to_truth(net: torch.nn.Module, test_a: torch.Tensor, truth: np.ndarray) -> float:
    """Mean PSNR (dB) of the 8-bit translations, as translkit's ``psnr`` metric computes it."""
    net.eval()
    with torch.inference_mode():
        out = ((net(test_a).clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy()
    net.train()
    mse = (((out - truth.astype(np.float64)) / 255.0) ** 2).mean(axis=(1, 2, 3))
    return float(np.mean([min(100.0, 10 * math.log10(1 / m)) if m > 0 else 100.0 for m in mse]))


def train_paired(config: str, data: dict, steps: int, lr: float) -> tuple[float, list]:
    """Seconds per step and ``[(step, PSNR)]`` of one generator configuration."""
    name, _, options = config.partition(":")
    torch.manual_seed(0)
    net = translkit.get_registry().generators.create(name, **json.loads(options or "{}"))
    swap_instance_norms(net)
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999), fused=True)
    rng = np.random.default_rng(0)
    curve, train_time = [], 0.0
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(data["a"]), 2)
        x, y = data["a"][idx], data["target"][idx]
        if rng.random() < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        start = time.perf_counter()
        loss = (net(x) - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        train_time += time.perf_counter() - start
        if step % max(1, steps // 4) == 0:
            curve.append((step, psnr_to_truth(net, data["test_a"], data["truth"])))
    return train_time / steps, curve


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("data/synthetic_recolor"))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--config", action="append", metavar='NAME:{"option": value}', help="generator to train"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not (args.data / "trainA").is_dir():
        make_synthetic(args.data, domain_b="recolor")
    train_a = load_split(args.data, "trainA")
    data = {
        "a": to_tensor(train_a),
        "target": to_tensor(recolor(train_a)),
        "test_a": to_tensor(load_split(args.data, "testA")),
        "truth": load_split(args.data, "testA_truth"),
    }
    print(
        f"paired L1 on {args.data} ({len(train_a)} pairs, {train_a.shape[1]} px), lr {args.lr}, "
        f"batch 2, {args.threads} thread(s), torch {torch.__version__}"
    )
    print(f"{'generator':<72}{'s/step':>8}  A→B PSNR (dB) at steps")
    for config in args.config or CONFIGS:
        seconds, curve = train_paired(config, data, args.steps, args.lr)
        points = "  ".join(f"{s}: {p:.2f}" for s, p in curve)
        print(f"{config:<72}{seconds:>8.3f}  {points}", flush=True)


if __name__ == "__main__":
    main()
