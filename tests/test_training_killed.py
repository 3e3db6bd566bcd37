"""Training killed at random (SIGKILL), resumed each time: 20 kills at seeded moments —
half-way through writing a checkpoint, during evaluation, at a random time — then one
resume to the end. Every resume starts, no torn file is ever loaded, killed writes leave
no temporaries behind, and the final weights equal an uninterrupted run's bit for bit
(CPU). Then a 2-process DDP run with one worker killed: the other stops within a stated
time with one line, and the run resumes.

The single-process runs are forked from this (already imported) process, so each of the
21 runs costs its training time only, not torch's import; the kills are real SIGKILLs.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any, NoReturn

import pytest
import torch
from training_support import tiny_recipe

from translkit.artifacts import load_checkpoint
from translkit.rundir import RunDir
from translkit.training import train

pytestmark = pytest.mark.slow

KILLS = 20
EPOCHS = (
    8  # one step each; a run that reaches its end before a kill is checked, then a new one starts
)
#: A killed DDP worker's peer stops within this many seconds (torchrun's monitor notices
#: the death and stops the others; gloo's collectives fail when their peer's socket closes).
DDP_STOP_S = 60


def _recipe(tmp_path: Path, name: str) -> Any:
    return tiny_recipe(
        tmp_path,
        name=name,
        data={"num_workers": 0},
        optim={"epochs": EPOCHS, "batch_size": 4},
        train={"sample_every": 0, "checkpoint_every": 1, "keep_last": 2, "ema": 0.9},
        eval={"every": 1, "num_samples": 0},
    )


def _kill_self() -> NoReturn:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def _kill_during_nth_save(nth: int, fraction: float) -> None:
    """The ``nth`` ``torch.save`` of this process writes ``fraction`` of its bytes, syncs
    them to disk, and the process dies there (a torn checkpoint write)."""
    real, calls = torch.save, [0]

    def save(obj: Any, f: Any, *args: Any, **kw: Any) -> None:
        calls[0] += 1
        if calls[0] < nth:
            return real(obj, f, *args, **kw)
        buf = io.BytesIO()
        real(obj, buf, *args, **kw)
        f.write(buf.getvalue()[: int(len(buf.getvalue()) * fraction)])
        f.flush()
        os.fsync(f.fileno())
        _kill_self()

    torch.save = save  # this forked child only


def _kill_during_nth_eval(nth: int, after: bool) -> None:
    """The ``nth`` evaluation dies before or after computing its objective (before its
    record is written)."""
    import translkit.training.evaluate as evaluate

    real, calls = evaluate.held_out_objective, [0]

    def objective(*args: Any, **kw: Any) -> Any:
        calls[0] += 1
        if calls[0] >= nth:
            if after:
                real(*args, **kw)
            _kill_self()
        return real(*args, **kw)

    evaluate.held_out_objective = objective


def _run_forked(tmp_path: Path, name: str, plan: tuple[str, Any, Any] | None, resume: bool) -> int:
    """Fork a training process (resuming when ``resume``); return its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 2
    try:
        if plan and plan[0] == "write":
            _kill_during_nth_save(plan[1], plan[2])
        elif plan and plan[0] == "eval":
            _kill_during_nth_eval(plan[1], plan[2])
        recipe = _recipe(tmp_path, name)
        result = train(
            recipe, resume="latest" if resume else None, overwrite=not resume, progress=False
        )
        code = 0 if result.finished else 3
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _wait(pid: int) -> tuple[str, int]:
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "signal", os.WTERMSIG(status)
    return "exit", os.WEXITSTATUS(status)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    ckpt = load_checkpoint(path)
    out = {}
    for group in ("models", "ema"):
        for net, state in (ckpt[group] or {}).items():
            out.update({f"{group}.{net}.{k}": v for k, v in state.items()})
    for i, s in ckpt["optimizers"]["G"]["state"].items():
        out[f"opt_G.{i}"] = s["exp_avg"]
    return out


def _plan(rng: random.Random) -> tuple[str, Any, Any]:
    """One seeded kill moment: mid-write of the nth checkpoint file, during the nth
    evaluation, or at a random time after the process started."""
    kind = rng.choice(["write", "write", "eval", "time", "time"])
    if kind == "write":
        return kind, rng.randint(1, 4), rng.uniform(0.05, 0.95)
    if kind == "eval":
        return kind, rng.randint(1, 2), rng.random() < 0.5
    return kind, rng.uniform(0.2, 2.5), None


def test_sigkill_at_20_random_moments_then_resume_equals_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    straight = _run_forked(tmp_path, "straight", None, resume=False)
    assert _wait(straight) == ("exit", 0)
    rng = random.Random(20)
    seen: Counter[str] = Counter()
    finished: list[RunDir] = []
    run = RunDir(tmp_path / "runs" / "killed-1")
    # at least KILLS kills, and each kind at least 3 times: whether a kill during the nth
    # evaluation comes depends on where earlier kills left the run (timing), so the plan
    # goes on drawing, up to twice as many, until every kind has been seen
    covered = lambda: min(seen[k] for k in ("write", "eval", "time")) >= 3  # noqa: E731
    while sum(seen.values()) < KILLS or (not covered() and sum(seen.values()) < 2 * KILLS):
        plan = _plan(rng)
        resume = run.latest.is_file()  # else: killed before its first checkpoint; start over
        pid = _run_forked(tmp_path, run.path.name, plan, resume=resume)
        if plan[0] == "time":
            time.sleep(plan[1])
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        outcome = _wait(pid)
        if outcome == ("exit", 0):  # the run reached its end before this moment came
            finished.append(run)
            run = RunDir(tmp_path / "runs" / f"killed-{len(finished) + 1}")
            continue
        assert outcome == ("signal", signal.SIGKILL), f"{plan}: the run ended with {outcome}"
        seen[plan[0]] += 1
        for ckpt in run.checkpoints.glob("[!.]*.pt") if run.checkpoints.is_dir() else []:
            load_checkpoint(ckpt)  # every checkpoint a later run could pick up is whole
    final = _run_forked(tmp_path, run.path.name, None, resume=run.latest.is_file())
    assert _wait(final) == ("exit", 0)
    finished.append(run)
    assert seen["write"] >= 3 and seen["eval"] >= 3 and seen["time"] >= 3, seen
    reference = _weights(tmp_path / "runs" / "straight" / "checkpoints" / "latest.pt")
    for done in finished:
        leftovers = [p.name for p in done.path.rglob(".*.tmp*")]
        assert leftovers == [], f"temporaries of killed writes left behind: {leftovers}"
        weights = _weights(done.latest)
        assert weights.keys() == reference.keys()
        for key, value in reference.items():
            assert torch.equal(value, weights[key]), f"{done.path.name}: {key} differs"


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _descendants(pid: int) -> list[int]:
    out = []
    for child in _children(pid):
        out += [child, *_descendants(child)]
    return out


def _worker_pids(launcher: int) -> list[int]:
    """The training workers under ``translkit run --nproc 2`` (torchrun's children)."""
    found = []
    for pid in _descendants(launcher):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"translkit.training.worker" in cmd:
            found.append(pid)
    return found


def test_a_ddp_worker_killed_stops_the_other_in_one_line_and_the_run_resumes(
    tmp_path: Path,
) -> None:
    recipe = tiny_recipe(
        tmp_path,
        name="ddp",
        generator={"name": "resnet", "n_blocks": 1, "ngf": 4, "norm": "batch"},
        discriminator={"name": "patchgan", "ndf": 4, "n_layers": 2, "norm": "batch"},
        data={"num_workers": 0},
        optim={"epochs": 400, "batch_size": 2},
        train={"pool_size": 0, "sample_every": 0, "checkpoint_every": 1},
        eval={"every": 0, "num_samples": 0},
    )
    path = tmp_path / "ddp.toml"
    path.write_text(recipe.to_toml())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "translkit", "run", str(path), "--nproc", "2"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    run = RunDir(recipe.run_dir)
    try:
        deadline = time.monotonic() + 120
        while not run.latest.is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert run.latest.is_file(), proc.stderr.read() if proc.poll() is not None else ""
        workers = _worker_pids(proc.pid)
        assert len(workers) == 2, workers
        os.kill(workers[1], signal.SIGKILL)
        killed_at = time.monotonic()
        _out, err = proc.communicate(timeout=DDP_STOP_S + 30)
        stopped_s = time.monotonic() - killed_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert stopped_s < DDP_STOP_S, f"the run took {stopped_s:.0f} s to stop"
    print(f"the DDP run stopped {stopped_s:.1f} s after its worker was killed")
    assert proc.returncode == 1, (proc.returncode, err[-2000:])
    assert "Traceback" not in err, err[-3000:]
    survivor = [line for line in err.splitlines() if "another process of this run stopped" in line]
    assert len(survivor) == 1, err[-2000:]  # the other worker: one line
    launcher = [line for line in err.splitlines() if line.startswith("error: distributed")]
    assert len(launcher) == 1 and "rank 1 killed by SIGKILL" in launcher[0], err[-2000:]
    step = load_checkpoint(run.latest)["step"]  # whole
    resumed = subprocess.run(
        [
            *command[:3],
            "run",
            str(run.path),
            "--resume",
            "--nproc",
            "2",
            "--set",
            f"train.max_steps={step + 2}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
