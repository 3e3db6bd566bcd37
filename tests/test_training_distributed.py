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
from training_support import make_data, tiny_recipe

from translkit.artifacts import load_checkpoint
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
        # the convolution algorithm is a rounding choice each process makes by timing (its
        # thread count differs here): fixed, so that both runs do the same arithmetic
        train={"pool_size": 0, "sample_every": 0, "log_every": 1, "fast_conv": "off"},
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


@pytest.mark.parametrize(
    ("signum", "code", "to_group"),
    [(signal.SIGTERM, 143, False), (signal.SIGINT, 130, False), (signal.SIGTERM, 143, True)],
)
def test_signal_writes_checkpoint_and_resumes(
    tmp_path: Path, signum: int, code: int, to_group: bool
):
    """SIGTERM exits 143 and SIGINT 130 (128 + the signal), after a checkpoint; also when
    the signal reaches the whole process group, loader workers included (as `timeout`,
    batch schedulers and Ctrl-C in a terminal send it)."""
    if to_group:  # long epochs: the signal reaches a live loader worker
        make_data(tmp_path / "data", train=64)
    recipe = tiny_recipe(
        tmp_path,
        data={"num_workers": 1} if to_group else {},
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
        start_new_session=to_group,
    )
    metrics = recipe.run_dir / "metrics.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[0]
    if to_group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, out
    assert f"translkit run {recipe.run_dir} --resume" in " ".join(out.split())
    ckpt = load_checkpoint(recipe.run_dir / "checkpoints/latest.pt")
    assert ckpt["step"] >= 3 and (ckpt["epoch"], ckpt["batch"]) == divmod(
        ckpt["step"], 32 if to_group else 2
    )
    summary = __import__("json").loads((recipe.run_dir / "summary.json").read_text())
    assert summary["interrupted"] and not summary["finished"] and summary["signal"] == signum
    assert summary["steps"] == ckpt["step"]  # summary.json agrees with latest.pt
    recipe.train.max_steps = ckpt["step"] + 1
    result = train(recipe, resume="latest", progress=False)
    assert result.steps == ckpt["step"] + 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_nodes_on_localhost_with_c10d_rendezvous(tmp_path: Path):
    """torchrun's multi-node rendezvous: two "nodes" (one process each) on 127.0.0.1."""
    recipe = _ddp_recipe(tmp_path, "nodes")
    path = tmp_path / "recipe.toml"
    path.write_text(recipe.to_toml())
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes",
                "2",
                "--nproc-per-node",
                "1",
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                f"127.0.0.1:{port}",
                "--rdzv-id",
                "translkit-test",
                "--local-addr",
                "127.0.0.1",
                "-m",
                "translkit",
                "run",
                str(path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(outputs)
    summary = __import__("json").loads((recipe.run_dir / "summary.json").read_text())
    assert summary["finished"] and summary["world_size"] == 2 and summary["steps"] == 2
    ckpt = load_checkpoint(recipe.run_dir / "checkpoints/latest.pt")
    assert ckpt["world_size"] == 2 and len(ckpt["ranks"]) == 2


@pytest.mark.parametrize(("first", "then"), [(2, 1), (1, 2)])
def test_resume_with_another_number_of_processes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], first: int, then: int
):
    """Method state (pools) and RNG states are carried over; the run continues to the end
    and says so."""
    recipe = _ddp_recipe(tmp_path, "reshard")
    recipe.optim.epochs = 2
    recipe.train.pool_size = 4
    recipe.train.max_steps = 2  # stop after epoch 1
    part = train(recipe, nproc=first, progress=False)
    assert part.steps == 2
    recipe.train.max_steps = 0
    rest = train(recipe, nproc=then, resume="latest", progress=False)
    assert rest.finished and rest.steps == 4 and rest.summary["world_size"] == then
    out = capfd.readouterr()
    assert f"written by {first} process(es), this run has {then}" in out.out + out.err
    ckpt = load_checkpoint(recipe.run_dir / "checkpoints/latest.pt")
    assert len(ckpt["ranks"]) == then
    pooled = sum(r["method"]["pools"]["A"]["images"].shape[0] for r in ckpt["ranks"])
    assert pooled >= 2  # the history pools survived the change of process count


def test_one_process_torchrun_joins_a_group_and_resumes(tmp_path: Path):
    """A 1-process torchrun job still joins a process group (gloo here, NCCL on a GPU: the
    single-GPU check of benchmarks/gpu_check.py), says so in summary.json, and its
    checkpoint resumes in a plain process."""
    recipe = _ddp_recipe(tmp_path, "alone")
    recipe.optim.epochs = 2
    recipe.train.max_steps = 2  # stop after epoch 1
    path = tmp_path / "recipe.toml"
    path.write_text(recipe.to_toml())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "1", "-m", "translkit", "run", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = __import__("json").loads((recipe.run_dir / "summary.json").read_text())
    assert summary["process_group"] == "gloo" and summary["world_size"] == 1
    assert summary["steps"] == 2
    recipe.train.max_steps = 0
    rest = train(recipe, resume="latest", progress=False)
    assert rest.finished and rest.steps == 4 and rest.summary["process_group"] is None
