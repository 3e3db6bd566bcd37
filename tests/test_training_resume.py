"""Checkpoints and resume: bit-identical continuation on CPU, run-directory safety."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_support import needs_cpu_bf16, tiny_recipe

from translkit import get_registry
from translkit.artifacts import TRAINING_FORMAT, load_checkpoint, save_checkpoint
from translkit.errors import CheckpointError, TranslkitError
from translkit.pretrained import load_generators
from translkit.rundir import RunDir
from translkit.training import train
from translkit.training.snapshots import prune


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
        "components",
    ):
        assert key in ckpt, key
    assert set(ckpt["models"]) == {"G_AB", "G_BA", "D_A", "D_B"}
    assert set(ckpt["ranks"][0]) == {"method", "rng"}
    assert set(ckpt["ranks"][0]["method"]) == {"pools"}
    assert set(ckpt["ranks"][0]["rng"]) == {"python", "numpy", "torch", "cuda"}
    assert ckpt["recipe"] == recipe.to_dict()
    assert ckpt["components"]["generator"] == {
        "name": "resnet",
        "plugin": "translkit.generators",
        "module": "translkit_plugins.generators",
    }
    gens = load_generators(ckpt_dir / "latest.pt", get_registry()).nets
    out = gens["a2b"](torch.zeros(1, 3, 32, 32))
    assert out.shape == (1, 3, 32, 32)
    torch.testing.assert_close(gens["a2b"].state_dict(), ckpt["ema"]["G_AB"])


def test_existing_run_dir_needs_resume_or_overwrite(tmp_path: Path):
    recipe = tiny_recipe(
        tmp_path, optim={"epochs": 1}, train={"sample_every": 0}, eval={"every": 0}
    )
    train(recipe, progress=False)
    with pytest.raises(TranslkitError, match="already exists.*--resume.*--overwrite"):
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
    run = RunDir(tmp_path)
    run.checkpoints.mkdir()
    for e in (1, 2, 3, 10):
        run.epoch_checkpoint(e).write_bytes(b"")
    run.best.write_bytes(b"")
    gone = prune(run, 2)
    assert sorted(p.name for p in gone) == ["epoch_0001.pt", "epoch_0002.pt"]
    assert sorted(p.name for p in run.checkpoints.iterdir()) == [
        "best.pt",
        "epoch_0003.pt",
        "epoch_0010.pt",
    ]


def _as_written_before_methods(path: Path) -> None:
    """Rewrite a snapshot in the layout of translkit 0.1 (no method, CycleGAN pools per rank)."""
    ckpt = load_checkpoint(path)
    ckpt["format"] = "translkit.training/1"
    ckpt["recipe"].pop("method")
    ckpt.pop("components")
    ckpt["ranks"] = [{"pools": r["method"]["pools"], "rng": r["rng"]} for r in ckpt["ranks"]]
    save_checkpoint(ckpt, path)


def test_checkpoint_from_before_methods_loads_and_resumes(tmp_path: Path):
    common = {"train": {"sample_every": 0}, "eval": {"every": 0, "num_samples": 0}}
    straight = train(tiny_recipe(tmp_path, name="straight", **common), progress=False)
    part = tiny_recipe(tmp_path, name="old", **common)
    part.train.max_steps = 3
    train(part, progress=False)
    _as_written_before_methods(part.run_dir / "checkpoints/latest.pt")
    gens = load_generators(part.run_dir, get_registry()).nets
    assert set(gens) == {"a2b", "b2a"}
    resumed = train(tiny_recipe(tmp_path, name="old", **common), resume="latest", progress=False)
    assert resumed.finished and resumed.steps == 4
    _assert_identical(
        straight.run_dir / "checkpoints/latest.pt", part.run_dir / "checkpoints/latest.pt"
    )


def test_a_run_resumes_with_another_process_count(tmp_path: Path):
    """Each new process continues an old process's method state (pools) and keeps its RNG
    stream where that rank existed; a new rank gets a fresh one."""
    from translkit.artifacts import EngineState, RankState, TrainingSnapshot

    ranks = tuple(RankState({"pools": i}, {"tag": i}) for i in range(2))
    ckpt = TrainingSnapshot({}, EngineState({}), epoch=1, step=1, ranks=ranks)
    assert [ckpt.rank_state(r).method for r in range(1)] == [{"pools": 0}]
    three = [ckpt.rank_state(r) for r in range(3)]
    assert [s.method for s in three] == [{"pools": 0}, {"pools": 1}, {"pools": 0}]
    assert [s.rng for s in three] == [{"tag": 0}, {"tag": 1}, None]
