"""Checkpoints and resume: bit-identical continuation on CPU, run-directory safety."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_support import needs_cpu_bf16, tiny_recipe

from translkit.checkpoint import TRAINING_FORMAT, load_checkpoint, load_generators
from translkit.errors import CheckpointError, RecipeError
from translkit.training import train
from translkit.training.checkpoints import prune


def _weights(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    ckpt = load_checkpoint(path)
    out = dict(ckpt["models"])
    out.update({f"ema_{k}": v for k, v in (ckpt["ema"] or {}).items()})
    out["opt_G"] = {str(i): s["exp_avg"] for i, s in ckpt["optimizers"]["G"]["state"].items()}
    return out


def _assert_identical(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for net in wa:
        assert wa[net].keys() == wb[net].keys()
        for key in wa[net]:
            assert torch.equal(wa[net][key], wb[net][key]), f"{net}.{key} differs"


@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=needs_cpu_bf16)])
@pytest.mark.parametrize("stop_after", [2, 3])  # end of epoch 1; mid-epoch 2
def test_resume_is_bit_identical(tmp_path: Path, stop_after: int, precision: str):
    common = {
        "train": {"ema": 0.9, "sample_every": 0, "precision": precision},
        "eval": {"every": 0, "num_samples": 0},
    }
    straight = train(tiny_recipe(tmp_path, name="straight", **common), progress=False)
    assert straight.finished and straight.steps == 4
    part = tiny_recipe(tmp_path, name="parts", **common)
    part.train.max_steps = stop_after
    first = train(part, progress=False)
    assert first.steps == stop_after
    ckpt = load_checkpoint(part.run_dir / "checkpoints" / "latest.pt")
    assert (ckpt["epoch"], ckpt["batch"]) == divmod(stop_after, 2)
    rest = tiny_recipe(tmp_path, name="parts", **common)
    resumed = train(rest, resume="latest", progress=False)
    assert resumed.finished and resumed.steps == 4
    assert resumed.summary["precision"]["name"] == precision
    _assert_identical(
        straight.run_dir / "checkpoints/latest.pt", rest.run_dir / "checkpoints/latest.pt"
    )
    steps = [line for line in (rest.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(steps) == 4  # one record per step, none duplicated by the resume


def test_checkpoint_contents_and_generators(tmp_path: Path):
    recipe = tiny_recipe(tmp_path, train={"keep_last": 1, "ema": 0.5})
    result = train(recipe, progress=False)
    ckpt_dir = result.run_dir / "checkpoints"
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["best.pt", "epoch_0002.pt", "latest.pt"]
    ckpt = load_checkpoint(ckpt_dir / "latest.pt")  # weights_only=True
    assert ckpt["format"] == TRAINING_FORMAT
    for key in (
        "recipe",
        "models",
        "ema",
        "optimizers",
        "schedulers",
        "scaler",
        "epoch",
        "step",
        "ranks",
        "best",
        "batch",
    ):
        assert key in ckpt, key
    assert set(ckpt["models"]) == {"G_AB", "G_BA", "D_A", "D_B"}
    assert set(ckpt["ranks"][0]) == {"pools", "rng"}
    assert set(ckpt["ranks"][0]["rng"]) == {"python", "numpy", "torch", "cuda"}
    assert ckpt["recipe"] == recipe.to_dict()
    gens = load_generators(ckpt_dir / "latest.pt")
    out = gens["a2b"](torch.zeros(1, 3, 32, 32))
    assert out.shape == (1, 3, 32, 32)
    torch.testing.assert_close(gens["a2b"].state_dict(), ckpt["ema"]["G_AB"])


def test_existing_run_dir_needs_resume_or_overwrite(tmp_path: Path):
    recipe = tiny_recipe(
        tmp_path, optim={"epochs": 1}, train={"sample_every": 0}, eval={"every": 0}
    )
    train(recipe, progress=False)
    with pytest.raises(RecipeError, match="already exists.*--resume.*--overwrite"):
        train(recipe, progress=False)
    marker = recipe.run_dir / "marker.txt"
    marker.write_text("x")
    result = train(recipe, overwrite=True, progress=False)
    assert result.finished and not marker.exists()


def test_resume_errors(tmp_path: Path):
    recipe = tiny_recipe(tmp_path, optim={"epochs": 1})
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(recipe, resume="latest", progress=False)
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bogus.pt"):
        train(recipe, resume=str(bogus), progress=False)
    gen_only = tmp_path / "gen.pt"
    torch.save({"format": "translkit.generators/1", "generators": {}}, gen_only)
    with pytest.raises(CheckpointError, match="cannot resume"):
        train(recipe, resume=str(gen_only), progress=False)


def test_prune_keeps_newest(tmp_path: Path):
    for e in (1, 2, 3, 10):
        (tmp_path / f"epoch_{e:04d}.pt").write_bytes(b"")
    (tmp_path / "best.pt").write_bytes(b"")
    gone = prune(tmp_path, 2)
    assert sorted(p.name for p in gone) == ["epoch_0001.pt", "epoch_0002.pt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pt",
        "epoch_0003.pt",
        "epoch_0010.pt",
    ]


def test_reshard_ranks_merges_pools_and_keeps_existing_streams():
    from translkit.training.checkpoints import reshard_ranks

    def rank(n_images: int, tag: int) -> dict:
        pool = {"size": 4, "images": torch.full((n_images, 3, 2, 2), float(tag)), "rng": tag}
        return {"pools": {"A": pool, "B": pool}, "rng": {"tag": tag}}

    two = [rank(2, 0), rank(3, 1)]
    (one,) = reshard_ranks(two, 1)
    assert one["rng"] == {"tag": 0} and one["pools"]["A"]["rng"] == 0
    assert one["pools"]["A"]["images"].shape[0] == 5  # capped at size 4 when loaded
    three = reshard_ranks(two, 3)
    assert [r["rng"] for r in three] == [{"tag": 0}, {"tag": 1}, None]
    assert [r["pools"]["B"]["images"].shape[0] for r in three] == [2, 3, 0]
    assert reshard_ranks(two, 2) == two
