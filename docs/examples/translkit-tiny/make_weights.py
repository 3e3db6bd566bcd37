"""Write translkit_tiny/weights/tiny_warm_cool_{a2b,b2a}.safetensors and print their pins.

The model is hand-set, not trained: a ``tiny`` generator (width 4) whose convolutions swap
the red and blue channels, so warm swatches turn cool and back. It exists to show how a
plugin ships a pretrained model; a real plugin exports its trained run instead:
``translkit export RUN --format safetensors -d a2b -o weights/NAME_a2b.safetensors``.

Run from this folder with translkit and this plugin installed: ``python make_weights.py``.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import torch

import translkit
from translkit.inference.export import export_generator

HERE = Path(__file__).resolve().parent / "translkit_tiny" / "weights"


def swap_red_blue() -> dict[str, torch.Tensor]:
    """``tanh(x + body(x))`` with ``body(x) = (b - r, 0, r - b)``: red and blue swapped."""
    net = translkit.get_registry().generators.create("tiny", width=4)
    state = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}
    first, second, last = (k for k in state if k.endswith(".weight"))
    state[first][0, 0, 1, 1], state[first][0, 2, 1, 1] = 1.0, -1.0  # relu(r - b)
    state[first][1, 0, 1, 1], state[first][1, 2, 1, 1] = -1.0, 1.0  # relu(b - r)
    state[second][0, 0, 1, 1] = state[second][1, 1, 1, 1] = 1.0  # pass both on
    state[last][0, 0, 1, 1], state[last][0, 1, 1, 1] = -1.0, 1.0  # red: b - r
    state[last][2, 0, 1, 1], state[last][2, 1, 1, 1] = 1.0, -1.0  # blue: r - b
    return state


def main() -> None:
    net = translkit.get_registry().generators.create("tiny", width=4)
    net.load_state_dict(swap_red_blue())
    HERE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = translkit.save_generators(
            {"a2b": net, "b2a": net},
            Path(tmp) / "tiny_warm_cool.pt",
            generator="tiny",
            options={"width": 4},
        )
        for d in ("a2b", "b2a"):
            out = HERE / f"tiny_warm_cool_{d}.safetensors"
            export_generator(ckpt, out, translkit.get_registry(), format="safetensors", direction=d)
            data = out.read_bytes()
            print(f'    "{d}": ({len(data)}, "{hashlib.sha256(data).hexdigest()}"),')


if __name__ == "__main__":
    main()
