"""`translkit run` end to end on tiny networks: run-directory layout, logs, CLI, evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from training_support import AVX2_CPU, tiny_recipe
from typer.testing import CliRunner

from translkit import get_registry
from translkit.artifacts import load_model
from translkit.cli import _normalise_argv, app
from translkit.evaluation import held_out_objective
from translkit.training import train
from translkit.training.evaluate import selection_goal
from translkit.training.plots import epoch_means, read_jsonl


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("run")
    recipe = tiny_recipe(tmp, train={"tensorboard": True, "ema": 0.9})
    return recipe, train(recipe, progress=True)


def test_run_directory_layout(finished_run):
    _recipe, result = finished_run
    run = result.run_dir
    assert result.finished and result.steps == 4 and result.epochs == 2
    for name in (
        "recipe.resolved.toml",
        "environment.json",
        "metrics.jsonl",
        "eval.jsonl",
        "summary.json",
        "checkpoints/latest.pt",
        "checkpoints/best.pt",
        "checkpoints/epoch_0001.pt",
        "checkpoints/epoch_0002.pt",
    ):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "plots").iterdir()) == [
        "cycle.png",
        "discriminator.png",
        "generator.png",
        "objective.png",
    ]
    assert any((run / "tensorboard").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["finished"] and summary["steps"] == 4 and summary["device"] == "cpu"
    assert summary["best"]["metric"] == "objective"


def test_metrics_records(finished_run):
    _, result = finished_run
    records = read_jsonl(result.run_dir / "metrics.jsonl")
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert [r["epoch"] for r in records] == [1, 1, 2, 2]
    expected = {
        "G_AB_gan",
        "G_BA_gan",
        "cycle_A",
        "cycle_B",
        "idt_A",
        "idt_B",
        "G_total",
        "D_A",
        "D_B",
    }
    for rec in records:
        assert {f"loss/{t}" for t in expected} <= set(rec)
        assert rec["images_per_s"] > 0 and rec["lr/G"] > 0 and rec["lr/D"] > 0
        parts = sum(rec[f"loss/{t}"] for t in expected - {"G_total", "D_A", "D_B"})
        assert rec["loss/G_total"] == pytest.approx(parts, rel=1e-5)
    means = epoch_means(records)
    assert set(means["D_A"]) == {1, 2}


def test_eval_records_and_best(finished_run):
    _, result = finished_run
    evals = read_jsonl(result.run_dir / "eval.jsonl")
    assert [e["epoch"] for e in evals] == [1, 2]
    for e in evals:
        assert e["objective"] == pytest.approx(e["objective/G_total"])
        assert {"objective/D_A", "objective/cycle_A", "objective/idt_B"} <= set(e)
    best_epoch = min(evals, key=lambda e: e["objective"])["epoch"]
    from translkit.artifacts import load_checkpoint

    best = load_checkpoint(result.run_dir / "checkpoints/best.pt")
    assert best["epoch"] == best_epoch


def test_held_out_objective_of_checkpoint_matches_eval_log(finished_run):
    _, result = finished_run
    model, _, _ = load_model(result.run_dir / "checkpoints/latest.pt", get_registry())
    values = held_out_objective(model, model.recipe.data)
    last = read_jsonl(result.run_dir / "eval.jsonl")[-1]
    assert values["objective"] == pytest.approx(last["objective"], rel=1e-5)
    assert values["objective/D_B"] == pytest.approx(last["objective/D_B"], rel=1e-5)


def test_sample_grids_are_figure_4(finished_run):
    _recipe, result = finished_run
    grids = sorted((result.run_dir / "samples").glob("step_*.png"))
    assert [g.name for g in grids] == ["step_0000002.png", "step_0000004.png"]
    img = Image.open(grids[-1])
    # 3 rows (input, translated, reconstructed) of 32 px; two blocks of 2 samples + gutter
    assert img.size == (2 * 2 * 32 + 2, 3 * 32)
    arr = torch.tensor(np.array(img), dtype=torch.float32)
    assert arr[:32].std() > 0  # real content, not blank


def test_cli_run_end_to_end(tmp_path: Path):
    recipe = tiny_recipe(tmp_path, optim={"epochs": 1}, train={"sample_every": 0})
    path = tmp_path / "r.toml"
    path.write_text(recipe.to_toml())
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert (recipe.run_dir / "checkpoints/latest.pt").is_file()
    # Without a terminal (a log file, CI) progress comes as plain lines, then the summary.
    assert "step " in result.stderr and "img/s" in result.stderr
    assert "evaluation: objective=" in result.stderr and "training summary" in result.stderr
    again = runner.invoke(app, ["run", str(path)])
    assert again.exit_code == 1 and "already exists" in again.output
    args = _normalise_argv(["run", str(path), "--resume", "--set", "optim.epochs=2"])
    resumed = runner.invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((recipe.run_dir / "summary.json").read_text())["epochs"] == 2


def test_cli_passes_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    recipe = tiny_recipe(tmp_path)
    path = tmp_path / "r.toml"
    path.write_text(recipe.to_toml())
    seen = {}

    def fake_train(r, **kw):
        seen.update(kw, recipe=r)
        return SimpleNamespace(interrupted=0)

    monkeypatch.setattr("translkit.training.train", fake_train)
    result = CliRunner().invoke(
        app, ["run", str(path), "--resume", "ck.pt", "--overwrite", "--nproc", "3"]
    )
    assert result.exit_code == 0, result.output
    assert seen["resume"] == "ck.pt" and seen["overwrite"] and seen["nproc"] == 3


def test_cpu_reduced_precision_via_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("translkit.precision.cpu_info", lambda: AVX2_CPU)
    path = tmp_path / "r.toml"
    path.write_text(tiny_recipe(tmp_path).to_toml())
    result = CliRunner().invoke(app, ["run", str(path), "--set", "train.precision=bf16"])
    assert result.exit_code == 1, result.output
    assert "no AMX-BF16 or AVX512-BF16" in result.output and "Traceback" not in result.output
    assert not tiny_recipe(tmp_path).run_dir.exists()  # refused before writing anything


def test_selection_goal(tmp_path: Path):
    from translkit.errors import RecipeError

    assert selection_goal(tiny_recipe(tmp_path), get_registry()) == "min"
    with pytest.raises(RecipeError, match="eval.select"):
        selection_goal(tiny_recipe(tmp_path, eval={"select": "fdi"}), get_registry())


@pytest.mark.parametrize(("every_s", "drawn_at"), [(0.0, [2, 4, 6]), (3600.0, [6])])
def test_loss_plots_are_redrawn_at_most_every_plot_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every_s: float, drawn_at: list[int]
):
    """Each epoch's end redraws the plots only once PLOT_EVERY_S has passed since the last
    drawing; the run's end always draws what is new."""
    from translkit.training import plots, trainer

    drawn: list[int] = []
    real = plots.write_plots

    def counted(run):
        drawn.append(len(read_jsonl(run.metrics_file)))  # steps logged when drawn
        return real(run)

    monkeypatch.setattr(plots, "write_plots", counted)
    monkeypatch.setattr(trainer, "PLOT_EVERY_S", every_s)
    recipe = tiny_recipe(tmp_path, optim={"epochs": 3}, train={"sample_every": 0})
    train(recipe, progress=False)
    assert drawn == drawn_at
    assert (recipe.run_dir / "plots" / "objective.png").is_file()


def test_non_finite_run_keeps_last_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from translkit_plugins.cyclegan import CycleGAN

    from translkit.training.engine import NonFiniteLossError

    recipe = tiny_recipe(tmp_path, train={"sample_every": 0}, eval={"every": 0})
    original = CycleGAN.phase_losses
    calls = {"D": 0}

    def poisoned(self, phase, batch, cache):
        terms = original(self, phase, batch, cache)
        if phase == "D":
            calls["D"] += 1
            if calls["D"] == 3:
                terms["D_B"] = terms["D_B"] * float("inf")
        return terms

    monkeypatch.setattr(CycleGAN, "phase_losses", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"step 3: loss term 'D_B'"):
        train(recipe, progress=False)
    from translkit.artifacts import load_checkpoint

    ckpt = load_checkpoint(recipe.run_dir / "checkpoints/latest.pt")
    assert ckpt["step"] == 2 and all(
        torch.isfinite(v).all() for v in ckpt["models"]["G_AB"].values()
    )
    summary = json.loads((recipe.run_dir / "summary.json").read_text())
    assert summary["steps"] == 2  # summary.json agrees with latest.pt


@pytest.mark.slow
def test_training_guide_example_runs(tmp_path: Path):
    import re
    import subprocess
    import sys

    text = (Path(__file__).resolve().parents[1] / "docs" / "training.md").read_text()
    blocks = re.findall(r"<!-- run -->\n```python\n(.*?)```", text, re.S)
    assert blocks
    for code in blocks:
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        steps, rate = out.stdout.split()[:2]
        assert int(steps) == 2 and float(rate) > 0
    assert (tmp_path / "runs/tiny/samples/step_0000002.png").is_file()
