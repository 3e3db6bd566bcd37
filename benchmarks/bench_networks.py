"""Parameter counts and training-step cost of the built-in networks, side by side.

For each network: parameters, milliseconds per forward + backward pass (median of
``--repeats``, run round-robin after one warm-up pass) and, on CUDA, the peak memory.
Ratios compare variants measured in this same run (``resize_conv`` vs ``transposed``
upsampling, batch vs instance norm), never numbers from elsewhere.

    python benchmarks/bench_networks.py                      # CPU, 128 px, batch 1
    python benchmarks/bench_networks.py --device cuda --size 256 --batch 4
    python benchmarks/bench_networks.py --clock thread --precision bf16   # busy CPU, bf16
    python benchmarks/bench_networks.py --cases small --batch 4 --clock thread   # CPU recipes

``--clock thread`` runs on one thread and measures its CPU time, which other processes
cannot inflate (the fair comparison on a shared machine). ``--precision bf16`` runs under
bf16 autocast with fp32 norms and outputs, as training does; on CPU instance norms run as
the identical group norms, as training does.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from rich.console import Console
from rich.table import Table

import translkit
from translkit.norms import swap_instance_norms
from translkit.precision import Choice, choose_precision, cpu_info, prepare_module

CASES = [
    ("generators", "resnet_9blocks", {}),
    ("generators", "resnet_9blocks", {"upsample": "resize_conv"}),
    ("generators", "resnet_9blocks", {"norm": "batch"}),
    ("generators", "resnet_6blocks", {}),
    ("generators", "mobile_resnet", {}),
    ("generators", "mobile_resnet", {"upsample": "resize_conv"}),
    ("generators", "unet_256", {}),
    ("generators", "unet_128", {}),
    ("discriminators", "patchgan", {}),
    ("discriminators", "five_layer", {}),
    ("discriminators", "five_layer", {"variant": "bansal"}),
    ("discriminators", "pixel", {}),
]
#: ``--cases small``: the 2-core CPU candidates of recipes/leather_denim_fast.toml
#: (docs/results.md, "A recipe for the result"), all with instance norm.
_IN = {"norm": "instance"}
SMALL = [
    ("generators", "resnet", {"n_blocks": 6, "ngf": 16, **_IN}),
    ("generators", "resnet", {"n_blocks": 6, "ngf": 16, "upsample": "resize_conv", **_IN}),
    ("generators", "resnet", {"n_blocks": 6, "ngf": 24, **_IN}),
    ("generators", "resnet", {"n_blocks": 6, "ngf": 32, **_IN}),
    ("generators", "resnet", {"n_blocks": 9, "ngf": 16, **_IN}),
    ("generators", "mobile_resnet", {"n_blocks": 9, "ngf": 32, **_IN}),
    ("generators", "mobile_resnet", {"n_blocks": 9, "ngf": 48, **_IN}),
    ("generators", "unet_128", {"ngf": 16, **_IN}),
    ("discriminators", "patchgan", {"ndf": 32, "n_layers": 3, **_IN}),
    ("discriminators", "patchgan", {"ndf": 64, "n_layers": 3, **_IN}),
]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CLOCK = time.perf_counter
PRECISION = Choice("fp32", torch.float32, "")


def step(net: torch.nn.Module, x: torch.Tensor) -> float:
    """Milliseconds of one forward + backward pass."""
    _sync(x.device)
    start = CLOCK()
    with PRECISION.autocast(x.device.type):
        out = net(x)
    out.float().square().mean().backward()
    _sync(x.device)
    net.zero_grad(set_to_none=True)
    return (CLOCK() - start) * 1000


def peak_memory(net: torch.nn.Module, x: torch.Tensor) -> float:
    """Peak CUDA memory (MiB) of one training pass; 0 on CPU."""
    if x.device.type != "cuda":
        return 0.0
    torch.cuda.reset_peak_memory_stats(x.device)
    step(net, x)
    return torch.cuda.max_memory_allocated(x.device) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clock", choices=("wall", "thread"), default="wall")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument(
        "--cases", choices=("builtin", "small"), default="builtin", help="small: CPU recipes'"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    global CLOCK, PRECISION
    if args.clock == "thread":
        torch.set_num_threads(1)
        CLOCK = time.thread_time
    if args.precision == "bf16":
        PRECISION = choose_precision("bf16", device)
    print(f"CPU: {cpu_info().describe()}; torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, clock {args.clock}, precision {args.precision}")  # fmt: skip
    reg = translkit.get_registry()
    runs = []
    for kind, name, options in SMALL if args.cases == "small" else CASES:
        torch.manual_seed(0)
        net = reg.kind(kind).create(name, **options).to(device).train()
        if device.type == "cpu":
            swap_instance_norms(net)  # as training runs them there
        prepare_module(net, PRECISION)
        size = max(args.size, getattr(net, "size_multiple", 1))
        x = torch.rand(args.batch, 3, size, size, device=device) * 2 - 1
        step(net, x)  # warm-up
        runs.append((name, options, net, x, [], peak_memory(net, x)))
    for _ in range(args.repeats):  # round-robin, so drift in machine load hits all alike
        for _name, _opts, net, x, times, _peak in runs:
            times.append(step(net, x))
    title = f"{device} · {args.size}px · batch {args.batch} · {args.precision} · median of"
    table = Table(title=f"{title} {args.repeats}")
    for col in ("network", "options", "params", "ms fwd+bwd", "peak MiB", "vs defaults"):
        table.add_column(col)
    base: dict[str, float] = {}
    for name, options, net, _x, times, peak in runs:
        ms = statistics.median(times)
        base.setdefault(name, ms)
        params = sum(p.numel() for p in net.parameters())
        label = ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults"
        table.add_row(
            name, label, f"{params:,}", f"{ms:.1f}", f"{peak:.0f}", f"{ms / base[name]:.2f}×"
        )
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
