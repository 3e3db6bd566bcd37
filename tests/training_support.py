"""Helpers shared by the training tests: a tiny synthetic dataset and tiny recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import translkit
from translkit.precision import CpuInfo, choose_precision
from translkit.recipe import Recipe, recipe_from_dict, resolve_recipe

#: A CPU without native bf16 (AMD Zen 3 kind), for tests of the refusals (monkeypatch
#: ``translkit.precision.cpu_info`` to return it).
AVX2_CPU = CpuInfo("AMD EPYC 7B13", frozenset({"avx", "avx2", "fma", "sse4_2"}), "AVX2", True)


def _cpu_bf16_skip_reason() -> str:
    choice = choose_precision("auto", "cpu")
    return "" if choice.name == "bf16" else f"needs a CPU with native bf16: {choice.reason}"


#: Skip a test where this CPU has no native bf16 (emulated bf16 is refused, and far slower).
needs_cpu_bf16 = pytest.mark.skipif(
    bool(_cpu_bf16_skip_reason()), reason=_cpu_bf16_skip_reason() or "-"
)


def make_data(root: Path, *, size: int = 32, train: int = 4, test: int = 2) -> Path:
    """A small synthetic leather↔denim dataset (real `translkit.data` generator)."""
    from translkit.data.synthetic import make_synthetic

    if not root.exists():
        make_synthetic(root, size=size, train=train, test=test, seed=0)
    return root


def tiny_recipe(
    tmp_path: Path, *, name: str = "run", replace: tuple[str, ...] = (), **sections: Any
) -> Recipe:
    """A resolved recipe with tiny built-in networks at 32 px; ``sections`` update keys
    (``None`` drops a section, e.g. ``loss=None`` for a method without an identity slot;
    the sections named in ``replace`` are replaced instead of updated)."""
    data_root = make_data(tmp_path / "data")
    raw: dict[str, Any] = {
        "run": {
            "name": name,
            "output_dir": str(tmp_path / "runs"),
            "seed": 3,
            "deterministic": True,
        },
        "data": {"root": str(data_root), "load_size": 32, "crop_size": 32, "resize": "square"},
        "generator": {"name": "resnet", "n_blocks": 1, "ngf": 4, "norm": "instance"},
        "discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2},
        "loss": {"identity": {"name": "identity", "weight": 5.0}},
        "optim": {"epochs": 2, "batch_size": 2, "lr": 2e-4, "schedule": "linear"},
        "train": {
            "device": "cpu",
            "precision": "fp32",  # exact comparisons; reduced precision is tested explicitly
            "pool_size": 4,
            "log_every": 1,
            "sample_every": 2,
            "tensorboard": False,
        },
        "eval": {"every": 1, "num_samples": 2},
    }
    for section, values in sections.items():
        if values is None:
            raw.pop(section, None)
        elif (
            isinstance(values, dict)
            and isinstance(raw.get(section), dict)
            and (section not in replace)
        ):
            raw[section] = {**raw[section], **values}
        else:
            raw[section] = values
    return resolve_recipe(recipe_from_dict(raw, source="<tiny>"), translkit.get_registry())


def assert_bf16_gradients_track(ref: dict, grads: dict) -> None:
    """bf16 gradients point where fp32's do: every weight's cosine ≥ 0.85, the median ≥ 0.93;
    a gradient that is zero by construction (a bias before a norm) stays near zero."""
    import statistics

    import torch

    largest = max(g.norm() for g in ref.values())
    cosines = []
    for key, want in ref.items():
        got = grads[key]
        if want.norm() <= 1e-5 * largest:  # zero by construction (bias before a norm)
            assert got.norm() <= 1e-2 * largest, key
            continue
        cos = torch.nn.functional.cosine_similarity(want.flatten(), got.flatten(), dim=0)
        assert cos >= 0.85, f"{key}: gradient cosine {cos:.3f}"
        cosines.append(cos.item())
    assert statistics.median(cosines) >= 0.93
