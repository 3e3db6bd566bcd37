"""Nothing lost: one run per run directory, preflight before the first step, checkpoint
before evaluating, clear resume errors, resuming a run directory with its own recipe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from training_support import tiny_recipe
from typer.testing import CliRunner

import translkit
from translkit.cli import app
from translkit.errors import CheckpointError, TranslkitError
from translkit.rundir import RunDir, RunLockedError
from translkit.training import train

runner = CliRunner()


def _nothing_trained(run: Path) -> bool:
    return not (run / "metrics.jsonl").exists() and not (run / "checkpoints").exists()


def test_a_held_run_directory_refuses_a_second_run_and_names_the_pid(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "runs" / "x")
    holder = rf"in use by .*\(PID {os.getpid()}\)"
    with run.lock(), pytest.raises(RunLockedError, match=holder), run.lock():
        pass
    with run.lock():  # released on exit
        pass


@pytest.mark.slow
def test_a_killed_run_does_not_block_the_next(tmp_path: Path) -> None:
    recipe = tiny_recipe(
        tmp_path,
        optim={"epochs": 1000},
        train={"sample_every": 0, "checkpoint_every": 1},
        eval={"every": 0, "num_samples": 0},
    )
    path = tmp_path / "r.toml"
    path.write_text(recipe.to_toml())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "translkit", "run", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        latest = recipe.run_dir / "checkpoints" / "latest.pt"
        deadline = time.time() + 90
        while not latest.is_file() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert latest.is_file()
        second = runner.invoke(app, ["run", str(path), "--overwrite"])
        assert second.exit_code == 1
        assert f"in use by another `translkit run` (PID {proc.pid})" in " ".join(
            second.output.split()
        )
        assert latest.is_file()  # --overwrite did not touch the live run
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    resumed = runner.invoke(
        app, ["run", str(recipe.run_dir), "--resume", "latest", "--set", "train.max_steps=1"]
    )
    assert resumed.exit_code == 0, resumed.output  # the kernel dropped the dead run's lock


def test_missing_inception_weights_stop_the_run_before_the_first_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from translkit_plugins import inception

    monkeypatch.setattr(inception, "is_online", lambda *a, **k: False)
    monkeypatch.setattr(inception, "hub_checkpoint_dir", lambda: tmp_path / "empty-hub")
    monkeypatch.delenv(inception.ENV_INCEPTION_WEIGHTS, raising=False)
    recipe = tiny_recipe(tmp_path, eval={"metrics": ["kid"]})
    with pytest.raises(TranslkitError, match="weights-inception"):
        train(recipe, progress=False)
    assert _nothing_trained(recipe.run_dir)


def test_too_little_disk_for_the_checkpoints_stops_before_the_first_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=1000))
    recipe = tiny_recipe(tmp_path, train={"keep_last": 5})
    with pytest.raises(TranslkitError, match=r"not enough free disk.*8 files.*keep_last = 5"):
        train(recipe, progress=False)
    assert _nothing_trained(recipe.run_dir)


def test_a_failing_evaluation_does_not_cost_its_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import translkit.training.evaluate as evaluate

    original = evaluate.evaluate_engine

    def failing(engine, run, epoch, registries, metrics=None):
        if epoch == 2:
            raise TranslkitError("evaluation broke")
        return original(engine, run, epoch, registries, metrics)

    monkeypatch.setattr(evaluate, "evaluate_engine", failing)
    recipe = tiny_recipe(tmp_path, train={"sample_every": 0})
    with pytest.raises(TranslkitError, match="evaluation broke"):
        train(recipe, progress=False)
    ckpt = translkit.load_checkpoint(recipe.run_dir / "checkpoints" / "latest.pt")
    assert (ckpt["epoch"], ckpt["step"]) == (2, 4)  # epoch 2 was saved before its evaluation
    assert json.loads((recipe.run_dir / "summary.json").read_text())["steps"] == 4


def test_resuming_another_architecture_is_one_line(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, optim={"epochs": 1}, train={"sample_every": 0})
    train(recipe, progress=False)
    path = tmp_path / "r.toml"
    path.write_text(recipe.to_toml())
    result = runner.invoke(
        app, ["run", str(path), "--resume", "latest", "--set", "generator.ngf=8"]
    )
    assert result.exit_code == 1
    assert result.output.count("\n") <= 2 and "Traceback" not in result.output
    assert "does not fit this recipe's model" in result.output
    with pytest.raises(CheckpointError, match="size mismatch"):
        wide = tiny_recipe(tmp_path, generator={"name": "resnet", "n_blocks": 1, "ngf": 8})
        train(wide, resume="latest", progress=False)


def test_a_run_directory_resumes_with_its_own_recipe(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, optim={"epochs": 1}, train={"sample_every": 0})
    train(recipe, progress=False)
    run = recipe.run_dir
    refused = runner.invoke(app, ["run", str(run)])
    assert refused.exit_code == 1 and "continue it with --resume" in refused.output
    result = runner.invoke(app, ["run", str(run), "--resume", "latest", "-s", "optim.epochs=2"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


def test_a_run_that_died_before_its_first_checkpoint_gets_one_piece_of_advice(
    tmp_path: Path,
) -> None:
    recipe = tiny_recipe(tmp_path)
    recipe.run_dir.mkdir(parents=True)
    (recipe.run_dir / "metrics.jsonl").write_text("")
    with pytest.raises(TranslkitError, match="no checkpoint to resume from.*--overwrite") as err:
        train(recipe, progress=False)
    assert "--resume" not in str(err.value)
    with pytest.raises(CheckpointError, match="--overwrite") as err:
        train(recipe, resume="latest", progress=False)
    assert "train without" not in str(err.value)


def test_a_domain_smaller_than_one_batch_is_refused_before_training(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, optim={"batch_size": 5})  # the tiny data: 4 per domain
    with pytest.raises(TranslkitError, match=r"trainA/ holds 4 image\(s\), fewer than one batch"):
        train(recipe, progress=False)
    assert _nothing_trained(recipe.run_dir)
