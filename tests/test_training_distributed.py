"""Processes: DDP on CPU (gloo, 2 workers) equals one process; SIGTERM leaves a checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from training_support import tiny_recipe

from translkit.checkpoint import load_checkpoint
from translkit.training import train

pytestmark = pytest.mark.slow


def _ddp_recipe(tmp_path: Path, name: str):
    # batch norm everywhere exercises the synchronised batch norm on CPU (and avoids conv
    # biases before instance norm: their true gradient is 0, so Adam amplifies float noise)
    return tiny_recipe(
        tmp_path,
        name=name,
        generator={"name": "resnet", "n_blocks": 1, "ngf": 4, "norm": "batch"},
        discriminator={"name": "patchgan", "ndf": 4, "n_layers": 2, "norm": "batch"},
        optim={"epochs": 1, "batch_size": 2},
        train={"pool_size": 0, "sample_every": 0, "log_every": 1},
        eval={"every": 0, "num_samples": 0},
    )


def test_two_processes_equal_one(tmp_path: Path):
    single = train(_ddp_recipe(tmp_path, "single"), progress=False)
    double = train(_ddp_recipe(tmp_path, "double"), nproc=2, progress=False)
    assert double.finished and double.steps == single.steps == 2
    assert double.summary["world_size"] == 2
    a = load_checkpoint(single.run_dir / "checkpoints/latest.pt")
    b = load_checkpoint(double.run_dir / "checkpoints/latest.pt")
    assert len(b["ranks"]) == 2
    for net in ("G_AB", "G_BA", "D_A", "D_B"):
        for key, value in a["models"][net].items():
            torch.testing.assert_close(
                b["models"][net][key].float(),
                value.float(),
                rtol=1e-4,
                atol=1e-5,
                msg=f"{net}.{key}",
            )
    # the logged losses are the global means too
    la = (single.run_dir / "metrics.jsonl").read_text().splitlines()
    lb = (double.run_dir / "metrics.jsonl").read_text().splitlines()
    import json

    for ra, rb in zip(map(json.loads, la), map(json.loads, lb), strict=True):
        assert rb["loss/G_total"] == pytest.approx(ra["loss/G_total"], rel=1e-4)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_writes_checkpoint_and_resumes(tmp_path: Path, signum: int, code: int):
    """SIGTERM exits 143 and SIGINT 130 (128 + the signal), after a checkpoint."""
    recipe = tiny_recipe(
        tmp_path,
        optim={"epochs": 500},
        train={"sample_every": 0, "log_every": 1, "checkpoint_every": 1000},
        eval={"every": 0, "num_samples": 0},
    )
    path = tmp_path / "recipe.toml"
    path.write_text(recipe.to_toml())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "translkit", "run", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    metrics = recipe.run_dir / "metrics.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, out
    assert f"translkit run {recipe.run_dir} --resume" in " ".join(out.split())
    ckpt = load_checkpoint(recipe.run_dir / "checkpoints/latest.pt")
    assert ckpt["step"] >= 3 and (ckpt["epoch"], ckpt["batch"]) == divmod(ckpt["step"], 2)
    summary = __import__("json").loads((recipe.run_dir / "summary.json").read_text())
    assert summary["interrupted"] and not summary["finished"] and summary["signal"] == signum
    assert summary["steps"] == ckpt["step"]  # summary.json agrees with latest.pt
    recipe.train.max_steps = ckpt["step"] + 1
    result = train(recipe, resume="latest", progress=False)
    assert result.steps == ckpt["step"] + 1
